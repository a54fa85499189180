//! Reflection API v2: the runtime dials the CLI's WebSocket server
//! (`GENKIT_REFLECTION_V2_SERVER`) and speaks JSON-RPC 2.0 over it. This is what
//! `genkit flow:run NAME '<json>' -- <command>` uses.
//!
//! The runtime sends `register` and then serves `listActions`, `listValues`, `runAction` (with
//! `runActionState` and `streamChunk` notifications), `cancelAction` and the `configure`
//! notification. Connections that drop are redialled with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::descriptor::{actions_json, values_json};
use super::http::RunActionRequest;
use super::runner::{success_body, ActionError, Runner};
use crate::flow::FlowStream;
use crate::status::Status;

/// JSON-RPC: method not found.
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: invalid params.
const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC: server error (a failed action; `data` holds the Genkit status).
const SERVER_ERROR: i64 = -32000;

/// How the runtime introduces itself.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub id: String,
    pub name: Option<String>,
}

fn response(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let (Some(data), Some(obj)) = (data, error.as_object_mut()) {
        obj.insert("data".to_owned(), data);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// Dials `url` until `stop` turns true, serving one connection at a time.
pub(crate) async fn run(
    url: String,
    runner: Arc<Runner>,
    registration: Registration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return;
        }
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => {
                backoff = Duration::from_millis(100);
                session(ws, &runner, &registration, &mut stop).await;
            }
            Err(e) => {
                tracing::debug!(target: "genkit_core::reflection", "reflection v2: cannot reach {url}: {e}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connection: register, then answer requests until it closes. Running actions are
/// dropped (cancelled) with the connection.
async fn session(
    ws: Ws,
    runner: &Arc<Runner>,
    registration: &Registration,
    stop: &mut watch::Receiver<bool>,
) {
    let (mut write, mut read) = ws.split();
    let register_id = "1";
    let register = json!({
        "jsonrpc": "2.0",
        "id": register_id,
        "method": "register",
        "params": {
            "id": registration.id,
            "pid": std::process::id(),
            "name": registration.name.clone().unwrap_or_else(|| registration.id.clone()),
            "genkitVersion": super::GENKIT_VERSION,
            "reflectionApiSpecVersion": 1,
            "envs": ["dev"],
        },
    });
    if write
        .send(Message::text(register.to_string()))
        .await
        .is_err()
    {
        return;
    }
    // notifications and results of running actions, in the order they were produced
    let (out_tx, mut out_rx) = mpsc::channel::<Value>(64);
    let mut running: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
    loop {
        tokio::select! {
            incoming = read.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                if message.get("method").is_none() {
                    // a response: only `register` expects one
                    if message["id"] == register_id {
                        if let Some(url) = message["result"]["telemetryServerUrl"].as_str() {
                            crate::trace::set_notified_url(url);
                        }
                    }
                    continue;
                }
                match handle(message, runner, &out_tx) {
                    Handled::Reply(reply) => {
                        if write.send(Message::text(reply.to_string())).await.is_err() {
                            return;
                        }
                    }
                    Handled::Running(run) => running.push(run),
                    Handled::Nothing => {}
                }
            }
            Some(out) = out_rx.recv() => {
                if write.send(Message::text(out.to_string())).await.is_err() {
                    return;
                }
            }
            Some(()) = running.next(), if !running.is_empty() => {}
            _ = stop.changed() => {
                let _ = write.send(Message::Close(None)).await;
                return;
            }
        }
    }
}

enum Handled {
    Reply(Value),
    Running(BoxFuture<'static, ()>),
    Nothing,
}

fn handle(message: Value, runner: &Arc<Runner>, out: &mpsc::Sender<Value>) -> Handled {
    let id = message.get("id").cloned();
    let method = message["method"].as_str().unwrap_or_default().to_owned();
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let Some(id) = id else {
        // notifications
        if method == "configure" {
            if let Some(url) = params["telemetryServerUrl"].as_str() {
                crate::trace::set_notified_url(url);
            }
        }
        // sendInputStreamChunk / endInputStream: bidi input is not supported
        return Handled::Nothing;
    };
    match method.as_str() {
        "listActions" => Handled::Reply(response(
            &id,
            json!({"actions": actions_json(runner.genkit())}),
        )),
        "listValues" => match params["type"].as_str() {
            Some(kind @ ("defaultModel" | "middleware")) => {
                let values = values_json(runner.genkit(), kind).unwrap_or_else(|| json!({}));
                Handled::Reply(response(&id, json!({ "values": values })))
            }
            other => Handled::Reply(error(
                &id,
                INVALID_PARAMS,
                &format!("'type' {} is not supported", other.unwrap_or("(missing)")),
                None,
            )),
        },
        "cancelAction" => {
            let trace_id = params["traceId"].as_str().unwrap_or_default();
            if runner.cancel(trace_id) {
                Handled::Reply(response(&id, json!({"message": "Action cancelled"})))
            } else {
                Handled::Reply(error(
                    &id,
                    INVALID_PARAMS,
                    "Action not found or already completed",
                    None,
                ))
            }
        }
        "runAction" => run_action(id, params, runner, out),
        _ => Handled::Reply(error(
            &id,
            METHOD_NOT_FOUND,
            &format!("Method not found: {method}"),
            None,
        )),
    }
}

fn run_action(
    id: Value,
    params: Value,
    runner: &Arc<Runner>,
    out: &mpsc::Sender<Value>,
) -> Handled {
    let stream = params["stream"].as_bool().unwrap_or(false);
    let request = match serde_json::from_value::<RunActionRequest>(params) {
        Ok(r) => r,
        Err(e) => return Handled::Reply(error(&id, INVALID_PARAMS, &e.to_string(), None)),
    };
    if !runner.has_action(&request.key) {
        let message = format!("action {} not found", request.key);
        let data = json!({"code": 5, "message": message, "details": {"stack": message}});
        return Handled::Reply(error(&id, SERVER_ERROR, &message, Some(data)));
    }
    let request_id = match &id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // the run streams into the driver's sink; each chunk goes out as a notification
    let mut ids = None;
    let mut run = FlowStream::new(|sink| {
        let (run_ids, run) = runner.start(request.into_run(), stream.then_some(sink));
        ids = Some(run_ids);
        async move { Ok(run.await) }
    });
    let Some(ids) = ids else {
        return Handled::Reply(error(&id, SERVER_ERROR, "run did not start", None));
    };
    let out = out.clone();
    Handled::Running(Box::pin(async move {
        let state = json!({"requestId": request_id, "state": {"traceId": ids.trace_id}});
        if out
            .send(notification("runActionState", state))
            .await
            .is_err()
        {
            return;
        }
        while let Some(chunk) = run.next().await {
            let params = json!({"requestId": request_id, "chunk": chunk});
            if out.send(notification("streamChunk", params)).await.is_err() {
                return;
            }
        }
        let result = match run.take_result() {
            Some(Ok(result)) => result,
            _ => Err(ActionError::new(
                Status::Internal,
                "the run ended without a result",
            )),
        };
        let reply = match result {
            Ok(result) => response(&id, success_body(result, &ids.trace_id)),
            Err(e) => {
                let status = e.to_status(Some(&ids.trace_id));
                error(&id, SERVER_ERROR, &e.message, Some(status))
            }
        };
        let _ = out.send(reply).await;
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{define_flow, FlowContext};
    use crate::genkit::Genkit;
    use crate::status::Status;
    use crate::GenkitError;
    use tokio::net::TcpListener;
    use tokio_tungstenite::WebSocketStream;

    type Server = WebSocketStream<tokio::net::TcpStream>;

    fn app() -> Genkit {
        let greet = define_flow(
            "greet",
            |name: String, ctx: FlowContext<String>| async move {
                ctx.send_chunk("hello ".into()).await;
                ctx.send_chunk(name.clone()).await;
                Ok(format!("Hello, {name}!"))
            },
        );
        let fail = define_flow("fail", |x: String, _ctx: FlowContext| async move {
            Err::<(), _>(GenkitError::with_status(
                Status::Internal,
                format!("boom: {x}"),
            ))
        });
        let slow = define_flow("slow", |_: (), _ctx: FlowContext| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        });
        Genkit::builder()
            .flow(greet)
            .flow(fail)
            .flow(slow)
            .build()
            .unwrap()
    }

    async fn recv(ws: &mut Server) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .expect("a message in time")
                .expect("open")
                .expect("ok");
            if let Message::Text(t) = msg {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    async fn send(ws: &mut Server, v: Value) {
        ws.send(Message::text(v.to_string())).await.unwrap();
    }

    async fn accept(listener: &TcpListener) -> Server {
        let (stream, _) = listener.accept().await.unwrap();
        tokio_tungstenite::accept_async(stream).await.unwrap()
    }

    /// Registers, answers the register request, returns the connection.
    async fn registered(listener: &TcpListener) -> Server {
        let mut ws = accept(listener).await;
        let register = recv(&mut ws).await;
        assert_eq!(register["method"], "register");
        assert_eq!(register["params"]["id"], "rt-1");
        assert_eq!(register["params"]["pid"], std::process::id());
        assert_eq!(register["params"]["reflectionApiSpecVersion"], 1);
        assert_eq!(register["params"]["envs"], json!(["dev"]));
        assert_eq!(
            register["params"]["genkitVersion"],
            super::super::GENKIT_VERSION
        );
        let id = register["id"].clone();
        send(&mut ws, json!({"jsonrpc": "2.0", "id": id, "result": {"telemetryServerUrl": "http://localhost:1"}})).await;
        ws
    }

    #[tokio::test]
    async fn speaks_the_clis_json_rpc_and_redials() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = watch::channel(false);
        let registration = Registration {
            id: "rt-1".into(),
            name: None,
        };
        let client = tokio::spawn(run(url, Runner::new(app()), registration, stop_rx));
        let mut ws = registered(&listener).await;

        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "listActions", "id": "1"}),
        )
        .await;
        let actions = recv(&mut ws).await;
        assert_eq!(actions["id"], "1");
        assert_eq!(actions["result"]["actions"]["/flow/greet"]["name"], "greet");

        // streaming run: state, chunks, result, in that order
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "runAction", "id": "2",
            "params": {"key": "/flow/greet", "input": "V2", "stream": true, "streamInput": false}}),
        )
        .await;
        let state = recv(&mut ws).await;
        assert_eq!(state["method"], "runActionState");
        assert_eq!(state["params"]["requestId"], "2");
        let trace_id = state["params"]["state"]["traceId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(trace_id.len(), 32);
        for chunk in ["hello ", "V2"] {
            let c = recv(&mut ws).await;
            assert_eq!(
                c,
                json!({"jsonrpc": "2.0", "method": "streamChunk", "params": {"requestId": "2", "chunk": chunk}})
            );
        }
        let done = recv(&mut ws).await;
        assert_eq!(
            done,
            json!({"jsonrpc": "2.0", "id": "2", "result": {"result": "Hello, V2!", "telemetry": {"traceId": trace_id}}})
        );

        // a failing run: -32000 with the Genkit status as data
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "runAction", "id": "3",
            "params": {"key": "/flow/fail", "input": "x", "stream": false}}),
        )
        .await;
        assert_eq!(recv(&mut ws).await["method"], "runActionState");
        let failed = recv(&mut ws).await;
        assert_eq!(failed["error"]["code"], -32000);
        assert_eq!(failed["error"]["message"], "boom: x");
        assert_eq!(failed["error"]["data"]["code"], 13);
        assert!(failed["error"]["data"]["details"]["stack"].is_string());

        // cancel by trace id
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "runAction", "id": "4",
            "params": {"key": "/flow/slow", "stream": false}}),
        )
        .await;
        let state = recv(&mut ws).await;
        let slow_trace = state["params"]["state"]["traceId"].clone();
        send(&mut ws, json!({"jsonrpc": "2.0", "method": "cancelAction", "id": "5", "params": {"traceId": slow_trace}})).await;
        let mut got = [recv(&mut ws).await, recv(&mut ws).await];
        got.sort_by_key(|m| m["id"].as_str().unwrap_or_default().to_owned());
        assert_eq!(got[0]["id"], "4");
        assert_eq!(got[0]["error"]["data"]["code"], 1);
        assert_eq!(
            got[1],
            json!({"jsonrpc": "2.0", "id": "5", "result": {"message": "Action cancelled"}})
        );

        // unknown methods and bad params
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "frobnicate", "id": "6"}),
        )
        .await;
        assert_eq!(recv(&mut ws).await["error"]["code"], -32601);
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "listValues", "id": "7", "params": {"type": "foo"}}),
        )
        .await;
        assert_eq!(recv(&mut ws).await["error"]["code"], -32602);
        send(&mut ws, json!({"jsonrpc": "2.0", "method": "listValues", "id": "8", "params": {"type": "defaultModel"}})).await;
        assert_eq!(recv(&mut ws).await["result"], json!({"values": {}}));
        send(&mut ws, json!({"jsonrpc": "2.0", "method": "listValues", "id": "9", "params": {"type": "middleware"}})).await;
        let values = recv(&mut ws).await;
        assert_eq!(values["result"]["values"]["retry"]["name"], "retry");
        assert!(
            values["result"]["values"]["fallback"]["configSchema"]["properties"]["models"]
                .is_object()
        );

        // the CLI goes away and comes back: the runtime registers again
        drop(ws);
        let mut ws = registered(&listener).await;
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "listActions", "id": "9"}),
        )
        .await;
        assert_eq!(recv(&mut ws).await["id"], "9");

        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), client)
            .await
            .expect("the client stops")
            .unwrap();
    }
}
