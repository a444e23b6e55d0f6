//! Tasks and conversations in memory, bounded: at most [`Limits::tasks`]
//! tasks (the oldest finished one makes room; when every task is still
//! running a new one is refused) and terminal tasks dropped after
//! [`Limits::ttl`]; at most [`Limits::contexts`] conversations, each keeping
//! its newest turns within [`Limits::history_messages`] and
//! [`Limits::history_bytes`] (the socket protocol's 1 MiB line must hold them).
//!
//! Every change of a task goes through [`Store::update`] under one lock and
//! is broadcast to its subscribers in that order, so a stream never sees
//! updates out of order and a subscriber that joins sees a snapshot first,
//! then only what came after it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::A2aError;
use super::wire::{Status, Task, TaskState, Update};
use crate::agent::AgentId;
use crate::provider::{Message as Turn, Role};

/// The bounds of the store.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub tasks: usize,
    pub ttl: Duration,
    pub contexts: usize,
    pub history_messages: usize,
    pub history_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            tasks: 1024,
            ttl: Duration::from_secs(3600),
            contexts: 1024,
            history_messages: 40,
            history_bytes: 256 * 1024,
        }
    }
}

/// One task and what follows it.
struct Entry {
    agent: AgentId,
    task: Task,
    updated: Instant,
    /// Bumped on every change: the ListTasks order and page cursor.
    seq: u64,
    updates: broadcast::Sender<Arc<Update>>,
    cancel: CancellationToken,
}

struct Conversation {
    turns: VecDeque<Turn>,
    updated: Instant,
}

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    contexts: HashMap<(AgentId, String), Conversation>,
    seq: u64,
}

/// The task store of one daemon.
pub struct Store {
    inner: Mutex<Inner>,
    limits: Limits,
}

/// A task just created: its cancel token and a subscription from its start.
pub struct Created {
    pub cancel: CancellationToken,
    pub updates: broadcast::Receiver<Arc<Update>>,
}

impl Store {
    pub fn new(limits: Limits) -> Store {
        Store {
            inner: Mutex::default(),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a task (its id must be fresh).
    pub fn insert(&self, agent: AgentId, task: Task) -> Result<Created, A2aError> {
        let now = Instant::now();
        let mut inner = self.lock();
        self.purge(&mut inner, now);
        if inner.tasks.len() >= self.limits.tasks {
            let oldest = inner
                .tasks
                .iter()
                .filter(|(_, e)| e.task.status.state.is_terminal())
                .min_by_key(|(_, e)| e.seq)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    inner.tasks.remove(&id);
                }
                None => {
                    return Err(A2aError::Internal(format!(
                        "{} tasks are running, the most this agent keeps; retry when one ends",
                        self.limits.tasks
                    )));
                }
            }
        }
        inner.seq += 1;
        let (tx, rx) = broadcast::channel(1024);
        let cancel = CancellationToken::new();
        let seq = inner.seq;
        inner.tasks.insert(
            task.id.clone(),
            Entry {
                agent,
                task,
                updated: now,
                seq,
                updates: tx,
                cancel: cancel.clone(),
            },
        );
        Ok(Created {
            cancel,
            updates: rx,
        })
    }

    fn purge(&self, inner: &mut Inner, now: Instant) {
        let ttl = self.limits.ttl;
        inner.tasks.retain(|_, e| {
            !e.task.status.state.is_terminal() || now.duration_since(e.updated) < ttl
        });
        inner
            .contexts
            .retain(|_, c| now.duration_since(c.updated) < ttl);
    }

    /// Drop what has expired by `now` (tests move the clock).
    pub fn purge_at(&self, now: Instant) {
        let mut inner = self.lock();
        self.purge(&mut inner, now);
    }

    /// A copy of the task, if `agent` owns it.
    pub fn get(&self, agent: &AgentId, id: &str) -> Result<Task, A2aError> {
        let inner = self.lock();
        match inner.tasks.get(id) {
            Some(e) if &e.agent == agent => Ok(e.task.clone()),
            _ => Err(A2aError::TaskNotFound(id.to_owned())),
        }
    }

