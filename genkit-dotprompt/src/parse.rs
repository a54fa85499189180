//! Splitting a `.prompt` source into YAML front matter and template, and reading the front
//! matter into [`PromptMetadata`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{DotpromptError, Position};
use crate::metadata::{JsonMap, PromptMetadata};

/// Front-matter keys Dotprompt itself reads; every other key stays in `raw` (and a dotted key
/// such as `ext1.foo` also lands in `ext`).
pub const RESERVED_KEYS: &[&str] = &[
    "config",
    "description",
    "ext",
    "input",
    "model",
    "name",
    "output",
    "raw",
    "toolDefs",
    "tools",
    "variant",
    "version",
];

/// Where a prompt's text came from, so errors can name file, line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// The file, if the prompt was read from one.
    pub file: Option<PathBuf>,
    /// Front matter text, for locating keys in it.
    pub front_matter: String,
    /// 1-based line of the front matter's first line in the file.
    pub front_matter_line: usize,
    /// 1-based line and column of the template's first character in the file.
    pub template_line: usize,
    /// See `template_line`.
    pub template_column: usize,
}

impl SourceMap {
    /// The file position of a 1-based line and column inside the template.
    pub fn template_position(&self, line: Option<usize>, column: Option<usize>) -> Position {
        let file_line = line.map(|l| l + self.template_line - 1);
        let file_col = match (line, column) {
            (Some(1), Some(c)) => Some(c + self.template_column - 1),
            (_, c) => c,
        };
        Position::new(
            self.file.clone(),
            file_line.or(Some(self.template_line)),
            file_col,
        )
    }

    /// The file position of a 1-based line and column inside the front matter.
    pub fn front_matter_position(&self, line: Option<usize>, column: Option<usize>) -> Position {
        Position::new(
            self.file.clone(),
            Some(line.map_or(self.front_matter_line, |l| l + self.front_matter_line - 1)),
            column,
        )
    }

    /// The position of top-level front-matter key `key` (the file's first line otherwise).
    pub fn key_position(&self, key: &str) -> Position {
        match find_key_line(&self.front_matter, key) {
            Some(line) => self.front_matter_position(Some(line), Some(1)),
            None => self.front_matter_position(None, None),
        }
    }

    /// The position of `value` as an item under top-level key `key` (`tools: [a, b]` or a
    /// block list), falling back to the key's own position.
    pub fn item_position(&self, key: &str, value: &str) -> Position {
        let Some(key_line) = find_key_line(&self.front_matter, key) else {
            return self.key_position(key);
        };
        for (i, line) in self.front_matter.lines().enumerate().skip(key_line - 1) {
            if i + 1 > key_line && !line.starts_with([' ', '\t', '-']) && !line.trim().is_empty() {
                break;
            }
            let scan_from = if i + 1 == key_line { key.len() + 1 } else { 0 };
            if let Some(found) = line
                .get(scan_from..)
                .and_then(|rest| find_word(rest, value))
            {
                return self.front_matter_position(Some(i + 1), Some(scan_from + found + 1));
            }
        }
        self.key_position(key)
    }
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '/';
    let mut from = 0;
    while let Some(i) = haystack[from..].find(word) {
        let start = from + i;
        let end = start + word.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        if !before.is_some_and(is_name) && !after.is_some_and(is_name) {
            return Some(haystack[..start].chars().count());
        }
        from = end;
    }
    None
}

fn find_key_line(front_matter: &str, key: &str) -> Option<usize> {
    front_matter
        .lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// A parsed `.prompt` source: metadata from the front matter and the template body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPrompt {
    /// The front matter's reserved keys, `ext` and `raw`.
    pub metadata: PromptMetadata,
    /// The Handlebars template.
    pub template: String,
    /// Where the parts came from.
    pub source: SourceMap,
}

/// Decodes a file's bytes, or names the first byte that is not UTF-8.
pub(crate) fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, DotpromptError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let head = &e.as_bytes()[..valid];
        let line = head.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = head.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&head[line_start..]).chars().count() + 1;
        DotpromptError::NotUtf8 {
            at: Position::new(Some(path.to_path_buf()), Some(line), Some(column)),
        }
    })
}

