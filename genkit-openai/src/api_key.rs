//! [`ApiKey`], the secret kept out of `Debug` output, and [`Redactor`], which scrubs secrets
//! from what a server sent before it reaches an error, a log line or a trace.

use std::fmt;

/// An API key. Its `Debug` shows only that a key is set; the value leaves this type only to go
/// into the `Authorization` header (marked sensitive) and to be scrubbed from error bodies.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: String) -> Self {
        Self(key)
    }

    /// The key itself, for the `Authorization` header and the redactor only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// Shortest piece of a secret that is scrubbed. A secret shorter than this is not scrubbed at
/// all: it would match ordinary text, and it cannot be a real secret anyway.
pub(crate) const MIN_PIECE: usize = 8;

/// The replacement for a scrubbed secret.
const REDACTED: &str = "[REDACTED]";

/// Scrubs secrets (the API key, custom header values) from text a server sent, before it goes
/// into an error, a log line or a trace.
///
/// Not only whole secrets are removed: any run of text made of pieces of at least
/// [`MIN_PIECE`] bytes of a secret is, so a secret cut off by a length limit, or echoed in
/// part, leaves nothing recognisable either. The check is linear in the text: every
/// `MIN_PIECE`-byte window of every secret is hashed once, up front.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Every `MIN_PIECE`-byte window of every secret, as a number.
    windows: std::collections::HashSet<u64>,
    /// The longest secret, in bytes.
    longest: usize,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("pieces", &self.windows.len())
            .finish()
    }
}

fn window(bytes: &[u8]) -> u64 {
    let mut w = [0u8; MIN_PIECE];
    w.copy_from_slice(&bytes[..MIN_PIECE]);
    u64::from_le_bytes(w)
}

impl Redactor {
    /// A redactor for these secrets; ones shorter than [`MIN_PIECE`] are left out.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Self::default();
        for secret in secrets {
            let bytes = secret.as_bytes();
            if bytes.len() < MIN_PIECE {
                continue;
            }
            r.longest = r.longest.max(bytes.len());
            r.windows.extend(bytes.windows(MIN_PIECE).map(window));
        }
        r
    }

    /// How many bytes past a cut must be read so that a secret straddling the cut is seen
    /// whole (and scrubbed whole) before the cut is made.
    pub(crate) fn slack(&self) -> usize {
        self.longest
    }

    /// `text` with every piece of a secret replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, text: String) -> String {
        if self.windows.is_empty() || text.len() < MIN_PIECE {
            return text;
        }
        let bytes = text.as_bytes();
        // Covered ranges, merged as they are found (windows come in order of start).
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for start in 0..=bytes.len() - MIN_PIECE {
            if !self.windows.contains(&window(&bytes[start..])) {
                continue;
            }
            let end = start + MIN_PIECE;
            match ranges.last_mut() {
                Some(last) if start <= last.1 => last.1 = end,
                _ => ranges.push((start, end)),
            }
        }
        if ranges.is_empty() {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (mut start, mut end) in ranges {
            // Whole characters only (a secret with non-ASCII bytes may match mid-character).
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let start = start.max(at);
            out.push_str(&text[at..start]);
            if !out.ends_with(REDACTED) {
                out.push_str(REDACTED);
            }
            at = end.max(at);
        }
        out.push_str(&text[at..]);
        out
    }

    /// Text a server sent, made safe to keep: scrubbed, then cut to at most `limit` bytes (at
    /// a character boundary). A secret straddling `limit` is scrubbed whole before the cut.
    pub(crate) fn server_text(&self, text: String, limit: usize) -> String {
        let mut text = cut(text, limit.saturating_add(self.slack()));
        text = self.scrub(text);
        cut(text, limit)
    }
}

/// `text`, at most `limit` bytes of it, at a character boundary.
pub(crate) fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut at = limit;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::new("sk-very-secret-value".into());
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert!(!format!("{key:#?}").contains("secret"));
    }

    #[test]
    fn scrub_removes_echoed_keys() {
        let r = Redactor::new(["sk-very-secret-value"]);
        let body = r#"{"error":{"message":"bad key sk-very-secret-value"}}"#.to_owned();
        assert_eq!(
            r.scrub(body),
            r#"{"error":{"message":"bad key [REDACTED]"}}"#
        );
    }

    #[test]
    fn scrub_removes_every_piece_of_eight_bytes_or_more() {
        let key = "sk-proj-4f9Qa7ZtLmN2xK8vB1cD";
        let r = Redactor::new([key]);
        for piece in [&key[..8], &key[3..20], &key[key.len() - 9..], key] {
            let text = format!("before {piece} after");
            assert_eq!(r.scrub(text), "before [REDACTED] after", "{piece}");
        }
        // two pieces glued together are one redaction
        let text = format!("x{}{}y", &key[..10], &key[12..]);
        assert_eq!(r.scrub(text), "x[REDACTED]y");
        // seven bytes are not a piece
        assert_eq!(r.scrub("a sk-proj b".into()), "a sk-proj b");
        // short secrets are not scrubbed (they would match ordinary text)
        let short = Redactor::new(["abc"]);
        assert_eq!(short.scrub("abc abc".into()), "abc abc");
    }

    #[test]
    fn scrub_keeps_whole_characters() {
        let r = Redactor::new(["\u{e9}t\u{e9}-secret-key"]);
        let out = r.scrub("caf\u{e9}t\u{e9}-secret-key!".into());
        assert_eq!(out, "caf[REDACTED]!");
    }

    #[test]
    fn a_secret_across_the_cut_is_scrubbed_whole_before_cutting() {
        let key = "sk-abcdefghijklmnopqrstuvwxyz012345";
        let r = Redactor::new([key]);
        for at in 0..key.len() + 2 {
            let text = format!("{}{key}{}", "x".repeat(100 - at), "y".repeat(50));
            let out = r.server_text(text, 100);
            assert!(out.len() <= 100, "{at}");
            for w in key.as_bytes().windows(MIN_PIECE) {
                assert!(
                    !out.as_bytes().windows(MIN_PIECE).any(|o| o == w),
                    "{at}: {out}"
                );
            }
        }
    }
}
