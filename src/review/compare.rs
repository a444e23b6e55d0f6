//! Two loaded projects → what changed, per specialist. Fields are compared
//! on the resolved [`Spec`] (defaults merged, provider resolved) by
//! [`crate::config::diff`], the diff `cadre plan` names its fields with, and
//! prompts on the rendered text, so indirect changes are shown where they land.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::side::Side;
use crate::config::{Spec, diff};

pub use crate::config::diff::FieldChange;

/// How a specialist differs between the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One specialist that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecialistChange {
    pub name: String,
    pub kind: Kind,
    /// Its file, relative to the project root (head's, unless removed).
    pub file: PathBuf,
    pub fields: Vec<FieldChange>,
    /// Unified diff of the rendered system prompt; `None` when it is unchanged.
    pub prompt_diff: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub base: String,
    pub head: String,
    /// Changes to `cadre.toml` itself, also those that reach no specialist (`[limits]`).
    pub project: Vec<FieldChange>,
    pub specialists: Vec<SpecialistChange>,
    pub teams: Vec<super::teams::TeamChange>,
}

impl Review {
    pub fn is_empty(&self) -> bool {
        self.project.is_empty() && self.specialists.is_empty() && self.teams.is_empty()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.specialists.iter().filter(|s| s.kind == kind).count()
    }

    pub fn prompt_changes(&self) -> usize {
        self.specialists
            .iter()
            .filter(|s| s.prompt_diff.is_some())
            .count()
    }
}

/// Compare `base` with `head`; both must have loaded without errors.
pub fn compare(base: &Side, head: &Side) -> Review {
    let by_name = |s: &Side| -> BTreeMap<String, Spec> {
        s.loaded
            .specs
            .iter()
            .map(|sp| (sp.name.to_string(), sp.clone()))
            .collect()
    };
    let (b, h) = (by_name(base), by_name(head));
    let mut names: Vec<&String> = b.keys().chain(h.keys()).collect();
    names.sort();
    names.dedup();

    let mut specialists = Vec::new();
    for name in names {
        let change = match (b.get(name), h.get(name)) {
            (None, Some(hs)) => SpecialistChange {
                name: name.clone(),
                kind: Kind::Added,
                file: head.relative(&hs.file),
                fields: Vec::new(),
                prompt_diff: None,
            },
            (Some(bs), None) => SpecialistChange {
                name: name.clone(),
                kind: Kind::Removed,
                file: base.relative(&bs.file),
                fields: Vec::new(),
                prompt_diff: None,
            },
            (Some(bs), Some(hs)) => {
                let fields = diff::specs(bs, hs);
                let prompt_diff = prompt_diff(name, &base.label, &head.label, bs, hs);
                if fields.is_empty() && prompt_diff.is_none() {
                    continue;
                }
                SpecialistChange {
                    name: name.clone(),
                    kind: Kind::Changed,
                    file: head.relative(&hs.file),
                    fields,
                    prompt_diff,
                }
            }
            (None, None) => continue,
        };
        specialists.push(change);
    }

    let project = diff::values(
        &serde_json::to_value(&base.loaded.project).unwrap_or(Value::Null),
        &serde_json::to_value(&head.loaded.project).unwrap_or(Value::Null),
    );
    Review {
        base: base.label.clone(),
        head: head.label.clone(),
        project,
        specialists,
        teams: super::teams::compare(base, head),
    }
}

fn prompt_diff(name: &str, base: &str, head: &str, b: &Spec, h: &Spec) -> Option<String> {
    if b.system_prompt == h.system_prompt {
        return None;
    }
    let diff = similar::TextDiff::from_lines(b.system_prompt.as_str(), h.system_prompt.as_str());
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} ({base})"), &format!("{name} ({head})"))
        .to_string();
    Some(text)
}
