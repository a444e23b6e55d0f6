//! The acceptance scenarios, written once and run against every wire format
//! (each `tests/specialist/provider_*.rs` instantiates them with `provider_scenarios!`).

use std::sync::Arc;
use std::time::Duration;

use cadre::protocol::ErrorCode;
use cadre::provider::{self, ChatEvent, Provider, ProviderError, TimeoutPhase};
use cadre::specialist::ReplyCode;
use futures::StreamExt;

use super::*;

const PIECES: [&str; 4] = ["Hel", "lo, ", "wörld 🌍", "! ✓"];
const TEXT: &str = "Hello, wörld 🌍! ✓";

fn provider_for(kind: Kind, root: &str) -> Arc<dyn Provider> {
    kind.setup();
    provider::build(&provider_cfg(
        kind.provider_kind(),
        kind.base(root),
        kind.key_env(),
    ))
}

fn stream_reply(kind: Kind, pieces: Vec<Piece>) -> Reply {
    Reply::new(200, kind.stream_content_type(), pieces)
}

pub async fn streamed_reply_assembled(kind: Kind) {
    let srv = Server::start(vec![stream_reply(
        kind,
        split_awkwardly(&kind.stream_body(&PIECES)),
    )])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let done = out.done();
    assert_eq!(out.text(), TEXT);
    assert_eq!(done.content, TEXT);
    assert_eq!(done.model, "tiny-model");
    assert_eq!(
        (done.usage.prompt_tokens, done.usage.completion_tokens),
        (11, 4)
    );
    if kind == Kind::Ollama {
        assert_eq!(done.provider_ms, Some(250));
    }
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    kind.check_request(&reqs[0], true);
}

pub async fn non_streamed_reply(kind: Kind) {
    let srv = Server::start(vec![Reply::new(
        200,
        "application/json",
        split_awkwardly(&kind.whole_body(TEXT)),
    )])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(false)).await;
    assert_eq!(out.chunks, vec![TEXT.to_string()], "one chunk, then Done");
    let done = out.done();
    assert_eq!(done.content, TEXT);
    assert_eq!(
        (done.usage.prompt_tokens, done.usage.completion_tokens),
        (11, 4)
    );
    kind.check_request(&srv.requests()[0], false);
}

pub async fn connection_refused(kind: Kind) {
    let base = refused_base().await;
    let out = run_chat(&provider_for(kind, &base), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::ProviderUnavailable, "{err}");
    assert!(matches!(err, ProviderError::Unavailable { .. }), "{err:?}");
    assert!(out.chunks.is_empty());
    // Two retries with backoff of at most 0.2 s and 0.4 s.
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

pub async fn unknown_model_404(kind: Kind) {
    let msg = "model \"tiny-model\" not found, try pulling it first";
    let srv = Server::start(vec![Reply::json(404, &kind.error_body(msg))]).await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::ProviderError);
    let ProviderError::Http {
        status, message, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 404);
    assert!(
        message.contains(msg),
        "provider's own message kept: {message}"
    );
    assert!(message.contains("tiny-model"), "{message}");
    if kind == Kind::Ollama {
        assert!(message.contains("ollama pull tiny-model"), "{message}");
    }
    assert_eq!(srv.requests().len(), 1, "a 404 is not retried");
    assert!(out.chunks.is_empty());
}

pub async fn rate_limited_then_ok(kind: Kind) {
    let srv = Server::start(vec![
        Reply::json(429, &kind.error_body("slow down")).header("Retry-After", "1"),
        stream_reply(kind, split_awkwardly(&kind.stream_body(&PIECES))),
    ])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    assert_eq!(out.done().content, TEXT);
    assert_eq!(out.text(), TEXT, "no text from the failed attempt");
    assert_eq!(srv.requests().len(), 2);
    assert!(
        out.elapsed >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        out.elapsed
    );
}

pub async fn server_error_then_ok(kind: Kind) {
    let srv = Server::start(vec![
        Reply::json(500, &kind.error_body("boom")),
        stream_reply(kind, split_awkwardly(&kind.stream_body(&PIECES))),
    ])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    assert_eq!(out.done().content, TEXT);
    assert_eq!(srv.requests().len(), 2);
}

pub async fn server_error_forever(kind: Kind) {
    let srv = Server::start(vec![Reply::json(
        503,
        &kind.error_body("overloaded, try later"),
    )])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::ProviderError);
    let ProviderError::Http {
        status, message, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 503);
    assert!(message.contains("overloaded, try later"), "{message}");
    assert_eq!(srv.requests().len(), 3, "1 try + max_retries (2)");
    assert!(
        out.elapsed < test_timeouts().total,
        "inside the bound: {:?}",
        out.elapsed
    );
}

