//! Assembling a streamed chat completion: chunks in, text deltas out, and at the end the same
//! [`ChatCompletion`] a non-streamed call returns.
//!
//! Tool calls arrive as deltas keyed by `index`: the first carries the id and the name, the
//! rest carry pieces of the `arguments` string, cut anywhere.

use genkit_core::Part;
use serde::Deserialize;
use serde_json::Value;

use crate::response::{
    is_json_debris, AssistantMessage, ChatCompletion, Choice, FunctionCall, ToolCall, Usage,
};

/// One `chat.completion.chunk` event.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChatCompletionChunk {
    #[serde(default)]
    pub choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Whether the event has an `error` key (even `null`): then it is an error event.
    #[serde(default, rename = "error", deserialize_with = "present")]
    pub has_error: bool,
}

/// True for a key that is there, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ToolCallDelta {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    /// A piece of the arguments string (a whole object from a few servers).
    #[serde(default)]
    pub arguments: Option<Value>,
}

#[derive(Debug, Default)]
struct PartialCall {
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

/// Collects the deltas of the first choice.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    saw_choice: bool,
    content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    calls: Vec<PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    /// How much of `content` went to the caller. Text without a letter or digit is held back
    /// until some comes: beside a tool call it is parser debris (see `is_json_debris`).
    streamed: usize,
}

fn append(target: &mut Option<String>, piece: Option<String>) -> Option<String> {
    let piece = piece?;
    target.get_or_insert_with(String::new).push_str(&piece);
    (!piece.is_empty()).then_some(piece)
}

