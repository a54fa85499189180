//! Parsing JSON that is still arriving: `{"a": [1, 2` reads as `{"a": [1, 2]}`.
//!
//! Streaming clients want the structured output as it grows, long before the closing brace.
//! The parser takes the longest prefix that makes sense and closes what is open; an unfinished
//! string is kept as far as it goes, an unfinished number or literal is dropped.
//!
//! Nesting is limited to [`MAX_DEPTH`] levels, as serde_json limits it: what a model streams
//! must never overflow the stack. Deeper containers are cut off, the prefix above them kept.

use serde_json::{Map, Number, Value};

/// Parses `text` as possibly incomplete JSON. `None` when not even a prefix of a value is there.
pub fn parse_partial(text: &str) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    p.value()
}

/// How deeply arrays and objects may nest (serde_json's own limit).
pub(crate) const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    /// Containers open around the current position.
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match self.peek()? {
            b'{' | b'[' if self.depth >= MAX_DEPTH => {
                // too deep: stop here, the enclosing containers keep what they have
                self.i = self.s.len();
                None
            }
            b'{' => {
                self.depth += 1;
                let v = self.object();
                self.depth -= 1;
                Some(v)
            }
            b'[' => {
                self.depth += 1;
                let v = self.array();
                self.depth -= 1;
                Some(v)
            }
            b'"' => self.string().map(|(s, _)| Value::String(s)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        let rest = &self.text[self.i..];
        if rest.starts_with(word) {
            self.i += word.len();
            Some(value)
        } else {
            self.i = self.s.len();
            None
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.i += 1;
        }
        let raw = &self.text[start..self.i];
        if self.i == start {
            // not JSON at all: stop here
            self.i = self.s.len();
            return None;
        }
        // at the end of the text the number may still be growing: take its valid prefix
        let mut end = raw.len();
        while end > 0 {
            if let Ok(n) = raw[..end].parse::<Number>() {
                return Some(Value::Number(n));
            }
            end -= 1;
        }
        None
    }

    /// A string, and whether it was closed.
    fn string(&mut self) -> Option<(String, bool)> {
        self.i += 1; // opening quote
        let mut out = String::new();
        let mut chars = self.text[self.i..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += off + 1;
                    return Some((out, true));
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let Some(code) = hex4(&mut chars) else { break };
                            if (0xD800..0xDC00).contains(&code) {
                                // a UTF-16 surrogate pair, as ASCII-only JSON writers spell
                                // characters outside the BMP: wait for the second half
                                let mut ahead = chars.clone();
                                let low = match (ahead.next(), ahead.next()) {
                                    (Some((_, '\\')), Some((_, 'u'))) => hex4(&mut ahead),
                                    (None, _) | (Some((_, '\\')), None) => break,
                                    _ => Some(0),
                                };
                                match low {
                                    None => break,
                                    Some(low @ 0xDC00..0xE000) => {
                                        chars = ahead;
                                        let pair =
                                            0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                        out.push(char::from_u32(pair).unwrap_or('\u{fffd}'));
                                    }
                                    Some(_) => out.push('\u{fffd}'),
                                }
                                continue;
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        self.i = self.s.len();
        Some((out, false))
    }

    fn array(&mut self) -> Value {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Value::Array(items),
                Some(b']') => {
                    self.i += 1;
                    return Value::Array(items);
                }
                Some(b',') => self.i += 1,
                Some(_) => match self.value() {
                    Some(v) => items.push(v),
                    None => return Value::Array(items),
                },
            }
        }
    }

    fn object(&mut self) -> Value {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Value::Object(map),
                Some(b'}') => {
                    self.i += 1;
                    return Value::Object(map);
                }
                Some(b',') => self.i += 1,
                Some(b'"') => {
                    let Some((key, closed)) = self.string() else {
                        return Value::Object(map);
                    };
                    self.ws();
                    if !closed || self.peek() != Some(b':') {
                        return Value::Object(map);
                    }
                    self.i += 1;
                    match self.value() {
                        Some(v) => {
                            map.insert(key, v);
                        }
                        None => return Value::Object(map),
                    }
                }
                Some(_) => {
                    self.i = self.s.len();
                    return Value::Object(map);
                }
            }
        }
    }
}

