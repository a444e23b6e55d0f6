//! One daemon's HTTP server reaches every daemon's specialists (DESIGN §13):
//! two daemons on one state directory, chats to the other's specialist over
//! its socket, the team of both, `/v1` to either.
//! Port range of this file: 48130-48139 (specialists); HTTP on port 0.

use crate::fixture;
use crate::fixture::http::{client, post_sse, up_http};
use crate::fixture::ollama;

use fixture::Project;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_daemons_http_chats_with_another_daemons_specialists() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let a = Project::new([48130, 48139], &server.base_url);
    let mut b = Project::new([48130, 48139], &server.base_url);
    b.state = a.state.clone();
    a.write("alpha", "Alpha of A.", None);
    b.write("beta", "Beta of B.", None);
    let mut db = b.up();
    b.wait_ready(&["beta"], &mut db);
    let mut web = up_http(&a, &[], &[]);
    web.wait_ready(&["alpha", "beta"]).await;

    // The roster names whose each one is.
    let list: Vec<Value> = web.json("/api/specialists").await;
    let beta = list.iter().find(|s| s["name"] == "beta").unwrap();
    assert_eq!(beta["local"], false, "{beta:#}");
    assert_eq!(beta["endpoints"][0]["pid"], db.pid(), "{beta:#}");
    let alpha = list.iter().find(|s| s["name"] == "alpha").unwrap();
    assert_eq!(alpha["local"], true, "{alpha:#}");

    // A chat with B's specialist through A's server, streamed.
    let (status, events) = post_sse(
        &web.url("/api/specialists/beta/chat"),
        &json!({"content": "who are you?"}),
    )
    .await;
    assert_eq!(status, 200);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response", "{events:#?}");
    assert_eq!(last["specialist"], "beta");
    assert_eq!(last["content"], ollama::answer_for("who are you?"));
    assert!(fixture::last_system_prompt(&server.requests()).contains("Beta of B."));

    // The team is both daemons'.
    let (status, events) = post_sse(&web.url("/api/team"), &json!({"content": "roll call"})).await;
    assert_eq!(status, 200);
    let summary = events.iter().find(|e| e["type"] == "summary").unwrap();
    assert_eq!(summary["specialists"], 2, "{events:#?}");
    assert_eq!(summary["answered"], 2, "{events:#?}");

    // `/v1` lists and talks to either.
    let models: Value = web.json("/v1/models").await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["alpha", "beta"]);
    let done: Value = client()
        .post(web.url("/v1/chat/completions"))
        .json(&json!({"model": "beta", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        done["choices"][0]["message"]["content"],
        ollama::answer_for("hi"),
        "{done:#}"
    );

    // B stops beta (its entry stays, `stopped`): A's server answers 503
    // saying so, not 404, as it does for a stopped specialist of its own.
    b.run(&["stop", "beta"]).status(0);
    // A's view of the registry follows the file: wait until it shows the stop.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let beta: Value = web.json("/api/specialists/beta").await;
        if beta["endpoints"][0]["state"] == "stopped" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{beta:#}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = client()
        .post(web.url("/api/specialists/beta/chat"))
        .json(&json!({"content": "hello?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let e: Value = r.json().await.unwrap();
    assert!(e.to_string().contains("stopped"), "{e}");

    // B leaves: A's event stream says the cluster changed (pages re-read),
    // and B's specialist is unknown to A's server, not an error page.
    let mut events = client().get(web.url("/api/events")).send().await.unwrap();
    let mut seen = String::new();
    while !seen.contains("event: hello") {
        seen.push_str(&String::from_utf8_lossy(
            &events.chunk().await.unwrap().unwrap(),
        ));
    }
    db.signal("TERM");
    let told = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !seen.contains("\"cause\":\"cluster\"") {
            match events.chunk().await {
                Ok(Some(c)) => seen.push_str(&String::from_utf8_lossy(&c)),
                _ => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(told, Ok(true), "{seen}");
    assert_eq!(db.wait(std::time::Duration::from_secs(30)), Some(0));
    web.wait_ready(&["alpha"]).await;
    let r = client()
        .post(web.url("/api/specialists/beta/chat"))
        .json(&json!({"content": "hello?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