    /// A snapshot and a subscription to what follows it, atomically.
    pub fn subscribe(
        &self,
        agent: &AgentId,
        id: &str,
    ) -> Result<(Task, broadcast::Receiver<Arc<Update>>), A2aError> {
        let inner = self.lock();
        match inner.tasks.get(id) {
            Some(e) if &e.agent == agent => Ok((e.task.clone(), e.updates.subscribe())),
            _ => Err(A2aError::TaskNotFound(id.to_owned())),
        }
    }

    /// Apply `update` to a running task and broadcast it; `false` (nothing
    /// changed) once the task is terminal, e.g. canceled meanwhile.
    pub fn update(&self, id: &str, update: Update) -> bool {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        let Some(e) = inner.tasks.get_mut(id) else {
            return false;
        };
        if e.task.status.state.is_terminal() {
            return false;
        }
        match &update {
            Update::Status(s) => e.task.status = s.clone(),
            Update::Chunk {
                artifact, append, ..
            } => match e.task.artifacts.iter_mut().find(|a| a.id == artifact.id) {
                Some(a) if *append => a.text.push_str(&artifact.text),
                Some(a) => *a = artifact.clone(),
                None => e.task.artifacts.push(artifact.clone()),
            },
        }
        e.updated = Instant::now();
        e.seq = seq;
        let _ = e.updates.send(Arc::new(update));
        true
    }

    /// Cancel a running task: it becomes canceled at once (so a racing
    /// completion cannot overwrite it) and its chat is dropped.
    pub fn cancel(&self, agent: &AgentId, id: &str) -> Result<Task, A2aError> {
        let token = {
            let inner = self.lock();
            let e = match inner.tasks.get(id) {
                Some(e) if &e.agent == agent => e,
                _ => return Err(A2aError::TaskNotFound(id.to_owned())),
            };
            let state = e.task.status.state;
            if state.is_terminal() {
                return Err(A2aError::TaskNotCancelable {
                    id: id.to_owned(),
                    state: state.as_str(super::Version::V1_0),
                });
            }
            e.cancel.clone()
        };
        self.update(id, Update::Status(Status::now(TaskState::Canceled, None)));
        token.cancel();
        self.get(agent, id)
    }

    /// Tasks of `agent` matching `keep`, most recently updated first, after
    /// the cursor `before` (a seq), at most `limit`; plus the total matching.
    pub fn list(
        &self,
        agent: &AgentId,
        keep: impl Fn(&Task) -> bool,
        before: Option<u64>,
        limit: usize,
    ) -> (Vec<(u64, Task)>, usize) {
        let inner = self.lock();
        let mut all: Vec<(u64, &Task)> = inner
            .tasks
            .values()
            .filter(|e| &e.agent == agent && keep(&e.task))
            .map(|e| (e.seq, &e.task))
            .collect();
        all.sort_by_key(|t| std::cmp::Reverse(t.0));
        let total = all.len();
        let page = all
            .into_iter()
            .filter(|(s, _)| before.is_none_or(|b| *s < b))
            .take(limit)
            .map(|(s, t)| (s, t.clone()))
            .collect();
        (page, total)
    }

    /// The earlier turns of a conversation, oldest first.
    pub fn history(&self, agent: &AgentId, context: &str) -> Vec<Turn> {
        let inner = self.lock();
        inner
            .contexts
            .get(&(agent.clone(), context.to_owned()))
            .map(|c| c.turns.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Remember one exchange of a conversation, within the bounds.
    pub fn remember(&self, agent: &AgentId, context: &str, question: &str, answer: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        let key = (agent.clone(), context.to_owned());
        if !inner.contexts.contains_key(&key) && inner.contexts.len() >= self.limits.contexts {
            let oldest = inner
                .contexts
                .iter()
                .min_by_key(|(_, c)| c.updated)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.contexts.remove(&k);
            }
        }
        let c = inner.contexts.entry(key).or_insert_with(|| Conversation {
            turns: VecDeque::new(),
            updated: now,
        });
        c.updated = now;
        c.turns.push_back(Turn {
            role: Role::User,
            content: question.to_owned(),
        });
        c.turns.push_back(Turn {
            role: Role::Assistant,
            content: answer.to_owned(),
        });
        let bytes = |t: &VecDeque<Turn>| t.iter().map(|m| m.content.len()).sum::<usize>();
        while c.turns.len() > self.limits.history_messages
            || (bytes(&c.turns) > self.limits.history_bytes && !c.turns.is_empty())
        {
            c.turns.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
