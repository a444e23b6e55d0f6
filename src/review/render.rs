//! A [`Review`] for people (text), for a pull-request comment (markdown:
//! one summary line, prompt diffs collapsed) and for tools (JSON).

use std::fmt::Write as _;

use serde_json::Value;

use super::compare::{FieldChange, Kind, Review, SpecialistChange};

/// `1 added, 1 removed, 3 changed (3 prompts), cadre.toml changed` or `no changes`.
pub fn summary(r: &Review) -> String {
    if r.is_empty() {
        return "no changes".into();
    }
    let mut parts = Vec::new();
    for (kind, word) in [
        (Kind::Added, "added"),
        (Kind::Removed, "removed"),
        (Kind::Changed, "changed"),
    ] {
        let n = r.count(kind);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut s = parts.join(", ");
    let prompts = r.prompt_changes();
    if prompts > 0 {
        let _ = write!(
            s,
            " ({prompts} system prompt{})",
            if prompts == 1 { "" } else { "s" }
        );
    }
    if !r.teams.is_empty() {
        if !s.is_empty() {
            s.push_str("; ");
        }
        let n = r.teams.len();
        let _ = write!(s, "{n} team{} changed", if n == 1 { "" } else { "s" });
    }
    if !r.project.is_empty() {
        if !s.is_empty() {
            s.push_str("; ");
        }
        s.push_str("cadre.toml changed");
    }
    s
}

/// Text longer than this is cut in text and markdown (JSON has it whole).
const LONG: usize = 60;
/// How much of the common start a cut keeps before the first difference.
const LEAD: usize = 20;

fn is_long(s: &str) -> bool {
    s.chars().count() > LONG || s.trim_end().contains('\n')
}

fn quoted(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Both sides of a change for a terminal or a table. Long or multi-line
/// text (a `personality.prompt`) is cut to where the sides start to differ:
/// the whole effect is in the prompt's diff, the whole value in `--format json`.
/// `None`: unset on that side.
fn pair(f: &FieldChange) -> (Option<String>, Option<String>) {
    let text = |v: &Option<Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let (a, b) = (text(&f.base), text(&f.head));
    let long = a.as_deref().is_some_and(is_long) || b.as_deref().is_some_and(is_long);
    if !long {
        return (f.base.as_ref().map(quoted), f.head.as_ref().map(quoted));
    }
    let common = match (&a, &b) {
        (Some(a), Some(b)) => a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count(),
        _ => 0,
    };
    let start = common.saturating_sub(LEAD);
    let cut = |s: &Option<String>, v: &Option<Value>| match s {
        Some(s) => Some(excerpt(s, start)),
        None => v.as_ref().map(quoted),
    };
    (cut(&a, &f.base), cut(&b, &f.head))
}

/// `LONG` characters of `s` from `start`, quoted, with `…` where it was cut.
fn excerpt(s: &str, start: usize) -> String {
    let total = s.chars().count();
    let mut cut: String = s.chars().skip(start).take(LONG).collect();
    if start + LONG < total {
        cut.push('…');
    }
    if start > 0 {
        cut.insert(0, '…');
    }
    serde_json::to_string(&cut).unwrap_or_default()
}

fn kind_word(k: Kind) -> &'static str {
    super::teams::word(k)
}

/// Plain text, for a terminal.
pub fn text(r: &Review) -> String {
    let mut out = format!("{} → {}: {}\n", r.base, r.head, summary(r));
    if !r.project.is_empty() {
        out.push_str("\n~ cadre.toml\n");
        text_fields(&mut out, &r.project);
    }
    for s in &r.specialists {
        let mark = match s.kind {
            Kind::Added => '+',
            Kind::Removed => '-',
            Kind::Changed => '~',
        };
        let _ = writeln!(
            out,
            "\n{mark} {} ({}, {})",
            s.name,
            kind_word(s.kind),
            s.file.display()
        );
        text_fields(&mut out, &s.fields);
        if let Some(d) = &s.prompt_diff {
            out.push_str("  system prompt:\n");
            for line in d.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    super::teams::text(&mut out, &r.teams, text_fields);
    out
}

fn text_fields(out: &mut String, fields: &[FieldChange]) {
    for f in fields {
        let (base, head) = pair(f);
        let unset = || "(unset)".to_owned();
        let (base, head) = (base.unwrap_or_else(unset), head.unwrap_or_else(unset));
        let _ = writeln!(out, "  {}: {base} → {head}", f.path);
    }
}

/// A code span that survives backticks inside `s`.
fn code(s: &str) -> String {
    let longest = longest_run(s, '`');
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code fence for `text`: one backtick longer than its longest run, so no
/// line of it closes the block early.
pub(super) fn fence(text: &str) -> String {
    "`".repeat(longest_run(text, '`').max(2) + 1)
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Table cells must not break the row.
fn cell(shown: Option<String>) -> String {
    match shown {
        None => "*unset*".into(),
        Some(s) => code(&s.replace('|', "\\|")),
    }
}

/// Markdown for a pull-request comment.
pub fn markdown(r: &Review) -> String {
    let mut out = format!(
        "**cadre diff** {} → {}: {}\n",
        code(&r.base),
        code(&r.head),
        summary(r)
    );
    if !r.project.is_empty() {
        out.push_str("\n### `cadre.toml`\n\n");
        md_fields(&mut out, &r.project);
    }
    for s in &r.specialists {
        md_specialist(&mut out, s);
    }
    super::teams::markdown(&mut out, &r.teams, code, md_fields);
    out
}

fn md_fields(out: &mut String, fields: &[FieldChange]) {
    if fields.is_empty() {
        return;
    }
    out.push_str("| field | base | head |\n|---|---|---|\n");
    for f in fields {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            code(&f.path),
            cell(pair(f).0),
            cell(pair(f).1)
        );
    }
}

fn md_specialist(out: &mut String, s: &SpecialistChange) {
    let _ = writeln!(
        out,
        "\n### {} — {}\n\n{}",
        code(&s.name),
        kind_word(s.kind),
        code(&s.file.display().to_string())
    );
    if !s.fields.is_empty() {
        out.push('\n');
        md_fields(out, &s.fields);
    }
    if let Some(d) = &s.prompt_diff {
        let (plus, minus) = d.lines().fold((0, 0), |(p, m), l| {
            if l.starts_with('+') && !l.starts_with("+++") {
                (p + 1, m)
            } else if l.starts_with('-') && !l.starts_with("---") {
                (p, m + 1)
            } else {
                (p, m)
            }
        });
        let fence = fence(d);
        let _ = writeln!(
            out,
            "\n<details><summary>system prompt (+{plus} −{minus})</summary>\n\n{fence}diff\n{}{fence}\n\n</details>",
            if d.ends_with('\n') {
                d.clone()
            } else {
                format!("{d}\n")
            }
        );
    }
}

/// One JSON document: labels, summary counts and every change.
pub fn json(r: &Review) -> Value {
    serde_json::json!({
        "base": r.base,
        "head": r.head,
        "summary": {
            "added": r.count(Kind::Added),
            "removed": r.count(Kind::Removed),
            "changed": r.count(Kind::Changed),
            "prompts": r.prompt_changes(),
            "project": !r.project.is_empty(),
            "teams": r.teams.len(),
        },
        "project": r.project,
        "specialists": r.specialists,
        "teams": r.teams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(base: Option<Value>, head: Option<Value>) -> FieldChange {
        FieldChange {
            path: "personality.prompt".into(),
            base,
            head,
        }
    }

    /// Specialists' and teams' prompt diffs share one fence rule: longer
    /// than any run of backticks inside (one run of five used to get a team
    /// diff a fence of four, closed early by a line of the diff).
    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        assert_eq!(fence("+plain"), "```");
        assert_eq!(fence("+a ``` b"), "````");
        assert_eq!(fence("+`````\n-x"), "``````");
        let mut out = String::new();
        super::super::teams::markdown(
            &mut out,
            &[super::super::teams::TeamChange {
                name: "council".into(),
                kind: Kind::Changed,
                file: "teams.d/council.toml".into(),
                fields: Vec::new(),
                prompts: vec![super::super::teams::PromptDiff {
                    kind: crate::config::team::PromptKind::Round,
                    diff: "+`````".into(),
                }],
            }],
            |s| s.to_owned(),
            |_, _| {},
        );
        assert!(out.contains("``````diff\n+`````\n``````"), "{out}");
    }

    #[test]
    fn long_text_is_cut_where_the_sides_differ() {
        let base = "x".repeat(100) + " old end.";
        let head = "x".repeat(100) + " new end.";
        let (b, h) = pair(&change(Some(json!(base)), Some(json!(head))));
        assert_eq!(b.as_deref(), Some(r#""…xxxxxxxxxxxxxxxxxxx old end.""#));
        assert_eq!(h.as_deref(), Some(r#""…xxxxxxxxxxxxxxxxxxx new end.""#));
        let (b, h) = pair(&change(None, Some(json!("short"))));
        assert_eq!((b, h.as_deref()), (None, Some(r#""short""#)));
        let (_, h) = pair(&change(None, Some(json!("a\nb"))));
        assert_eq!(h.as_deref(), Some(r#""a\nb""#));
    }
}
