//! The text table of `cadre status`: one line per endpoint, a specialist's
//! replicas on continuation lines with its own columns left blank.

use std::io::Write;

use super::{EndpointRow, Row};

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

type Cell = fn(&Line<'_>) -> String;

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The columns of `status`, in order: the one place to add one. REVISION
/// only shows when the team lives in a git work tree.
const COLUMNS: &[(&str, Cell)] = &[
    ("NAME", |l| {
        if l.replica {
            String::new()
        } else {
            l.row.name.to_string()
        }
    }),
    ("COMPONENT", |l| {
        if l.replica {
            String::new()
        } else {
            l.row.component.clone()
        }
    }),
    ("HOST", |l| l.endpoint.host.clone()),
    ("PORT", |l| match l.endpoint.port {
        0 => "-".into(),
        p => p.to_string(),
    }),
    ("MODEL", |l| l.endpoint.model.clone()),
    ("PROVIDER", |l| {
        if l.replica {
            String::new()
        } else {
            l.row.provider.clone()
        }
    }),
    ("STATE", |l| {
        let s = l.endpoint.state.as_str();
        if l.row.diverged && !l.replica {
            format!("{s} (diverged)")
        } else {
            s.to_owned()
        }
    }),
    ("PID", |l| l.endpoint.pid.to_string()),
    ("OWNER", |l| l.endpoint.owner.clone()),
    ("UPTIME", |l| or_dash(l.endpoint.uptime_secs.map(human))),
    ("REQUESTS", |l| or_dash(l.endpoint.requests)),
    ("REVISION", |l| or_dash(l.row.revision.as_deref())),
    ("LAST ERROR", |l| or_dash(l.endpoint.last_error.as_deref())),
];

pub(super) fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let with_revision = rows.iter().any(|r| r.revision.is_some());
    let columns: Vec<&(&str, Cell)> = COLUMNS
        .iter()
        .filter(|(h, _)| with_revision || *h != "REVISION")
        .collect();
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
    let cells: Vec<Vec<String>> = lines
        .iter()
        .map(|l| columns.iter().map(|(_, cell)| cell(l)).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.len()).collect();
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
    writeln!(out, "{}", line(columns.iter().map(|(h, _)| *h).collect()))?;
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
