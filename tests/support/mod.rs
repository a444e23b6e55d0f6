//! Test support: loopback HTTP servers that speak each provider's wire format
//! with fault injection, and helpers to drive a provider to completion.
#![allow(dead_code)]

pub mod scenarios;
pub mod server;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre::config::{Params, ProviderKind, ResolvedProvider, ResolvedTimeouts};
use cadre::provider::{ChatEvent, ChatRequest, Completion, Message, Provider, ProviderError, Role};
use futures::StreamExt;

#[allow(unused_imports)]
pub use server::{Piece, Recorded, Reply, Server, refused_base};
pub use wire::Kind;

/// Timeouts small enough for fast tests, large enough for a loaded 2-core box.
pub fn test_timeouts() -> ResolvedTimeouts {
    ResolvedTimeouts {
        connect: Duration::from_secs(2),
        first_token: Duration::from_millis(1500),
        total: Duration::from_secs(15),
    }
}

pub fn provider_cfg(
    kind: ProviderKind,
    base_url: String,
    api_key_env: Option<&str>,
) -> ResolvedProvider {
    ResolvedProvider {
        name: format!("test-{kind:?}").to_lowercase(),
        kind,
        base_url,
        api_key_env: api_key_env.map(str::to_string),
        timeouts: test_timeouts(),
        max_retries: 2,
        keep_alive: None,
    }
}

/// A request with a system prompt, history and params, so tests can check each reaches the wire.
pub fn sample_request(stream: bool) -> ChatRequest {
    let mut params = Params {
        temperature: Some(0.25),
        top_p: Some(0.5),
        max_tokens: Some(77),
        ..Default::default()
    };
    params.stop = Some(vec!["STOP".into()]);
    params.extra.insert("seed".into(), toml::Value::Integer(42));
    ChatRequest {
        model: "tiny-model".into(),
        system: "You are the billing specialist.".into(),
        messages: vec![
            Message {
                role: Role::User,
                content: "earlier question".into(),
            },
            Message {
                role: Role::Assistant,
                content: "earlier answer".into(),
            },
            Message {
                role: Role::User,
                content: "what now?".into(),
            },
        ],
        params,
        stream,
    }
}

/// What a chat produced.
#[derive(Debug)]
pub struct Outcome {
    pub chunks: Vec<String>,
    pub result: Result<Completion, ProviderError>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn text(&self) -> String {
        self.chunks.concat()
    }
    pub fn err(&self) -> &ProviderError {
        match &self.result {
            Err(e) => e,
            Ok(c) => panic!(
                "expected an error, got {c:?} after chunks {:?}",
                self.chunks
            ),
        }
    }
    pub fn done(&self) -> &Completion {
        match &self.result {
            Ok(c) => c,
            Err(e) => panic!("expected success, got {e} after chunks {:?}", self.chunks),
        }
    }
}

/// Run a chat to its end. Panics (fails the test) on a hang past 60 s, on
/// events after the end, or on a stream that ends without `Done` or an error.
pub async fn run_chat(p: &Arc<dyn Provider>, req: ChatRequest) -> Outcome {
    let start = Instant::now();
    let mut s = p.chat(req);
    let mut chunks = Vec::new();
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(ev) = s.next().await {
            match ev {
                Ok(ChatEvent::Chunk(t)) => chunks.push(t),
                Ok(ChatEvent::Done(c)) => return Ok(c),
                Err(e) => return Err(e),
            }
        }
        panic!("stream ended without Done or an error");
    })
    .await
    .expect("chat hung for 60 s");
    let elapsed = start.elapsed();
    // Nothing may follow the final event.
    assert!(s.next().await.is_none(), "events after the end of a chat");
    Outcome {
        chunks,
        result,
        elapsed,
    }
}

/// Cut a body into pieces of 1–7 bytes, so lines and multi-byte characters are split.
pub fn split_awkwardly(body: &str) -> Vec<Piece> {
    let bytes = body.as_bytes();
    let sizes = [1usize, 3, 2, 7, 1, 5, 4, 6];
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < bytes.len() {
        let n = sizes[k % sizes.len()].min(bytes.len() - i);
        out.push(Piece::Bytes(bytes[i..i + n].to_vec()));
        i += n;
        k += 1;
    }
    out
}
