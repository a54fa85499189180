//! Checking a turn's input against the stored history before anything runs.
//!
//! Answers must match a pending request of the history (name and ref), once each; a restart
//! must carry the request's input unless the caller is trusted application code that replaced
//! it on purpose; a plain message while requests are pending is refused. The history checked is
//! always the one the agent holds (the store's, for server-managed agents), never the client's
//! copy of it.

use std::borrow::Borrow;
use std::collections::HashSet;

use super::error::AgentError;
use crate::error::RequestId;
use crate::protocol;
use crate::tool::Interrupt;
use crate::wire::{AgentInput, Message, Messages, Part, PartKind, Role, ToolRequest, ToolResponse};

/// The pending requests of `history`, named for errors.
pub(crate) fn pending_names(pending: &[Interrupt]) -> Vec<String> {
    pending.iter().map(|i| i.id().to_string()).collect()
}

/// Whether the history has a model message asking for (name, ref), anywhere.
fn in_history<'a, M: Borrow<Message>>(
    history: &'a [M],
    name: &str,
    ref_: Option<&str>,
) -> Option<&'a ToolRequest> {
    history
        .iter()
        .map(Borrow::borrow)
        .rev()
        .filter(|m: &&Message| m.role == Role::Model)
        .flat_map(|m| m.tool_requests())
        .find(|r| r.name == name && r.ref_.as_deref() == ref_)
}

/// Checks `input` against `history`. `trusted` allows restarts that replace the input
/// (marked `replacedInput` by [`tool_restart`](crate::tool_restart)); untrusted callers (the
/// wire) must restart with the stored input.
pub(crate) fn check_input<M: Borrow<Message>>(
    input: &AgentInput,
    history: &[M],
    trusted: bool,
) -> Result<(), AgentError> {
    let pending = Interrupt::pending_in(history);
    let Some(resume) = &input.resume else {
        if input.message.is_some() && !pending.is_empty() {
            return Err(AgentError::PendingInterrupts {
                pending: pending_names(&pending),
            });
        }
        return Ok(());
    };
    let respond = resume.respond.as_deref().unwrap_or_default();
    let restart = resume.restart.as_deref().unwrap_or_default();
    if respond.is_empty() && restart.is_empty() {
        return Ok(());
    }
    if input.message.is_some() {
        return Err(AgentError::MessageWithResume);
    }
    let mut answered: HashSet<(String, Option<String>)> = HashSet::new();
    let mut check_one = |kind: &'static str, name: &str, ref_: Option<&str>| {
        let request = RequestId::new(name, ref_.map(str::to_owned));
        let Some(found) = pending
            .iter()
            .find(|p| p.name() == name && p.ref_() == ref_)
        else {
            return Err(match in_history(history, name, ref_) {
                Some(_) => AgentError::StaleToolRequest {
                    kind,
                    request,
                    pending: pending_names(&pending),
                },
                None => AgentError::UnknownToolRequest { kind, request },
            });
        };
        if !answered.insert((name.to_owned(), ref_.map(str::to_owned))) {
            return Err(AgentError::DuplicateAnswer { request });
        }
        Ok(found.tool_request().clone())
    };
    for part in respond {
        let PartKind::ToolResponse(r) = &part.kind else {
            return Err(AgentError::MalformedResume {
                kind: "respond",
                expected: "toolResponse",
            });
        };
        check_one("respond", &r.name, r.ref_.as_deref())?;
    }
    for part in restart {
        let PartKind::ToolRequest(r) = &part.kind else {
            return Err(AgentError::MalformedResume {
                kind: "restart",
                expected: "toolRequest",
            });
        };
        let stored = check_one("restart", &r.name, r.ref_.as_deref())?;
        let replaced = part.metadata_value(protocol::REPLACED_INPUT).is_some();
        if stored.input != r.input && !(trusted && replaced) {
            return Err(AgentError::ModifiedRestartInput {
                request: RequestId::new(&r.name, r.ref_.clone()),
            });
        }
        if replaced && !trusted {
            return Err(AgentError::ModifiedRestartInput {
                request: RequestId::new(&r.name, r.ref_.clone()),
            });
        }
    }
    Ok(())
}

/// Metadata of an input message from the application (in-process, trusted) asking that the
/// pending requests be abandoned first; the value is the reason the model reads.
pub(crate) const ABANDON: &str = "genkitRsAbandonPending";

