//! The one renderer of diagnostics: for people (`file:line:col` with the
//! source line and a caret), in one line (`status`, events, `cadre plan`),
//! for GitHub Actions (annotations) and for other CI systems (one JSON
//! document).

use std::fmt::Write as _;

use serde::Serialize;

use super::{Diagnostic, Severity};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn location(d: &Diagnostic) -> String {
    match (d.line, d.column) {
        (0, _) => d.file.display().to_string(),
        (l, 0) => format!("{}:{l}", d.file.display()),
        (l, c) => format!("{}:{l}:{c}", d.file.display()),
    }
}

/// `file:line: message (`key`)`: one line, as `status`, events and `cadre plan` show a problem.
pub fn line(d: &Diagnostic) -> String {
    let key = d
        .key
        .as_deref()
        .map(|k| format!(" (`{k}`)"))
        .unwrap_or_default();
    if d.line > 0 {
        format!("{}:{}: {}{}", d.file.display(), d.line, d.message, key)
    } else {
        format!("{}: {}{}", d.file.display(), d.message, key)
    }
}

/// `file:line:col: error: message`, then the source line with a caret under the column.
pub fn text(d: &Diagnostic) -> String {
    let mut out = format!("{}: {}: {}\n", location(d), severity(d.severity), d.message);
    if let Some(src) = &d.source_line
        && d.line > 0
    {
        let gutter = d.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_at: String = src
            .chars()
            .take(d.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{gutter} | {src}");
        let _ = writeln!(out, "{pad} | {caret_at}^");
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One GitHub Actions workflow command (`::error file=…,line=…,col=…::message`).
pub fn github(d: &Diagnostic) -> String {
    let mut props = format!("file={}", escape_property(&d.file.display().to_string()));
    if d.line > 0 {
        let _ = write!(props, ",line={}", d.line);
    }
    if d.column > 0 {
        let _ = write!(props, ",col={}", d.column);
    }
    if let Some(k) = &d.key {
        let _ = write!(props, ",title={}", escape_property(&format!("cadre: {k}")));
    }
    format!(
        "::{} {props}::{}",
        severity(d.severity),
        escape_data(&d.message)
    )
}

/// Counts shown in the summary line and the JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub specialists: usize,
    pub teams: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Counts {
    pub fn of(specialists: usize, diags: &[Diagnostic]) -> Counts {
        Counts {
            specialists,
            teams: 0,
            errors: diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count(),
            warnings: diags
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count(),
        }
    }

    /// The same counts, with `teams` valid teams.
    pub fn with_teams(self, teams: usize) -> Counts {
        Counts { teams, ..self }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `18 specialists, 3 teams, 0 errors, 1 warning` (teams only when there are any).
pub fn summary(c: Counts) -> String {
    let teams = if c.teams > 0 {
        format!(", {}", plural(c.teams, "team"))
    } else {
        String::new()
    };
    format!(
        "{}{teams}, {}, {}",
        plural(c.specialists, "specialist"),
        plural(c.errors, "error"),
        plural(c.warnings, "warning")
    )
}

/// One document: counts plus every diagnostic.
pub fn json(c: Counts, diags: &[Diagnostic]) -> serde_json::Value {
    serde_json::json!({
        "specialists": c.specialists,
        "teams": c.teams,
        "errors": c.errors,
        "warnings": c.warnings,
        "diagnostics": diags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn d() -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: PathBuf::from("specialists.d/numa.toml"),
            line: 3,
            column: 8,
            key: Some("port".into()),
            message: "bad, really: 100%".into(),
            source_line: Some("port = \"x\"".into()),
            specialist: None,
            related: Vec::new(),
            team: None,
        }
    }

    #[test]
    fn formats() {
        assert_eq!(
            text(&d()),
            "specialists.d/numa.toml:3:8: error: bad, really: 100%\n  |\n3 | port = \"x\"\n  |        ^\n"
        );
        assert_eq!(
            github(&d()),
            "::error file=specialists.d/numa.toml,line=3,col=8,title=cadre%3A port::bad, really: 100%25"
        );
        assert_eq!(
            summary(Counts {
                specialists: 18,
                teams: 0,
                errors: 0,
                warnings: 1
            }),
            "18 specialists, 0 errors, 1 warning"
        );
        assert_eq!(
            summary(Counts {
                specialists: 18,
                teams: 1,
                errors: 2,
                warnings: 0
            }),
            "18 specialists, 1 team, 2 errors, 0 warnings"
        );
    }
}
