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

/// A value for a terminal or a table. Long or multi-line text (a
/// `personality.prompt`) is cut to its start: its effect is in the prompt's
/// diff below, and the whole value in `--format json`.
fn value(v: &Option<Value>) -> String {
    match v {
        None => "(unset)".into(),
        Some(Value::String(s)) if s.chars().count() > LONG || s.trim_end().contains('\n') => {
            let first = s.lines().next().unwrap_or("");
            let mut cut: String = first.chars().take(LONG).collect();
            cut.push('…');
            let quoted = serde_json::to_string(&cut).unwrap_or_default();
            match s.trim_end().lines().count() {
                0 | 1 => quoted,
                n => format!("{quoted} ({n} lines)"),
            }
        }
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    }
}

fn kind_word(k: Kind) -> &'static str {
    match k {
        Kind::Added => "added",
        Kind::Removed => "removed",
        Kind::Changed => "changed",
    }
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
    out
}

fn text_fields(out: &mut String, fields: &[FieldChange]) {
    for f in fields {
        let _ = writeln!(out, "  {}: {} → {}", f.path, value(&f.base), value(&f.head));
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
fn cell(v: &Option<Value>) -> String {
    match v {
        None => "*unset*".into(),
        Some(v) => code(&value(&Some(v.clone())).replace('|', "\\|")),
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
            cell(&f.base),
            cell(&f.head)
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
        let fence = "`".repeat(longest_run(d, '`').max(2) + 1);
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
        },
        "project": r.project,
        "specialists": r.specialists,
    })
}
