//! A loopback HTTP server speaking Ollama's `/api/chat` (NDJSON streaming),
//! recording every request body so tests can assert what a provider received.
//!
//! The answer to a chat is `echo: <last user message>`, sent word by word, so
//! a test can check that each reply belongs to its request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[derive(Clone, Default)]
pub struct Behaviour {
    /// Wait before the first line of an answer.
    pub latency: Duration,
    /// Wait between streamed lines.
    pub chunk_delay: Duration,
    /// Answer every chat with this HTTP status and an Ollama error body.
    pub fail_status: Option<u16>,
}

#[derive(Clone)]
struct AppState {
    requests: Arc<Mutex<Vec<Value>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    aborted: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a streamed answer whose connection closed before its last line.
struct AbortGuard {
    aborted: Arc<std::sync::atomic::AtomicUsize>,
    finished: bool,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.aborted
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

pub struct OllamaServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    aborted: Arc<std::sync::atomic::AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl OllamaServer {
    pub async fn start(behaviour: Behaviour) -> OllamaServer {
        let state = AppState {
            requests: Arc::default(),
            behaviour: Arc::new(Mutex::new(behaviour)),
            aborted: Arc::default(),
        };
        let app = Router::new()
            .route("/api/chat", post(chat))
            .route(
                "/api/tags",
                get(|| async { axum::Json(json!({"models": []})) }),
            )
            .route(
                "/api/version",
                get(|| async { axum::Json(json!({"version": "0.0.0-test"})) }),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            use axum::serve::ListenerExt;
            // Like a real server: stream frames go out at once (no Nagle delay).
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await.unwrap();
        });
        OllamaServer {
            base_url: format!("http://{addr}"),
            requests: state.requests,
            behaviour: state.behaviour,
            aborted: state.aborted,
            _task: task,
        }
    }

    /// Every `/api/chat` body received so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// How many streamed answers lost their client (the connection closed) midway.
    pub fn aborted(&self) -> usize {
        self.aborted.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }
}

/// The answer the server gives to `message`.
pub fn answer_for(message: &str) -> String {
    format!("echo: {message}")
}

async fn chat(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
    };
    state.requests.lock().unwrap().push(req.clone());
    let b = state.behaviour.lock().unwrap().clone();
    if let Some(status) = b.fail_status {
        let status = StatusCode::from_u16(status).unwrap();
        return (status, axum::Json(json!({"error": "model is on fire"}))).into_response();
    }
    let model = req["model"].as_str().unwrap_or("unknown").to_owned();
    let last = req["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    let text = answer_for(&last);
    let stream = req["stream"].as_bool().unwrap_or(true);
    let done = move |content: &str| {
        json!({"model": model, "created_at": "2026-11-24T00:00:00Z",
               "message": {"role": "assistant", "content": content},
               "done": true, "done_reason": "stop", "total_duration": 1_000_000u64,
               "prompt_eval_count": 7, "eval_count": 3, "eval_duration": 500_000u64})
    };
    if !stream {
        tokio::time::sleep(b.latency).await;
        return axum::Json(done(&text)).into_response();
    }
    let model2 = req["model"].as_str().unwrap_or("unknown").to_owned();
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let mut guard = AbortGuard {
        aborted: state.aborted.clone(),
        finished: false,
    };
    let lines = async_stream(b, words, model2, done("")).map(move |item| {
        // The whole guard moves into the closure (not just its field), so
        // dropping the stream drops it.
        let guard = &mut guard;
        if item
            .as_ref()
            .is_ok_and(|l| l.windows(11).any(|w| w == b"\"done\":true"))
        {
            guard.finished = true;
        }
        item
    });
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(lines))
        .unwrap()
}

fn async_stream(
    b: Behaviour,
    words: Vec<String>,
    model: String,
    last: Value,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let first = std::iter::once(None);
    let items: Vec<Option<String>> = first.chain(words.into_iter().map(Some)).collect();
    futures::stream::iter(items.into_iter().enumerate().map(Some).chain(std::iter::once(None))).then(
        move |item| {
            let b = b.clone();
            let model = model.clone();
            let last = last.clone();
            async move {
                match item {
                    Some((0, _)) => {
                        tokio::time::sleep(b.latency).await;
                        Ok(Vec::new())
                    }
                    Some((_, Some(word))) => {
                        tokio::time::sleep(b.chunk_delay).await;
                        let v = json!({"model": model, "created_at": "2026-11-24T00:00:00Z",
                                       "message": {"role": "assistant", "content": word}, "done": false});
                        let mut line = serde_json::to_vec(&v).unwrap();
                        line.push(b'\n');
                        Ok(line)
                    }
                    _ => {
                        let mut line = serde_json::to_vec(&last).unwrap();
                        line.push(b'\n');
                        Ok(line)
                    }
                }
            }
        },
    )
}

use futures::StreamExt;
