//! A real specialist on a real socket, backed by a loopback Ollama: request
//! types, streaming, bad input, and reload on a held connection.

use std::time::Duration;

use crate::fixture::Raw;
use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};
use cadre::client::Client;
use cadre::protocol::{ChatBody, ReplyBody, RequestBody};
use serde_json::json;

#[tokio::test]
async fn ping_info_health_and_chat() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(spec("numa", &ollama.base_url, "You are Numa."), limits());
    let port = h.local_addr().port();
    let mut raw = Raw::connect(port).await;

    raw.send(b"{\"type\":\"ping\",\"id\":1}\n").await;
    assert_eq!(
        raw.recv().await.unwrap(),
        json!({"type":"pong","specialist":"numa","id":1})
    );

    raw.send(b"{\"type\":\"info\"}\n").await;
    let info = raw.recv().await.unwrap();
    assert_eq!(info["type"], "info_response");
    assert_eq!(info["specialist"], "numa");
    assert_eq!(info["component"], "numa");
    assert_eq!(info["title"], "numa title");
    assert_eq!(info["provider"], "ollama");
    assert_eq!(info["model"], "test-model");
    assert_eq!(info["port"], port);
    assert_eq!(info["generation"], "gen-13");

    raw.send(b"{\"type\":\"health\",\"id\":\"h\"}\n").await;
    let health = raw.recv().await.unwrap();
    assert_eq!(health["type"], "health_response");
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["id"], "h");

    raw.send(b"{\"type\":\"chat\",\"message\":\"hello there\",\"id\":\"c1\",\"temperature\":0.9,\"max_tokens\":50,\"history\":[{\"role\":\"user\",\"content\":\"before\"},{\"role\":\"assistant\",\"content\":\"ok\"}]}\n").await;
    let r = raw.recv().await.unwrap();
    assert_eq!(r["type"], "response", "{r}");
    assert_eq!(r["specialist"], "numa");
    assert_eq!(r["id"], "c1");
    assert_eq!(r["content"], answer_for("hello there"));
    assert_eq!(r["model"], "test-model");
    assert_eq!(r["usage"], json!({"prompt_tokens":7,"completion_tokens":3}));
    assert!(r["latency_ms"].is_u64());

    let sent = ollama.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role":"system","content":"You are Numa."},{"role":"user","content":"before"},
               {"role":"assistant","content":"ok"},{"role":"user","content":"hello there"}])
    );
    assert_eq!(sent[0]["options"]["temperature"], 0.9);
    assert_eq!(sent[0]["options"]["num_predict"], 50);

    // REQUESTS counts chats; ping, info and health are counted apart.
    let c = h.counters();
    assert_eq!(c.requests, 1);
    assert_eq!((c.pings, c.infos, c.healths), (1, 1, 1));
    assert_eq!(c.errors, 0);
    assert_eq!(c.in_flight, 0);
    assert!(c.last_latency_ms.is_some());
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn streaming_sends_chunks_then_the_whole_answer() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(
        spec("hermes", &ollama.base_url, "You are Hermes."),
        limits(),
    );
    let mut c = Client::connect("127.0.0.1", h.local_addr().port(), Duration::from_secs(10))
        .await
        .unwrap();
    let mut chunks = Vec::new();
    let body = ChatBody {
        content: "one two three".into(),
        stream: true,
        ..ChatBody::default()
    };
    let answer = c.chat(body, |s| chunks.push(s.to_owned())).await.unwrap();
    assert_eq!(answer.content, answer_for("one two three"));
    assert_eq!(answer.specialist, "hermes");
    assert_eq!(chunks.len(), 4, "{chunks:?}");
    assert_eq!(chunks.concat(), answer.content);
    assert_eq!(ollama.requests()[0]["stream"], true);
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn provider_failure_is_an_error_reply_not_an_answer() {
    let ollama = OllamaServer::start(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let mut raw = Raw::connect(h.local_addr().port()).await;
    raw.send(b"{\"type\":\"chat\",\"content\":\"hi\",\"id\":9}\n")
        .await;
    let r = raw.recv().await.unwrap();
    assert_eq!(r["type"], "error");
    assert_eq!(r["code"], "provider_error");
    assert_eq!(r["id"], 9);
    assert!(r["error"].as_str().unwrap().contains("500"), "{r}");
    // The connection still serves.
    raw.send(b"{\"type\":\"ping\"}\n").await;
    assert_eq!(raw.recv().await.unwrap()["type"], "pong");

    let dead = start(spec("numa", "http://127.0.0.1:9", "p"), limits());
    let mut raw = Raw::connect(dead.local_addr().port()).await;
    raw.send(b"{\"type\":\"chat\",\"content\":\"hi\"}\n").await;
    assert_eq!(raw.recv().await.unwrap()["code"], "provider_unavailable");
    raw.send(b"{\"type\":\"health\"}\n").await;
    assert_eq!(raw.recv().await.unwrap()["status"], "degraded");
    assert!(h.counters().errors >= 1);
    h.drain(Duration::from_secs(1)).await;
    dead.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn reload_on_a_held_connection_uses_the_new_prompt_and_keeps_the_connection() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(spec("numa", &ollama.base_url, "Old prompt."), limits());
    let mut c = Client::connect("127.0.0.1", h.local_addr().port(), Duration::from_secs(10))
        .await
        .unwrap();
    let ask = |s: &str| ChatBody {
        content: s.into(),
        ..ChatBody::default()
    };
    assert_eq!(
        c.chat(ask("first"), |_| {}).await.unwrap().content,
        answer_for("first")
    );

    h.reload(crate::fixture::specialist::serving(spec(
        "numa",
        &ollama.base_url,
        "New prompt.",
    )));

    assert_eq!(
        c.chat(ask("second"), |_| {}).await.unwrap().content,
        answer_for("second")
    );
    let sent = ollama.requests();
    assert_eq!(sent[0]["messages"][0]["content"], "Old prompt.");
    assert_eq!(sent[1]["messages"][0]["content"], "New prompt.");
    let info = c.request(RequestBody::Info).await.unwrap();
    let ReplyBody::InfoResponse(info) = info.body else {
        panic!("not info")
    };
    assert_eq!(info.generation, "gen-11");
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_chat_in_flight_finishes_on_the_spec_it_started_with() {
    let ollama = OllamaServer::start(Behaviour {
        latency: Duration::from_millis(500),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "Old prompt."), limits());
    let port = h.local_addr().port();
    let task = tokio::spawn(async move {
        let mut c = Client::connect("127.0.0.1", port, Duration::from_secs(10))
            .await
            .unwrap();
        c.chat(
            ChatBody {
                content: "slow".into(),
                ..ChatBody::default()
            },
            |_| {},
        )
        .await
        .unwrap()
    });
    // Wait until the provider holds the request, then reload.
    for _ in 0..200 {
        if !ollama.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.reload(crate::fixture::specialist::serving(spec(
        "numa",
        &ollama.base_url,
        "New prompt.",
    )));
    let answer = task.await.unwrap();
    assert_eq!(answer.content, answer_for("slow"));
    assert_eq!(
        ollama.requests()[0]["messages"][0]["content"],
        "Old prompt."
    );
    h.drain(Duration::from_secs(1)).await;
}
