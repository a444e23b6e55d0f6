//! The consultation loop: ask the provider; when the model calls
//! `ask_colleague`, run each call (allowed ones on the colleague's chat
//! path, refused ones answered at once), hand the results back as the next
//! request's tool round, and ask again, until the model answers in text.
//!
//! Every round is one ordinary provider request, so retries before the
//! first token, timeouts and redaction are the driver's, per round.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use tokio::sync::mpsc;

use super::chain::Chain;
use super::colleagues::{CallEvent, Colleagues, ask_local, bounded};
use super::policy::{Allowance, Refusal, decide};
use super::tool::{self, Ask, Colleague};
use super::{Step, remote};
use crate::config::{Consult, SpecialistName};
use crate::protocol::{Consulted, ReplyBody};
use crate::provider::inline::Inline;
use crate::provider::{
    ChatEvent, ChatRequest, Completion, Provider, ProviderError, ToolCall, ToolResult, ToolTurn,
};

/// Rounds allowed beyond the budget: a model refused (budget spent, a
/// cycle) gets these to answer in text before the chat fails.
const SLACK_ROUNDS: u32 = 2;

/// A consulting chat: who runs it, its `[consult]`, the chain it is part of,
/// and how colleagues are reached.
pub struct Consulting {
    pub me: SpecialistName,
    /// Its provider's name, for errors.
    pub provider: String,
    pub config: Consult,
    pub chain: Chain,
    pub colleagues: Option<Arc<dyn Colleagues>>,
}

/// Run the chat with tool rounds; see the module doc.
pub fn chat(
    provider: Arc<dyn Provider>,
    req: ChatRequest,
    c: Consulting,
) -> BoxStream<'static, Step> {
    let (tx, rx) = mpsc::channel(16);
    Box::pin(Inline::new(Box::pin(run(provider, req, c, tx)), rx))
}

/// Whom this chat may ask, in the tool's order: its listed colleagues (or
/// everyone running, for `["*"]`), then its remote agents.
fn offered(c: &Consulting) -> Vec<Colleague> {
    let roster = c
        .colleagues
        .as_ref()
        .map(|d| d.roster())
        .unwrap_or_default();
    let mut out: Vec<Colleague> = if c.config.everyone() {
        roster
            .into_iter()
            .filter(|r| r.name != c.me.as_str())
            .collect()
    } else {
        c.config
            .colleagues
            .iter()
            .filter(|n| *n != c.me.as_str())
            .map(|n| Colleague {
                name: n.clone(),
                about: roster
                    .iter()
                    .find(|r| r.name == *n)
                    .map_or_else(|| "not running now".to_owned(), |r| r.about.clone()),
            })
            .collect()
    };
    out.extend(c.config.remote.iter().map(|(name, url)| Colleague {
        name: name.clone(),
        about: format!("a remote agent, {}", remote::host_of(url)),
    }));
    out
}

/// The chat's state across rounds.
struct Tally {
    text: String,
    done: Completion,
    consulted: Vec<Consulted>,
    used: u32,
}

async fn run(
    provider: Arc<dyn Provider>,
    mut req: ChatRequest,
    c: Consulting,
    tx: mpsc::Sender<Step>,
) {
    let offered = offered(&c);
    let names: Vec<String> = offered.iter().map(|o| o.name.clone()).collect();
    if !offered.is_empty() {
        req.tools.offered = vec![tool::definition(&offered)];
    }
    let mut t = Tally {
        text: String::new(),
        done: Completion::default(),
        consulted: Vec::new(),
        used: 0,
    };
    let max_rounds = c.config.budget + SLACK_ROUNDS + 1;
    for round in 1..=max_rounds {
        let done = match one_round(&provider, &c.provider, &req, &mut t.text, &tx).await {
            Ok(done) => done,
            Err(e) => {
                let _ = tx.send(Step::Failed(e)).await;
                return;
            }
        };
        let round_text = done.content.clone();
        let calls = add(&mut t.done, done);
        if calls.is_empty() || names.is_empty() {
            t.done.content = std::mem::take(&mut t.text);
            let _ = tx.send(Step::Done(t.done, t.consulted)).await;
            return;
        }
        if round == max_rounds {
            break;
        }
        let results = answer_calls(&c, &names, &calls, &mut t, &tx).await;
        req.tools.turns.push(ToolTurn {
            text: round_text,
            calls,
            results,
        });
    }
    let e = ProviderError::Malformed {
        provider: c.me.to_string(),
        reason: format!(
            "its model still called tools after {max_rounds} rounds (consultation budget {})",
            c.config.budget
        ),
    };
    let _ = tx.send(Step::Failed(e)).await;
}

/// Fold one round's completion into the chat's; returns its tool calls.
fn add(total: &mut Completion, mut round: Completion) -> Vec<ToolCall> {
    // A round whose provider reported no usage adds none (the chat path
    // estimates only when no round reported any).
    total.usage = match (total.usage, round.usage) {
        (Some(a), Some(b)) => Some(crate::conversation::Usage {
            prompt_tokens: a.prompt_tokens.saturating_add(b.prompt_tokens),
            completion_tokens: a.completion_tokens.saturating_add(b.completion_tokens),
            estimated: a.estimated || b.estimated,
        }),
        (a, b) => a.or(b),
    };
    total.provider_ms = match (total.provider_ms, round.provider_ms) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    total.model = std::mem::take(&mut round.model);
    round.tool_calls
}

