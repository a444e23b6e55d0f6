//! `cadre chat`: talk to one specialist found in the registry. Each message
//! goes to one of its endpoints (replicas on several hosts), failing over to
//! the next on a connect error or `shutting_down` before the first token;
//! the conversation is kept here and sent as history, so any endpoint can
//! take the next turn.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{CliError, Global};
use crate::client::ClientError;
use crate::cluster::failover::{self, Bounds, ChatError};
use crate::cluster::pick::{Balancer, Target};
use crate::cluster::replicas;
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
    let snap = g.snapshot()?;
    let targets = failover::targets_of(&snap, &a.name, replicas::answers_chats);
    if targets.is_empty() {
        return Err(match snap.entries.iter().find(|e| e.name == a.name) {
            Some(e) => CliError::Refused(format!(
                "`{}` has no endpoint that takes chats (state {})",
                a.name, e.state
            )),
            None => CliError::NotRegistered(a.name),
        });
    }
    let rt = super::runtime()?;
    let chat = Chat {
        name: a.name.clone(),
        targets,
        balancer: Arc::default(),
        json: a.json,
    };
    match a.message {
        Some(message) => {
            rt.block_on(chat.ask(message, &[]))?;
            Ok(0)
        }
        None => interactive(&rt, &chat),
    }
}

/// One specialist's endpoints, and how to talk to them.
struct Chat {
    name: String,
    targets: Vec<Target>,
    balancer: Arc<Balancer>,
    json: bool,
}

impl Chat {
    /// One chat: streams tokens to stdout (or prints the response as JSON);
    /// returns the answer text.
    async fn ask(&self, message: String, history: &[Message]) -> Result<String, CliError> {
        let body = ChatBody {
            content: message,
            history: history.to_vec(),
            stream: !self.json,
            ..ChatBody::default()
        };
        let bounds = Bounds {
            connect: CONNECT_TIMEOUT,
            reply: REPLY_TIMEOUT,
        };
        let mut out = std::io::stdout();
        let answered =
            failover::chat(
                &self.balancer,
                self.targets.clone(),
                body,
                bounds,
                |line| match line {
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
                },
            )
            .await
            .map_err(|e| match e {
                ChatError::Chat { error, .. } => CliError::Client(error),
                e @ ChatError::NoEndpoint { .. } => CliError::NotAnswering {
                    name: self.name.clone(),
                    source: Box::new(e),
                },
            })?;
        let answer = answered.answer;
        if self.json {
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
}

fn interactive(rt: &tokio::runtime::Runtime, chat: &Chat) -> Result<i32, CliError> {
    let name = &chat.name;
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
        match rt.block_on(chat.ask(line.clone(), &history)) {
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
            Err(CliError::Client(e @ ClientError::Remote { .. })) => {
                eprintln!("error: {}", super::render(&e))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}
