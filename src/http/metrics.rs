//! `GET /metrics` in the Prometheus text format (version 0.0.4). Counters
//! come from each specialist's own counters (socket and HTTP chats alike);
//! reloads and config errors from the reconcile events this server has seen.
//! A restarted specialist starts its counters from zero, which Prometheus
//! treats as a counter reset.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::specialist::{CountersSnapshot, ERROR_CODES, LATENCY_BUCKETS_MS};

/// Errors that mean the provider failed (not the client).
const PROVIDER_FAILURES: [crate::protocol::ErrorCode; 3] = [
    crate::protocol::ErrorCode::ProviderUnavailable,
    crate::protocol::ErrorCode::ProviderError,
    crate::protocol::ErrorCode::Timeout,
];

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Default)]
struct Hist {
    buckets: [u64; 13],
    sum_ms: u64,
}

impl Hist {
    fn add(&mut self, c: &CountersSnapshot) {
        for (b, n) in self.buckets.iter_mut().zip(c.latency_buckets) {
            *b += n;
        }
        self.sum_ms += c.latency_sum_ms;
    }

    fn write(&self, out: &mut String, metric: &str, labels: &str) {
        let mut cum = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            cum += n;
            let le = LATENCY_BUCKETS_MS
                .get(i)
                .map(|ms| format!("{}", *ms as f64 / 1000.0))
                .unwrap_or_else(|| "+Inf".into());
            let _ = writeln!(out, "{metric}_bucket{{{labels},le=\"{le}\"}} {cum}");
        }
        let _ = writeln!(
            out,
            "{metric}_sum{{{labels}}} {}",
            self.sum_ms as f64 / 1000.0
        );
        let _ = writeln!(out, "{metric}_count{{{labels}}} {cum}");
    }
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let live = state.sup.live().await.map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            e.to_string(),
        )
    })?;
    let tallies = state.tallies.lock().map(|t| t.clone()).unwrap_or_default();
    let mut out = String::new();
    let zero = CountersSnapshot::default();
    let rows: Vec<(String, String, &CountersSnapshot)> = live
        .iter()
        .map(|l| {
            (
                label(&l.view.name),
                label(&l.spec.provider.name),
                l.counters.as_ref().unwrap_or(&zero),
            )
        })
        .collect();

    out.push_str("# HELP cadre_requests_total Requests received by a specialist (socket and HTTP).\n# TYPE cadre_requests_total counter\n");
    for (n, _, c) in &rows {
        let _ = writeln!(
            out,
            "cadre_requests_total{{specialist=\"{n}\"}} {}",
            c.requests
        );
    }
    out.push_str(
        "# HELP cadre_errors_total Error replies by code.\n# TYPE cadre_errors_total counter\n",
    );
    for (n, _, c) in &rows {
        for (code, v) in ERROR_CODES.iter().zip(c.errors_by_code) {
            let _ = writeln!(
                out,
                "cadre_errors_total{{specialist=\"{n}\",code=\"{}\"}} {v}",
                code.as_str()
            );
        }
    }
    out.push_str(
        "# HELP cadre_in_flight Chats being answered now.\n# TYPE cadre_in_flight gauge\n",
    );
    for (n, _, c) in &rows {
        let _ = writeln!(out, "cadre_in_flight{{specialist=\"{n}\"}} {}", c.in_flight);
    }
    out.push_str("# HELP cadre_chat_latency_seconds Time to a chat's final answer.\n# TYPE cadre_chat_latency_seconds histogram\n");
    for (n, _, c) in &rows {
        let mut h = Hist::default();
        h.add(c);
        h.write(
            &mut out,
            "cadre_chat_latency_seconds",
            &format!("specialist=\"{n}\""),
        );
    }
    out.push_str("# HELP cadre_reloads_total Reloads and restarts seen since the HTTP server started.\n# TYPE cadre_reloads_total counter\n");
    for (n, _, _) in &rows {
        let t = tallies.get(n).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "cadre_reloads_total{{specialist=\"{n}\"}} {}",
            t.reloads
        );
    }
    out.push_str("# HELP cadre_config_errors_total Config errors reported for a specialist's file.\n# TYPE cadre_config_errors_total counter\n");
    for (n, _, _) in &rows {
        let t = tallies.get(n).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "cadre_config_errors_total{{specialist=\"{n}\"}} {}",
            t.config_errors
        );
    }

    let mut providers: BTreeMap<&str, (Hist, u64)> = BTreeMap::new();
    for (_, p, c) in &rows {
        let e = providers.entry(p.as_str()).or_default();
        e.0.add(c);
        e.1 += ERROR_CODES
            .iter()
            .zip(c.errors_by_code)
            .filter(|(code, _)| PROVIDER_FAILURES.contains(code))
            .map(|(_, v)| v)
            .sum::<u64>();
    }
    out.push_str("# HELP cadre_provider_latency_seconds Answered chats per provider.\n# TYPE cadre_provider_latency_seconds histogram\n");
    for (p, (h, _)) in &providers {
        h.write(
            &mut out,
            "cadre_provider_latency_seconds",
            &format!("provider=\"{p}\""),
        );
    }
    out.push_str("# HELP cadre_provider_failures_total Chats a provider failed (unavailable, error, timeout).\n# TYPE cadre_provider_failures_total counter\n");
    for (p, (_, f)) in &providers {
        let _ = writeln!(out, "cadre_provider_failures_total{{provider=\"{p}\"}} {f}");
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
