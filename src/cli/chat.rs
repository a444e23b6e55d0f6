//! `cadre chat`: talk to one specialist found in the registry.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::Global;
use crate::client::Client;
use crate::protocol::ChatBody;
use crate::provider::{Message, Role};
use crate::registry::{Entry, Registry, StateDir};

/// A model may think for minutes before its first token.
const REPLY_TIMEOUT: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `cadre chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The specialist to talk to.
    pub name: String,
    /// The message; without it, an interactive session with history.
    pub message: Option<String>,
    /// Print the final response as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Every registered specialist, from the registry of the selected state directory.
pub(crate) fn registry_entries(g: &Global) -> anyhow::Result<Vec<Entry>> {
    let dir =
        StateDir::resolve(g.state_dir.as_deref()).context("cannot find the state directory")?;
    let registry = Registry::open(dir).context("cannot open the registry")?;
    let data = registry.read().context("cannot read the registry")?;
    Ok(data.specialists.into_values().collect())
}

/// Where to connect for an entry: a wildcard bind is reached over loopback.
pub(crate) fn connect_host(entry: &Entry) -> &str {
    match entry.host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    }
}

pub fn run(g: &Global, a: ChatArgs) -> anyhow::Result<i32> {
    let entries = registry_entries(g)?;
    let Some(entry) = entries.into_iter().find(|e| e.name == a.name) else {
        anyhow::bail!(
            "no specialist named `{}` is registered (is `cadre up` running?)",
            a.name
        );
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut client = rt
        .block_on(Client::connect(
            connect_host(&entry),
            entry.port,
            CONNECT_TIMEOUT,
        ))
        .with_context(|| format!("specialist `{}` is not answering", a.name))?;
    client.set_timeout(REPLY_TIMEOUT);
    match a.message {
        Some(message) => {
            let history = Vec::new();
            rt.block_on(ask(&mut client, message, &history, a.json))?;
            Ok(0)
        }
        None => interactive(&rt, &mut client, &a.name, a.json),
    }
}

/// One chat: streams tokens to stdout (or prints the response as JSON); returns the answer text.
async fn ask(
    client: &mut Client,
    message: String,
    history: &[Message],
    json: bool,
) -> anyhow::Result<String> {
    let body = ChatBody {
        content: message,
        history: history.to_vec(),
        stream: !json,
        ..ChatBody::default()
    };
    let mut out = std::io::stdout();
    let answer = client
        .chat(body, |chunk| {
            let _ = out.write_all(chunk.as_bytes());
            let _ = out.flush();
        })
        .await?;
    if json {
        let v = serde_json::json!({
            "type": "response", "specialist": answer.specialist, "content": answer.content,
            "model": answer.model, "usage": answer.usage, "latency_ms": answer.latency_ms,
        });
        println!("{v}");
    } else {
        println!();
    }
    Ok(answer.content)
}

fn interactive(
    rt: &tokio::runtime::Runtime,
    client: &mut Client,
    name: &str,
    json: bool,
) -> anyhow::Result<i32> {
    let tty = std::io::stdin().is_terminal();
    if tty {
        eprintln!("chatting with {name}; an empty line or Ctrl-D ends the session");
    }
    let mut history: Vec<Message> = Vec::new();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if tty {
            eprint!("you> ");
            let _ = std::io::stderr().flush();
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("cannot read stdin")?;
        if line.trim().is_empty() {
            if tty {
                break;
            }
            continue;
        }
        if tty {
            eprint!("{name}> ");
        }
        match rt.block_on(ask(client, line.clone(), &history, json)) {
            Ok(answer) => {
                history.push(Message {
                    role: Role::User,
                    content: line,
                });
                history.push(Message {
                    role: Role::Assistant,
                    content: answer,
                });
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                if matches!(
                    e.downcast_ref(),
                    Some(crate::client::ClientError::Remote { .. })
                ) {
                    continue;
                }
                return Ok(1);
            }
        }
    }
    Ok(0)
}
