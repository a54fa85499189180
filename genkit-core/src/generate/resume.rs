//! Resuming an interrupted generation: matching answers to pending tool requests.
//!
//! Each tool request of the last model message is resolved, in request order, by its
//! `pendingOutput`, else by a respond part with the same (name, ref), else by a restart part with
//! the same (name, ref). Stricter than Genkit's SDKs: an answer that matches nothing, or a second
//! answer for one request, is an error rather than silently dropped.
//!
//! Answers without a `ref` (histories written by other runtimes may hold ref-less requests)
//! match the ref-less requests of their tool in order: the first ref-less respond part answers
//! the first unanswered ref-less request, and so on; restart parts take the ones respond parts
//! left, in order.
//!
//! Nothing runs before every answer is checked: each names a tool this call has, a restart keeps
//! the request's input unless it declares the replacement (`replacedInput` = the request's
//! input), and on a sealed instance the history's seal verifies and every bound answer belongs
//! to its interrupt.

use futures::future::join_all;
use serde_json::Value;

use super::tool_calls::{call_tool, response_part, set_pending, CallEnv};
use crate::error::{GenkitError, RequestId};
use crate::protocol;
use crate::seal::{self, HistorySeal};
use crate::tool::{ToolOutcome, ToolOutput};
use crate::wire::{JsonMap, Message, Messages, Part, PartKind, ResumeOptions, Role, ToolRequest};

/// What resuming produced.
pub(crate) enum Resumed {
    /// Every request answered: this tool message was appended to the history.
    Answered,
    /// A restarted tool interrupted again; the last message was revised in place.
    Interrupted,
}

/// How one pending request gets answered.
enum Answer {
    Pending,
    Respond(Part),
    Restart(Part),
}

fn request_id(r: &ToolRequest) -> RequestId {
    RequestId::new(&r.name, r.ref_.clone())
}

fn describe(r: &ToolRequest) -> String {
    request_id(r).to_string()
}

/// Matches `parts` (of `kind`) to the requests of the last message, filling `answers`.
fn match_answers(
    kind: &'static str,
    parts: Vec<Part>,
    requests: &[(usize, ToolRequest, bool)],
    answers: &mut [Option<Answer>],
) -> Result<(), GenkitError> {
    for part in parts {
        let (name, ref_) = match (&part.kind, kind) {
            (PartKind::ToolResponse(r), "respond") => (r.name.clone(), r.ref_.clone()),
            (PartKind::ToolRequest(r), "restart") => (r.name.clone(), r.ref_.clone()),
            _ => return Err(GenkitError::malformed_resume(kind)),
        };
        let matches = |(_, r, has_pending): &(usize, ToolRequest, bool)| {
            !has_pending && r.name == name && r.ref_ == ref_
        };
        // a ref tells one request; without one, the first ref-less request not yet answered
        let slot = match &ref_ {
            Some(_) => requests.iter().position(matches),
            None => requests
                .iter()
                .enumerate()
                .position(|(i, r)| matches(r) && answers[i].is_none())
                .or_else(|| requests.iter().position(matches)),
        };
        let Some(slot) = slot else {
            return Err(GenkitError::UnmatchedResume {
                kind,
                request: RequestId::new(name, ref_),
                pending: requests
                    .iter()
                    .filter(|(_, _, has_pending)| !has_pending)
                    .map(|(_, r, _)| describe(r))
                    .collect(),
            });
        };
        if answers[slot].is_some() {
            return Err(GenkitError::DuplicateResume {
                request: RequestId::new(name, ref_),
            });
        }
        answers[slot] = Some(if kind == "respond" {
            Answer::Respond(part)
        } else {
            Answer::Restart(part)
        });
    }
    Ok(())
}

/// Verifies the seal of a history about to be resumed; a history that cannot be resumed at all
/// is left to [`resume`]'s precondition error.
pub(crate) fn verify_seal<M: std::borrow::Borrow<Message>>(
    seal: &HistorySeal,
    messages: &[M],
) -> Result<(), GenkitError> {
    match messages.last().map(|m| m.borrow()) {
        Some(last) if last.role == Role::Model && last.has_tool_requests() => seal.verify(messages),
        _ => Ok(()),
    }
}

