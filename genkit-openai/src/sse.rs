//! A server-sent events parser (the WHATWG event-stream format), fed bytes as they arrive.
//!
//! Bytes may be split anywhere, also inside a line break or a UTF-8 character. Lines end in
//! LF, CRLF or CR; `:` lines are comments; several `data:` lines make one event, joined by
//! `\n`; a blank line dispatches the event.

/// One event's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// Why an event stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// The stream ended inside an event.
    #[error("the stream ended inside an event ({0} bytes of it received)")]
    Truncated(usize),
    /// A line longer than any real event: a broken or hostile server.
    #[error("an event line exceeds {0} bytes")]
    LineTooLong(usize),
}

/// Longest line accepted. A tool call's arguments arrive in many small events, so real lines
/// stay far below this.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Incremental parser state.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The last byte was a CR: an LF right after it belongs to the same line break.
    after_cr: bool,
    /// The first bytes, held back while they may be the start of a byte order mark.
    head: Vec<u8>,
    /// `data:` lines of the current event, each followed by `\n`.
    data: Option<String>,
    event: Option<String>,
    /// Bytes of the current event seen so far (for error messages).
    event_bytes: usize,
    started: bool,
}

impl SseParser {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        if self.started {
            return self.feed(bytes);
        }
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        // A UTF-8 byte order mark may start the stream, possibly cut across reads: the
        // first bytes are held back until it is clear whether they are one.
        if self.head.is_empty() && bytes.len() >= BOM.len() {
            self.started = true;
            return self.feed(bytes.strip_prefix(BOM).unwrap_or(bytes));
        }
        let mut head = std::mem::take(&mut self.head);
        head.extend_from_slice(bytes);
        if head.len() < BOM.len() && BOM.starts_with(&head) {
            self.head = head;
            return Ok(Vec::new());
        }
        self.started = true;
        self.feed(head.strip_prefix(BOM).unwrap_or(&head))
    }

    /// Splits `bytes` into lines; a line within `bytes` is handled in place, without copying.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(i) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.end_line(&bytes[..i], &mut events);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..i]);
                self.end_line(&line, &mut events);
                line.clear();
                self.line = line; // keep the allocation
            }
            let cr = bytes[i] == b'\r';
            bytes = &bytes[i + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > MAX_LINE {
            return Err(SseError::LineTooLong(MAX_LINE));
        }
        Ok(events)
    }

    /// Ends the stream. An event whose blank line never came is an error, except a lone
    /// `data: [DONE]`, which some servers end with; that one is returned.
    pub(crate) fn finish(self) -> Result<Option<SseEvent>, SseError> {
        let pending = self.event_bytes + self.line.len() + self.head.len();
        if !self.line.is_empty() || !self.head.is_empty() {
            return Err(SseError::Truncated(pending));
        }
        match self.data {
            None => Ok(None),
            Some(data) if data == "[DONE]\n" => Ok(Some(SseEvent {
                event: self.event,
                data: "[DONE]".to_owned(),
            })),
            Some(_) => Err(SseError::Truncated(pending)),
        }
    }

    fn end_line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(mut data) = self.data.take() {
                data.pop(); // the `\n` after the last data line
                events.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            self.event_bytes = 0;
            return;
        }
        self.event_bytes += line.len() + 1;
        if line[0] == b':' {
            return; // a comment (servers send them as keep-alives)
        }
        let text = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                let data = self
                    .data
                    .get_or_insert_with(|| String::with_capacity(value.len() + 1));
                data.push_str(value);
                data.push('\n');
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {} // `id`, `retry` and unknown fields do not matter here
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<SseEvent>, Result<Option<SseEvent>, SseError>) {
        let mut p = SseParser::new();
        let mut events = Vec::new();
        for c in chunks {
            events.extend(p.push(c).unwrap());
        }
        (events, p.finish())
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    const STREAM: &[u8] =
        b"data: {\"a\":1}\n\n: keep-alive\n\nevent: x\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n";

    #[test]
    fn events_comments_and_multiline_data() {
        let (events, end) = parse_all(&[STREAM]);
        assert_eq!(data(&events), ["{\"a\":1}", "line one\nline two", "[DONE]"]);
        assert_eq!(events[1].event.as_deref(), Some("x"));
        assert_eq!(events[2].event, None);
        assert_eq!(end, Ok(None));
    }

    #[test]
    fn any_split_point_gives_the_same_events() {
        let (whole, _) = parse_all(&[STREAM]);
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let (events, end) = parse_all(&[&STREAM[..i], &STREAM[i..j], &STREAM[j..]]);
                assert_eq!(events, whole, "split at {i}, {j}");
                assert_eq!(end, Ok(None));
            }
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(parse_all(&bytes).0, whole);
    }

    #[test]
    fn crlf_and_cr_line_breaks() {
        let crlf = String::from_utf8(STREAM.to_vec())
            .unwrap()
            .replace('\n', "\r\n");
        let cr = String::from_utf8(STREAM.to_vec())
            .unwrap()
            .replace('\n', "\r");
        let (whole, _) = parse_all(&[STREAM]);
        for s in [crlf, cr] {
            let b = s.as_bytes();
            for i in 0..=b.len() {
                assert_eq!(parse_all(&[&b[..i], &b[i..]]).0, whole, "split at {i}");
            }
        }
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let s = "data: h\u{e9}llo \u{1f600}\n\n".as_bytes();
        for i in 0..=s.len() {
            let (events, _) = parse_all(&[&s[..i], &s[i..]]);
            assert_eq!(data(&events), ["h\u{e9}llo \u{1f600}"]);
        }
    }

    #[test]
    fn field_details() {
        let (events, _) = parse_all(&[
            b"\xEF\xBB\xBFdata:no space\n\ndata\n\ndata:  two spaces\n\nevent: only\n\n",
        ]);
        assert_eq!(data(&events), ["no space", "", " two spaces"]);
    }

    #[test]
    fn a_byte_order_mark_cut_across_reads_is_stripped() {
        let s: &[u8] = b"\xEF\xBB\xBFdata: x\n\n";
        for i in 0..=s.len() {
            for j in i..=s.len() {
                let (events, end) = parse_all(&[&s[..i], &s[i..j], &s[j..]]);
                assert_eq!(data(&events), ["x"], "cut at {i}, {j}");
                assert_eq!(end, Ok(None));
            }
        }
        assert!(matches!(
            parse_all(&[b"\xEF", b"\xBB"]).1,
            Err(SseError::Truncated(2))
        ));
        assert_eq!(parse_all(&[b"\xEF\xBB", b"\xBF"]).1, Ok(None));
    }

    #[test]
    fn missing_done_is_not_an_error_for_the_parser() {
        let (events, end) = parse_all(&[b"data: {}\n\n"]);
        assert_eq!(data(&events), ["{}"]);
        assert_eq!(end, Ok(None));
    }

    #[test]
    fn done_without_its_blank_line_is_accepted() {
        let (events, end) = parse_all(&[b"data: {}\n\ndata: [DONE]\n"]);
        assert_eq!(data(&events), ["{}"]);
        assert_eq!(end.unwrap().map(|e| e.data), Some("[DONE]".to_owned()));
    }

    #[test]
    fn a_stream_cut_mid_event_is_an_error() {
        assert!(matches!(
            parse_all(&[b"data: {}\n\ndata: {\"choi"]).1,
            Err(SseError::Truncated(_))
        ));
        assert!(matches!(
            parse_all(&[b"data: {\"a\":\ndata: 1}\n"]).1,
            Err(SseError::Truncated(_))
        ));
        assert!(matches!(
            parse_all(&[b"data: {}\n\ndata: [DO"]).1,
            Err(SseError::Truncated(_))
        ));
    }
}