pub async fn stall_before_first_token(kind: Kind) {
    let head = match kind {
        // Anthropic sends message_start etc. before any text: those do not count as a token.
        Kind::Anthropic => kind.stream_prefix(&PIECES, 0),
        _ => String::new(),
    };
    let pieces = vec![
        Piece::Bytes(head.into_bytes()),
        Piece::Sleep(Duration::from_secs(60)),
    ];
    let srv = Server::start(vec![stream_reply(kind, pieces)]).await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(
        matches!(
            err,
            ProviderError::Timeout {
                phase: TimeoutPhase::FirstToken,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(out.chunks.is_empty());
    assert!(
        out.elapsed >= Duration::from_millis(1400),
        "{:?}",
        out.elapsed
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert_eq!(srv.requests().len(), 1, "a timeout is not retried");
}

pub async fn silent_server_times_out(kind: Kind) {
    let mut reply = stream_reply(kind, vec![]);
    reply.silent = true;
    let srv = Server::start(vec![reply]).await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    assert_eq!(out.err().code(), ErrorCode::Timeout);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

pub async fn stall_mid_stream(kind: Kind) {
    let mut pieces = split_awkwardly(&kind.stream_prefix(&PIECES, 2));
    pieces.push(Piece::Sleep(Duration::from_secs(60)));
    let srv = Server::start(vec![stream_reply(kind, pieces)]).await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert_eq!(
        out.text(),
        "Hello, ",
        "tokens before the stall were delivered"
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert_eq!(srv.requests().len(), 1, "never retried after a token");
}

pub async fn malformed_line(kind: Kind) {
    let body = format!("{}{}", kind.stream_prefix(&PIECES, 1), kind.garbage_frame());
    let mut pieces = split_awkwardly(&body);
    pieces.push(Piece::Sleep(Duration::from_secs(60)));
    let srv = Server::start(vec![stream_reply(kind, pieces)]).await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::ProviderError);
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("this is not json"), "{err}");
    assert_eq!(out.text(), "Hel");
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

pub async fn body_cut_mid_stream(kind: Kind) {
    let srv = Server::start(vec![
        stream_reply(kind, split_awkwardly(&kind.stream_prefix(&PIECES, 2))).cut(),
    ])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    let err = out.err();
    assert_eq!(err.code(), ErrorCode::ProviderError, "{err}");
    assert_eq!(out.text(), "Hello, ");
    assert_eq!(srv.requests().len(), 1);
}

/// A stream that ends cleanly (valid HTTP) but without the final record is still an error.
pub async fn stream_without_final_record(kind: Kind) {
    let srv = Server::start(vec![stream_reply(
        kind,
        split_awkwardly(&kind.stream_prefix(&PIECES, 2)),
    )])
    .await;
    let out = run_chat(&provider_for(kind, &srv.base()), sample_request(true)).await;
    assert_eq!(out.err().code(), ErrorCode::ProviderError);
}

pub async fn dropping_the_stream_cancels_upstream(kind: Kind) {
    let mut pieces = Vec::new();
    for f in kind.frames(&["a"; 200]) {
        pieces.push(Piece::Bytes(f.text.into_bytes()));
        pieces.push(Piece::Sleep(Duration::from_millis(20)));
    }
    let srv = Server::start(vec![stream_reply(kind, pieces)]).await;
    let p = provider_for(kind, &srv.base());
    let mut s = p.chat(sample_request(true));
    let first = tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .unwrap();
    assert!(matches!(first, Some(Ok(ChatEvent::Chunk(_)))), "{first:?}");
    drop(s);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while srv.aborted() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never saw the client go away"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn health_reachable_and_cached(kind: Kind) {
    let srv = Server::start(vec![Reply::json(200, kind.health_body())]).await;
    let p = provider_for(kind, &srv.base());
    let h = p.health().await;
    assert!(h.reachable, "{h:?}");
    assert_eq!(h.detail, None);
    let h2 = p.health().await;
    assert!(h2.reachable);
    let reqs = srv.requests();
    match kind.health_path() {
        Some(path) => {
            assert_eq!(reqs.len(), 1, "second check served from cache");
            assert_eq!(reqs[0].method, "GET");
            assert_eq!(reqs[0].path, path);
        }
        None => assert!(reqs.is_empty(), "Anthropic health only checks the key"),
    }
}

pub async fn health_unreachable(kind: Kind) {
    let base = refused_base().await;
    kind.setup();
    let mut cfg = provider_cfg(kind.provider_kind(), kind.base(&base), kind.key_env());
    if kind == Kind::Anthropic {
        cfg.api_key_env = Some("CADRE_TEST_UNSET_VARIABLE_XYZ".into());
    }
    let h = provider::build(&cfg).health().await;
    assert!(!h.reachable, "{h:?}");
    let detail = h.detail.unwrap_or_default();
    assert!(!detail.is_empty());
    if kind == Kind::Anthropic {
        assert!(detail.contains("CADRE_TEST_UNSET_VARIABLE_XYZ"), "{detail}");
    }
}

/// Instantiate every scenario as a `#[tokio::test]` for one wire format.
#[macro_export]
macro_rules! provider_scenarios {
    ($kind:expr) => {
        $crate::provider_scenarios!(@each $kind;
            streamed_reply_assembled, non_streamed_reply, connection_refused, unknown_model_404,
            rate_limited_then_ok, server_error_then_ok, server_error_forever, stall_before_first_token,
            silent_server_times_out, stall_mid_stream, malformed_line, body_cut_mid_stream,
            stream_without_final_record, dropping_the_stream_cancels_upstream,
            health_reachable_and_cached, health_unreachable);
    };
    (@each $kind:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                support::scenarios::$name($kind).await;
            }
        )*
    };
}
