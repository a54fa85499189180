//! Flows served over HTTP (`serve::FlowServer`): `{data}` in, `{result}` out, SSE streaming,
//! context providers, errors; and Genkit's `tests/specs/flow_server.yaml`.

mod common;

use common::app;
use common::http;
use genkit_core::serve::{FlowServer, RequestData};
use genkit_core::{ActionContext, GenkitError, Status};
use serde_json::{json, Value};

/// Serves every flow of the test app, `greet` behind a context provider.
async fn start() -> String {
    let ai = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = FlowServer::new(&ai).all_flows().path_prefix("");
    tokio::spawn(server.serve(listener));
    url
}

/// The `data:` / `error:` blocks of an SSE body.
fn blocks(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|b| !b.is_empty())
        .map(|b| {
            let (prefix, json) = b.split_once(": ").unwrap();
            (prefix.to_owned(), serde_json::from_str(json).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn flow_server_spec() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/genkit/specs/flow_server.yaml"
    );
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let url = start().await;
    for case in spec["tests"].as_array().unwrap() {
        let path = format!("/{}", case["path"].as_str().unwrap());
        let count = case["post"]["data"].as_u64().unwrap();
        let fill = |template: &Value, n: u64| {
            template
                .as_str()
                .unwrap()
                .replace("{count}", &n.to_string())
        };

        // streamed: one message per chunk, then the result
        let r = http::request(
            &url,
            "POST",
            &format!("{path}?stream=true"),
            &[],
            &case["post"].to_string(),
        )
        .await;
        assert_eq!(r.status(), 200);
        let got = blocks(&r.body);
        assert_eq!(got.len() as u64, count + 1, "{}", r.body);
        for (i, (prefix, block)) in got.iter().take(count as usize).enumerate() {
            assert_eq!(prefix, "data");
            let expected: Value =
                serde_json::from_str(&fill(&case["response"]["message"], i as u64)).unwrap();
            assert_eq!(block, &json!({ "message": expected }));
        }
        let expected_result = fill(&case["response"]["result"], count);
        assert_eq!(
            got[count as usize],
            ("data".to_owned(), json!({"result": expected_result}))
        );

        // the same with Accept: text/event-stream
        let r = http::request(
            &url,
            "POST",
            &path,
            &[("accept", "text/event-stream")],
            &case["post"].to_string(),
        )
        .await;
        assert_eq!(blocks(&r.body).len() as u64, count + 1);

        // not streamed: the result alone
        let r = http::post(&url, &path, &case["post"]).await;
        assert_eq!(
            (r.status(), r.json()),
            (200, json!({"result": expected_result}))
        );
    }
}

#[tokio::test]
async fn errors_map_to_http_statuses_and_hide_internal_messages() {
    let url = start().await;
    let r = http::post(&url, "/greet", &json!({"data": {"nom": 1}})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["status"], "INVALID_ARGUMENT");
    let r = http::post(&url, "/failFlow", &json!({"data": "x"})).await;
    assert_eq!(
        (r.status(), r.json()),
        (
            500,
            json!({"status": "INTERNAL", "message": "Internal Error"})
        )
    );
    let r = http::request(
        &url,
        "POST",
        "/failFlow?stream=true",
        &[],
        &json!({"data": "x"}).to_string(),
    )
    .await;
    assert_eq!(
        blocks(&r.body),
        vec![(
            "error".to_owned(),
            json!({"error": {"status": "INTERNAL", "message": "Internal Error"}})
        )]
    );
    let r = http::request(&url, "POST", "/greet", &[], "{not json").await;
    assert_eq!(r.status(), 400);
    let r = http::post(&url, "/nope", &json!({"data": 1})).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_context_provider_authenticates_and_its_context_reaches_the_flow() {
    let ai = {
        use genkit_core::flow::{define_flow, FlowContext};
        let whoami = define_flow("whoami", |_: (), ctx: FlowContext<String>| async move {
            let user = ctx
                .context()
                .get("auth")
                .and_then(|a| a["user"].as_str())
                .map(str::to_owned);
            ctx.send_chunk("checking".into()).await;
            Ok(user.unwrap_or_default())
        });
        (
            genkit_core::Genkit::builder()
                .flow(whoami.clone())
                .build()
                .unwrap(),
            whoami,
        )
    };
    let (ai, whoami) = ai;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = FlowServer::new(&ai).flow_with_context(&whoami, |req: RequestData| async move {
        match req.headers.get("authorization").map(String::as_str) {
            Some("open sesame") => Ok(ActionContext::from_json(
                json!({"auth": {"user": "Ali Baba"}}),
            )),
            _ => Err(GenkitError::with_status(
                Status::PermissionDenied,
                "not authorized",
            )),
        }
    });
    tokio::spawn(server.serve(listener));

    let r = http::request(
        &url,
        "POST",
        "/whoami",
        &[("authorization", "open sesame")],
        "{}",
    )
    .await;
    assert_eq!((r.status(), r.json()), (200, json!({"result": "Ali Baba"})));
    let r = http::request(&url, "POST", "/whoami", &[], "{}").await;
    assert_eq!(
        (r.status(), r.json()),
        (
            403,
            json!({"status": "PERMISSION_DENIED", "message": "not authorized"})
        )
    );
    let r = http::request(
        &url,
        "POST",
        "/whoami?stream=true",
        &[("Authorization", "open sesame")],
        "{\"data\": null}",
    )
    .await;
    assert_eq!(
        blocks(&r.body),
        vec![
            ("data".to_owned(), json!({"message": "checking"})),
            ("data".to_owned(), json!({"result": "Ali Baba"})),
        ]
    );
}
