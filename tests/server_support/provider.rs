//! A minimal Ollama client implementing `Provider`, for tests only, until the
//! real provider (issue 5) lands on main.

use std::sync::Arc;

use cadre::provider::{
    ChatEvent, ChatRequest, Completion, Provider, ProviderError, ProviderHealth, Usage,
};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::{Value, json};

pub struct TestOllama {
    base_url: String,
    client: reqwest::Client,
}

pub fn ollama(base_url: &str) -> Arc<dyn Provider> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(TestOllama {
        base_url: base_url.to_owned(),
        client: reqwest::Client::new(),
    })
}

fn err(reason: impl ToString) -> ProviderError {
    ProviderError::Malformed {
        provider: "ollama".into(),
        reason: reason.to_string(),
    }
}

impl Provider for TestOllama {
    fn chat(&self, req: ChatRequest) -> BoxStream<'static, Result<ChatEvent, ProviderError>> {
        let mut messages = vec![json!({"role": "system", "content": req.system})];
        messages.extend(
            req.messages
                .iter()
                .map(|m| serde_json::to_value(m).unwrap()),
        );
        let mut options = serde_json::Map::new();
        if let Some(t) = req.params.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.params.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        let body = json!({"model": req.model, "messages": messages, "stream": req.stream, "options": options});
        let send = self
            .client
            .post(format!("{}/api/chat", self.base_url))
            .json(&body)
            .send();
        let base = self.base_url.clone();
        async_stream(send, base).boxed()
    }

    fn health(&self) -> BoxFuture<'static, ProviderHealth> {
        let get = self
            .client
            .get(format!("{}/api/version", self.base_url))
            .send();
        Box::pin(async move {
            let reachable = matches!(get.await, Ok(r) if r.status().is_success());
            ProviderHealth {
                name: "ollama".into(),
                kind: "ollama".into(),
                reachable,
                detail: None,
            }
        })
    }
}

fn async_stream(
    send: impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    base: String,
) -> impl futures::Stream<Item = Result<ChatEvent, ProviderError>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(async move {
        let resp = match send.await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx
                    .send(Err(ProviderError::Unavailable {
                        provider: "ollama".into(),
                        url: base,
                        reason: e.to_string(),
                    }))
                    .await;
                return;
            }
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let message = resp.text().await.unwrap_or_default();
            let _ = tx
                .send(Err(ProviderError::Http {
                    provider: "ollama".into(),
                    status,
                    message,
                }))
                .await;
            return;
        }
        let mut body = resp.bytes_stream();
        let mut buf = Vec::new();
        let mut finished = false;
        while !finished {
            match body.next().await {
                Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
                Some(Err(_)) => {
                    let _ = tx.send(Err(err("body broke"))).await;
                    return;
                }
                // A body without a final newline (non-streaming answers) still counts.
                None => {
                    buf.push(b'\n');
                    finished = true;
                }
            }
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let v: Value = match serde_json::from_slice(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = tx.send(Err(err(e))).await;
                        return;
                    }
                };
                let content = v["message"]["content"].as_str().unwrap_or("").to_owned();
                let event = if v["done"].as_bool() == Some(true) {
                    ChatEvent::Done(Completion {
                        content,
                        model: v["model"].as_str().unwrap_or("").into(),
                        usage: Usage {
                            prompt_tokens: v["prompt_eval_count"].as_u64().unwrap_or(0),
                            completion_tokens: v["eval_count"].as_u64().unwrap_or(0),
                        },
                        provider_ms: None,
                    })
                } else {
                    ChatEvent::Chunk(content)
                };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        }
    });
    // Dropping the stream aborts the task, which drops the HTTP response.
    let guard = AbortOnDrop(task);
    tokio_stream::wrappers::ReceiverStream::new(rx).map(move |e| {
        let _ = &guard;
        e
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
