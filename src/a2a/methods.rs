//! The method table: one JSON-RPC call on one agent → a result or a stream of
//! results, or the A2A error the spec names.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::runner::{self, Job};
use super::store::{Limits, Store};
use super::wire::{self, Status, Task, TaskState, Update, opt_str};
use super::{A2aError, Version};
use crate::agent::{AgentId, Backend, Turn};
use crate::jsonrpc::{Call, RpcError};

/// What a method answers.
pub enum Reply {
    /// One result.
    Json(Value),
    /// Results as Server-Sent Events, ending when the task is terminal.
    Stream(BoxStream<'static, Value>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Send,
    Stream,
    Get,
    List,
    Cancel,
    Subscribe,
    Push,
    ExtendedCard,
}

fn lookup(name: &str) -> Option<Method> {
    Some(match name {
        "SendMessage" | "message/send" => Method::Send,
        "SendStreamingMessage" | "message/stream" => Method::Stream,
        "GetTask" | "tasks/get" => Method::Get,
        "ListTasks" | "tasks/list" => Method::List,
        "CancelTask" | "tasks/cancel" => Method::Cancel,
        "SubscribeToTask" | "tasks/resubscribe" => Method::Subscribe,
        "CreateTaskPushNotificationConfig"
        | "GetTaskPushNotificationConfig"
        | "ListTaskPushNotificationConfigs"
        | "DeleteTaskPushNotificationConfig"
        | "tasks/pushNotificationConfig/set"
        | "tasks/pushNotificationConfig/get"
        | "tasks/pushNotificationConfig/list"
        | "tasks/pushNotificationConfig/delete" => Method::Push,
        "GetExtendedAgentCard" | "agent/getAuthenticatedExtendedCard" => Method::ExtendedCard,
        _ => return None,
    })
}

/// The A2A server of a daemon: one task store for all its agents.
pub struct Server {
    store: Arc<Store>,
    backend: Arc<dyn Backend>,
}

/// A failed call: the A2A error, or a plain JSON-RPC one (unknown method).
pub enum Failure {
    A2a(A2aError),
    Rpc(RpcError),
}

impl From<A2aError> for Failure {
    fn from(e: A2aError) -> Failure {
        Failure::A2a(e)
    }
}

impl Failure {
    pub fn to_rpc(&self) -> RpcError {
        match self {
            Failure::A2a(e) => e.to_rpc(),
            Failure::Rpc(e) => e.clone(),
        }
    }
}

impl Server {
    pub fn new(backend: Arc<dyn Backend>, limits: Limits) -> Server {
        Server {
            store: Arc::new(Store::new(limits)),
            backend,
        }
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Answer one call to `agent` (which exists).
    pub async fn handle(&self, agent: &AgentId, call: &Call, v: Version) -> Result<Reply, Failure> {
        let method = lookup(&call.method)
            .ok_or_else(|| Failure::Rpc(RpcError::method_not_found(&call.method)))?;
        let params = call
            .params_object()
            .map_err(|e| A2aError::InvalidParams(e.message))?;
        let reply = match method {
            Method::Send => self.send(agent, &params, v).await?,
            Method::Stream => {
                let (task, rx) = self.start(agent, &params)?;
                Reply::Stream(stream(task, rx, v))
            }
            Method::Get => {
                let id = task_id(&params)?;
                let history = history_length(&params)?;
                let t = self.store.get(agent, &id)?;
                Reply::Json(wire::task_json(&t, v, history, true))
            }
            Method::List => Reply::Json(self.list(agent, &params, v)?),
            Method::Cancel => {
                let t = self.store.cancel(agent, &task_id(&params)?)?;
                Reply::Json(wire::task_json(&t, v, None, true))
            }
            Method::Subscribe => {
                let (task, rx) = self.store.subscribe(agent, &task_id(&params)?)?;
                if task.status.state.is_terminal() {
                    return Err(A2aError::Unsupported(format!(
                        "task {} is already {}; read it with GetTask",
                        task.id,
                        task.status.state.as_str(v)
                    ))
                    .into());
                }
                Reply::Stream(stream(task, rx, v))
            }
            Method::Push => return Err(A2aError::PushNotSupported.into()),
            Method::ExtendedCard => {
                return Err(A2aError::Unsupported(
                    "this agent has no extended card (capabilities.extendedAgentCard is false)"
                        .into(),
                )
                .into());
            }
        };
        Ok(reply)
    }

    /// Create the task and start its chat; the subscription sees every update.
    fn start(
        &self,
        agent: &AgentId,
        params: &Map<String, Value>,
    ) -> Result<(Task, broadcast::Receiver<Arc<Update>>), A2aError> {
        let mut message = wire::parse_message(params)?;
        if let Some(t) = &message.task_id {
            let existing = self.store.get(agent, t)?;
            if message
                .context_id
                .as_ref()
                .is_some_and(|c| c != &existing.context_id)
            {
                return Err(A2aError::InvalidParams(format!(
                    "message.contextId does not match task {t}'s contextId"
                )));
            }
            return Err(A2aError::Unsupported(format!(
                "task {t} is {} and takes no further messages; send a new message with its \
                 contextId to continue the conversation",
                existing.status.state.as_str(Version::V1_0)
            )));
        }
        let context_id = message.context_id.clone().unwrap_or_else(wire::new_id);
        let task_id = wire::new_id();
        message.context_id = Some(context_id.clone());
        message.task_id = Some(task_id.clone());
        let turn = Turn {
            content: message.text(),
            history: self.store.history(agent, &context_id),
        };
        let task = Task {
            id: task_id.clone(),
            context_id: context_id.clone(),
            status: Status::now(TaskState::Submitted, None),
            artifacts: Vec::new(),
            history: vec![message],
        };
        let created = self.store.insert(agent.clone(), task.clone())?;
        runner::spawn(Job {
            store: self.store.clone(),
            backend: self.backend.clone(),
            agent: agent.clone(),
            task_id,
            context_id,
            turn,
            cancel: created.cancel,
        });
        Ok((task, created.updates))
    }

    async fn send(
        &self,
        agent: &AgentId,
        params: &Map<String, Value>,
        v: Version,
    ) -> Result<Reply, A2aError> {
        let config = match params.get("configuration") {
            Some(Value::Object(c)) => c.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                return Err(A2aError::InvalidParams(
                    "`configuration` must be an object".into(),
                ));
            }
        };
        let immediately = match (config.get("returnImmediately"), config.get("blocking")) {
            (Some(Value::Bool(b)), _) => *b,
            (_, Some(Value::Bool(b))) => !*b,
            (None | Some(Value::Null), None | Some(Value::Null)) => false,
            _ => {
                return Err(A2aError::InvalidParams(
                    "`configuration.returnImmediately` must be a boolean".into(),
                ));
            }
        };
        let history = history_length(&config)?;
        let (task, mut rx) = self.start(agent, params)?;
        if !immediately {
            loop {
                match rx.recv().await {
                    Ok(u) if matches!(&*u, Update::Status(s) if s.state.is_terminal()) => break,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        let now = self.store.get(agent, &task.id).unwrap_or(task);
        Ok(Reply::Json(wire::task_result(&now, v, history)))
    }

    fn list(
        &self,
        agent: &AgentId,
        params: &Map<String, Value>,
        v: Version,
    ) -> Result<Value, A2aError> {
        let context = opt_str(params, "contextId", "contextId")?;
        let state = match opt_str(params, "status", "status")? {
            None => None,
            Some(s) if s == "TASK_STATE_UNSPECIFIED" => None,
            Some(s) => Some(TaskState::parse(&s).ok_or_else(|| {
                A2aError::InvalidParams(format!("`status` {s:?} is not a task state"))
            })?),
        };
        let after = opt_str(params, "statusTimestampAfter", "statusTimestampAfter")?;
        let size = match params.get("pageSize") {
            None | Some(Value::Null) => 50,
            Some(n) => n
                .as_u64()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    A2aError::InvalidParams("`pageSize` must be between 1 and 100".into())
                })? as usize,
        };
        let before = match opt_str(params, "pageToken", "pageToken")?.as_deref() {
            None | Some("") => None,
            Some(t) => Some(t.parse::<u64>().map_err(|_| {
                A2aError::InvalidParams(format!("`pageToken` {t:?} is not one this server gave"))
            })?),
        };
        let history = history_length(params)?;
        let artifacts = matches!(params.get("includeArtifacts"), Some(Value::Bool(true)));
        let keep = |t: &Task| {
            context.as_ref().is_none_or(|c| &t.context_id == c)
                && state.is_none_or(|s| t.status.state == s)
                && after
                    .as_ref()
                    .is_none_or(|a| t.status.timestamp.as_str() > a.as_str())
        };
        let (page, total) = self.store.list(agent, keep, before, size);
        let next = if page.len() == size {
            page.last().map(|(s, _)| s.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let tasks: Vec<Value> = page
            .iter()
            .map(|(_, t)| wire::task_json(t, v, history, artifacts))
            .collect();
        Ok(json!({"tasks": tasks, "nextPageToken": next, "pageSize": size, "totalSize": total}))
    }
}

fn task_id(params: &Map<String, Value>) -> Result<String, A2aError> {
    opt_str(params, "id", "id")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| A2aError::InvalidParams("`id` (the task id) is required".into()))
}

fn history_length(m: &Map<String, Value>) -> Result<Option<usize>, A2aError> {
    match m.get("historyLength") {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            A2aError::InvalidParams("`historyLength` must be a non-negative integer".into())
        }),
    }
}

/// The task first, then its updates until a terminal status.
fn stream(
    task: Task,
    rx: broadcast::Receiver<Arc<Update>>,
    v: Version,
) -> BoxStream<'static, Value> {
    let first = wire::task_result(&task, v, None);
    let (id, ctx) = (task.id, task.context_id);
    let rest = futures::stream::unfold(Some(rx), move |rx| {
        let (id, ctx) = (id.clone(), ctx.clone());
        async move {
            let mut rx = rx?;
            loop {
                match rx.recv().await {
                    Ok(u) => {
                        let end = matches!(&*u, Update::Status(s) if s.state.is_terminal());
                        let item = wire::update_result(&id, &ctx, &u, v);
                        return Some((item, (!end).then_some(rx)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    futures::stream::once(async move { first })
        .chain(rest)
        .boxed()
}
