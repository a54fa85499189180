//! The tool description from the function's doc comment, as rustdoc shows it.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

use crate::errors::Errors;

/// The text of the `#[doc = "..."]` attributes (`///` and `/** */` comments), one entry per
/// line, with the comment decoration removed and the common indentation stripped.
///
/// A doc attribute that is not a string literal (`#[doc = include_str!(..)]`) cannot be read
/// by a macro: it is an error when it would be the description.
pub(crate) fn doc_lines(attrs: &[Attribute], errors: &mut Errors, needed: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        // `#[doc(hidden)]` and the like are not text
        let Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        if !nv.path.is_ident("doc") {
            continue;
        }
        match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => lines.extend(comment_lines(&s.value())),
            other if needed => errors.at(
                other,
                "`#[tool]` cannot read a doc comment computed by a macro; \
                 give the description as `#[tool(description = \"...\")]`",
            ),
            _ => {}
        }
    }
    unindent(lines)
}

/// The lines of one doc attribute: one for `///`; for a `/** */` block, its lines without
/// the blank first and last one and without a leading `*` column.
fn comment_lines(text: &str) -> Vec<String> {
    if !text.contains('\n') {
        return vec![text.to_owned()];
    }
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    if lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let starred = lines
        .iter()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('*'));
    lines
        .into_iter()
        .map(|l| match l.trim_start().strip_prefix('*') {
            Some(rest) if starred => rest.to_owned(),
            _ => l.to_owned(),
        })
        .collect()
}

/// Strips the indentation all non-blank lines share, as rustdoc does.
fn unindent(lines: Vec<String>) -> Vec<String> {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indentation(l))
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                l[indent.min(indentation(&l))..].trim_end().to_owned()
            }
        })
        .collect()
}

/// The leading spaces and tabs of `line`, in bytes.
fn indentation(line: &str) -> usize {
    line.bytes()
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count()
}

/// Joins doc lines the way rustdoc renders them: the lines of a paragraph flow into one line
/// (joined with a space), paragraphs are separated by a blank line, and list items, headings,
/// quotes, tables and code blocks keep their line breaks.
pub(crate) fn render(lines: &[String]) -> String {
    let mut out = String::new();
    let mut blank_before = false;
    let mut in_fence = false;
    let mut hard_break = false;
    for line in lines {
        let trimmed = line.trim_start();
        let fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        if in_fence {
            out.push('\n');
            out.push_str(line);
            in_fence = !fence;
            // what follows a code block starts a line
            hard_break = fence;
            continue;
        }
        if trimmed.is_empty() {
            blank_before = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            if blank_before {
                out.push_str("\n\n");
            } else if hard_break || fence || starts_block(line) {
                out.push('\n');
            } else {
                out.push(' ');
            }
        }
        blank_before = false;
        in_fence = fence;
        let (text, breaks) = strip_hard_break(line);
        // a heading is one line
        hard_break = breaks || trimmed.starts_with('#');
        if fence || starts_block(line) {
            out.push_str(text);
        } else {
            out.push_str(text.trim_start());
        }
    }
    out
}

/// A line that begins its own block in markdown: list item, heading, quote, table row, or
/// indented code.
fn starts_block(line: &str) -> bool {
    if line.starts_with("    ") {
        return true;
    }
    let t = line.trim_start();
    let bullet = ["- ", "* ", "+ "].iter().any(|b| t.starts_with(b)) || t == "-" || t == "*";
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let numbered = digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") "));
    bullet || numbered || t.starts_with('#') || t.starts_with('>') || t.starts_with('|')
}

/// A markdown hard break: two trailing spaces (already trimmed away) cannot be seen here, a
/// trailing backslash can.
fn strip_hard_break(line: &str) -> (&str, bool) {
    match line.strip_suffix('\\') {
        Some(text) => (text.trim_end(), true),
        None => (line, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        unindent(text.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn one_line() {
        assert_eq!(
            render(&lines(&[" Use this to ask a question"])),
            "Use this to ask a question"
        );
    }

    #[test]
    fn paragraph_lines_flow_and_paragraphs_stay() {
        let doc = lines(&[" Ask the user", " a question.", "", " Only when unsure."]);
        assert_eq!(
            render(&doc),
            "Ask the user a question.\n\nOnly when unsure."
        );
    }

    #[test]
    fn lists_and_code_keep_their_lines() {
        let doc = lines(&[
            " Pick one:",
            " - red",
            " - green,",
            "   or blue",
            "",
            " ```",
            " let x = 1;",
            "",
            " x",
            " ```",
            " Done\\",
            " now",
        ]);
        assert_eq!(
            render(&doc),
            "Pick one:\n- red\n- green, or blue\n\n```\nlet x = 1;\n\nx\n```\nDone\nnow"
        );
    }

    #[test]
    fn block_comment() {
        let doc = unindent(comment_lines(
            "\n     * Ask the user\n     * a question.\n     ",
        ));
        assert_eq!(render(&doc), "Ask the user a question.");
    }
}