/// One provider request: chunks out as they come (after a paragraph break
/// when earlier rounds said something), the completion back.
async fn one_round(
    provider: &Arc<dyn Provider>,
    name: &str,
    req: &ChatRequest,
    text: &mut String,
    tx: &mpsc::Sender<Step>,
) -> Result<Completion, ProviderError> {
    let mut events = provider.chat(req.clone());
    let mut first = true;
    while let Some(ev) = events.next().await {
        match ev? {
            ChatEvent::Chunk(c) if c.is_empty() => {}
            ChatEvent::Chunk(c) => {
                if first && !text.is_empty() && !text.ends_with(char::is_whitespace) {
                    text.push_str("\n\n");
                    let _ = tx.send(Step::Chunk("\n\n".into())).await;
                }
                first = false;
                text.push_str(&c);
                let _ = tx.send(Step::Chunk(c)).await;
            }
            ChatEvent::Done(done) => return Ok(done),
        }
    }
    Err(ProviderError::Malformed {
        provider: name.to_owned(),
        reason: "the answer stream ended without a final message".into(),
    })
}

/// One call's result, and the record the final response lists.
struct Answered {
    index: usize,
    result: ToolResult,
}

/// Decide every call, run the allowed ones at once (their lines as they
/// come), and return one result per call, in the calls' order.
async fn answer_calls(
    c: &Consulting,
    names: &[String],
    calls: &[ToolCall],
    t: &mut Tally,
    tx: &mpsc::Sender<Step>,
) -> Vec<ToolResult> {
    let mut results: Vec<Option<ToolResult>> = vec![None; calls.len()];
    let mut running: SelectAll<BoxStream<'static, Progress>> = SelectAll::new();
    for (index, call) in calls.iter().enumerate() {
        let allowance = Allowance {
            budget: c.config.budget,
            used: t.used,
        };
        let verdict = decide(call, names, &c.chain, allowance).and_then(|ask| {
            if c.chain.take() {
                Ok(ask)
            } else {
                Err(Refusal::BudgetSpent {
                    budget: c.config.budget,
                })
            }
        });
        match verdict {
            Ok(ask) => {
                t.used += 1;
                line(c, tx, ask_line(&ask)).await;
                running.push(start(c, index, call, ask));
            }
            Err(refusal) => {
                let why = refusal.to_string();
                // A call that named someone is shown and listed; one that did
                // not even parse is the model's own business.
                let named = tool::parse(&call.arguments)
                    .ok()
                    .filter(|_| call.name == tool::TOOL_NAME);
                if let Some(ask) = named {
                    line(c, tx, ask_line(&ask)).await;
                    line(c, tx, result_line(&ask.name, Err(&why), 0)).await;
                    t.consulted.push(record(&ask, 0, false));
                }
                results[index] = Some(result(call, Err(why)));
            }
        }
    }
    while let Some(p) = running.next().await {
        match p {
            Progress::Line(from, body) => {
                let _ = tx.send(Step::Line(from, body)).await;
            }
            Progress::Done(ask, answered, latency_ms) => {
                let ok = !answered.result.is_error;
                let content = &answered.result.content;
                let outcome = if ok {
                    Ok(content.as_str())
                } else {
                    Err(content.as_str())
                };
                line(c, tx, result_line(&ask.name, outcome, latency_ms)).await;
                t.consulted.push(record(&ask, latency_ms, ok));
                results[answered.index] = Some(answered.result);
            }
        }
    }
    results
        .into_iter()
        .zip(calls)
        .map(|(r, call)| r.unwrap_or_else(|| result(call, Err("no answer".into()))))
        .collect()
}

/// A running call, as the loop sees it.
enum Progress {
    Line(SpecialistName, ReplyBody),
    Done(Ask, Answered, u64),
}

/// Start the call `ask` (local colleague or remote agent), timed.
fn start(c: &Consulting, index: usize, call: &ToolCall, ask: Ask) -> BoxStream<'static, Progress> {
    let events = match c.config.remote.get(&ask.name) {
        Some(url) => {
            let asked = remote::ask(url.clone(), ask.question.clone());
            bounded(ask.name.clone(), asked, c.config.remote_timeout)
        }
        None => ask_local(
            c.colleagues.as_ref(),
            &ask.name,
            ask.question.clone(),
            &c.chain,
        ),
    };
    let call = call.clone();
    let started = Instant::now();
    events
        .map(move |ev| match ev {
            CallEvent::Line(from, body) => Progress::Line(from, body),
            CallEvent::End(outcome) => {
                let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let result = result(&call, outcome);
                Progress::Done(ask.clone(), Answered { index, result }, latency_ms)
            }
        })
        .boxed()
}

async fn line(c: &Consulting, tx: &mpsc::Sender<Step>, body: ReplyBody) {
    let _ = tx.send(Step::Line(c.me.clone(), body)).await;
}

fn ask_line(ask: &Ask) -> ReplyBody {
    ReplyBody::Consult {
        to: ask.name.clone(),
        question: ask.question.clone(),
    }
}

fn result_line(to: &str, outcome: Result<&str, &str>, latency_ms: u64) -> ReplyBody {
    let (ok, content, error) = match outcome {
        Ok(text) => (true, Some(text.to_owned()), None),
        Err(why) => (false, None, Some(why.to_owned())),
    };
    ReplyBody::ConsultResult {
        to: to.to_owned(),
        ok,
        content,
        error,
        latency_ms,
    }
}

fn record(ask: &Ask, latency_ms: u64, ok: bool) -> Consulted {
    Consulted {
        to: ask.name.clone(),
        question: ask.question.clone(),
        latency_ms,
        ok,
    }
}

fn result(call: &ToolCall, outcome: Result<String, String>) -> ToolResult {
    let (content, is_error) = match outcome {
        Ok(text) => (text, false),
        Err(why) => (why, true),
    };
    ToolResult {
        call_id: call.id.clone(),
        name: call.name.clone(),
        content,
        is_error,
    }
}
