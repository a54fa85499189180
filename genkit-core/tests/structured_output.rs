//! Structured output: schema sent natively or as instructions, final answers parsed and
//! validated, partial output while streaming.

mod support;

use futures::future::BoxFuture;
use futures::StreamExt;
use genkit_core::prelude::*;
use genkit_core::testing::{ProgrammableModel, Scripted};
use genkit_core::{
    GenerateResponseChunk, Model, ModelContext, ModelInfo, ModelRequest, ModelSupports,
    OutputFormat,
};
use serde_json::json;
use support::*;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, PartialEq)]
struct Movie {
    /// the film's title
    title: String,
    year: u16,
}

/// A programmable model that declares constrained output support.
struct Constrained {
    inner: ProgrammableModel,
    mode: &'static str,
}

impl Model for Constrained {
    fn name(&self) -> &str {
        "constrained"
    }
    fn info(&self) -> ModelInfo {
        ModelInfo {
            supports: Some(ModelSupports {
                constrained: Some(self.mode.to_owned()),
                ..ModelSupports::default()
            }),
            ..ModelInfo::default()
        }
    }
    fn generate<'a>(
        &'a self,
        req: &'a ModelRequest,
        ctx: ModelContext,
    ) -> BoxFuture<'a, Result<ModelResponse, GenkitError>> {
        self.inner.generate(req, ctx)
    }
}

fn constrained(mode: &'static str) -> (Genkit, ProgrammableModel) {
    let inner = ProgrammableModel::new("inner");
    let ai = Genkit::builder()
        .model(Constrained {
            inner: inner.clone(),
            mode,
        })
        .default_model("constrained")
        .tool(lookup_tool())
        .build()
        .unwrap();
    (ai, inner)
}

fn instruction_parts(req: &ModelRequest) -> Vec<String> {
    req.messages
        .iter()
        .flat_map(|m| &m.content)
        .filter(|p| p.metadata_value("purpose") == Some(&json!("output")))
        .map(|p| p.as_text().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_answer_parses_into_the_requested_type() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer(
        "Here you go:\n```json\n{\"title\": \"Alien\", \"year\": 1979}\n```",
    ));
    let r = ai
        .generate()
        .prompt("a film")
        .output::<Movie>()
        .await
        .unwrap();
    assert_eq!(
        r.output::<Movie>().unwrap(),
        Movie {
            title: "Alien".into(),
            year: 1979
        }
    );
}

#[tokio::test]
async fn without_constrained_support_the_schema_goes_as_instructions() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer(r#"{"title": "Heat", "year": 1995}"#));
    ai.generate()
        .prompt("a film")
        .output::<Movie>()
        .await
        .unwrap();
    let req = model.last_request().unwrap();
    let instructions = instruction_parts(&req);
    assert_eq!(instructions.len(), 1);
    assert!(
        instructions[0].contains("the film's title"),
        "{}",
        instructions[0]
    );
    let out = req.output.unwrap();
    assert_eq!(out.format.as_deref(), Some("json"));
    assert_eq!(out.constrained, Some(false));
    assert_eq!(out.schema.unwrap()["properties"]["year"]["type"], "integer");
}