/// The next four hex digits of a `\u` escape; `None` when the text ends first. A digit that is
/// not hex reads as an invalid code point, shown as U+FFFD.
fn hex4(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
    let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
    if hex.chars().count() < 4 {
        return None;
    }
    Some(u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn complete_json_parses_as_usual() {
        let v = json!({"a": [1, 2.5, "x", true, null, {"b": "c\n\u{e9}"}]});
        assert_eq!(parse_partial(&v.to_string()), Some(v));
    }

    #[test]
    fn open_containers_are_closed() {
        assert_eq!(parse_partial(r#"{"a": [1, 2"#), Some(json!({"a": [1, 2]})));
        assert_eq!(
            parse_partial(r#"[{"n": 1}, {"n""#),
            Some(json!([{"n": 1}, {}]))
        );
    }

    #[test]
    fn unfinished_strings_are_kept_unfinished_keys_dropped() {
        assert_eq!(
            parse_partial(r#"{"title": "Star W"#),
            Some(json!({"title": "Star W"}))
        );
        assert_eq!(
            parse_partial(r#"{"title": "x", "ye"#),
            Some(json!({"title": "x"}))
        );
        assert_eq!(parse_partial(r#"{"a": "\u00"#), Some(json!({"a": ""})));
    }

    #[test]
    fn unfinished_numbers_and_literals() {
        assert_eq!(parse_partial(r#"{"a": 12."#), Some(json!({"a": 12})));
        assert_eq!(parse_partial(r#"{"a": tr"#), Some(json!({})));
        assert_eq!(parse_partial("-"), None);
        assert_eq!(parse_partial(""), None);
    }

    fn depth(v: &Value) -> usize {
        let mut d = 0;
        let mut cur = v;
        loop {
            match cur {
                Value::Array(a) if !a.is_empty() => match a.last() {
                    Some(next) => cur = next,
                    None => break,
                },
                Value::Object(m) if !m.is_empty() => match m.values().next_back() {
                    Some(next) => cur = next,
                    None => break,
                },
                Value::Array(_) | Value::Object(_) => return d + 1,
                _ => return d,
            }
            d += 1;
        }
        d
    }

    #[test]
    fn hundred_thousand_open_brackets_are_cut_at_max_depth_without_overflow() {
        let text = "[".repeat(100_000);
        let v = parse_partial(&text).expect("a prefix");
        assert_eq!(depth(&v), MAX_DEPTH);
        // closed, the same depth
        let closed = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_partial(&closed).map(|v| depth(&v)), Some(MAX_DEPTH));
    }

    #[test]
    fn hundred_thousand_nested_objects_are_cut_at_max_depth_without_overflow() {
        let text = r#"{"a":"#.repeat(100_000);
        let v = parse_partial(&text).expect("a prefix");
        assert_eq!(depth(&v), MAX_DEPTH);
        let mixed = r#"{"a":[1,"#.repeat(50_000);
        let v = parse_partial(&mixed).expect("a prefix");
        assert_eq!(depth(&v), MAX_DEPTH);
        assert_eq!(v["a"][0], json!(1));
    }

    #[test]
    fn nesting_up_to_max_depth_is_kept_whole() {
        let text = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let mut want = json!(1);
        for _ in 0..MAX_DEPTH {
            want = Value::Array(vec![want]);
        }
        assert_eq!(parse_partial(&text), Some(want));
    }

    #[test]
    fn every_prefix_parses_without_panicking() {
        let text = r#"{"movies": [{"title": "Alien", "year": 1979, "tags": ["sci-fi", "horror"]}], "ok": true}"#;
        for end in 0..=text.len() {
            let _ = parse_partial(&text[..end]);
        }
        let garbage = "}{][\":,\\u12 nul \u{1F600} 1e- \"\\";
        for end in 0..=garbage.len() {
            if garbage.is_char_boundary(end) {
                let _ = parse_partial(&garbage[..end]);
            }
        }
    }
}
