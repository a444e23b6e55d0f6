//! `cadre chat`: talk to one specialist found in the registry.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use super::{CliError, Global};
use crate::client::{Client, ClientError};
use crate::conversation::{Message, Role};
use crate::protocol::{ChatBody, ReplyBody};

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

pub fn run(g: &Global, a: ChatArgs) -> Result<i32, CliError> {
    let entries = g.entries()?;
    let Some(entry) = entries.into_iter().find(|e| e.name == a.name) else {
        return Err(CliError::NotRegistered(a.name));
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    let mut client = rt
        .block_on(Client::connect(
            entry.connect_host(),
            entry.port,
            CONNECT_TIMEOUT,
        ))
        .map_err(|source| CliError::NotAnswering {
            name: a.name.clone(),
            source,
        })?;
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
) -> Result<String, ClientError> {
    let body = ChatBody {
        content: message,
        history: history.to_vec(),
        stream: !json,
        ..ChatBody::default()
    };
    let mut out = std::io::stdout();
    let answer = client
        .chat_events(body, |line| match line {
            ReplyBody::Chunk { content } => {
                let _ = out.write_all(content.as_bytes());
                let _ = out.flush();
            }
            // Consultations go to stderr: stdout stays the answer alone.
            ReplyBody::Consult { to, question } => eprintln!("[asking {to}: {question}]"),
            ReplyBody::ConsultResult {
                to,
                ok: false,
                error,
                ..
            } => eprintln!(
                "[{to} could not answer: {}]",
                error.as_deref().unwrap_or("")
            ),
            ReplyBody::ConsultResult { to, latency_ms, .. } => {
                eprintln!("[{to} answered in {latency_ms} ms]")
            }
            _ => {}
        })
        .await?;
    if json {
        let mut v = serde_json::json!({
            "type": "response", "specialist": answer.specialist, "content": answer.content,
            "model": answer.model, "usage": answer.usage, "latency_ms": answer.latency_ms,
        });
        if !answer.consulted.is_empty() {
            v["consulted"] = serde_json::json!(answer.consulted);
        }
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
) -> Result<i32, CliError> {
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
        let line = line.map_err(CliError::io("cannot read stdin"))?;
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
            // The specialist answered with an error: say so, the session goes on.
            Err(e @ ClientError::Remote { .. }) => eprintln!("error: {}", super::render(&e)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(0)
}
