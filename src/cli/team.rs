//! `cadre team`: one message to every ready specialist at once. Answers print
//! as they arrive; a slow or failed specialist only costs its own line.
//! With `--team NAME` the daemon runs that team (teams.d/NAME.toml) and its
//! rounds print as they come, the synthesis last (see [`super::teams`]).

use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use serde_json::json;

use super::{CliError, Global};
use crate::client::{ClientError, Target, TeamOutcome, team};
use crate::protocol::ChatBody;
use crate::registry::{Entry, State};

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
    let (targets, skipped) = select(g.entries()?, &a.only);
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
        let mut pending = std::pin::pin!(team(targets, body, timeout));
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

/// The specialists to ask (ready ones, of `only` when given), and those of
/// `only` that cannot be asked, with why.
fn select(entries: Vec<Entry>, only: &[String]) -> (Vec<Target>, Vec<(String, String)>) {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for e in entries {
        if !only.is_empty() && !only.iter().any(|n| e.name == *n) {
            continue;
        }
        if e.state == State::Ready || e.state == State::Reloading {
            targets.push(Target {
                name: e.name.to_string(),
                host: e.connect_host().to_owned(),
                port: e.port,
            });
        } else if !only.is_empty() {
            skipped.push((e.name.to_string(), format!("not ready (state {})", e.state)));
        }
    }
    for name in only {
        if !targets.iter().any(|t| &t.name == name) && !skipped.iter().any(|(n, _)| n == name) {
            skipped.push((name.clone(), "not registered".into()));
        }
    }
    (targets, skipped)
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