fn is_newline(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// After a `---` fence at `at`: where the line after it starts (the last newline of the
/// whitespace run that follows), or `None` when no newline follows.
fn after_fence(bytes: &[u8], at: usize) -> Option<usize> {
    let mut end = at;
    while end < bytes.len() && bytes[end].is_ascii_whitespace() {
        end += 1;
    }
    let run = &bytes[at..end];
    let last_nl = run.iter().rposition(|b| is_newline(*b))?;
    Some(at + last_nl + 1)
}

/// Splits `source` into (front matter, body, body offset, front-matter offset) the way
/// Dotprompt's front-matter pattern does: optional leading comment or blank lines, a `---`
/// line, the YAML, a `---` line, the body.
fn split(source: &str) -> Option<(usize, usize, usize, usize)> {
    let bytes = source.as_bytes();
    // leading lines that are `#` comments or only spaces and tabs
    let mut pos = 0;
    loop {
        let line_end = bytes[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| pos + i);
        let Some(line_end) = line_end else { break };
        let line = &bytes[pos..line_end];
        let skippable =
            line.first() == Some(&b'#') || line.iter().all(|b| *b == b' ' || *b == b'\t');
        if !skippable || source[pos..].starts_with("---") {
            break;
        }
        pos = line_end + 1;
    }
    if !source[pos..].starts_with("---") {
        return None;
    }
    let fm_start = after_fence(bytes, pos + 3)?;
    // the first newline + `---` + whitespace holding a newline, after the front matter start
    let mut search = fm_start;
    while search < bytes.len() {
        let nl = bytes[search..].iter().position(|b| is_newline(*b))? + search;
        let fence = if bytes[nl] == b'\r' && bytes.get(nl + 1) == Some(&b'\n') {
            nl + 2
        } else {
            nl + 1
        };
        if source[fence..].starts_with("---") {
            if let Some(body) = after_fence(bytes, fence + 3) {
                return Some((fm_start, nl, body, fence));
            }
        }
        search = nl + 1;
    }
    None
}

/// 1-based line and column of byte `offset` in `source`.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let head = &source[..offset];
    let line = head.matches('\n').count() + 1;
    let col = head.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses a `.prompt` source (front matter optional). `file` only labels errors.
pub fn parse_document(source: &str, file: Option<&Path>) -> Result<ParsedPrompt, DotpromptError> {
    let file = file.map(Path::to_path_buf);
    let Some((fm_start, fm_end, body_start, _)) = split(source) else {
        return Ok(plain(source, file));
    };
    let front_matter = &source[fm_start..fm_end];
    if front_matter.is_empty() {
        return Ok(plain(source, file));
    }
    let body = &source[body_start..];
    let trimmed = body.trim();
    let lead = body.len() - body.trim_start().len();
    let (fm_line, _) = line_col(source, fm_start);
    let (t_line, t_col) = line_col(source, body_start + lead);
    let map = SourceMap {
        file,
        front_matter: front_matter.to_owned(),
        front_matter_line: fm_line,
        template_line: t_line,
        template_column: t_col,
    };
    let raw = read_yaml(front_matter, &map)?;
    let metadata = prune(raw, &map)?;
    Ok(ParsedPrompt {
        metadata,
        template: trimmed.to_owned(),
        source: map,
    })
}

fn plain(source: &str, file: Option<PathBuf>) -> ParsedPrompt {
    ParsedPrompt {
        metadata: PromptMetadata::default(),
        template: source.to_owned(),
        source: SourceMap {
            file,
            front_matter: String::new(),
            front_matter_line: 1,
            template_line: 1,
            template_column: 1,
        },
    }
}

fn read_yaml(front_matter: &str, map: &SourceMap) -> Result<JsonMap, DotpromptError> {
    let value: Value = serde_yaml::from_str(front_matter).map_err(|e| {
        let loc = e.location();
        DotpromptError::FrontMatter {
            at: map.front_matter_position(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
            ),
            message: e.to_string(),
        }
    })?;
    match value {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(JsonMap::new()),
        other => Err(DotpromptError::FrontMatter {
            at: map.front_matter_position(None, None),
            message: format!(
                "expected a mapping of keys to values, found {}",
                kind(&other)
            ),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reserved keys into their fields, dotted keys into `ext` (`a.b.c: v` is `ext["a.b"]["c"]`),
/// everything in `raw`.
fn prune(raw: JsonMap, map: &SourceMap) -> Result<PromptMetadata, DotpromptError> {
    let mut reserved = JsonMap::new();
    let mut ext: JsonMap = JsonMap::new();
    for (key, value) in &raw {
        if RESERVED_KEYS.contains(&key.as_str()) {
            if !value.is_null() {
                reserved.insert(key.clone(), value.clone());
            }
        } else if let Some(dot) = key.rfind('.') {
            let (ns, field) = (&key[..dot], &key[dot + 1..]);
            let slot = ext
                .entry(ns.to_owned())
                .or_insert_with(|| Value::Object(JsonMap::new()));
            if let Value::Object(fields) = slot {
                fields.insert(field.to_owned(), value.clone());
            }
        }
    }
    let mut metadata = PromptMetadata::default();
    for (key, value) in reserved {
        metadata
            .set_reserved(&key, value)
            .map_err(|message| DotpromptError::FrontMatter {
                at: map.key_position(&key),
                message,
            })?;
    }
    // the dotted keys are `ext`, as in every Dotprompt runtime (an `ext:` key is overwritten)
    metadata.ext = JsonMap::new();
    for (ns, fields) in ext {
        if let Value::Object(fields) = fields {
            metadata.ext.insert(ns, Value::Object(fields));
        }
    }
    metadata.raw = Some(raw);
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_trims_the_body() {
        let p = parse_document("---\nmodel: m\n---\n\n  Hello\n", None).unwrap();
        assert_eq!(p.template, "Hello");
        assert_eq!(p.metadata.model.as_deref(), Some("m"));
        assert_eq!((p.source.template_line, p.source.template_column), (5, 3));
    }

    #[test]
    fn no_front_matter_keeps_the_source_untrimmed() {
        let p = parse_document("Hello\n", None).unwrap();
        assert_eq!(p.template, "Hello\n");
        assert!(p.metadata.raw.is_none());
    }

    #[test]
    fn leading_comments_before_the_fence() {
        let p = parse_document("# license\n\n---\nmodel: m\n---\nHi", None).unwrap();
        assert_eq!(p.metadata.model.as_deref(), Some("m"));
        assert_eq!(p.source.front_matter_line, 4);
    }

    #[test]
    fn crlf_fences() {
        let p = parse_document("---\r\nmodel: m\r\n---\r\nHi", None).unwrap();
        assert_eq!(p.metadata.model.as_deref(), Some("m"));
        assert_eq!(p.template, "Hi");
    }

    #[test]
    fn wrong_type_of_a_reserved_key_names_its_line() {
        let err = parse_document("---\nmodel: m\ntools: 3\n---\nHi", None).unwrap_err();
        assert_eq!(err.position().and_then(|p| p.line), Some(3));
    }

    #[test]
    fn item_positions() {
        let p = parse_document("---\nmodel: m\ntools: [a, lookup]\n---\nHi", None).unwrap();
        let at = p.source.item_position("tools", "lookup");
        assert_eq!((at.line, at.column), (Some(3), Some(12)));
        let p = parse_document("---\ntools:\n  - a\n  - lookup\n---\nHi", None).unwrap();
        let at = p.source.item_position("tools", "lookup");
        assert_eq!((at.line, at.column), (Some(4), Some(5)));
    }

    #[test]
    fn not_utf8_names_line_and_column() {
        let err = decode(Path::new("x.prompt"), b"ab\ncd\xff".to_vec()).unwrap_err();
        let at = err.position().unwrap();
        assert_eq!((at.line, at.column), (Some(2), Some(3)));
    }
}
