//! Bad `.prompt` files and bad inputs: each is a typed error naming the file and the line and
//! column of the culprit.

use std::path::{Path, PathBuf};

use genkit_core::testing::EchoModel;
use genkit_core::{Genkit, Status, Tool, ToolContext};
use genkit_dotprompt::{DotpromptError, GenkitBuilderPromptExt, GenkitPromptExt, PromptLibrary};
use serde_json::{json, Value};

/// A fresh directory holding `files` (name, bytes).
fn dir(test: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_input")
        .join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (name, bytes) in files {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    d
}

fn at(err: &DotpromptError) -> (String, Option<usize>, Option<usize>) {
    let p = err
        .position()
        .unwrap_or_else(|| panic!("no position in {err}"));
    let file = p
        .file
        .as_ref()
        .and_then(|f| f.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    (file, p.line, p.column)
}

#[test]
fn front_matter_that_is_not_yaml() {
    let d = dir(
        "yaml",
        &[(
            "bad.prompt",
            b"---\nmodel: m\nconfig:\n  temperature: [0.2\nname: x\n---\nHi",
        )],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(matches!(err, DotpromptError::FrontMatter { .. }), "{err}");
    let (file, line, column) = at(&err);
    assert_eq!(file, "bad.prompt");
    assert!(
        line.is_some_and(|l| (4..=6).contains(&l)),
        "line {line:?}: {err}"
    );
    assert!(column.is_some());
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.to_string().contains("bad.prompt:"), "{err}");
}

#[test]
fn front_matter_that_is_a_list_not_a_mapping() {
    let d = dir(
        "list",
        &[("list.prompt", b"---\n- model\n- config\n---\nHi")],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(matches!(err, DotpromptError::FrontMatter { .. }), "{err}");
    assert_eq!(at(&err), ("list.prompt".into(), Some(2), None));
}

#[test]
fn a_reserved_key_of_the_wrong_type_names_its_line() {
    let d = dir(
        "type",
        &[("t.prompt", b"---\nmodel: m\nmaxTurns: many\n---\nHi")],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(matches!(err, DotpromptError::FrontMatter { .. }), "{err}");
    assert_eq!(at(&err), ("t.prompt".into(), Some(3), Some(1)));
    assert!(err.to_string().contains("maxTurns"), "{err}");
}

#[test]
fn unknown_keys_are_kept_not_rejected() {
    let lib = PromptLibrary::new()
        .with_source(
            "p",
            "---\nmodel: m\nmyco.team: search\nmyco.owner.name: ada\nflavour: mint\n---\nHi",
        )
        .unwrap();
    let meta = &lib.get("p").unwrap().template().parsed().metadata;
    // dotted keys are extensions, by namespace
    assert_eq!(meta.ext["myco"], json!({"team": "search"}));
    assert_eq!(meta.ext["myco.owner"], json!({"name": "ada"}));
    // every key stays in raw
    assert_eq!(meta.raw_value("flavour"), Some(&json!("mint")));
    assert!(!meta.ext.contains_key("flavour"));
}

#[test]
fn a_template_syntax_error_names_line_and_column_in_the_file() {
    let d = dir(
        "syntax",
        &[(
            "s.prompt",
            b"---\nmodel: m\n---\nLine one\n{{#if ok}}yes{{/each}}\n",
        )],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(
        matches!(err, DotpromptError::TemplateSyntax { .. }),
        "{err}"
    );
    let (file, line, column) = at(&err);
    assert_eq!(file, "s.prompt");
    // the template starts on line 4 of the file; the mismatched block is on line 5
    assert_eq!(line, Some(5), "{err}");
    assert!(column.is_some(), "{err}");
}

#[test]
fn a_missing_partial_names_where_it_is_used() {
    let d = dir(
        "partial",
        &[(
            "p.prompt",
            b"---\nmodel: m\n---\nHello\n  {{> signature}}\n",
        )],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    match &err {
        DotpromptError::MissingPartial { name, .. } => assert_eq!(name, "signature"),
        other => panic!("expected MissingPartial, got {other}"),
    }
    let (file, line, column) = at(&err);
    assert_eq!((file.as_str(), line), ("p.prompt", Some(5)), "{err}");
    assert_eq!(column, Some(3), "{err}");
    assert_eq!(err.status(), Status::NotFound);
}

#[test]
fn a_partial_from_the_directory_is_found() {
    let d = dir(
        "partial_ok",
        &[
            ("p.prompt", b"---\nmodel: m\n---\nHello {{> signature}}"),
            ("_signature.prompt", b"-- Ada"),
        ],
    );
    let lib = PromptLibrary::load_dir(&d).unwrap();
    assert_eq!(lib.names(), ["p"]);
}

#[test]
fn a_file_that_is_not_utf8() {
    let d = dir(
        "utf8",
        &[("u.prompt", b"---\nmodel: m\n---\nCaf\xe9 au lait\n")],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(matches!(err, DotpromptError::NotUtf8 { .. }), "{err}");
    assert_eq!(at(&err), ("u.prompt".into(), Some(4), Some(4)));
}

#[test]
fn a_bad_picoschema_names_the_schema_key() {
    let d = dir(
        "pico",
        &[(
            "s.prompt",
            b"---\nmodel: m\ninput:\n  schema:\n    name: strnig\n---\nHi",
        )],
    );
    let err = PromptLibrary::load_dir(&d).unwrap_err();
    assert!(matches!(err, DotpromptError::Schema { .. }), "{err}");
    assert_eq!(at(&err), ("s.prompt".into(), Some(3), Some(1)));
    assert!(err.to_string().contains("strnig"), "{err}");
}

fn instance(lib: &PromptLibrary, with_tool: bool) -> Genkit {
    let mut b = Genkit::builder().model(EchoModel::new("m")).prompts(lib);
    if with_tool {
        b = b.tool(Tool::<Value, String>::new(
            "lookup",
            "looks up",
            |_: Value, _c: ToolContext| async move { Ok(String::new()) },
        ));
    }
    b.build().unwrap()
}

#[tokio::test]
async fn an_input_that_fails_the_schema() {
    let d = dir(
        "input",
        &[("g.prompt", b"---\nmodel: m\ninput:\n  schema:\n    name: string\n    age?: integer\n---\nHi {{name}}")],
    );
    let lib = PromptLibrary::load_dir(&d).unwrap();
    let ai = instance(&lib, false);
    let greet = ai.prompt::<Value, Value>("g").unwrap();
    let err = greet.generate(json!({"age": "old"})).await.unwrap_err();
    match &err {
        DotpromptError::InvalidInput { violations, .. } => {
            let all = violations.join("; ");
            assert!(all.contains("name"), "{all}");
            assert!(all.contains("age"), "{all}");
        }
        other => panic!("expected InvalidInput, got {other}"),
    }
    assert_eq!(at(&err), ("g.prompt".into(), Some(3), Some(1)));
    assert_eq!(err.status(), Status::InvalidArgument);
    // through the action, the same error with its status
    let e = ai
        .run_action(
            "/prompt/g",
            json!({"name": 7}),
            genkit_core::ActionContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.to_string().contains("g.prompt:3:1"), "{e}");
}

#[tokio::test]
async fn a_tool_that_is_not_registered() {
    let d = dir(
        "tool",
        &[(
            "t.prompt",
            b"---\nmodel: m\ntools:\n  - lookup\n  - teleport\n---\nGo",
        )],
    );
    let lib = PromptLibrary::load_dir(&d).unwrap();
    let ai = instance(&lib, true);
    let err = lib.check(&ai).unwrap_err();
    match &err {
        DotpromptError::UnknownTool { name, .. } => assert_eq!(name, "teleport"),
        other => panic!("expected UnknownTool, got {other}"),
    }
    assert_eq!(at(&err), ("t.prompt".into(), Some(5), Some(5)));
    assert_eq!(err.status(), Status::NotFound);
    // rendering says the same
    let err = ai
        .prompt::<Value, Value>("t")
        .unwrap()
        .render(json!({}))
        .unwrap_err();
    assert!(matches!(err, DotpromptError::UnknownTool { .. }), "{err}");
}

#[test]
fn two_files_for_one_name() {
    let lib = PromptLibrary::new().with_source("a", "Hi").unwrap();
    let err = lib.with_source("a", "Hello").unwrap_err();
    assert!(
        matches!(err, DotpromptError::DuplicatePrompt { .. }),
        "{err}"
    );
}

#[test]
fn a_render_error_in_a_helper() {
    let lib = PromptLibrary::new()
        .with_source("r", "{{role \"wizard\"}}Hi")
        .unwrap();
    let err = lib
        .get("r")
        .unwrap()
        .template()
        .render(&Default::default())
        .unwrap_err();
    assert!(matches!(err, DotpromptError::Render { .. }), "{err}");
    assert!(err.to_string().contains("wizard"), "{err}");
}
