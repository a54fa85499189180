//! A tool declared inside a function, with local types, as in a test.
#![deny(warnings)]

use genkit_core::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Point {
        x: i32,
        y: i32,
    }

    /// Manhattan length of a point.
    #[tool]
    async fn manhattan(p: Point) -> ToolResult<i32> {
        Ok(p.x.abs() + p.y.abs())
    }

    assert_eq!(manhattan::call(Point { x: 3, y: -4 }).await.ok(), Some(7));
    let schema = manhattan.definition().input_schema.clone().unwrap_or_default();
    assert_eq!(schema["required"], serde_json::json!(["x", "y"]));
}
