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

use super::error::ApiError;
use super::{AppState, Tallies};
use crate::health::{ComponentStatus, ProviderStatus};
use crate::protocol::ErrorCode;
use crate::specialist::{CountersSnapshot, LATENCY_BUCKETS, LATENCY_BUCKETS_MS};
use crate::supervisor::LiveView;

/// Errors that mean the provider failed (not the client).
const PROVIDER_FAILURES: [ErrorCode; 3] = [
    ErrorCode::ProviderUnavailable,
    ErrorCode::ProviderError,
    ErrorCode::Timeout,
];

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Default)]
struct Hist {
    buckets: [u64; LATENCY_BUCKETS],
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

/// One specialist's row: its label, its provider's label, its counters.
struct Row<'a> {
    name: String,
    provider: String,
    counters: &'a CountersSnapshot,
    live: &'a LiveView,
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let live = state.sup.live().await?;
    let tallies = state.tallies.lock().map(|t| t.clone()).unwrap_or_default();
    let zero = CountersSnapshot::default();
    let rows: Vec<Row<'_>> = live
        .iter()
        .map(|l| Row {
            name: label(l.view.name.as_str()),
            provider: label(&l.spec.provider.name),
            counters: l.counters.as_ref().unwrap_or(&zero),
            live: l,
        })
        .collect();
    let mut out = String::new();
    specialists(&mut out, &rows);
    reconciles(&mut out, &rows, &tallies);
    providers(&mut out, &rows);
    tokens(&mut out, &rows);
    health(&mut out, &rows);
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}

