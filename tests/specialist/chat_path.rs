//! The in-process chat path (`cadre::specialist::chat`), as the HTTP edge,
//! team rounds and consultations use it: a real specialist on a real socket,
//! a loopback Ollama, no daemon.

use std::time::Duration;

use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, serving, spec, start};
use cadre::protocol::{ChatBody, ErrorCode, ReplyBody};
use cadre::specialist::SpecialistHandle;
use futures::StreamExt;
use serde_json::json;

fn ask(content: &str, stream: bool) -> ChatBody {
    ChatBody {
        content: content.into(),
        stream,
        ..ChatBody::default()
    }
}

/// Wait (without blocking the runtime the provider runs on) until it got a chat.
async fn until_asked(ollama: &OllamaServer) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ollama.requests().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider was never asked"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A loopback Ollama behaving as told, and numa served against it.
async fn numa(b: Behaviour, prompt: &str) -> (OllamaServer, SpecialistHandle) {
    let ollama = OllamaServer::start(b).await;
    let h = start(spec("numa", &ollama.base_url, prompt), limits());
    (ollama, h)
}

fn error_code(body: &ReplyBody) -> Option<ErrorCode> {
    match body {
        ReplyBody::Error { code, .. } => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn chunks_then_one_response_counted_like_a_socket_chat() {
    let (ollama, h) = numa(Behaviour::default(), "You are Numa.").await;
    let path = h.chat_path();
    let replies: Vec<_> = path
        .chat(Some(json!("c1")), ask("three little words", true))
        .collect()
        .await;
    let (last, chunks) = replies.split_last().unwrap();
    assert!(chunks.len() > 1, "{replies:?}");
    let text: String = chunks
        .iter()
        .map(|r| match &r.body {
            ReplyBody::Chunk { content } => content.as_str(),
            other => panic!("not a chunk: {other:?}"),
        })
        .collect();
    match &last.body {
        ReplyBody::Response { content, .. } => {
            assert_eq!(content, &answer_for("three little words"));
            assert_eq!(content, &text);
        }
        other => panic!("{other:?}"),
    }
    assert!(replies.iter().all(|r| r.specialist == "numa"));
    assert!(replies.iter().all(|r| r.id == Some(json!("c1"))));
    let c = h.counters();
    assert_eq!((c.requests, c.errors, c.in_flight), (1, 0, 0));
    assert_eq!(c.latency_buckets.iter().sum::<u64>(), 1);
    let sent = ollama.requests();
    assert_eq!(sent[0]["messages"][0]["content"], "You are Numa.");

    // Not streamed: the response alone; `answer` skips to it.
    let r = h.chat_path().chat(None, ask("once", false)).answer().await;
    assert!(matches!(r.body, ReplyBody::Response { .. }), "{r:?}");
    assert_eq!(h.counters().requests, 2);
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_provider_request_and_counts_an_error() {
    let (ollama, h) = numa(
        Behaviour {
            chunk_delay: Duration::from_millis(200),
            ..Behaviour::default()
        },
        "You are Numa.",
    )
    .await;
    let mut replies = h.chat_path().chat(None, ask("a b c d e f g h", true));
    let first = replies.next().await.unwrap();
    assert!(matches!(first.body, ReplyBody::Chunk { .. }), "{first:?}");
    assert_eq!(h.counters().in_flight, 1);
    drop(replies);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ollama.cut_short() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider kept answering a dropped chat"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = h.counters();
    assert_eq!((c.in_flight, c.errors), (0, 1));
}

#[tokio::test]
async fn a_chat_keeps_its_spec_through_a_reload() {
    let (ollama, h) = numa(
        Behaviour {
            latency: Duration::from_millis(300),
            ..Behaviour::default()
        },
        "Old prompt.",
    )
    .await;
    let path = h.chat_path();
    let mut old = path.chat(None, ask("first", false));
    // Polling starts the chat on the spec serving now.
    let first = tokio::spawn(async move { old.next().await });
    until_asked(&ollama).await;
    h.reload(serving(spec("numa", &ollama.base_url, "New prompt.")));
    let second = path.chat(None, ask("second", false)).answer().await;
    assert!(matches!(second.body, ReplyBody::Response { .. }));
    assert!(matches!(
        first.await.unwrap().unwrap().body,
        ReplyBody::Response { .. }
    ));
    let prompts: Vec<_> = ollama
        .requests()
        .iter()
        .map(|r| r["messages"][0]["content"].clone())
        .collect();
    assert_eq!(prompts, [json!("Old prompt."), json!("New prompt.")]);
}

#[tokio::test]
async fn the_drain_waits_for_an_in_process_chat_then_refuses_new_ones() {
    let (ollama, h) = numa(
        Behaviour {
            latency: Duration::from_millis(800),
            ..Behaviour::default()
        },
        "You are Numa.",
    )
    .await;
    let path = h.chat_path();
    let slow = path.chat(None, ask("slow one", false));
    let answer = tokio::spawn(slow.answer());
    until_asked(&ollama).await;
    let started = tokio::time::Instant::now();
    h.drain(Duration::from_secs(20)).await;
    let r = answer.await.unwrap();
    match r.body {
        ReplyBody::Response { content, .. } => assert_eq!(content, answer_for("slow one")),
        other => panic!("the drain cut the chat short: {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The specialist is gone; a path still held answers, with an error.
    let late = path.chat(None, ask("too late", false)).answer().await;
    assert_eq!(error_code(&late.body), Some(ErrorCode::ShuttingDown));
}

#[tokio::test]
async fn past_the_drain_timeout_a_chat_ends_shutting_down() {
    let (ollama, h) = numa(
        Behaviour {
            latency: Duration::from_secs(30),
            ..Behaviour::default()
        },
        "You are Numa.",
    )
    .await;
    let answer = tokio::spawn(h.chat_path().chat(None, ask("never", true)).answer());
    until_asked(&ollama).await;
    h.drain(Duration::from_millis(200)).await;
    let r = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("the chat outlived the drain")
        .unwrap();
    assert_eq!(error_code(&r.body), Some(ErrorCode::ShuttingDown), "{r:?}");
}

#[tokio::test]
async fn a_failing_provider_is_an_error_reply_counted_by_code() {
    let (_ollama, h) = numa(
        Behaviour {
            fail_status: Some(500),
            ..Behaviour::default()
        },
        "You are Numa.",
    )
    .await;
    let replies: Vec<_> = h.chat_path().chat(None, ask("x", true)).collect().await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(error_code(&replies[0].body), Some(ErrorCode::ProviderError));
    let c = h.counters();
    assert_eq!(c.errors_of(ErrorCode::ProviderError), 1);
    assert_eq!(c.errors, 1);
}
