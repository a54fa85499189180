//! Copies the guides (`docs/*.md`) and the README into `OUT_DIR` for `src/lib.rs` to include
//! as documentation, so that `cargo test --doc` compiles and runs every Rust block in them.
//!
//! Links between guides are rewritten into intra-doc links (`[Tools](tools.md)` becomes
//! `[Tools](crate::guide::tools)`), which rustdoc checks; links to other files of the
//! repository become links to the repository on GitHub. Lines are never added or removed, so
//! a failing doctest's line number is the line in the markdown file.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Each guide and the module of `examples::guide` it becomes.
const GUIDES: &[(&str, &str)] = &[
    ("docs/getting-started.md", "getting_started"),
    ("docs/tools.md", "tools"),
    ("docs/interrupts.md", "interrupts"),
    ("docs/resume-across-processes.md", "resume_across_processes"),
    ("docs/streaming-and-output.md", "streaming_and_output"),
    ("docs/openai.md", "openai"),
    ("docs/architecture.md", "architecture"),
    ("docs/genkit-comparison.md", "genkit_comparison"),
    ("docs/agents.md", "agents"),
    ("docs/middleware.md", "middleware"),
    ("docs/prompts.md", "prompts"),
    ("README.md", "readme"),
];

const REPOSITORY: &str = "https://github.com/genkit-rs/genkit-rs/blob/main";

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest)
        .parent()
        .expect("the examples crate lives in the workspace");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (file, module) in GUIDES {
        let path = root.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        fs::write(out.join(format!("{module}.md")), rewrite_links(&text, dir))
            .expect("writing to OUT_DIR");
    }
}

/// Rewrites the targets of the markdown links `[text](target)` in `text`, a file in `dir`
/// (relative to the repository root). Code blocks and code spans are left alone.
fn rewrite_links(text: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            out.push_str(line);
        } else {
            out.push_str(&rewrite_line(line, dir));
        }
    }
    out
}

fn rewrite_line(line: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
        }
        if !in_code && rest.starts_with("](") {
            if let Some(end) = rest[2..].find(')') {
                let target = &rest[2..2 + end];
                out.push_str("](");
                out.push_str(&resolve(target, dir));
                out.push(')');
                rest = &rest[2 + end + 1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Where a link target points, once the guides are rustdoc modules.
fn resolve(target: &str, dir: &Path) -> String {
    if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
        return target.to_owned();
    }
    let (path, fragment) = match target.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (target, String::new()),
    };
    let full = normalize(&dir.join(path));
    match GUIDES.iter().find(|(file, _)| *file == full) {
        Some((_, module)) => format!("crate::guide::{module}{fragment}"),
        None => format!("{REPOSITORY}/{full}{fragment}"),
    }
}

/// `docs/../examples/src` becomes `examples/src`.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part.as_os_str().to_string_lossy().as_ref() {
            "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p.to_owned()),
        }
    }
    parts.join("/")
}
