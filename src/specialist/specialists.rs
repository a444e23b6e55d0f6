//! The running specialists by name, for whoever starts chats in process
//! (the HTTP edge, A2A and MCP, team rounds, consultations).
//!
//! The supervisor publishes a new map whenever a listener starts, moves or
//! stops (rare); a look-up is one lock-free load and one hash probe, and
//! clones only the one [`ChatPath`] it finds — never a view of the others.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::Value;

use super::chat::{ChatPath, ChatStream};
use crate::config::SpecialistName;
use crate::protocol::ChatBody;

/// The running specialists (those with a listener: ready, or serving their
/// last good spec under a config error). Cheap to clone; every clone sees
/// the supervisor's latest map.
#[derive(Clone, Default)]
pub struct Specialists {
    map: Arc<ArcSwap<HashMap<SpecialistName, ChatPath>>>,
}

impl Specialists {
    /// The chat path of `name`, if it runs.
    pub fn get(&self, name: &str) -> Option<ChatPath> {
        self.map.load().get(name).cloned()
    }

    /// [`ChatPath::chat`] with `name`, if it runs.
    pub fn chat(&self, name: &str, id: Option<Value>, body: ChatBody) -> Option<ChatStream> {
        Some(self.get(name)?.chat(id, body))
    }

    /// Every running specialist, sorted by name (a team chat's members).
    pub fn all(&self) -> Vec<ChatPath> {
        let map = self.map.load();
        let mut all: Vec<(&SpecialistName, &ChatPath)> = map.iter().collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter().map(|(_, p)| p.clone()).collect()
    }

    /// How many run.
    pub fn len(&self) -> usize {
        self.map.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Make `running` what look-ups see, unless it is what they see already
    /// (same names, same listeners): the supervisor calls this after every
    /// change it applies, and most changes leave the listeners alone.
    pub(crate) fn publish(&self, running: Vec<(&SpecialistName, ChatPath)>) {
        let same = {
            let now = self.map.load();
            now.len() == running.len()
                && running.iter().all(|(n, p)| {
                    now.get(n.as_str())
                        .is_some_and(|q| Arc::ptr_eq(&p.shared, &q.shared))
                })
        };
        if !same {
            let next = running.into_iter().map(|(n, p)| (n.clone(), p)).collect();
            self.map.store(Arc::new(next));
        }
    }
}
