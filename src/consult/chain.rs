//! Who is asking whom: the path of a consultation from the client's chat
//! down, the depth it may reach, and the budget every chat of it shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::{Consult, SpecialistName};

/// A consultation in progress, as the colleague's chat receives it.
///
/// Built by the chat the client started ([`Chain::root`]) and handed down
/// with each question ([`Chain::enter`]), so every chat of the tree sees the
/// same path, the tightest depth limit along it and one shared budget.
#[derive(Debug, Clone)]
pub struct Chain {
    /// From the client's specialist on; the last one is the one asking now.
    path: Vec<SpecialistName>,
    /// The smallest `max_depth` along the path.
    max_depth: u8,
    /// Consultations left for the whole tree (the root's `budget`).
    left: Arc<AtomicU32>,
}

impl PartialEq for Chain {
    fn eq(&self, other: &Chain) -> bool {
        self.path == other.path
            && self.max_depth == other.max_depth
            && Arc::ptr_eq(&self.left, &other.left)
    }
}

impl Chain {
    /// The chat a client started, at a specialist with `consult`.
    pub fn root(me: SpecialistName, consult: &Consult) -> Chain {
        Chain {
            path: vec![me],
            max_depth: consult.max_depth,
            left: Arc::new(AtomicU32::new(consult.budget)),
        }
    }

    /// `me`'s own chat, asked by the last of this chain; its own limits
    /// (`consult`, when it has `[consult]`) can only tighten the chain's.
    pub fn enter(&self, me: SpecialistName, consult: Option<&Consult>) -> Chain {
        let mut path = self.path.clone();
        path.push(me);
        Chain {
            path,
            max_depth: consult.map_or(self.max_depth, |c| c.max_depth.min(self.max_depth)),
            left: self.left.clone(),
        }
    }

    /// The specialists of the path, the client's first.
    pub fn path(&self) -> &[SpecialistName] {
        &self.path
    }

    /// The depth a consultation asked from here would have (numa asking
    /// penia from the client's chat is 1).
    pub fn next_depth(&self) -> usize {
        self.path.len()
    }

    pub fn max_depth(&self) -> u8 {
        self.max_depth
    }

    /// Whether `name` is already part of this consultation.
    pub fn contains(&self, name: &str) -> bool {
        self.path.iter().any(|n| n.as_str() == name)
    }

    /// `numa → penia → telos`.
    pub fn describe(&self) -> String {
        self.path
            .iter()
            .map(SpecialistName::as_str)
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// Take one consultation from the shared budget; false when none is left.
    pub fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Consultations the tree has left.
    pub fn left(&self) -> u32 {
        self.left.load(Ordering::Acquire)
    }
}
