//! `GET /api/specialists[/NAME]` (the data of `status --json`, and what the
//! pages show) and `/api/specialists/NAME/prompt`. One object per
//! specialist of the cluster: this daemon's own, with its spec and counters,
//! and those other daemons serve, as their registry entries say; a
//! specialist with replicas lists each endpoint, `diverged` when their
//! generations differ.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use crate::cluster::replicas::{self, Replicated};
use crate::config::{ChatLimits, SpecialistName};
use crate::health::{ComponentHealth, ProviderVerdict};
use crate::registry::{Entry, State as EntryState};
use crate::supervisor::LiveView;
use crate::usage::UsageReport;

/// One specialist as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SpecialistJson {
    pub name: SpecialistName,
    pub component: String,
    pub title: String,
    pub description: String,
    pub role: String,
    pub host: String,
    pub port: u16,
    pub model: String,
    pub provider: String,
    pub state: EntryState,
    pub generation: String,
    pub last_error: Option<String>,
    pub revision: Option<String>,
    /// Chats received (while a listener runs).
    pub requests: Option<u64>,
    /// `ping`, `health` and `info` requests, apart from chats.
    pub pings: Option<u64>,
    pub healths: Option<u64>,
    pub infos: Option<u64>,
    pub errors: Option<u64>,
    pub in_flight: Option<u64>,
    pub last_latency_ms: Option<u64>,
    /// Its provider as the provider doctor last found it (`null` before the
    /// first check, and for another daemon's).
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled (`null` without a `[health] url`, and
    /// for another daemon's).
    pub component_health: Option<ComponentHealth>,
    /// This daemon's usage of it (empty for another daemon's).
    pub usage: UsageReport,
    /// Its limits here (unlimited for another daemon's: it applies its own).
    pub limits: ChatLimits,
    /// This daemon serves it.
    pub local: bool,
    /// Where it is served, one per host (this daemon's included).
    pub endpoints: Vec<EndpointJson>,
    /// Its endpoints run different generations.
    pub diverged: bool,
}

/// One endpoint of a specialist.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointJson {
    pub host: String,
    pub port: u16,
    pub state: EntryState,
    pub pid: u32,
    pub owner: String,
    pub generation: String,
    pub local: bool,
}

fn endpoint(e: &Entry, local: bool) -> EndpointJson {
    EndpointJson {
        host: e.host.clone(),
        port: e.port,
        state: e.state,
        pid: e.pid,
        owner: e.owner.display().to_string(),
        generation: e.generation.clone(),
        local,
    }
}

fn local_json(l: &LiveView) -> SpecialistJson {
    let spec = &l.spec;
    let c = l.counters.as_ref();
    SpecialistJson {
        name: l.view.name.clone(),
        component: spec.component.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        role: spec.personality.role.clone(),
        host: l.view.host.clone(),
        port: l.view.port,
        model: spec.model.clone(),
        provider: spec.provider.name.clone(),
        state: l.view.state,
        generation: spec.generation.clone(),
        last_error: l.view.last_error.clone(),
        revision: l.revision.clone(),
        requests: c.map(|c| c.requests),
        pings: c.map(|c| c.pings),
        healths: c.map(|c| c.healths),
        infos: c.map(|c| c.infos),
        errors: c.map(|c| c.errors),
        in_flight: c.map(|c| c.in_flight),
        last_latency_ms: c.and_then(|c| c.last_latency_ms),
        provider_health: l.provider_health.clone(),
        component_health: l.component_health.clone(),
        usage: l.usage.clone(),
        limits: spec.limits,
        local: true,
        endpoints: Vec::new(),
        diverged: false,
    }
}

fn remote_json(e: &Entry) -> SpecialistJson {
    SpecialistJson {
        name: e.name.clone(),
        component: e.component.clone(),
        title: e.title.clone(),
        description: e.description.clone(),
        role: e.role.clone(),
        host: e.host.clone(),
        port: e.port,
        model: e.model.clone(),
        provider: e.provider.clone(),
        state: e.state,
        generation: e.generation.clone(),
        last_error: e.last_error.clone(),
        revision: e.revision.clone(),
        requests: None,
        pings: None,
        healths: None,
        infos: None,
        errors: None,
        in_flight: None,
        last_latency_ms: None,
        provider_health: None,
        component_health: None,
        usage: UsageReport::default(),
        limits: ChatLimits::default(),
        local: false,
        endpoints: Vec::new(),
        diverged: false,
    }
}

