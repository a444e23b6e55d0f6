//! A colleague elsewhere: an A2A agent named in `[consult] remote`. Its card
//! (`…/.well-known/agent-card.json`) says where its JSON-RPC endpoint is and
//! which protocol version it speaks; a question is one blocking
//! `SendMessage` (v1.0; `message/send` for a v0.3-only agent), polled with
//! `GetTask` if the agent answers before the task is done. The message and
//! task shapes are [`crate::a2a::wire`]'s, the server's own.
//!
//! Everything the agent sends is bounded: the card and each answer are read
//! up to a size limit, and the whole call by `[consult] remote_timeout`
//! (see [`super::colleagues::bounded`]).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value, json};

use super::colleagues::CallEvent;
use crate::a2a::Version;
use crate::a2a::wire::{Message, Role, TaskState, message_json, new_id};

/// A card larger than this is refused.
const MAX_CARD: usize = 256 * 1024;
/// An answer larger than this is refused.
const MAX_ANSWER: usize = 4 * 1024 * 1024;
/// How long a card's endpoint is reused before it is fetched again.
const CARD_TTL: Duration = Duration::from_secs(60);

/// The host (and port) of `url`, for the tool's description.
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .unwrap_or_else(|| url.to_owned())
}

/// Ask the agent whose card is at `card_url`.
pub fn ask(card_url: String, question: String) -> BoxStream<'static, CallEvent> {
    futures::stream::once(async move { CallEvent::End(call(&card_url, question).await) }).boxed()
}

/// Where and how to talk to an agent, from its card.
#[derive(Debug, Clone, PartialEq)]
struct Endpoint {
    url: String,
    version: Version,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        crate::provider::install_tls();
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("cadre/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

async fn call(card_url: &str, question: String) -> Result<String, String> {
    let ep = endpoint(card_url).await?;
    let text = question;
    let message = Message {
        id: new_id(),
        context_id: None,
        task_id: None,
        role: Role::User,
        parts: vec![text],
        metadata: None,
    };
    let params = match ep.version {
        Version::V1_0 => json!({"message": message_json(&message, ep.version),
                                "configuration": {"returnImmediately": false}}),
        Version::V0_3 => json!({"message": message_json(&message, ep.version),
                                "configuration": {"blocking": true}}),
    };
    let method = match ep.version {
        Version::V1_0 => "SendMessage",
        Version::V0_3 => "message/send",
    };
    let mut result = rpc(&ep, method, params).await?;
    // An agent may answer with a task still working: follow it to its end.
    let mut wait = Duration::from_millis(50);
    loop {
        match outcome(&result)? {
            Some(answer) => return answer,
            None => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
                let id = task_of(&result)
                    .and_then(|t| t.get("id"))
                    .and_then(Value::as_str)
                    .ok_or("the agent's task has no id")?
                    .to_owned();
                let method = match ep.version {
                    Version::V1_0 => "GetTask",
                    Version::V0_3 => "tasks/get",
                };
                result = rpc(&ep, method, json!({"id": id})).await?;
            }
        }
    }
}

/// The JSON-RPC endpoint of the card at `card_url` (cached for [`CARD_TTL`]).
async fn endpoint(card_url: &str) -> Result<Endpoint, String> {
    static CARDS: OnceLock<Mutex<HashMap<String, (Instant, Endpoint)>>> = OnceLock::new();
    let cards = CARDS.get_or_init(Mutex::default);
    if let Some((at, ep)) = cards
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(card_url)
        && at.elapsed() < CARD_TTL
    {
        return Ok(ep.clone());
    }
    let resp = client()
        .get(card_url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch the agent card at {card_url}: {}", reason(&e)))?;
    let status = resp.status();
    let body = read_limited(resp, MAX_CARD).await?;
    if !status.is_success() {
        return Err(format!(
            "the agent card at {card_url} answered HTTP {}",
            status.as_u16()
        ));
    }
    let card: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("the agent card at {card_url} is not JSON: {e}"))?;
    let ep = from_card(&card).ok_or_else(|| {
        format!("the agent card at {card_url} lists no JSON-RPC interface of A2A 1.0 or 0.3")
    })?;
    cards
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(card_url.to_owned(), (Instant::now(), ep.clone()));
    Ok(ep)
}

/// The card's JSON-RPC interface, v1.0 preferred; a v0.3 card's legacy
/// `url` + `preferredTransport` otherwise.
fn from_card(card: &Value) -> Option<Endpoint> {
    let http = |u: &str| {
        reqwest::Url::parse(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|_| u.to_owned())
    };
    let listed: Vec<(String, Version)> = card["supportedInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["protocolBinding"] == "JSONRPC")
        .filter_map(|i| {
            let url = http(i["url"].as_str()?)?;
            let v = Version::select(i["protocolVersion"].as_str(), None).ok()?;
            Some((url, v))
        })
        .collect();
    let pick = listed
        .iter()
        .find(|(_, v)| *v == Version::V1_0)
        .or_else(|| listed.first())
        .cloned();
    let legacy = || {
        let transport = card["preferredTransport"].as_str().unwrap_or("JSONRPC");
        (transport == "JSONRPC")
            .then(|| http(card["url"].as_str()?))
            .flatten()
            .map(|url| (url, Version::V0_3))
    };
    let (url, version) = pick.or_else(legacy)?;
    Some(Endpoint { url, version })
}

/// One JSON-RPC call; its `result`, or the agent's error in words.
async fn rpc(ep: &Endpoint, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": new_id(), "method": method, "params": params});
    let resp = client()
        .post(&ep.url)
        .header("A2A-Version", ep.version.as_str())
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot reach the agent at {}: {}", ep.url, reason(&e)))?;
    let status = resp.status();
    let bytes = read_limited(resp, MAX_ANSWER).await?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
        format!(
            "the agent at {} answered HTTP {} without a JSON-RPC body",
            ep.url,
            status.as_u16()
        )
    })?;
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let msg = e["message"].as_str().unwrap_or("no message");
        return Err(format!(
            "the agent refused {method}: {msg} (code {})",
            e["code"]
        ));
    }
    match v.get("result") {
        Some(r) if !r.is_null() => Ok(r.clone()),
        _ => Err(format!(
            "the agent at {} answered HTTP {} without a result",
            ep.url,
            status.as_u16()
        )),
    }
}

