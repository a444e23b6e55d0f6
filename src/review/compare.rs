//! Two loaded projects → what changed, per specialist. Fields are compared
//! on the resolved [`Spec`] (defaults merged, provider resolved), and prompts
//! on the rendered text, so indirect changes are shown where they land.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::side::Side;
use crate::config::Spec;

/// How a specialist differs between the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One field (dotted path) whose value differs; `None` means unset on that side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub base: Option<Value>,
    pub head: Option<Value>,
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
}

impl Review {
    pub fn is_empty(&self) -> bool {
        self.project.is_empty() && self.specialists.is_empty()
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

/// Spec fields not listed as field changes: identity, derived values, and
/// `personality`, whose only effect is the prompt and is shown as its diff.
const NOT_COMPARED: &[&str] = &["name", "file", "system_prompt", "generation", "personality"];

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
                let fields = field_changes(&spec_fields(bs), &spec_fields(hs));
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

    let project = field_changes(
        &flat(serde_json::to_value(&base.loaded.project).unwrap_or(Value::Null)),
        &flat(serde_json::to_value(&head.loaded.project).unwrap_or(Value::Null)),
    );
    Review {
        base: base.label.clone(),
        head: head.label.clone(),
        project,
        specialists,
    }
}

fn spec_fields(s: &Spec) -> BTreeMap<String, Value> {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        for k in NOT_COMPARED {
            m.remove(*k);
        }
    }
    flat(v)
}

/// Leaves by dotted path; nulls count as unset, arrays are one value.
fn flat(v: Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    walk(String::new(), v, &mut out);
    out
}

fn walk(prefix: String, v: Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Null => {}
        Value::Object(m) => {
            if let Some(d) = as_duration(&m) {
                out.insert(prefix, Value::String(d));
                return;
            }
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                walk(p, v, out);
            }
        }
        leaf => {
            out.insert(prefix, leaf);
        }
    }
}

/// `std::time::Duration` serializes as `{secs, nanos}`; show it as the config spells it.
fn as_duration(m: &serde_json::Map<String, Value>) -> Option<String> {
    if m.len() != 2 {
        return None;
    }
    let secs = m.get("secs")?.as_u64()?;
    let nanos = m.get("nanos")?.as_u64()?;
    let d = std::time::Duration::new(secs, u32::try_from(nanos).ok()?);
    Some(humantime::format_duration(d).to_string())
}

fn field_changes(b: &BTreeMap<String, Value>, h: &BTreeMap<String, Value>) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = b.keys().chain(h.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != h.get(*k))
        .map(|k| FieldChange {
            path: k.clone(),
            base: b.get(k).cloned(),
            head: h.get(k).cloned(),
        })
        .collect()
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