#[tokio::test]
async fn with_constrained_support_the_schema_goes_natively() {
    let (ai, model) = constrained("all");
    model.push_response(answer(r#"{"title": "Heat", "year": 1995}"#));
    ai.generate()
        .prompt("a film")
        .output::<Movie>()
        .await
        .unwrap();
    let req = model.last_request().unwrap();
    assert!(instruction_parts(&req).is_empty());
    assert_eq!(req.output.unwrap().constrained, Some(true));
}

#[tokio::test]
async fn constrained_no_tools_falls_back_to_instructions_when_tools_are_offered() {
    let (ai, model) = constrained("no-tools");
    model.push_response(answer(r#"{"title": "Heat", "year": 1995}"#));
    ai.generate()
        .prompt("a film")
        .output::<Movie>()
        .tools(["lookup"])
        .await
        .unwrap();
    let req = model.last_request().unwrap();
    assert_eq!(instruction_parts(&req).len(), 1);
    assert_eq!(req.output.unwrap().constrained, Some(false));
}

#[tokio::test]
async fn instructions_can_be_replaced_or_turned_off() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer(r#"{"title": "Heat", "year": 1995}"#));
    model.push_response(answer(r#"{"title": "Heat", "year": 1995}"#));
    ai.generate()
        .prompt("x")
        .output::<Movie>()
        .output_instructions_text("JSON please")
        .await
        .unwrap();
    assert_eq!(
        instruction_parts(&model.last_request().unwrap()),
        ["JSON please"]
    );
    ai.generate()
        .prompt("x")
        .output::<Movie>()
        .output_instructions(false)
        .await
        .unwrap();
    assert!(instruction_parts(&model.last_request().unwrap()).is_empty());
}

#[tokio::test]
async fn valid_json_that_violates_the_schema_is_an_error_keeping_the_raw_text() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer(r#"{"title": "Heat", "year": "ninety-five"}"#));
    let err = ai
        .generate()
        .prompt("x")
        .output::<Movie>()
        .await
        .unwrap_err();
    let GenkitError::OutputInvalid {
        violations,
        response,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(violations[0].contains("/year"), "{violations:?}");
    assert_eq!(
        response.text(),
        r#"{"title": "Heat", "year": "ninety-five"}"#
    );
}

#[tokio::test]
async fn truncated_json_at_the_end_of_a_stream_is_a_typed_error() {
    let (ai, model) = instance(vec![]);
    model.push(Scripted {
        chunks: vec![GenerateResponseChunk::new(vec![Part::text(
            r#"{"title": "Al"#,
        )])],
        response: answer(r#"{"title": "Al"#),
    });
    let mut stream = ai.generate().prompt("x").output::<Movie>().stream();
    while stream.next().await.is_some() {}
    let err = stream.response().await.unwrap_err();
    let GenkitError::OutputInvalid {
        reason, response, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(reason.contains("not valid JSON"), "{reason}");
    assert_eq!(response.text(), r#"{"title": "Al"#);
}

#[tokio::test]
async fn output_is_not_validated_on_a_turn_that_requests_tools() {
    let (ai, model) = instance(vec![lookup_tool()]);
    model.push_response(calls(&[("lookup", Some("1"), json!({"word": "x"}))]));
    model.push_response(answer(r#"{"title": "Up", "year": 2009}"#));
    let r = ai
        .generate()
        .prompt("x")
        .output::<Movie>()
        .tools(["lookup"])
        .await
        .unwrap();
    assert_eq!(r.output::<Movie>().unwrap().title, "Up");
    let first = &model.requests()[0];
    assert_eq!(instruction_parts(first).len(), 1);
    assert_eq!(
        instruction_parts(&model.requests()[1]).len(),
        1,
        "instructions are added once"
    );
}

#[tokio::test]
async fn streaming_exposes_the_partial_output() {
    let (ai, model) = instance(vec![]);
    let pieces = [r#"{"title": "Ali"#, r#"en", "ye"#, r#"ar": 1979}"#];
    model.push(Scripted {
        chunks: pieces
            .iter()
            .map(|p| GenerateResponseChunk::new(vec![Part::text(*p)]))
            .collect(),
        response: answer(&pieces.concat()),
    });
    let mut stream = ai.generate().prompt("x").output::<Movie>().stream();
    let mut seen = Vec::new();
    while stream.next().await.is_some() {
        seen.push(stream.output_so_far().unwrap());
    }
    assert_eq!(
        seen,
        [
            json!({"title": "Ali"}),
            json!({"title": "Alien"}),
            json!({"title": "Alien", "year": 1979})
        ]
    );
    assert_eq!(
        stream
            .response()
            .await
            .unwrap()
            .output::<Movie>()
            .unwrap()
            .year,
        1979
    );
}

#[tokio::test]
async fn array_enum_jsonl_and_text_formats() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer("[1, 2, 3]"));
    let r = ai
        .generate()
        .prompt("x")
        .output_schema(json!({"type": "array", "items": {"type": "integer"}}))
        .output_format(OutputFormat::Array)
        .await
        .unwrap();
    assert_eq!(r.output::<Vec<u8>>().unwrap(), [1, 2, 3]);

    model.push_response(answer("  GREEN\n"));
    let r = ai
        .generate()
        .prompt("x")
        .output_schema(json!({"type": "string", "enum": ["RED", "GREEN"]}))
        .output_format(OutputFormat::Enum)
        .await
        .unwrap();
    assert_eq!(r.output::<String>().unwrap(), "GREEN");
    assert!(instruction_parts(&model.last_request().unwrap())[0].contains("RED\nGREEN"));

    model.push_response(answer("{\"n\": 1}\n{\"n\": 2}\n"));
    let r = ai
        .generate()
        .prompt("x")
        .output_schema(json!({"type": "array", "items": {"type": "object"}}))
        .output_format(OutputFormat::Jsonl)
        .await
        .unwrap();
    assert_eq!(r.output_value().unwrap(), json!([{"n": 1}, {"n": 2}]));

    model.push_response(answer("just words"));
    let r = ai
        .generate()
        .prompt("x")
        .output_format(OutputFormat::Text)
        .await
        .unwrap();
    assert_eq!(r.output::<String>().unwrap(), "just words");
    assert!(instruction_parts(&model.last_request().unwrap()).is_empty());
}

#[tokio::test]
async fn an_enum_answer_outside_the_schema_is_rejected() {
    let (ai, model) = instance(vec![]);
    model.push_response(answer("BLUE"));
    let err = ai
        .generate()
        .prompt("x")
        .output_schema(json!({"type": "string", "enum": ["RED", "GREEN"]}))
        .output_format(OutputFormat::Enum)
        .await
        .unwrap_err();
    assert!(matches!(err, GenkitError::OutputInvalid { .. }), "{err:?}");
}

#[tokio::test]
async fn a_model_streaming_100k_open_brackets_does_not_overflow_the_stack() {
    let (ai, model) = instance(vec![]);
    let nested = "[".repeat(100_000);
    model.push(Scripted {
        chunks: vec![
            GenerateResponseChunk::new(vec![Part::text(nested.clone())]),
            GenerateResponseChunk::new(vec![Part::text(r#"{"a":"#.repeat(100_000))]),
        ],
        response: answer(&nested),
    });
    let mut stream = ai
        .generate()
        .prompt("x")
        .output_format(genkit_core::OutputFormat::Json)
        .stream();
    let mut seen = 0;
    while stream.next().await.is_some() {
        // the best prefix, cut at the nesting limit: a value, no abort
        assert!(stream.output_so_far().unwrap().is_array());
        seen += 1;
    }
    assert_eq!(seen, 2);
    // the final answer does not parse (serde_json's own limit): a typed error
    assert!(stream.response().await.is_err());
}
