use genkit_core::prelude::*;

/// A struct.
#[tool]
struct Weather {
    city: String,
}

fn main() {
    // the struct is still there
    let _ = Weather {
        city: String::new(),
    };
}
