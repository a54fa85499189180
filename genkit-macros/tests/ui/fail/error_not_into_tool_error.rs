use genkit_core::prelude::*;

/// Not an error type: no `std::error::Error` impl.
#[derive(Debug)]
struct Oops;

/// Look up the weather in a city.
#[tool]
async fn weather(city: String) -> Result<String, Oops> {
    if city.is_empty() {
        return Err(Oops);
    }
    Ok(format!("sunny in {city}"))
}

fn main() {}
