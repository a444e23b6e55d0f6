//! One provider instance (one HTTP connection pool) per distinct resolved
//! provider config, shared by every specialist that uses it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::ResolvedProvider;
use crate::provider::Provider;

#[derive(Default)]
pub(super) struct Providers {
    by_config: HashMap<String, Arc<dyn Provider>>,
}

/// A provider's identity: its serialized config (same settings, same pool).
pub(super) fn key(cfg: &ResolvedProvider) -> String {
    serde_json::to_string(cfg).unwrap_or_else(|_| format!("{cfg:?}"))
}

impl Providers {
    pub fn get(&mut self, cfg: &ResolvedProvider) -> Arc<dyn Provider> {
        self.by_config
            .entry(key(cfg))
            .or_insert_with(|| crate::provider::build(cfg))
            .clone()
    }

    /// Forget providers no spec uses, so their pools close.
    pub fn retain_used<'a>(&mut self, used: impl Iterator<Item = &'a ResolvedProvider>) {
        let keep: Vec<String> = used.map(key).collect();
        self.by_config.retain(|k, _| keep.contains(k));
    }
}
