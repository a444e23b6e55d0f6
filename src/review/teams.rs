//! Teams in a review: per team, its changed fields and the unified diff of
//! each rendered prompt (round, synthesis, route) that differs, so an edit
//! to `templates/team.md.j2` or a new moderator shows where it lands.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::compare::{FieldChange, Kind};
use super::side::Side;
use crate::config::team::{PromptKind, TeamSpec};

/// One team that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamChange {
    pub name: String,
    pub kind: Kind,
    /// Its file, relative to the project root (head's, unless removed).
    pub file: PathBuf,
    /// Changed fields, the rendered prompts left to `prompts`.
    pub fields: Vec<FieldChange>,
    /// One unified diff per rendered prompt that changed.
    pub prompts: Vec<PromptDiff>,
}

/// The diff of one of a team's rendered prompts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptDiff {
    pub kind: PromptKind,
    pub diff: String,
}

/// Every team added, removed or changed from `base` to `head`.
pub fn compare(base: &Side, head: &Side) -> Vec<TeamChange> {
    let by_name = |s: &Side| -> BTreeMap<String, TeamSpec> {
        s.loaded
            .teams
            .iter()
            .map(|t| (t.name.to_string(), t.clone()))
            .collect()
    };
    let (b, h) = (by_name(base), by_name(head));
    let mut names: Vec<&String> = b.keys().chain(h.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let (kind, file, fields, prompts) = match (b.get(name), h.get(name)) {
            (None, Some(ht)) => (Kind::Added, head.relative(&ht.file), vec![], vec![]),
            (Some(bt), None) => (Kind::Removed, base.relative(&bt.file), vec![], vec![]),
            (Some(bt), Some(ht)) => {
                let fields: Vec<FieldChange> = crate::plan::team_fields(bt, ht)
                    .into_iter()
                    .filter(|f| !f.path.starts_with("prompts"))
                    .collect();
                let prompts = prompt_diffs(name, &base.label, &head.label, bt, ht);
                if fields.is_empty() && prompts.is_empty() {
                    continue;
                }
                (Kind::Changed, head.relative(&ht.file), fields, prompts)
            }
            (None, None) => continue,
        };
        out.push(TeamChange {
            name: name.clone(),
            kind,
            file,
            fields,
            prompts,
        });
    }
    out
}

fn prompt_diffs(name: &str, base: &str, head: &str, b: &TeamSpec, h: &TeamSpec) -> Vec<PromptDiff> {
    let text = |t: &TeamSpec, k: PromptKind| {
        t.previews
            .iter()
            .find(|p| p.kind == k)
            .map(|p| p.text.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for kind in [PromptKind::Round, PromptKind::Synthesis, PromptKind::Route] {
        let (bt, ht) = (text(b, kind), text(h, kind));
        if bt == ht {
            continue;
        }
        let label = |side: &str| format!("{name} {} prompt ({side})", kind.as_str());
        let diff = similar::TextDiff::from_lines(bt.as_str(), ht.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&label(base), &label(head))
            .to_string();
        out.push(PromptDiff { kind, diff });
    }
    out
}

/// The teams as plain text, after the specialists.
pub fn text(out: &mut String, teams: &[TeamChange], fields: impl Fn(&mut String, &[FieldChange])) {
    for t in teams {
        let mark = match t.kind {
            Kind::Added => '+',
            Kind::Removed => '-',
            Kind::Changed => '~',
        };
        let _ = writeln!(
            out,
            "\n{mark} team {} ({}, {})",
            t.name,
            word(t.kind),
            t.file.display()
        );
        fields(out, &t.fields);
        for p in &t.prompts {
            let _ = writeln!(out, "  {} prompt:", p.kind.as_str());
            for line in p.diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
}

/// The teams as markdown sections, prompt diffs collapsed.
pub fn markdown(
    out: &mut String,
    teams: &[TeamChange],
    code: impl Fn(&str) -> String,
    fields: impl Fn(&mut String, &[FieldChange]),
) {
    for t in teams {
        let _ = writeln!(
            out,
            "\n### team {} — {}\n\n{}",
            code(&t.name),
            word(t.kind),
            code(&t.file.display().to_string())
        );
        if !t.fields.is_empty() {
            out.push('\n');
            fields(out, &t.fields);
        }
        for p in &t.prompts {
            let fence = super::render::fence(&p.diff);
            let body = if p.diff.ends_with('\n') {
                p.diff.clone()
            } else {
                format!("{}\n", p.diff)
            };
            let _ = writeln!(
                out,
                "\n<details><summary>{} prompt</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>",
                p.kind.as_str()
            );
        }
    }
}

pub(super) fn word(k: Kind) -> &'static str {
    match k {
        Kind::Added => "added",
        Kind::Removed => "removed",
        Kind::Changed => "changed",
    }
}
