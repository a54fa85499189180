//! From a rendered template to Genkit messages: role and history markers split messages,
//! media and section markers split parts, and the history goes where `{{history}}` was (or,
//! without it, before the last user message).

use genkit_core::{JsonMap, Message, Part, PartKind, Role};
use serde_json::Value;

pub(crate) const ROLE_MARKER_PREFIX: &str = "<<<dotprompt:role:";
pub(crate) const HISTORY_MARKER: &str = "<<<dotprompt:history";
pub(crate) const MEDIA_MARKER_PREFIX: &str = "<<<dotprompt:media:";
pub(crate) const SECTION_MARKER_PREFIX: &str = "<<<dotprompt:section";

/// The metadata key and value Dotprompt puts on history messages it places.
pub const HISTORY_PURPOSE: &str = "history";

enum Piece<'a> {
    Role(&'a str),
    History,
    Text(&'a str),
}

/// Splits on `<<<dotprompt:role:xyz>>>` and `<<<dotprompt:history>>>`, dropping pieces that
/// are only whitespace.
fn role_pieces(rendered: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut search = 0;
    while let Some(i) = rendered[search..].find("<<<dotprompt:") {
        let at = search + i;
        let after = &rendered[at..];
        let marker = if let Some(r) = after.strip_prefix(ROLE_MARKER_PREFIX) {
            let len = r.bytes().take_while(u8::is_ascii_lowercase).count();
            (len > 0 && r[len..].starts_with(">>>"))
                .then(|| (Piece::Role(&r[..len]), ROLE_MARKER_PREFIX.len() + len + 3))
        } else if after
            .strip_prefix(HISTORY_MARKER)
            .is_some_and(|r| r.starts_with(">>>"))
        {
            Some((Piece::History, HISTORY_MARKER.len() + 3))
        } else {
            None
        };
        match marker {
            Some((piece, len)) => {
                let text = &rendered[text_start..at];
                if !text.trim().is_empty() {
                    out.push(Piece::Text(text));
                }
                out.push(piece);
                text_start = at + len;
                search = text_start;
            }
            // `<` is one byte: the next search starts on a char boundary
            None => search = at + 1,
        }
    }
    let text = &rendered[text_start..];
    if !text.trim().is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

fn role_of(name: &str) -> Role {
    match name {
        "system" => Role::System,
        "model" => Role::Model,
        "tool" => Role::Tool,
        _ => Role::User,
    }
}

/// Splits one message's text at media and section markers into parts, dropping pieces that
/// are only whitespace.
pub(crate) fn to_parts(source: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = source;
    let push_text = |parts: &mut Vec<Part>, t: &str| {
        if !t.trim().is_empty() {
            parts.push(Part::text(t));
        }
    };
    while let Some(at) = find_part_marker(rest) {
        push_text(&mut parts, &rest[..at]);
        let after = &rest[at..];
        // a marker ends at the first `>>>` on its line
        let line_end = after.find('\n').unwrap_or(after.len());
        let Some(close) = after[..line_end].find(">>>") else {
            push_text(&mut parts, after);
            return parts;
        };
        let body = &after[..close];
        parts.push(marker_part(body));
        rest = &after[close + 3..];
    }
    push_text(&mut parts, rest);
    parts
}

fn find_part_marker(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("<<<dotprompt:") {
        let at = from + i;
        let after = &s[at..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let is_marker = (after.starts_with("<<<dotprompt:media:url")
            || after.starts_with(SECTION_MARKER_PREFIX))
            && after[..line_end].contains(">>>");
        if is_marker {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn marker_part(body: &str) -> Part {
    let mut words = body.split(' ');
    let head = words.next().unwrap_or_default();
    if head.starts_with(MEDIA_MARKER_PREFIX) {
        let url = words.next().unwrap_or_default();
        let content_type = words.next().filter(|s| !s.is_empty()).map(str::to_owned);
        return Part::media(url, content_type);
    }
    let purpose = words.next().unwrap_or_default();
    let mut meta = JsonMap::new();
    meta.insert("purpose".into(), Value::from(purpose));
    meta.insert("pending".into(), Value::Bool(true));
    Part {
        kind: PartKind::Custom,
        metadata: Some(meta),
        custom: None,
    }
}

/// True for a section placeholder part (`{{section "name"}}`): no content, metadata
/// `pending: true` and the section's `purpose`.
pub fn is_pending_part(part: &Part) -> bool {
    matches!(part.kind, PartKind::Custom)
        && part.custom.is_none()
        && part.metadata_value("pending") == Some(&Value::Bool(true))
}

fn with_history_purpose(mut m: Message) -> Message {
    m.metadata
        .get_or_insert_with(JsonMap::new)
        .insert("purpose".into(), Value::from(HISTORY_PURPOSE));
    m
}

/// True when Dotprompt placed this message from the history.
pub fn is_history(m: &Message) -> bool {
    m.metadata
        .as_ref()
        .and_then(|md| md.get("purpose"))
        .and_then(Value::as_str)
        == Some(HISTORY_PURPOSE)
}

struct Source {
    role: Role,
    text: String,
    message: Option<Message>,
}

/// The messages of a rendered template, with `history` placed.
pub(crate) fn to_messages(rendered: &str, history: Option<&[Message]>) -> Vec<Message> {
    let mut sources = vec![Source {
        role: Role::User,
        text: String::new(),
        message: None,
    }];
    for piece in role_pieces(rendered) {
        match piece {
            Piece::Role(name) => {
                let role = role_of(name);
                let cur = sources.last_mut();
                match cur {
                    Some(cur) if cur.message.is_none() && cur.text.trim().is_empty() => {
                        cur.role = role;
                    }
                    _ => sources.push(Source {
                        role,
                        text: String::new(),
                        message: None,
                    }),
                }
            }
            Piece::History => {
                for m in history.unwrap_or_default() {
                    sources.push(Source {
                        role: m.role,
                        text: String::new(),
                        message: Some(with_history_purpose(m.clone())),
                    });
                }
                sources.push(Source {
                    role: Role::Model,
                    text: String::new(),
                    message: None,
                });
            }
            Piece::Text(t) => match sources.last_mut() {
                Some(cur) if cur.message.is_none() => cur.text.push_str(t),
                _ => sources.push(Source {
                    role: Role::User,
                    text: t.to_owned(),
                    message: None,
                }),
            },
        }
    }
    let messages: Vec<Message> = sources
        .into_iter()
        .filter_map(|s| match s.message {
            Some(m) => Some(m),
            None if s.text.is_empty() => None,
            None => Some(Message::new(s.role, to_parts(&s.text))),
        })
        .collect();
    insert_history(messages, history)
}

/// Without a `{{history}}` in the template: the history before the last message when that is
/// a user message, else after everything.
fn insert_history(mut messages: Vec<Message>, history: Option<&[Message]>) -> Vec<Message> {
    let Some(history) = history else {
        return messages;
    };
    if messages.iter().any(is_history) {
        return messages;
    }
    if messages.is_empty() {
        return history.to_vec();
    }
    if messages.last().is_some_and(|m| m.role == Role::User) {
        let last = messages.pop();
        messages.extend(history.iter().cloned());
        messages.extend(last);
        return messages;
    }
    messages.extend(history.iter().cloned());
    messages
}
