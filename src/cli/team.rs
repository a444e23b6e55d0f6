//! `cadre team`: one message to every ready specialist of the registry at
//! once (every daemon's, every host's; a specialist with replicas once, on
//! one of its endpoints, failing over before the first token). Answers
//! print as they arrive; a slow or failed specialist only costs its own line.
//! With `--team NAME` the daemon runs that team (teams.d/NAME.toml) and its
//! rounds print as they come, the synthesis last (see [`super::teams`]).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use serde_json::json;

use super::{CliError, Global};
use crate::client::{ClientError, TeamOutcome};
use crate::cluster::failover::{self, Bounds, ChatError};
use crate::cluster::pick::{Balancer, Target};
use crate::cluster::{Snapshot, replicas};
use crate::protocol::ChatBody;
use crate::registry::State;

/// Arguments of `cadre team`.
#[derive(Debug, Args)]
pub struct TeamArgs {
    /// The message every ready specialist receives.
    pub message: String,
    /// Only these specialists (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// One JSON object per answer, then the summary.
    #[arg(long)]
    pub json: bool,
    /// Run this team of teams.d through the daemon (rounds, synthesis)
    /// instead of asking every ready specialist once.
    #[arg(long, conflicts_with = "only")]
    pub team: Option<String>,
}

/// How the answers went.
#[derive(Default)]
struct Tally {
    answered: usize,
    failed: usize,
    timed_out: usize,
}

pub fn run(g: &Global, a: TeamArgs) -> Result<i32, CliError> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        return Err(CliError::Refused(format!(
            "--timeout must be a positive number of seconds, got {}",
            a.timeout
        )));
    }
    let timeout = Duration::from_secs_f64(a.timeout);
    if let Some(team) = &a.team {
        return super::teams::run_team(g, team, &a.message, timeout, a.json);
    }
    let (targets, skipped) = select(&g.snapshot()?, &a.only);
    if targets.is_empty() && skipped.is_empty() {
        return Err(CliError::Refused(
            "no ready specialists in the registry (is `cadre up` running?)".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    let mut tally = Tally::default();
    for (name, why) in &skipped {
        tally.failed += 1;
        print_failure(a.json, name, None, why);
    }
    let body = ChatBody {
        content: a.message.clone(),
        ..ChatBody::default()
    };
    rt.block_on(async {
        let mut pending = std::pin::pin!(ask_all(targets, body, timeout));
        while let Some((name, outcome)) = pending.next().await {
            print_outcome(a.json, &name, outcome, timeout, &mut tally);
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
    });
    let Tally {
        answered,
        failed,
        timed_out,
    } = tally;
    if a.json {
        println!(
            "{}",
            json!({"type": "summary", "answered": answered, "failed": failed, "timed_out": timed_out})
        );
    } else {
        println!("answered {answered}, failed {failed}, timed out {timed_out}");
    }
    Ok(if failed + timed_out == 0 { 0 } else { 1 })
}

/// One member: its name and its live endpoints.
type Member = (String, Vec<Target>);

/// The specialists to ask (ready ones, of `only` when given), and those of
/// `only` that cannot be asked, with why.
fn select(snap: &Snapshot, only: &[String]) -> (Vec<Member>, Vec<(String, String)>) {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for g in replicas::group(&snap.entries) {
        if !only.is_empty() && !only.iter().any(|n| g.name == *n) {
            continue;
        }
        // A specialist serving its last good spec through a broken file is not asked.
        let endpoints = failover::targets_of(snap, g.name.as_str(), |s| {
            matches!(s, State::Ready | State::Reloading)
        });
        if !endpoints.is_empty() {
            targets.push((g.name.to_string(), endpoints));
        } else if !only.is_empty() {
            let state = g.endpoints.first().map(|e| e.state.as_str()).unwrap_or("-");
            skipped.push((g.name.to_string(), format!("not ready (state {state})")));
        }
    }
    for name in only {
        if !targets.iter().any(|(n, _)| n == name) && !skipped.iter().any(|(n, _)| n == name) {
            skipped.push((name.clone(), "not registered".into()));
        }
    }
    (targets, skipped)
}

/// Ask every member at once; `(name, outcome)` in order of arrival. Each
/// has its own `timeout`, so a slow or failing one never delays the others.
fn ask_all(
    members: Vec<Member>,
    body: ChatBody,
    timeout: Duration,
) -> impl futures::Stream<Item = (String, TeamOutcome)> {
    let balancer: Arc<Balancer> = Arc::default();
    let bounds = Bounds {
        connect: timeout.min(Duration::from_secs(5)),
        reply: timeout,
    };
    members
        .into_iter()
        .map(move |(name, endpoints)| {
            let (body, balancer) = (body.clone(), balancer.clone());
            async move {
                let ask = failover::chat(&balancer, endpoints, body, bounds, |_| {});
                let outcome = match tokio::time::timeout(timeout, ask).await {
                    Ok(Ok(a)) => TeamOutcome::Answered(a.answer),
                    Ok(Err(ChatError::Chat { error, .. })) if error.is_timeout() => {
                        TeamOutcome::TimedOut
                    }
                    Ok(Err(ChatError::Chat { error, .. })) => TeamOutcome::Failed(error),
                    Ok(Err(e @ ChatError::NoEndpoint { .. })) => {
                        TeamOutcome::Failed(ClientError::NoEndpoint { tried: e.tried() })
                    }
                    Err(_) => TeamOutcome::TimedOut,
                };
                (name, outcome)
            }
        })
        .collect::<futures::stream::FuturesUnordered<_>>()
}

fn print_outcome(
    json: bool,
    name: &str,
    outcome: TeamOutcome,
    timeout: Duration,
    tally: &mut Tally,
) {
    match outcome {
        TeamOutcome::Answered(ans) => {
            tally.answered += 1;
            if json {
                println!(
                    "{}",
                    json!({"type": "answer", "specialist": name, "status": "answered",
                           "content": ans.content, "model": ans.model, "latency_ms": ans.latency_ms})
                );
            } else {
                for line in ans.content.lines() {
                    println!("{name}: {line}");
                }
            }
        }
        TeamOutcome::Failed(err) => {
            tally.failed += 1;
            let code = match &err {
                ClientError::Remote { code, .. } => Some(code.as_str()),
                _ => None,
            };
            print_failure(json, name, code, &err.to_string());
        }
        TeamOutcome::TimedOut => {
            tally.timed_out += 1;
            if json {
                println!(
                    "{}",
                    json!({"type": "answer", "specialist": name, "status": "timed_out"})
                );
            } else {
                println!("{name}: timed out after {timeout:?}");
            }
        }
    }
}

fn print_failure(json: bool, name: &str, code: Option<&str>, why: &str) {
    if json {
        println!(
            "{}",
            json!({"type": "answer", "specialist": name, "status": "failed", "code": code, "error": why})
        );
    } else {
        println!("{name}: failed: {why}");
    }
}