/// Checks everything about an answer that needs no tool to run.
fn check_answer(
    env: &CallEnv<'_>,
    seal_mac: Option<&str>,
    index: usize,
    request: &ToolRequest,
    answer: &mut Part,
    kind: &'static str,
) -> Result<(), GenkitError> {
    if env.tools.get(&request.name).is_none() {
        // an answer for a tool this call does not have could not be validated
        return Err(GenkitError::ToolNotFound {
            request: request_id(request),
            available: env.tools.iter().map(|t| t.name().to_owned()).collect(),
        });
    }
    let bound = answer.take_metadata(protocol::BOUND_TO);
    if let (Some(mac), Some(bound)) = (seal_mac, bound) {
        if bound.as_str() != Some(seal::binding(mac, index, request).as_str()) {
            return Err(GenkitError::AnswerForAnotherInterrupt {
                kind,
                request: request_id(request),
            });
        }
    }
    if let Some(restart) = answer.as_tool_request() {
        let pending = request.input.as_ref().unwrap_or(&Value::Null);
        let given = restart.input.as_ref().unwrap_or(&Value::Null);
        // a changed input must declare what it replaces: the pending request's input
        match answer.metadata_value(protocol::REPLACED_INPUT) {
            _ if given == pending => {}
            None => {
                return Err(GenkitError::RestartInputChanged {
                    request: request_id(request),
                    reason: "its input differs from the pending request's; declare the \
                             replacement (restart with a new input) to change it"
                        .to_owned(),
                })
            }
            Some(original) if original != pending => {
                return Err(GenkitError::RestartInputChanged {
                    request: request_id(request),
                    reason: "its input differs from the pending request's, and its \
                             replacedInput is not the pending request's input"
                        .to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Moves `interrupt` to `resolvedInterrupt` on an answered request part.
fn mark_resolved(part: &mut Part) {
    if let Some(old) = part.take_metadata(protocol::INTERRUPT) {
        part.set_metadata(protocol::RESOLVED_INTERRUPT, old);
    }
}

/// The output of a pending sibling, as recorded when the turn was interrupted.
fn take_pending(part: &mut Part) -> Option<ToolOutput> {
    let output = part.take_metadata(protocol::PENDING_OUTPUT)?;
    let content = part
        .take_metadata(protocol::PENDING_CONTENT)
        .and_then(|v| serde_json::from_value::<Vec<Part>>(v).ok());
    Some(ToolOutput { output, content })
}

/// Applies `resume` to `messages`: on success appends the tool message.
///
/// `sealed`: the instance seals histories (the seal itself was verified before); bound answers
/// must then belong to their interrupt.
pub(crate) async fn resume(
    messages: &mut Messages,
    resume: ResumeOptions,
    env: &CallEnv<'_>,
    sealed: bool,
) -> Result<Resumed, GenkitError> {
    let empty = || GenkitError::ResumePrecondition {
        reason: "the history is empty; resume needs the interrupted model message last".to_owned(),
    };
    // read until the answers are checked; changed (a shared history copied) only after
    let last = messages.last().ok_or_else(empty)?;
    if last.role != Role::Model || !last.has_tool_requests() {
        return Err(GenkitError::ResumePrecondition {
            reason: format!(
                "the last message must be a model message with tool requests, found a {} message{}",
                last.role.as_str(),
                if last.has_tool_requests() {
                    ""
                } else {
                    " without tool requests"
                }
            ),
        });
    }

    // (index in content, request, has a pending output)
    let requests: Vec<(usize, ToolRequest, bool)> = last
        .content
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.as_tool_request().map(|r| {
                (
                    i,
                    r.clone(),
                    p.metadata_value(protocol::PENDING_OUTPUT).is_some(),
                )
            })
        })
        .collect();
    let mut answers: Vec<Option<Answer>> = requests
        .iter()
        .map(|(_, _, pending)| pending.then_some(Answer::Pending))
        .collect();
    match_answers(
        "respond",
        resume.respond.unwrap_or_default(),
        &requests,
        &mut answers,
    )?;
    match_answers(
        "restart",
        resume.restart.unwrap_or_default(),
        &requests,
        &mut answers,
    )?;

    let seal_mac = seal::seal_mac(last).filter(|_| sealed).map(str::to_owned);
    for ((index, request, _), answer) in requests.iter().zip(answers.iter_mut()) {
        match answer {
            Some(Answer::Respond(part)) => {
                check_answer(env, seal_mac.as_deref(), *index, request, part, "respond")?
            }
            Some(Answer::Restart(part)) => {
                check_answer(env, seal_mac.as_deref(), *index, request, part, "restart")?
            }
            Some(Answer::Pending) | None => {}
        }
    }
    let last = messages.last_mut().ok_or_else(empty)?;
    // the seal of a message is stale once it is answered; a new pause seals anew
    if let Some(m) = last.metadata.as_mut() {
        m.remove(protocol::SEAL);
        if m.is_empty() {
            last.metadata = None;
        }
    }

    let mut outputs: Vec<Option<Part>> = vec![None; requests.len()];
    let mut restarts = Vec::new();
    for (slot, ((index, request, _), answer)) in requests.iter().zip(answers).enumerate() {
        let part = &mut last.content[*index];
        match answer {
            Some(Answer::Pending) => {
                if let Some(out) = take_pending(part) {
                    let mut response = response_part(request, out);
                    let mut metadata = part.metadata.clone().unwrap_or_default();
                    metadata.insert(protocol::SOURCE.to_owned(), Value::from("pending"));
                    response.metadata = Some(metadata);
                    outputs[slot] = Some(response);
                }
            }
            Some(Answer::Respond(answer)) => {
                // every answer's tool is there (checked above)
                if let (Some(tool), Some(r)) =
                    (env.tools.get(&request.name), answer.as_tool_response())
                {
                    let output = r.output.clone().unwrap_or(Value::Null);
                    if let Err(violations) = tool.check_output(&output) {
                        return Err(GenkitError::ToolOutputInvalid {
                            request: request_id(request),
                            violations,
                        });
                    }
                }
                mark_resolved(part);
                outputs[slot] = Some(answer);
            }
            Some(Answer::Restart(restart)) => restarts.push((slot, *index, restart)),
            None => {
                return Err(GenkitError::UnresolvedToolRequest {
                    request: request_id(request),
                })
            }
        }
    }

    // Restarts run concurrently, like the tools of a turn.
    let runs = restarts.iter().map(|(_, _, restart)| async move {
        let request = restart.as_tool_request();
        // absent `resumed`: the tool runs as not resumed, as in Genkit JS
        let resumed = restart.metadata_value(protocol::RESUMED).cloned();
        let original = restart.metadata_value(protocol::REPLACED_INPUT).cloned();
        match request {
            Some(r) => call_tool(env, r, resumed, original).await,
            None => ToolOutcome::Failed(GenkitError::malformed_resume("restart")),
        }
    });
    let results = join_all(runs).await;

    let mut interrupted = false;
    for ((slot, index, restart), result) in restarts.into_iter().zip(results) {
        let part = &mut last.content[index];
        let Some(restart_request) = restart.as_tool_request().cloned() else {
            continue;
        };
        match result {
            ToolOutcome::Failed(e) => return Err(e),
            ToolOutcome::Output(out) => {
                mark_resolved(part);
                if let Some(original) = restart.metadata_value(protocol::REPLACED_INPUT) {
                    // the model sees the input that really ran; the original stays on record
                    part.set_metadata(protocol::REPLACED_INPUT, original.clone());
                    if let Some(r) = part.as_tool_request_mut() {
                        r.input = restart_request.input.clone();
                    }
                }
                outputs[slot] = Some(response_part(&restart_request, out));
            }
            ToolOutcome::Interrupted(payload) => {
                let mut metadata: JsonMap = restart.metadata.clone().unwrap_or_default();
                metadata.remove(protocol::RESUMED);
                metadata.insert(protocol::INTERRUPT.to_owned(), payload);
                *part = Part::tool_request(restart_request).with_metadata(metadata);
                interrupted = true;
            }
        }
    }

    if interrupted {
        // Keep every answer given so far as a pending output: nothing the app sent is lost.
        for ((index, _, _), output) in requests.iter().zip(outputs) {
            let Some(response) = output else { continue };
            let part = &mut last.content[*index];
            // what the answer said about itself (`interruptResponse`, ...) is replayed with it
            for (key, value) in response.metadata.iter().flatten() {
                if key != protocol::SOURCE {
                    part.set_metadata(key, value.clone());
                }
            }
            if let PartKind::ToolResponse(r) = response.kind {
                set_pending(
                    part,
                    ToolOutput {
                        output: r.output.unwrap_or(Value::Null),
                        content: r.content,
                    },
                );
            }
        }
        return Ok(Resumed::Interrupted);
    }

    let mut tool_message = Message::new(Role::Tool, outputs.into_iter().flatten().collect());
    let mut metadata = JsonMap::new();
    metadata.insert(
        protocol::RESUMED.to_owned(),
        resume.metadata.map_or(Value::Bool(true), Value::Object),
    );
    tool_message.metadata = Some(metadata);
    messages.push(tool_message);
    Ok(Resumed::Answered)
}
