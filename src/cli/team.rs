//! `cadre team`: one message to every ready specialist at once. Answers print
//! as they arrive; a slow or failed specialist only costs its own line.

use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use serde_json::json;

use super::Global;
use super::chat::{connect_host, registry_entries};
use crate::client::{ClientError, Target, TeamOutcome, team};
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
}

pub fn run(g: &Global, a: TeamArgs) -> anyhow::Result<i32> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        anyhow::bail!(
            "--timeout must be a positive number of seconds, got {}",
            a.timeout
        );
    }
    let timeout = Duration::from_secs_f64(a.timeout);
    let entries = registry_entries(g)?;
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for e in entries {
        if !a.only.is_empty() && !a.only.contains(&e.name) {
            continue;
        }
        if e.state == State::Ready || e.state == State::Reloading {
            targets.push(e);
        } else if !a.only.is_empty() {
            skipped.push((
                e.name.clone(),
                format!("not ready (state {:?})", e.state).to_lowercase(),
            ));
        }
    }
    for name in &a.only {
        if !targets.iter().any(|e| &e.name == name) && !skipped.iter().any(|(n, _)| n == name) {
            skipped.push((name.clone(), "not registered".into()));
        }
    }
    if targets.is_empty() && skipped.is_empty() {
        anyhow::bail!("no ready specialists in the registry (is `cadre up` running?)");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut answered, mut failed, mut timed_out) = (0usize, 0usize, 0usize);
    for (name, why) in &skipped {
        failed += 1;
        print_failure(a.json, name, None, why);
    }
    let targets: Vec<Target> = targets
        .into_iter()
        .map(|e| Target {
            name: e.name.clone(),
            host: connect_host(&e).to_owned(),
            port: e.port,
        })
        .collect();
    let body = ChatBody {
        content: a.message.clone(),
        ..ChatBody::default()
    };
    rt.block_on(async {
        let mut pending = std::pin::pin!(team(targets, body, timeout));
        while let Some((name, outcome)) = pending.next().await {
            match outcome {
                TeamOutcome::Answered(ans) => {
                    answered += 1;
                    if a.json {
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
                    failed += 1;
                    let code = match &err {
                        ClientError::Remote { code, .. } => Some(code.as_str()),
                        _ => None,
                    };
                    print_failure(a.json, &name, code, &err.to_string());
                }
                TeamOutcome::TimedOut => {
                    timed_out += 1;
                    if a.json {
                        println!("{}", json!({"type": "answer", "specialist": name, "status": "timed_out"}));
                    } else {
                        println!("{name}: timed out after {timeout:?}");
                    }
                }
            }
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
    });
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
