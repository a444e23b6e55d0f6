//! The scripted model and colleagues the consultation tests run against.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::json;

use super::tool::Colleague;
use super::*;
use crate::config::{Consult, Params};
use crate::protocol::{ChatBody, ErrorCode, Reply};
use crate::provider::{Message, ProviderHealth, Role, ToolCall, Usage};

/// What the scripted model does with a request.
pub(super) type Brain = dyn Fn(&ChatRequest) -> Completion + Send + Sync;

pub(super) struct Model {
    pub(super) brain: Box<Brain>,
    pub(super) seen: Mutex<Vec<ChatRequest>>,
}

impl Provider for Model {
    fn chat(&self, req: ChatRequest) -> BoxStream<'static, Result<ChatEvent, ProviderError>> {
        let done = (self.brain)(&req);
        self.seen.lock().unwrap().push(req);
        let mut events = Vec::new();
        if !done.content.is_empty() {
            events.push(Ok(ChatEvent::Chunk(done.content.clone())));
        }
        events.push(Ok(ChatEvent::Done(done)));
        futures::stream::iter(events).boxed()
    }

    fn health(&self) -> BoxFuture<'static, ProviderHealth> {
        unreachable!("not used")
    }

    fn check(
        &self,
        _models: std::collections::BTreeSet<String>,
    ) -> BoxFuture<'static, Arc<crate::health::ProviderCheck>> {
        unreachable!("not used")
    }

    fn last_check(&self) -> Option<Arc<crate::health::ProviderCheck>> {
        None
    }
}

pub(super) fn model(
    brain: impl Fn(&ChatRequest) -> Completion + Send + Sync + 'static,
) -> Arc<Model> {
    Arc::new(Model {
        brain: Box::new(brain),
        seen: Mutex::default(),
    })
}

pub(super) fn says(text: &str) -> Completion {
    Completion {
        content: text.into(),
        model: "m".into(),
        usage: Some(Usage {
            prompt_tokens: 10,
            completion_tokens: 2,
            estimated: false,
        }),
        ..Completion::default()
    }
}

pub(super) fn asks(text: &str, calls: &[(&str, &str)]) -> Completion {
    let mut c = says(text);
    c.tool_calls = calls
        .iter()
        .enumerate()
        .map(|(i, (to, q))| ToolCall {
            id: format!("call_{i}"),
            name: "ask_colleague".into(),
            arguments: json!({"name": to, "question": q}),
        })
        .collect();
    c
}

/// The model asks `to` once per round until `rounds` calls were made, then
/// answers with every tool result it got.
pub(super) fn asks_then_answers(to: &'static str, rounds: usize) -> Arc<Model> {
    model(move |req| {
        if req.tools.turns.len() < rounds {
            asks("", &[(to, "how much is left?")])
        } else {
            let got: Vec<String> = req
                .tools
                .turns
                .iter()
                .flat_map(|t| t.results.iter().map(|r| r.text()))
                .collect();
            says(&format!("final: {}", got.join(" | ")))
        }
    })
}

/// Colleagues that answer from a script and record what they were asked.
#[derive(Default)]
pub(super) struct Team {
    pub(super) asked: Mutex<Vec<(String, String, Vec<String>)>>,
}

impl Colleagues for Team {
    fn roster(&self) -> Vec<Colleague> {
        ["penia", "telos", "broken"]
            .map(|n| Colleague {
                name: n.into(),
                about: format!("{n} title"),
            })
            .to_vec()
    }

    fn chat(&self, to: &str, body: ChatBody) -> Option<BoxStream<'static, Reply>> {
        let path = body
            .consultation
            .as_ref()
            .map(|c| c.path().iter().map(|n| n.to_string()).collect())
            .unwrap_or_default();
        self.asked
            .lock()
            .unwrap()
            .push((to.into(), body.content.clone(), path));
        let name: crate::config::SpecialistName = to.parse().ok()?;
        let body = match to {
            "broken" => ReplyBody::Error {
                code: ErrorCode::ProviderUnavailable,
                error: "provider down".into(),
                retry_after_ms: None,
            },
            "penia" | "telos" => ReplyBody::Response {
                content: format!("{to} says 42"),
                model: "m".into(),
                usage: Usage::default(),
                latency_ms: 1,
                consulted: Vec::new(),
            },
            _ => return None,
        };
        let chunk = Reply {
            specialist: name.clone(),
            id: None,
            body: ReplyBody::Chunk {
                content: "ignored".into(),
            },
        };
        let last = Reply {
            specialist: name,
            id: None,
            body,
        };
        Some(futures::stream::iter([chunk, last]).boxed())
    }
}

pub(super) fn spec(colleagues: &[&str], budget: u32) -> crate::config::Spec {
    let mut s = crate::config::Spec::example("numa");
    s.consult = Some(Consult {
        colleagues: colleagues.iter().map(|c| c.to_string()).collect(),
        budget,
        ..Consult::default()
    });
    s
}

pub(super) fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        system: "You are numa.".into(),
        messages: vec![Message {
            role: Role::User,
            content: "can we afford it?".into(),
        }],
        params: Params::default(),
        stream: true,
        tools: Default::default(),
    }
}

pub(super) async fn run_with(
    m: &Arc<Model>,
    spec: &crate::config::Spec,
    team: &Arc<Team>,
) -> Vec<Step> {
    let dir: Arc<dyn Colleagues> = team.clone();
    let c = consulting(spec, None, Some(dir));
    let provider: Arc<dyn Provider> = m.clone();
    chat(provider, request(), c).collect().await
}

pub(super) fn done(steps: &[Step]) -> (&Completion, &Vec<Consulted>) {
    match steps.last() {
        Some(Step::Done(c, consulted)) => (c, consulted),
        other => panic!("no Done at the end: {other:?}"),
    }
}

pub(super) fn lines(steps: &[Step]) -> Vec<serde_json::Value> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Line(from, body) => {
                let mut v = serde_json::to_value(body).unwrap();
                v["specialist"] = json!(from.as_str());
                v.as_object_mut().unwrap().remove("latency_ms");
                Some(v)
            }
            _ => None,
        })
        .collect()
}
