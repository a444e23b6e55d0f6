//! What the supervisor shows of its specialists: to the control socket,
//! the HTTP API, `/metrics` and the probes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::SpecialistName;
use crate::health::{ComponentHealth, ProviderVerdict};
use crate::usage::UsageReport;

/// A specialist as the supervisor sees it right now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotView {
    pub name: SpecialistName,
    pub host: String,
    pub port: u16,
    pub state: crate::registry::State,
    pub last_error: Option<String>,
}

/// A specialist with its spec and counters: what the HTTP API and `/metrics` show.
#[derive(Clone)]
pub struct LiveView {
    pub view: SlotView,
    /// The spec it serves (the last good one while its file is broken).
    pub spec: Arc<crate::config::Spec>,
    /// Present while a listener runs.
    pub counters: Option<crate::specialist::CountersSnapshot>,
    /// The commit that last touched its file, when known.
    pub revision: Option<String>,
    /// Its provider as the provider doctor last found it, for its model.
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled (`None`: no `[health] url`).
    pub component_health: Option<ComponentHealth>,
    /// Tokens used (since start, per provider, today).
    pub usage: UsageReport,
}

/// Whether the daemon is ready for traffic (`/readyz`): the first reconcile
/// is done and every specialist it runs is ready. A config error does not
/// count against it (the specialist serves its last good spec, and a broken
/// new file starts nothing), nor does an operator's stop or a name another
/// daemon holds.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub reconciled: bool,
    /// Specialists that should serve and do not (yet): starting or failed.
    pub not_ready: Vec<SlotView>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.reconciled && self.not_ready.is_empty()
    }
}
