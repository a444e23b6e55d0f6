//! End of input is not a hang-up: a client that sends its request and then
//! shuts down its writing half (`printf '…\n' | nc -N host port`) gets its
//! answer, then the connection closes. Only a failed write to the client
//! cancels the provider request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};

/// Send `request` (one line), half-close, and read until the server closes.
async fn ask_then_half_close(port: u16, request: &str) -> Vec<serde_json::Value> {
    let mut s = cadre::net::socket::connect("127.0.0.1", port)
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut all))
        .await
        .expect("the server neither answered nor closed within 20 s")
        .unwrap();
    String::from_utf8(all)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn a_chat_followed_by_end_of_input_is_answered_then_closed() {
    // The provider takes a while, so the half-close surely arrives first.
    let ollama = OllamaServer::start(Behaviour {
        latency: Duration::from_millis(400),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "You are Numa."), limits());
    let port = h.local_addr().port();

    for stream in [false, true] {
        let line = format!("{{\"type\":\"chat\",\"content\":\"hi\",\"stream\":{stream}}}\n");
        let replies = ask_then_half_close(port, &line).await;
        let last = replies.last().expect("no reply at all");
        assert_eq!(last["type"], "response", "stream {stream}: {replies:?}");
        assert_eq!(last["content"], answer_for("hi"));
        if stream {
            assert!(replies.iter().any(|r| r["type"] == "chunk"), "{replies:?}");
        }
    }
    assert_eq!(ollama.cut_short(), 0, "a provider request was cancelled");

    // Several requests, then end of input: every one is answered, in order.
    let lines = "{\"type\":\"ping\",\"id\":1}\n{\"type\":\"chat\",\"content\":\"a\",\"id\":2}\n\
                 {\"type\":\"chat\",\"content\":\"b\",\"id\":3}\n";
    let replies = ask_then_half_close(port, lines).await;
    let ids: Vec<_> = replies.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [1, 2, 3], "{replies:?}");
    assert_eq!(replies[2]["content"], answer_for("b"));
}
