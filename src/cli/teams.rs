//! `cadre teams` (the daemon's teams, one row each) and `cadre team --team
//! NAME` (one run of a team, streamed over the control socket: each round
//! as it comes, the synthesis last).

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::{CliError, Global};
use crate::control::{self, Request};
use crate::team::TeamInfo;

/// Arguments of `cadre teams`.
#[derive(Debug, Args)]
pub struct TeamsArgs {
    /// Print the teams as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: TeamsArgs) -> Result<i32, CliError> {
    let socket = g.daemon_socket()?;
    let resp = control::request(&socket, &Request::Teams, Duration::from_secs(30))?;
    let teams: Vec<TeamInfo> = resp.teams.unwrap_or_default();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&teams)?);
        return Ok(0);
    }
    if teams.is_empty() {
        println!("no teams (add one with `cadre new --team NAME`)");
        return Ok(0);
    }
    println!("{:<16} {:<11} {:<13} MEMBERS", "TEAM", "MODE", "STATE");
    for t in &teams {
        let members = if t.everyone {
            format!("* ({})", t.members.len())
        } else {
            t.members.join(",")
        };
        let moderator = t
            .moderator
            .as_deref()
            .map(|m| format!("  moderator {m}"))
            .unwrap_or_default();
        println!(
            "{:<16} {:<11} {:<13} {members}{moderator}",
            t.name, t.mode, t.state
        );
        if let Some(e) = &t.last_error {
            println!("  {e}");
        }
    }
    Ok(0)
}

/// Run `team` on `question` through the daemon. Exit 0 when every member
/// answered every round (and the synthesis was written), 1 otherwise.
pub fn run_team(
    g: &Global,
    team: &str,
    question: &str,
    per_event: Duration,
    json: bool,
) -> Result<i32, CliError> {
    let socket = g.daemon_socket()?;
    let req = Request::Team {
        team: team.to_owned(),
        question: question.to_owned(),
    };
    let mut out = std::io::stdout();
    let summary = control::stream(&socket, &req, per_event, |ev| {
        if json {
            let _ = writeln!(out, "{ev}");
        } else {
            print_event(&mut out, ev);
        }
        let _ = out.flush();
    })?;
    let clean = summary["failed"].is_null()
        && summary["silent"].as_array().is_none_or(Vec::is_empty)
        && summary["synthesis"] != Value::Bool(false);
    Ok(if clean { 0 } else { 1 })
}

/// One event as text: answers under their speaker, the synthesis streamed.
fn print_event(out: &mut impl Write, ev: &Value) {
    let who = ev["specialist"].as_str().unwrap_or("?");
    let part = ev["part"].as_str().unwrap_or("");
    let _ = match ev["type"].as_str().unwrap_or("") {
        "round_start" => {
            let members: Vec<&str> = ev["members"]
                .as_array()
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let label = match part {
                "route" => "routing".to_owned(),
                "synthesis" => "synthesis".to_owned(),
                _ => format!("round {}", ev["round"]),
            };
            writeln!(out, "── {label}: {}", members.join(", "))
        }
        "chunk" if part == "synthesis" => write!(out, "{}", ev["content"].as_str().unwrap_or("")),
        "synthesis" => writeln!(out),
        "response" if part == "answer" => {
            let text = ev["content"].as_str().unwrap_or("").trim_end();
            text.lines().try_for_each(|l| writeln!(out, "{who}: {l}"))
        }
        "response" => writeln!(out, "{who}: {}", ev["content"].as_str().unwrap_or("")),
        "error" => writeln!(
            out,
            "{who}: silent ({}): {}",
            ev["code"].as_str().unwrap_or("error"),
            ev["error"].as_str().unwrap_or("")
        ),
        "summary" => {
            let parts: Vec<&str> = ev["rounds"]
                .as_array()
                .map(|r| r.iter().filter_map(|r| r["part"].as_str()).collect())
                .unwrap_or_default();
            let rounds = parts.iter().filter(|p| **p == "answer").count();
            let rounds = match (rounds, parts.contains(&"synthesis")) {
                (1, false) => "1 round".to_owned(),
                (1, true) => "1 round and a synthesis".to_owned(),
                (n, false) => format!("{n} rounds"),
                (n, true) => format!("{n} rounds and a synthesis"),
            };
            let silent: Vec<&str> = ev["silent"]
                .as_array()
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let failed = ev["failed"]
                .as_str()
                .map(|c| format!(", failed: {c}"))
                .unwrap_or_default();
            writeln!(
                out,
                "── {rounds} in {} ms, silent: {}{failed}",
                ev["elapsed_ms"],
                if silent.is_empty() {
                    "none".to_owned()
                } else {
                    silent.join(", ")
                }
            )
        }
        _ => Ok(()),
    };
}
