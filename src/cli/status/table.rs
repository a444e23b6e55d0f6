//! The text table of `cadre status`: one line per endpoint, a specialist's
//! replicas on continuation lines with its own columns left blank.

use std::io::Write;

use super::{EndpointRow, Row};
use crate::config::ChatLimits;
use crate::health::{ComponentHealth, ComponentStatus};
use crate::usage::UsageReport;

fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// One line of the table: a specialist's first endpoint, or a replica below it.
struct Line<'a> {
    row: &'a Row,
    endpoint: &'a EndpointRow,
    /// A continuation line: the specialist's own columns are left blank.
    replica: bool,
}

/// One column of the table: its header, its cell, and when it shows.
struct Column {
    header: &'static str,
    cell: fn(&Line<'_>) -> String,
    /// Shown only when some endpoint has something to say here; `None`: always.
    shown_if: Option<fn(&Row, &EndpointRow) -> bool>,
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The specialist's own column: blank on a replica's continuation line.
fn own(l: &Line<'_>, text: impl FnOnce() -> String) -> String {
    if l.replica { String::new() } else { text() }
}

const fn always(header: &'static str, cell: fn(&Line<'_>) -> String) -> Column {
    Column {
        header,
        cell,
        shown_if: None,
    }
}

/// Every column of `status`, in order: the one place to add one.
const COLUMNS: &[Column] = &[
    always("NAME", |l| own(l, || l.row.name.to_string())),
    always("COMPONENT", |l| own(l, || l.row.component.clone())),
    always("HOST", |l| l.endpoint.host.clone()),
    always("PORT", |l| match l.endpoint.port {
        0 => "-".into(),
        p => p.to_string(),
    }),
    always("MODEL", |l| l.endpoint.model.clone()),
    always("PROVIDER", |l| own(l, || l.row.provider.clone())),
    always("PROVIDER-HEALTH", |l| {
        or_dash(
            l.endpoint
                .provider_health
                .as_ref()
                .map(|h| h.status.label()),
        )
    }),
    Column {
        header: "COMPONENT-HEALTH",
        cell: |l| or_dash(l.endpoint.component_health.as_ref().map(component_cell)),
        shown_if: Some(|_, e| e.component_health.is_some()),
    },
    always("STATE", |l| {
        let s = l.endpoint.state.as_str();
        if l.row.diverged && !l.replica {
            format!("{s} (diverged)")
        } else {
            s.to_owned()
        }
    }),
    always("PID", |l| l.endpoint.pid.to_string()),
    always("OWNER", |l| l.endpoint.owner.clone()),
    always("UPTIME", |l| or_dash(l.endpoint.uptime_secs.map(human))),
    always("REQUESTS", |l| or_dash(l.endpoint.requests)),
    always("TOKENS", |l| {
        let e = l.endpoint;
        or_dash(e.usage.as_ref().map(|u| tokens_cell(u, e.limits)))
    }),
    Column {
        header: "REVISION",
        cell: |l| own(l, || or_dash(l.row.revision.as_deref())),
        shown_if: Some(|r, _| r.revision.is_some()),
    },
    always("LAST ERROR", |l| or_dash(l.endpoint.last_error.as_deref())),
];

/// `up`, `slow 1200ms`, `down`.
fn component_cell(h: &ComponentHealth) -> String {
    match (h.status, h.latency_ms) {
        (ComponentStatus::Slow, Some(ms)) => format!("slow {ms}ms"),
        (s, _) => s.as_str().to_owned(),
    }
}

/// Today's tokens, `~` when estimates are among them, over the budget when set.
fn tokens_cell(u: &UsageReport, limits: Option<ChatLimits>) -> String {
    let mark = if u.today.estimated_tokens > 0 {
        "~"
    } else {
        ""
    };
    match limits.and_then(|l| l.tokens_per_day) {
        Some(budget) => format!("{mark}{}/{budget}", u.today.total()),
        None => format!("{mark}{}", u.today.total()),
    }
}

pub(super) fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let lines: Vec<Line<'_>> = rows
        .iter()
        .flat_map(|row| {
            row.endpoints
                .iter()
                .enumerate()
                .map(move |(i, endpoint)| Line {
                    row,
                    endpoint,
                    replica: i > 0,
                })
        })
        .collect();
    let columns: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| {
            c.shown_if
                .is_none_or(|f| lines.iter().any(|l| f(l.row, l.endpoint)))
        })
        .collect();
    let cells: Vec<Vec<String>> = lines
        .iter()
        .map(|l| columns.iter().map(|c| (c.cell)(l)).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let last = cols.len() - 1;
        let text = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ");
        text.trim_end().to_owned()
    };
    writeln!(out, "{}", line(columns.iter().map(|c| c.header).collect()))?;
    for row in &cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_humanized() {
        assert_eq!(human(5), "5s");
        assert_eq!(human(125), "2m5s");
        assert_eq!(human(7300), "2h1m");
        assert_eq!(human(90000), "1d1h");
    }
}
