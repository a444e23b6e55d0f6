//! Each kind of bad input gets its documented error (or a close), and the
//! specialist keeps serving other clients meanwhile; also the connection
//! limit, drain and a client leaving mid-chat.

use std::time::Duration;

use crate::fixture::Raw;
use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};
use serde_json::Value;

async fn still_serves(port: u16) {
    let mut other = Raw::connect(port).await;
    other
        .send(b"{\"type\":\"chat\",\"content\":\"still there?\"}\n")
        .await;
    assert_eq!(
        other.recv().await.unwrap()["content"],
        answer_for("still there?")
    );
}

/// Send `input`; expect one error with `code`, then the same connection still answers a ping.
async fn expect_error_and_keep_open(input: &[u8], code: &str) {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let port = h.local_addr().port();
    let mut raw = Raw::connect(port).await;
    raw.send(input).await;
    let reply: Value = raw.recv().await.unwrap();
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
    assert_eq!(reply["specialist"], "numa");
    assert!(!reply["error"].as_str().unwrap().is_empty());
    raw.send(b"{\"type\":\"ping\"}\n").await;
    assert_eq!(raw.recv().await.unwrap()["type"], "pong");
    still_serves(port).await;
    assert_eq!(h.counters().errors, 1);
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn invalid_json() {
    expect_error_and_keep_open(b"{\"type\": chat\n", "bad_json").await;
}

#[tokio::test]
async fn json_array() {
    expect_error_and_keep_open(b"[{\"type\":\"ping\"}]\n", "bad_request").await;
}

#[tokio::test]
async fn unknown_type() {
    expect_error_and_keep_open(b"{\"type\":\"dance\",\"id\":3}\n", "unknown_type").await;
}

#[tokio::test]
async fn chat_without_content() {
    expect_error_and_keep_open(b"{\"type\":\"chat\",\"stream\":true}\n", "bad_request").await;
}

#[tokio::test]
async fn invalid_utf8() {
    expect_error_and_keep_open(
        b"{\"type\":\"chat\",\"content\":\"\xc3\x28\xff\"}\n",
        "bad_json",
    )
    .await;
}

#[tokio::test]
async fn two_mib_line_gets_too_large_then_close() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let port = h.local_addr().port();
    let raw = Raw::connect(port).await;
    let mut line = b"{\"type\":\"chat\",\"content\":\"".to_vec();
    line.resize(2 * 1024 * 1024, b'a');
    line.extend_from_slice(b"\"}\n");
    // Write concurrently: the server stops reading after 1 MiB.
    let (mut rd, mut wr) = raw.stream.into_inner().into_split();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = wr.write_all(&line).await;
        wr
    });
    let mut reader = tokio::io::BufReader::new(&mut rd);
    let mut reply = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["code"], "too_large", "{reply}");
    let mut rest = String::new();
    let n = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "connection must be closed, got {rest:?}");
    let _ = writer.await;
    still_serves(port).await;
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn half_a_line_then_silence_is_closed_after_the_idle_timeout() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let mut l = limits();
    l.idle_timeout = Duration::from_millis(300);
    let h = start(spec("numa", &ollama.base_url, "p"), l);
    let port = h.local_addr().port();
    let mut raw = Raw::connect(port).await;
    raw.send(b"{\"type\":\"chat\",\"con").await;
    // Others are served while this one hangs.
    still_serves(port).await;
    let reply = raw.recv().await.unwrap();
    assert_eq!(reply["code"], "timeout", "{reply}");
    assert_eq!(raw.recv().await, None, "connection must be closed");
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn drain_closes_idle_connections_and_the_port() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let port = h.local_addr().port();
    let mut idle = Raw::connect(port).await;
    idle.send(b"{\"type\":\"ping\"}\n").await;
    assert_eq!(idle.recv().await.unwrap()["type"], "pong");
    tokio::time::timeout(Duration::from_secs(10), h.drain(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(idle.recv().await, None);
    assert!(
        cadre::net::socket::connect("127.0.0.1", port)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn drain_lets_an_in_flight_chat_finish_and_refuses_new_requests() {
    let ollama = OllamaServer::start(Behaviour {
        latency: Duration::from_millis(700),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let port = h.local_addr().port();
    let mut raw = Raw::connect(port).await;
    raw.send(b"{\"type\":\"chat\",\"content\":\"slow\",\"id\":1}\n")
        .await;
    while ollama.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain = tokio::spawn(h.drain(Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    raw.send(b"{\"type\":\"ping\",\"id\":2}\n").await;
    let first = raw.recv().await.unwrap();
    assert_eq!(first["content"], answer_for("slow"), "{first}");
    let second = raw.recv().await.unwrap();
    assert_eq!(second["code"], "shutting_down", "{second}");
    assert_eq!(second["id"], 2);
    tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .unwrap()
        .unwrap();
}

/// A client that hangs up (a reset: what an abandoned or killed client's
/// socket sends when replies are unread) cancels the provider request at
/// once, before any answer was written. (End of input alone does not:
/// `half_close.rs`.)
#[tokio::test]
async fn client_resetting_mid_chat_cancels_the_provider_request() {
    let ollama = OllamaServer::start(Behaviour {
        latency: Duration::from_secs(3),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let mut raw = Raw::connect(h.local_addr().port()).await;
    raw.send(b"{\"type\":\"chat\",\"content\":\"bye\"}\n").await;
    while ollama.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.counters().in_flight, 1);
    raw.stream.get_ref().set_zero_linger().unwrap();
    drop(raw);
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while h.counters().in_flight != 0 {
        assert!(std::time::Instant::now() < deadline, "chat not cancelled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.drain(Duration::from_secs(1)).await;
}

/// A client that closes mid-stream is gone once a chunk cannot be written:
/// the provider request is cancelled long before the answer would end.
#[tokio::test]
async fn client_closing_mid_stream_cancels_at_the_next_chunk() {
    let ollama = OllamaServer::start(Behaviour {
        chunk_delay: Duration::from_millis(200),
        answer: Some("one two three four five six seven eight nine ten eleven twelve".into()),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let mut raw = Raw::connect(h.local_addr().port()).await;
    raw.send(b"{\"type\":\"chat\",\"content\":\"x\",\"stream\":true}\n")
        .await;
    assert_eq!(raw.recv().await.unwrap()["type"], "chunk");
    drop(raw);
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while ollama.cut_short() == 0 || h.counters().in_flight != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the streamed chat ran on after its client closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.drain(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let mut l = limits();
    l.max_connections = 2;
    let h = start(spec("numa", &ollama.base_url, "p"), l);
    let port = h.local_addr().port();
    let mut a = Raw::connect(port).await;
    let mut b = Raw::connect(port).await;
    for r in [&mut a, &mut b] {
        r.send(b"{\"type\":\"ping\"}\n").await;
        assert_eq!(r.recv().await.unwrap()["type"], "pong");
    }
    let mut c = Raw::connect(port).await; // sits in the backlog
    c.send(b"{\"type\":\"ping\"}\n").await;
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    let waited =
        tokio::time::timeout(Duration::from_millis(300), c.stream.read_line(&mut line)).await;
    assert!(
        waited.is_err(),
        "third connection served beyond the limit: {line}"
    );
    drop(a);
    assert_eq!(c.recv().await.unwrap()["type"], "pong");
    h.drain(Duration::from_secs(1)).await;
}