/// Takes the abandon request off `input` (only trusted callers may abandon; from the wire the
/// key stays, and the message is refused like any message to an interrupted history).
pub(crate) fn take_abandon(input: &mut AgentInput, trusted: bool) -> Option<String> {
    if !trusted {
        return None;
    }
    let message = input.message.as_mut()?;
    let meta = message.metadata.as_mut()?;
    let reason = meta.remove(ABANDON)?;
    if meta.is_empty() {
        message.metadata = None;
    }
    Some(match reason {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Answers every pending request of `history` with an explicit cancellation the model reads
/// (`{"cancelled": true, "reason": ..}`), replaying pending sibling outputs as a resume would,
/// so the history is a complete tool round again. Returns the abandoned requests.
pub(crate) fn abandon(history: &mut Messages, reason: &str) -> Vec<String> {
    let pending = Interrupt::pending_in(history);
    if pending.is_empty() {
        return Vec::new();
    }
    let names = pending_names(&pending);
    let Some(last) = history.last_mut() else {
        return names;
    };
    if let Some(m) = last.metadata.as_mut() {
        // the seals are stale once the message is answered
        m.remove(protocol::SEAL);
        if m.is_empty() {
            last.metadata = None;
        }
    }
    let mut responses = Vec::new();
    for part in &mut last.content {
        let Some(request) = part.as_tool_request().cloned() else {
            continue;
        };
        let response = if let Some(output) = part.take_metadata(protocol::PENDING_OUTPUT) {
            let mut r = ToolResponse::new(&request.name, request.ref_.clone(), output);
            r.content = part
                .take_metadata(protocol::PENDING_CONTENT)
                .and_then(|v| serde_json::from_value(v).ok());
            let mut p = Part::tool_response(r);
            p.set_metadata(protocol::SOURCE, "pending".into());
            p
        } else {
            if let Some(old) = part.take_metadata(protocol::INTERRUPT) {
                part.set_metadata(protocol::RESOLVED_INTERRUPT, old);
            }
            let mut p = Part::tool_response(ToolResponse::new(
                &request.name,
                request.ref_.clone(),
                serde_json::json!({ "cancelled": true, "reason": reason }),
            ));
            p.set_metadata(ABANDONED, reason.into());
            p
        };
        responses.push(response);
    }
    history.push(Message::new(Role::Tool, responses));
    names
}

/// On a tool response: the request was abandoned by the application, for this reason.
pub(crate) const ABANDONED: &str = "abandoned";

/// Whether `input` carries resume answers.
pub(crate) fn is_resume(input: &AgentInput) -> bool {
    input.resume.as_ref().is_some_and(|r| {
        r.respond.as_ref().is_some_and(|v| !v.is_empty())
            || r.restart.as_ref().is_some_and(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AgentResume, Part, ToolResponse};
    use serde_json::json;

    fn interrupted() -> Vec<Message> {
        let mut asked = Part::tool_request(ToolRequest::new(
            "restartTool",
            Some("r1".into()),
            json!({"action": "safe"}),
        ));
        asked.set_metadata(protocol::INTERRUPT, true.into());
        vec![
            Message::user("do it"),
            Message::new(
                Role::Model,
                vec![Part::tool_request(ToolRequest::new(
                    "old",
                    Some("o1".into()),
                    json!({}),
                ))],
            ),
            Message::new(Role::Tool, vec![]),
            Message::new(Role::Model, vec![asked]),
        ]
    }

    fn resume(respond: Vec<Part>, restart: Vec<Part>) -> AgentInput {
        AgentInput {
            resume: Some(AgentResume {
                respond: Some(respond),
                restart: Some(restart),
            }),
            ..Default::default()
        }
    }

    fn respond(name: &str, r: &str) -> Part {
        Part::tool_response(ToolResponse::new(
            name,
            Some(r.into()),
            json!({"answer": "x"}),
        ))
    }

    #[test]
    fn a_forged_restart_input_is_refused_unless_a_trusted_caller_replaced_it() {
        let forged = Part::tool_request(ToolRequest::new(
            "restartTool",
            Some("r1".into()),
            json!({"action": "/etc/passwd"}),
        ));
        let err =
            check_input(&resume(vec![], vec![forged.clone()]), &interrupted(), false).unwrap_err();
        assert!(
            matches!(err, AgentError::ModifiedRestartInput { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("modified inputs"));
        let mut replaced = forged;
        replaced.set_metadata(protocol::REPLACED_INPUT, json!({"action": "safe"}));
        check_input(
            &resume(vec![], vec![replaced.clone()]),
            &interrupted(),
            true,
        )
        .unwrap();
        let err = check_input(&resume(vec![], vec![replaced]), &interrupted(), false).unwrap_err();
        assert!(matches!(err, AgentError::ModifiedRestartInput { .. }));
    }

    #[test]
    fn unknown_stale_and_duplicate_answers_are_each_named() {
        let h = interrupted();
        let err =
            check_input(&resume(vec![respond("fakeTool", "f")], vec![]), &h, false).unwrap_err();
        assert!(
            err.to_string().contains("not found in session history"),
            "{err}"
        );
        let err = check_input(&resume(vec![respond("old", "o1")], vec![]), &h, false).unwrap_err();
        assert!(matches!(err, AgentError::StaleToolRequest { .. }), "{err}");
        let err = check_input(
            &resume(
                vec![respond("restartTool", "r1"), respond("restartTool", "r1")],
                vec![],
            ),
            &h,
            false,
        )
        .unwrap_err();
        assert!(matches!(err, AgentError::DuplicateAnswer { .. }), "{err}");
    }

    #[test]
    fn a_message_to_an_interrupted_history_is_a_failed_precondition() {
        let input = AgentInput {
            message: Some(Message::user("hello?")),
            ..Default::default()
        };
        let err = check_input(&input, &interrupted(), false).unwrap_err();
        assert_eq!(err.status(), crate::Status::FailedPrecondition);
        assert!(err.to_string().contains("'restartTool' (call r1)"), "{err}");
    }
}
