//! Runs one task: opens the chat, turns its events into task updates, and
//! stops (dropping the chat, which cancels the provider request) when the
//! task is canceled.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::store::Store;
use super::wire::{Artifact, Message, Status, TaskState, Update, new_id};
use crate::agent::{AgentError, AgentId, Backend, ChatEvent, Turn};
use crate::protocol::ErrorCode;

/// Name of the one artifact a task produces.
pub const ANSWER: &str = "answer";

pub struct Job {
    pub store: Arc<Store>,
    pub backend: Arc<dyn Backend>,
    pub agent: AgentId,
    pub task_id: String,
    pub context_id: String,
    pub turn: Turn,
    pub cancel: CancellationToken,
}

/// Run the task in the background.
pub fn spawn(job: Job) {
    tokio::spawn(async move {
        tokio::select! {
            _ = job.cancel.cancelled() => {}
            _ = run(&job) => {}
        }
    });
}

fn failed(code: &str, message: String) -> Status {
    let meta = json!({"cadre": {"code": code, "error": message}});
    Status::now(TaskState::Failed, Some(Message::agent(message, Some(meta))))
}

fn open_error(e: &AgentError) -> Status {
    let code = match e {
        AgentError::ShuttingDown => ErrorCode::ShuttingDown.as_str(),
        AgentError::Invalid(_) => ErrorCode::BadRequest.as_str(),
        AgentError::NotFound(_) => "not_found",
        AgentError::Unavailable(_) => "not_ready",
    };
    failed(code, e.to_string())
}

async fn run(job: &Job) {
    let id = &job.task_id;
    let mut chat = match job.backend.chat(&job.agent, job.turn.clone()).await {
        Ok(c) => c,
        Err(e) => {
            job.store.update(id, Update::Status(open_error(&e)));
            return;
        }
    };
    job.store
        .update(id, Update::Status(Status::now(TaskState::Working, None)));
    let artifact_id = new_id();
    let chunk = |text: String, append: bool, last: bool| Update::Chunk {
        artifact: Artifact {
            id: artifact_id.clone(),
            name: ANSWER.into(),
            text,
        },
        append,
        last,
    };
    let mut started = false;
    while let Some(event) = chat.next().await {
        match event {
            ChatEvent::Chunk(text) => {
                if !job.store.update(id, chunk(text, started, false)) {
                    return;
                }
                started = true;
            }
            ChatEvent::Progress(text) => {
                // A team's round: a working status whose message says what happens.
                let meta = json!({"cadre": {"progress": true}});
                let status =
                    Status::now(TaskState::Working, Some(Message::agent(text, Some(meta))));
                if !job.store.update(id, Update::Status(status)) {
                    return;
                }
            }
            ChatEvent::Done { content, .. } => {
                // The whole answer replaces the chunks (they concatenate to it);
                // a stream reader gets an empty closing chunk.
                let closing = if started {
                    chunk(String::new(), true, true)
                } else {
                    chunk(content.clone(), false, true)
                };
                job.store.update(id, closing);
                job.store
                    .remember(&job.agent, &job.context_id, &job.turn.content, &content);
                job.store
                    .update(id, Update::Status(Status::now(TaskState::Completed, None)));
                return;
            }
            ChatEvent::Failed { code, message } => {
                job.store
                    .update(id, Update::Status(failed(code.as_str(), message)));
                return;
            }
        }
    }
    job.store.update(
        id,
        Update::Status(failed(
            ErrorCode::ProviderError.as_str(),
            "the chat ended without an answer".into(),
        )),
    );
}
