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

impl Providers {
    pub fn get(&mut self, cfg: &ResolvedProvider) -> Arc<dyn Provider> {
        // The serialized config is the identity: same settings, same pool.
        let key = serde_json::to_string(cfg).unwrap_or_else(|_| format!("{cfg:?}"));
        self.by_config
            .entry(key)
            .or_insert_with(|| crate::provider::build(cfg))
            .clone()
    }

    /// Forget providers no running spec uses, so their pools close.
    pub fn retain_used<'a>(&mut self, used: impl Iterator<Item = &'a ResolvedProvider>) {
        let keep: Vec<String> = used.filter_map(|c| serde_json::to_string(c).ok()).collect();
        self.by_config.retain(|k, _| keep.contains(k));
    }
}