/// One sample per specialist of `metric` (a counter or gauge).
fn per_specialist(
    out: &mut String,
    rows: &[Row<'_>],
    metric: &str,
    value: impl Fn(&Row<'_>) -> u64,
) {
    for r in rows {
        let _ = writeln!(out, "{metric}{{specialist=\"{}\"}} {}", r.name, value(r));
    }
}

fn specialists(out: &mut String, rows: &[Row<'_>]) {
    out.push_str("# HELP cadre_requests_total Chats received by a specialist (socket and HTTP); pings, health and info requests are in cadre_probes_total.\n# TYPE cadre_requests_total counter\n");
    per_specialist(out, rows, "cadre_requests_total", |r| r.counters.requests);
    out.push_str("# HELP cadre_probes_total Ping, health and info requests received by a specialist.\n# TYPE cadre_probes_total counter\n");
    for r in rows {
        let c = r.counters;
        for (kind, n) in [("ping", c.pings), ("health", c.healths), ("info", c.infos)] {
            let _ = writeln!(
                out,
                "cadre_probes_total{{specialist=\"{}\",type=\"{kind}\"}} {n}",
                r.name
            );
        }
    }
    out.push_str(
        "# HELP cadre_errors_total Error replies by code.\n# TYPE cadre_errors_total counter\n",
    );
    for r in rows {
        for code in ErrorCode::ALL {
            let _ = writeln!(
                out,
                "cadre_errors_total{{specialist=\"{}\",code=\"{}\"}} {}",
                r.name,
                code.as_str(),
                r.counters.errors_of(code)
            );
        }
    }
    out.push_str(
        "# HELP cadre_in_flight Chats being answered now.\n# TYPE cadre_in_flight gauge\n",
    );
    per_specialist(out, rows, "cadre_in_flight", |r| r.counters.in_flight);
    out.push_str("# HELP cadre_chat_latency_seconds Time to a chat's final answer.\n# TYPE cadre_chat_latency_seconds histogram\n");
    for r in rows {
        let mut h = Hist::default();
        h.add(r.counters);
        let labels = format!("specialist=\"{}\"", r.name);
        h.write(out, "cadre_chat_latency_seconds", &labels);
    }
}

fn reconciles(out: &mut String, rows: &[Row<'_>], tallies: &BTreeMap<String, Tallies>) {
    let tally = |r: &Row<'_>| tallies.get(&r.name).copied().unwrap_or_default();
    out.push_str("# HELP cadre_reloads_total Reloads and restarts seen since the HTTP server started.\n# TYPE cadre_reloads_total counter\n");
    per_specialist(out, rows, "cadre_reloads_total", |r| tally(r).reloads);
    out.push_str("# HELP cadre_config_errors_total Config errors reported for a specialist's file.\n# TYPE cadre_config_errors_total counter\n");
    per_specialist(out, rows, "cadre_config_errors_total", |r| {
        tally(r).config_errors
    });
}

fn providers(out: &mut String, rows: &[Row<'_>]) {
    let mut providers: BTreeMap<&str, (Hist, u64)> = BTreeMap::new();
    for r in rows {
        let e = providers.entry(r.provider.as_str()).or_default();
        e.0.add(r.counters);
        e.1 += PROVIDER_FAILURES
            .iter()
            .map(|code| r.counters.errors_of(*code))
            .sum::<u64>();
    }
    out.push_str("# HELP cadre_provider_latency_seconds Answered chats per provider.\n# TYPE cadre_provider_latency_seconds histogram\n");
    for (p, (h, _)) in &providers {
        h.write(
            out,
            "cadre_provider_latency_seconds",
            &format!("provider=\"{p}\""),
        );
    }
    out.push_str("# HELP cadre_provider_failures_total Chats a provider failed (unavailable, error, timeout).\n# TYPE cadre_provider_failures_total counter\n");
    for (p, (_, f)) in &providers {
        let _ = writeln!(out, "cadre_provider_failures_total{{provider=\"{p}\"}} {f}");
    }
}

/// Tokens since start per specialist and provider (estimates counted, and
/// counted apart), today's per specialist with its budget, and per provider.
fn tokens(out: &mut String, rows: &[Row<'_>]) {
    out.push_str("# HELP cadre_tokens_total Tokens used since the daemon started, by kind (estimates included where a provider reported none).\n# TYPE cadre_tokens_total counter\n");
    let mut by_provider: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows {
        for (p, u) in &r.live.usage.by_provider {
            let p = label(p);
            for (kind, n) in [
                ("prompt", u.prompt_tokens),
                ("completion", u.completion_tokens),
            ] {
                let _ = writeln!(
                    out,
                    "cadre_tokens_total{{specialist=\"{}\",provider=\"{p}\",kind=\"{kind}\"}} {n}",
                    r.name
                );
            }
            let e = by_provider.entry(p).or_default();
            e.0 += u.prompt_tokens;
            e.1 += u.completion_tokens;
        }
    }
    out.push_str("# HELP cadre_estimated_tokens_total Of cadre_tokens_total, the tokens cadre estimated because the provider reported no usage.\n# TYPE cadre_estimated_tokens_total counter\n");
    for r in rows {
        for (p, u) in &r.live.usage.by_provider {
            let _ = writeln!(
                out,
                "cadre_estimated_tokens_total{{specialist=\"{}\",provider=\"{}\"}} {}",
                r.name,
                label(p),
                u.estimated_tokens
            );
        }
    }
    out.push_str("# HELP cadre_provider_tokens_total Tokens used per provider since the daemon started.\n# TYPE cadre_provider_tokens_total counter\n");
    for (p, (prompt, completion)) in &by_provider {
        for (kind, n) in [("prompt", prompt), ("completion", completion)] {
            let _ = writeln!(
                out,
                "cadre_provider_tokens_total{{provider=\"{p}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP cadre_tokens_today Tokens used today (UTC) by a specialist, kept across restarts: what tokens_per_day counts.\n# TYPE cadre_tokens_today gauge\n");
    per_specialist(out, rows, "cadre_tokens_today", |r| {
        r.live.usage.today.total()
    });
    out.push_str("# HELP cadre_tokens_per_day_limit A specialist's [limits] tokens_per_day.\n# TYPE cadre_tokens_per_day_limit gauge\n");
    for r in rows {
        if let Some(limit) = r.live.spec.limits.tokens_per_day {
            let _ = writeln!(
                out,
                "cadre_tokens_per_day_limit{{specialist=\"{}\"}} {limit}",
                r.name
            );
        }
    }
}

/// Provider and component health, one sample per possible status (1 for
/// the current one), and the component's probe latency.
fn health(out: &mut String, rows: &[Row<'_>]) {
    out.push_str("# HELP cadre_provider_health A specialist's provider as the provider doctor last found it (1 for the current status).\n# TYPE cadre_provider_health gauge\n");
    for r in rows {
        let Some(v) = &r.live.provider_health else {
            continue;
        };
        for status in ProviderStatus::ALL {
            let _ = writeln!(
                out,
                "cadre_provider_health{{specialist=\"{}\",provider=\"{}\",status=\"{}\"}} {}",
                r.name,
                r.provider,
                status.as_str(),
                u8::from(v.status == status)
            );
        }
    }
    out.push_str("# HELP cadre_component_health A specialist's component as its [health] url last answered (1 for the current status).\n# TYPE cadre_component_health gauge\n");
    for r in rows {
        let Some(c) = &r.live.component_health else {
            continue;
        };
        for status in ComponentStatus::ALL {
            let _ = writeln!(
                out,
                "cadre_component_health{{specialist=\"{}\",status=\"{}\"}} {}",
                r.name,
                status.as_str(),
                u8::from(c.status == status)
            );
        }
    }
    out.push_str("# HELP cadre_component_latency_seconds How long the last probe of a component's [health] url took.\n# TYPE cadre_component_latency_seconds gauge\n");
    for r in rows {
        if let Some(ms) = r.live.component_health.as_ref().and_then(|c| c.latency_ms) {
            let _ = writeln!(
                out,
                "cadre_component_latency_seconds{{specialist=\"{}\"}} {}",
                r.name,
                ms as f64 / 1000.0
            );
        }
    }
}
