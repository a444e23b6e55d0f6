//! The API key never leaks: not in errors (Display or Debug), health detail,
//! or log lines, even when the provider echoes the key back in its error.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::fixture::provider::{Reply, Server, provider_cfg, run_chat, sample_request};
use cadre::config::ProviderKind;
use cadre::provider;

const VAR: &str = "CADRE_TEST_SECRET_MARKER_KEY";
const MARKER: &str = "sk-cadre-MARKER-5f3a9e";

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(MARKER), "{what} leaks the key: {text}");
    assert!(
        !text.contains("MARKER-5f3a"),
        "{what} leaks part of the key: {text}"
    );
}

#[tokio::test]
async fn key_never_appears_in_errors_health_or_logs() {
    // SAFETY: the only test in this binary; set before any provider reads it.
    unsafe { std::env::set_var(VAR, MARKER) };
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let echo = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {MARKER}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    let mut errors = Vec::new();
    for (kind, path_prefix) in [
        (ProviderKind::Openai, "/v1"),
        (ProviderKind::Anthropic, ""),
        (ProviderKind::Ollama, ""),
    ] {
        // 401 echoing the key, then 500s echoing it (retried), for chat and health.
        let srv = Server::start(vec![Reply::json(401, &echo), Reply::json(500, &echo)]).await;
        let cfg = provider_cfg(kind, format!("{}{path_prefix}", srv.base()), Some(VAR));
        let p = provider::build(&cfg);
        let out = run_chat(&p, sample_request(true)).await;
        errors.push(out.err().clone());
        let out = run_chat(&p, sample_request(false)).await;
        errors.push(out.err().clone());
        let h = p.health().await;
        assert_clean(
            "health",
            &format!("{h:?} {}", serde_json::to_string(&h).unwrap()),
        );
        // The key did reach the provider, in the header the provider documents.
        let reqs = srv.requests();
        let sent = &reqs[0];
        match kind {
            ProviderKind::Anthropic => assert_eq!(sent.header("x-api-key"), Some(MARKER)),
            _ => assert_eq!(
                sent.header("authorization"),
                Some(format!("Bearer {MARKER}").as_str())
            ),
        }
        assert_clean(
            "config debug",
            &format!("{cfg:?} {}", serde_json::to_string(&cfg).unwrap()),
        );
    }
    for e in &errors {
        assert_clean("error", &e.to_string());
        assert_clean("error debug", &format!("{e:?}"));
    }
    assert!(
        errors.iter().any(|e| e
            .to_string()
            .contains("Incorrect API key provided: [redacted]")),
        "{errors:?}"
    );

    // Missing variable: the error names the variable, not a value.
    let srv = Server::start(vec![Reply::json(200, "{}")]).await;
    let cfg = provider_cfg(
        ProviderKind::Anthropic,
        srv.base(),
        Some("CADRE_TEST_SECRET_UNSET"),
    );
    let out = run_chat(&provider::build(&cfg), sample_request(true)).await;
    assert!(
        out.err().to_string().contains("CADRE_TEST_SECRET_UNSET"),
        "{}",
        out.err()
    );
    assert!(srv.requests().is_empty(), "no request without a key");

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty(), "the run logged something to check");
    assert_clean("logs", &logs);
}

/// A key echoed inside a 200 stream: in a line the decoder cannot read (its
/// error quotes the line, cut at 500 bytes, with the key at the cut) and in
/// the answer text itself. Neither the error nor the answer holds it.
#[tokio::test]
async fn a_key_echoed_inside_a_stream_is_gone_before_the_line_is_quoted_or_cut() {
    const VAR: &str = "CADRE_TEST_STREAM_ECHO_KEY";
    const KEY: &str = "sk-STREAMCANARY-0a9f3e7d";
    // SAFETY: a variable only this test reads, set before its provider reads it.
    unsafe { std::env::set_var(VAR, KEY) };
    // The decoder quotes the data cut at 500 bytes: the cut falls inside the key.
    let pad = "x".repeat(452);
    let broken = format!("data: {{\"choices\": [{{\"delta\": {pad} Bearer {KEY}\n\n");
    let echoed = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"your key is {KEY}\"}}}}]}}\n\n\
         data: [DONE]\n\n"
    );
    let stream = |body: String| {
        Reply::new(
            200,
            "text/event-stream",
            vec![crate::fixture::provider::Piece::Bytes(body.into_bytes())],
        )
    };
    for (body, wants_error) in [(broken, true), (echoed, false)] {
        let srv = Server::start(vec![stream(body)]).await;
        let cfg = provider_cfg(
            ProviderKind::Openai,
            format!("{}/v1", srv.base()),
            Some(VAR),
        );
        let out = run_chat(&provider::build(&cfg), sample_request(true)).await;
        let shown = match &out.result {
            Err(e) => format!("{e} {e:?}"),
            Ok(c) => format!("{} {}", out.text(), c.content),
        };
        assert_eq!(out.result.is_err(), wants_error, "{shown}");
        assert!(!shown.contains("STREAMCANARY"), "the key leaks: {shown}");
        assert!(shown.contains("[redacted]") || wants_error, "{shown}");
    }
}

/// A key the model spells across streamed events (each line alone holds only
/// part of it), in OpenAI's SSE and Ollama's NDJSON: no chunk, nor the
/// chunks together, nor the final answer hold it; a tail that only looked
/// like the key's start is handed on whole.
#[tokio::test]
async fn a_key_split_across_streamed_lines_is_redacted() {
    const VAR: &str = "CADRE_TEST_SPLIT_KEY";
    const KEY: &str = "sk-SPLITCANARY-77c1d0";
    // SAFETY: a variable only this test reads, set before its provider reads it.
    unsafe { std::env::set_var(VAR, KEY) };
    let pieces = [
        "your key is sk-SPL",
        "ITCANA",
        "RY-77c1d0, and sk-S",
        "oon more",
    ];
    let sse: String = pieces
        .iter()
        .map(|p| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{p}\"}}}}]}}\n\n"))
        .chain(["data: [DONE]\n\n".to_owned()])
        .collect();
    let ndjson: String = pieces
        .iter()
        .map(|p| {
            format!(
                "{{\"message\":{{\"role\":\"assistant\",\"content\":\"{p}\"}},\"done\":false}}\n"
            )
        })
        .chain([
            "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true}\n".to_owned(),
        ])
        .collect();
    for (kind, prefix, content_type, body) in [
        (ProviderKind::Openai, "/v1", "text/event-stream", sse),
        (ProviderKind::Ollama, "", "application/x-ndjson", ndjson),
    ] {
        let reply = Reply::new(
            200,
            content_type,
            vec![crate::fixture::provider::Piece::Bytes(body.into_bytes())],
        );
        let srv = Server::start(vec![reply]).await;
        let cfg = provider_cfg(kind, format!("{}{prefix}", srv.base()), Some(VAR));
        let out = run_chat(&provider::build(&cfg), sample_request(true)).await;
        let done = out.done();
        let want = "your key is [redacted], and sk-Soon more";
        assert_eq!(out.text(), want, "{kind:?}: {:?}", out.chunks);
        assert_eq!(done.content, want, "{kind:?}");
        for c in &out.chunks {
            assert!(
                !c.contains("SPLITCANARY"),
                "{kind:?}: a chunk leaks the key: {c:?}"
            );
        }
    }
}