/// One specialist as this daemon knows it: its own instance (`local`) and
/// the registry's endpoints of that name (`group`). `None` when neither.
fn describe(
    local: Option<&LiveView>,
    group: Option<&Replicated>,
    me: &crate::cluster::Identity,
) -> Option<SpecialistJson> {
    let Some(l) = local else {
        // Another daemon's: shown as its best endpoint says (a ready one first).
        let g = group?;
        let best = g.live().next().or_else(|| g.endpoints.first())?;
        let mut j = remote_json(best);
        j.diverged = g.diverged();
        j.endpoints = g
            .endpoints
            .iter()
            .map(|e| endpoint(e, me.owns(e)))
            .collect();
        return Some(j);
    };
    let mut j = local_json(l);
    let endpoints = group.map(|g| g.endpoints.as_slice()).unwrap_or_default();
    if let Some(mine) = endpoints.iter().find(|e| me.owns(e)) {
        j.endpoints.push(endpoint(mine, true));
    } else if super::target::serves(l) {
        j.endpoints.push(EndpointJson {
            host: l.view.host.clone(),
            port: l.view.port,
            state: l.view.state,
            pid: me.process.pid,
            owner: me.owner.display().to_string(),
            generation: l.spec.generation.clone(),
            local: true,
        });
    }
    j.endpoints.extend(
        endpoints
            .iter()
            .filter(|e| !me.owns(e))
            .map(|e| endpoint(e, false)),
    );
    j.diverged = diverged(&j.endpoints);
    Some(j)
}

/// Every specialist of the cluster, by name.
pub(super) async fn roster(state: &AppState) -> Result<Vec<SpecialistJson>, ApiError> {
    let live = state.sup.live().await?;
    let snapshot = state.cluster.backend.now();
    let me = state.cluster.backend.identity();
    let mut groups: std::collections::BTreeMap<SpecialistName, Replicated> =
        replicas::group(&snapshot.entries)
            .into_iter()
            .map(|g| (g.name.clone(), g))
            .collect();
    let mut out: Vec<SpecialistJson> = live
        .iter()
        .filter_map(|l| describe(Some(l), groups.remove(&l.view.name).as_ref(), me))
        .collect();
    out.extend(groups.values().filter_map(|g| describe(None, Some(g), me)));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn diverged(endpoints: &[EndpointJson]) -> bool {
    replicas::differ(
        endpoints
            .iter()
            .filter(|e| replicas::answers_chats(e.state))
            .map(|e| e.generation.as_str()),
    )
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SpecialistJson>>, ApiError> {
    Ok(Json(roster(&state).await?))
}

pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SpecialistJson>, ApiError> {
    // Only this name: the supervisor's one view, the registry's endpoints of it.
    let local = state.sup.one(&name).await?;
    let snapshot = state.cluster.backend.now();
    let group = replicas::group(snapshot.named(&name)).into_iter().next();
    describe(
        local.as_ref(),
        group.as_ref(),
        state.cluster.backend.identity(),
    )
    .map(Json)
    .ok_or_else(|| ApiError::unknown_specialist(&name))
}

/// `GET /api/specialists/NAME/prompt`: the system prompt NAME runs on, as
/// plain text: what `cadre render NAME` prints (while its file is broken, the
/// last good prompt it still serves). Only this daemon's own specialists:
/// another daemon's prompt is on its own HTTP server.
pub async fn prompt(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .sup
        .one(&name)
        .await?
        .ok_or_else(|| ApiError::unknown_specialist(&name))?;
    let headers = [
        (CONTENT_TYPE, "text/plain; charset=utf-8"),
        (CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, found.spec.system_prompt.to_string()).into_response())
}
