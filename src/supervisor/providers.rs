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
        self.by_config
            .entry(cfg.identity())
            .or_insert_with(|| crate::provider::build(cfg))
            .clone()
    }

    /// Forget providers no spec uses, so their pools close.
    pub fn retain_used<'a>(&mut self, used: impl Iterator<Item = &'a ResolvedProvider>) {
        let keep: Vec<String> = used.map(ResolvedProvider::identity).collect();
        self.by_config.retain(|k, _| keep.contains(k));
    }
}