/// The task in a result: v1.0 wraps it (`{"task": …}`), v0.3 does not.
fn task_of(result: &Value) -> Option<&Map<String, Value>> {
    result
        .get("task")
        .unwrap_or(result)
        .as_object()
        .filter(|t| t.contains_key("status"))
}

/// `Some(answer)` once the result is final (a message, or a task in a
/// terminal state), `None` while its task still runs.
fn outcome(result: &Value) -> Result<Option<Result<String, String>>, String> {
    if let Some(m) = result.get("message").filter(|m| m.is_object()) {
        return Ok(Some(Ok(parts_text(&m["parts"]))));
    }
    if result.get("kind").and_then(Value::as_str) == Some("message") {
        return Ok(Some(Ok(parts_text(&result["parts"]))));
    }
    let task = task_of(result).ok_or("the agent's answer is neither a task nor a message")?;
    let state = task["status"]["state"]
        .as_str()
        .and_then(TaskState::parse)
        .ok_or("the agent's task has no known state")?;
    let said = || parts_text(&task["status"]["message"]["parts"]);
    Ok(match state {
        TaskState::Completed => {
            let answer: Vec<String> = task
                .get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| parts_text(&a["parts"]))
                .collect();
            let answer = answer.join("\n");
            Some(Ok(if answer.is_empty() { said() } else { answer }))
        }
        TaskState::Failed | TaskState::Canceled | TaskState::Rejected => {
            let why = said();
            let why = if why.is_empty() {
                "no reason given".into()
            } else {
                why
            };
            Some(Err(format!(
                "the agent's task ended {}: {why}",
                state.as_str(Version::V0_3)
            )))
        }
        TaskState::InputRequired | TaskState::AuthRequired => Some(Err(format!(
            "the agent wants more than a question ({}); ask it differently",
            state.as_str(Version::V0_3)
        ))),
        TaskState::Submitted | TaskState::Working => None,
    })
}

/// The text parts of a parts array, joined.
fn parts_text(parts: &Value) -> String {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("")
}

async fn read_limited(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    use crate::net::body::{self, BodyError};
    body::read_capped(resp, max).await.map_err(|e| match e {
        BodyError::TooLarge => format!("the agent's answer is larger than {max} bytes"),
        BodyError::Broke(e) => format!("the agent's answer broke off: {}", reason(&e)),
    })
}

fn reason(e: &reqwest::Error) -> String {
    crate::provider::reason(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_of_both_versions() {
        let v1 = json!({"supportedInterfaces": [
            {"url": "http://h:1/a2a/x", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
            {"url": "http://h:1/a2a/x", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": "http://h:1/grpc", "protocolBinding": "GRPC", "protocolVersion": "1.0"}]});
        assert_eq!(
            from_card(&v1),
            Some(Endpoint {
                url: "http://h:1/a2a/x".into(),
                version: Version::V1_0
            })
        );
        let v03 = json!({"url": "https://h/a2a", "preferredTransport": "JSONRPC"});
        assert_eq!(from_card(&v03).map(|e| e.version), Some(Version::V0_3));
        assert_eq!(from_card(&json!({"url": "file:///etc/passwd"})), None);
        assert_eq!(
            from_card(&json!({"url": "http://h", "preferredTransport": "GRPC"})),
            None
        );
    }

    #[test]
    fn outcomes() {
        let done = json!({"task": {"id": "t", "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"artifactId": "a", "parts": [{"text": "forty"}, {"text": "-two"}]}]}});
        assert_eq!(outcome(&done), Ok(Some(Ok("forty-two".into()))));
        let failed = json!({"id": "t", "kind": "task", "status": {"state": "failed",
            "message": {"parts": [{"kind": "text", "text": "provider_error: down"}]}}});
        assert_eq!(
            outcome(&failed),
            Ok(Some(Err(
                "the agent's task ended failed: provider_error: down".into()
            )))
        );
        let working = json!({"task": {"id": "t", "status": {"state": "TASK_STATE_WORKING"}}});
        assert_eq!(outcome(&working), Ok(None));
        let message = json!({"message": {"role": "ROLE_AGENT", "parts": [{"text": "hi"}]}});
        assert_eq!(outcome(&message), Ok(Some(Ok("hi".into()))));
        assert!(outcome(&json!({"weird": 1})).is_err());
    }

    proptest::proptest! {
        /// Whatever an agent answers, reading it is an answer, an error, or
        /// "still working": never a panic.
        #[test]
        fn any_agent_answer_is_read(v in crate::consult::policy::tests::arb_json()) {
            let wrapped = json!({"task": {"id": "t", "status": {"state": "TASK_STATE_COMPLETED",
                "message": v.clone()}, "artifacts": [{"parts": v.clone()}]}});
            let _ = outcome(&v);
            // A completed task is an answer, whatever its parts hold.
            proptest::prop_assert!(matches!(outcome(&wrapped), Ok(Some(Ok(_)))));
            // A card is only ever followed to an http(s) endpoint.
            if let Some(ep) = from_card(&v) {
                proptest::prop_assert!(ep.url.starts_with("http://") || ep.url.starts_with("https://"));
            }
        }
    }
}