impl StreamAccumulator {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes one chunk; returns the parts to stream to the caller now (text and reasoning
    /// deltas; tool requests come whole at the end).
    pub(crate) fn push(&mut self, chunk: ChatCompletionChunk) -> Vec<Part> {
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let mut parts = Vec::new();
        for choice in chunk.choices.into_iter().flatten() {
            if choice.index != 0 {
                continue;
            }
            self.saw_choice = true;
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
            let Some(delta) = choice.delta else { continue };
            let reasoning = delta.reasoning_content.or(delta.reasoning);
            if let Some(r) = append(&mut self.reasoning, reasoning) {
                parts.push(Part::reasoning(r));
            }
            append(&mut self.content, delta.content);
            if let Some(content) = &self.content {
                let held = &content[self.streamed..];
                if !held.is_empty() && (self.streamed > 0 || !is_json_debris(held)) {
                    parts.push(Part::text(held));
                    self.streamed = content.len();
                }
            }
            append(&mut self.refusal, delta.refusal);
            for call in delta.tool_calls.into_iter().flatten() {
                self.push_call(call);
            }
        }
        parts
    }

    fn push_call(&mut self, delta: ToolCallDelta) {
        // Servers that omit `index` send each call whole, or its pieces in order.
        // u64 inside, so that a call after index u32::MAX still gets an index of its own
        let index = delta.index.map(u64::from).unwrap_or_else(|| {
            let last = self.calls.last();
            match (last, &delta.id) {
                (Some(l), Some(id)) if !id.is_empty() && *id != l.id => l.index + 1,
                (Some(l), _) => l.index,
                (None, _) => 0,
            }
        });
        // Calls are kept sorted by index. Their deltas come in order, so the call is nearly
        // always the last one: found at once; otherwise a binary search. Linear in the number
        // of deltas, however many calls there are.
        let at = match self.calls.last() {
            Some(last) if last.index == index => self.calls.len() - 1,
            Some(last) if last.index < index => {
                self.calls.push(PartialCall {
                    index,
                    ..PartialCall::default()
                });
                self.calls.len() - 1
            }
            _ => match self.calls.binary_search_by_key(&index, |c| c.index) {
                Ok(at) => at,
                Err(at) => {
                    self.calls.insert(
                        at,
                        PartialCall {
                            index,
                            ..PartialCall::default()
                        },
                    );
                    at
                }
            },
        };
        let Some(call) = self.calls.get_mut(at) else {
            return;
        };
        if let Some(id) = delta.id.filter(|id| !id.is_empty()) {
            if call.id.is_empty() {
                call.id = id;
            }
        }
        if let Some(function) = delta.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                if call.name.is_empty() {
                    call.name = name;
                }
            }
            match function.arguments {
                Some(Value::String(piece)) => call.arguments.push_str(&piece),
                Some(Value::Null) | None => {}
                Some(other) => call.arguments.push_str(&other.to_string()),
            }
        }
    }

    /// At the end of the stream: the text held back as possible debris, when no tool call came
    /// and so it is the answer itself (it goes to the caller then).
    pub(crate) fn take_held_text(&mut self) -> Option<Part> {
        let content = self.content.as_deref()?;
        let held = &content[self.streamed..];
        if held.is_empty() || !self.calls.is_empty() {
            return None;
        }
        let part = Part::text(held);
        self.streamed = content.len();
        Some(part)
    }

    /// True once the server sent a finish reason: the answer is complete, even if the stream
    /// then ends without `[DONE]`.
    pub(crate) fn finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// The completion the chunks add up to.
    pub(crate) fn into_completion(self) -> ChatCompletion {
        let choices = if self.saw_choice {
            let tool_calls = self
                .calls
                .into_iter()
                .map(|c| ToolCall {
                    id: Some(c.id),
                    function: FunctionCall {
                        name: Some(c.name),
                        arguments: Some(Value::String(c.arguments)),
                    },
                })
                .collect();
            vec![Choice {
                index: 0,
                message: AssistantMessage {
                    content: self.content.map(Value::String),
                    reasoning_content: self.reasoning,
                    reasoning: None,
                    refusal: self.refusal,
                    tool_calls,
                },
                finish_reason: self.finish_reason,
            }]
        } else {
            Vec::new()
        };
        ChatCompletion {
            choices,
            usage: self.usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::to_model_response;
    use serde_json::json;

    fn chunk(v: Value) -> ChatCompletionChunk {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn text_deltas_are_streamed_and_joined() {
        let mut acc = StreamAccumulator::new();
        let mut streamed = Vec::new();
        for v in [
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": ""}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "lo"}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
        ] {
            streamed.extend(acc.push(chunk(v)));
        }
        assert_eq!(streamed, vec![Part::text("Hel"), Part::text("lo")]);
        assert!(acc.finished());
        let r = to_model_response(acc.into_completion()).unwrap();
        assert_eq!(r.message.unwrap().text(), "Hello");
        assert_eq!(r.usage.unwrap().total_tokens, Some(5));
    }

    #[test]
    fn a_brace_before_a_tool_call_is_never_streamed_but_a_text_answer_is() {
        // what xllamacpp 0.2.12 streams when Qwen wraps its call in braces
        let mut acc = StreamAccumulator::new();
        let mut streamed = Vec::new();
        for v in [
            json!({"choices": [{"index": 0, "delta": {"content": "{"}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "a", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ] {
            streamed.extend(acc.push(chunk(v)));
        }
        streamed.extend(acc.take_held_text());
        assert!(streamed.is_empty(), "{streamed:?}");
        let m = to_model_response(acc.into_completion())
            .unwrap()
            .message
            .unwrap();
        assert_eq!(m.content.len(), 1);

        // held back only while it has no letter; then all of it goes, and the rest as it comes
        let mut acc = StreamAccumulator::new();
        let mut streamed = Vec::new();
        for piece in ["\"", "Hi", "!", "."] {
            streamed.extend(acc.push(chunk(
                json!({"choices": [{"index": 0, "delta": {"content": piece}}]}),
            )));
        }
        streamed.extend(acc.take_held_text());
        assert_eq!(
            streamed,
            vec![Part::text("\"Hi"), Part::text("!"), Part::text(".")]
        );

        // an answer of punctuation alone is streamed at the end
        let mut acc = StreamAccumulator::new();
        assert!(acc
            .push(chunk(
                json!({"choices": [{"index": 0, "delta": {"content": "?!"}}]})
            ))
            .is_empty());
        assert_eq!(acc.take_held_text(), Some(Part::text("?!")));
        assert_eq!(acc.take_held_text(), None);
    }

    #[test]
    fn tool_call_arguments_accumulate_by_index() {
        let mut acc = StreamAccumulator::new();
        for v in [
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get", "arguments": ""}},
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "put", "arguments": "{\"k"}}
            ]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\""}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "\":2}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ] {
            assert!(acc.push(chunk(v)).is_empty());
        }
        let m = to_model_response(acc.into_completion())
            .unwrap()
            .message
            .unwrap();
        let calls: Vec<_> = m.tool_requests().collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].name.as_str(), calls[0].ref_.as_deref()),
            ("get", Some("call_a"))
        );
        assert_eq!(calls[0].input, Some(json!({"x": 1})));
        assert_eq!(
            (calls[1].name.as_str(), calls[1].ref_.as_deref()),
            ("put", Some("call_b"))
        );
        assert_eq!(calls[1].input, Some(json!({"k": 2})));
    }

    #[test]
    fn calls_without_index_are_told_apart_by_id() {
        let mut acc = StreamAccumulator::new();
        acc.push(chunk(json!({"choices": [{"delta": {"tool_calls": [
            {"id": "1", "function": {"name": "a", "arguments": {"x": 1}}},
            {"id": "2", "function": {"name": "b", "arguments": "{}"}}
        ]}, "finish_reason": "tool_calls"}]})));
        let m = to_model_response(acc.into_completion())
            .unwrap()
            .message
            .unwrap();
        let names: Vec<_> = m.tool_requests().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            m.tool_requests().next().unwrap().input,
            Some(json!({"x": 1}))
        );
    }

    #[test]
    fn reasoning_deltas_stream_as_reasoning_parts() {
        let mut acc = StreamAccumulator::new();
        let parts = acc.push(chunk(
            json!({"choices": [{"delta": {"reasoning_content": "hmm", "content": "ok"}}]}),
        ));
        assert_eq!(parts, vec![Part::reasoning("hmm"), Part::text("ok")]);
    }

    #[test]
    fn other_choices_are_ignored_and_no_choice_means_no_message() {
        let mut acc = StreamAccumulator::new();
        acc.push(chunk(
            json!({"choices": [{"index": 1, "delta": {"content": "x"}}]}),
        ));
        assert!(!acc.finished());
        assert!(to_model_response(acc.into_completion()).is_err());
    }

    #[test]
    fn many_streamed_tool_calls_accumulate_in_linear_time() {
        // 200,000 calls, each in three deltas (name, then two argument pieces), sent call
        // after call as servers do. The lookup used to scan every call so far: this took
        // minutes; now it is one comparison per delta.
        const CALLS: u32 = 200_000;
        let mut acc = StreamAccumulator::new();
        let delta =
            |index: u32, id: Option<String>, name: Option<&str>, args: &str| ToolCallDelta {
                index: Some(index),
                id,
                function: Some(FunctionDelta {
                    name: name.map(str::to_owned),
                    arguments: Some(Value::String(args.to_owned())),
                }),
            };
        for i in 0..CALLS {
            acc.push_call(delta(i, Some(format!("c{i}")), Some("f"), ""));
            acc.push_call(delta(i, None, None, "{\"n\":"));
            acc.push_call(delta(i, None, None, &format!("{i}}}")));
        }
        // one out of order, as a server interleaving two calls would send it
        acc.push_call(delta(7, None, None, ""));
        acc.saw_choice = true;
        assert_eq!(acc.calls.len(), CALLS as usize);
        let completion = acc.into_completion();
        let calls = &completion.choices[0].message.tool_calls;
        assert_eq!(calls.len(), CALLS as usize);
        for (i, call) in calls.iter().enumerate().step_by(9973) {
            assert_eq!(call.id.as_deref(), Some(format!("c{i}").as_str()));
            assert_eq!(
                call.function.arguments,
                Some(Value::String(format!("{{\"n\":{i}}}")))
            );
        }
    }

    #[test]
    fn tool_calls_out_of_index_order_are_sorted_by_index() {
        let mut acc = StreamAccumulator::new();
        for v in [
            json!({"choices": [{"delta": {"tool_calls": [{"index": 5, "id": "e", "function": {"name": "e", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 2, "id": "b", "function": {"name": "b", "arguments": "{"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 9, "id": "z", "function": {"name": "z", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 2, "function": {"arguments": "}"}}]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
        ] {
            acc.push(chunk(v));
        }
        let m = to_model_response(acc.into_completion())
            .unwrap()
            .message
            .unwrap();
        let names: Vec<_> = m.tool_requests().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "e", "z"]);
        assert!(m.tool_requests().all(|r| r.input == Some(json!({}))));
    }
}
