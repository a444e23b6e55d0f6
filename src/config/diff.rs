//! The one field diff: which dotted fields of two resolved specs (or two
//! `cadre.toml`s) differ. `cadre plan` names these fields for a reload and
//! `cadre diff` shows them with their values, so for one change both
//! commands name the same fields.
//!
//! Rules: a field is a leaf of the serialized value; `null` counts as unset;
//! an array is one value; a `Duration` (`{secs, nanos}`) is one value, shown
//! as the config spells it (`30s`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::Spec;

/// Spec fields that are not fields of the file: identity and derived values.
/// The rendered prompt is compared on its own (its diff is text, not a value).
pub const NOT_FIELDS: &[&str] = &["name", "file", "generation", "system_prompt"];

/// One field whose value differs; `None` means unset on that side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path: `model`, `personality.prompt`, `provider.timeouts.connect`.
    pub path: String,
    pub base: Option<Value>,
    pub head: Option<Value>,
}

/// The fields of `base` and `head` that differ, sorted by path.
pub fn specs(base: &Spec, head: &Spec) -> Vec<FieldChange> {
    let (mut b, mut h) = (fields_of(base), fields_of(head));
    for v in [&mut b, &mut h] {
        if let Value::Object(m) = v {
            for k in NOT_FIELDS {
                m.remove(*k);
            }
        }
    }
    values(&b, &h)
}

/// The leaves of `base` and `head` that differ, sorted by path.
pub fn values(base: &Value, head: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", Some(base), Some(head), &mut out);
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

/// `spec` as a value without its rendered prompt: the prompt is compared on
/// its own, and serializing it (42 KB per specialist at N = 1000) for every
/// specialist on every reload was most of a plan.
fn fields_of(spec: &Spec) -> Value {
    let mut s = spec.clone();
    s.system_prompt = Default::default();
    serde_json::to_value(&s).unwrap_or(Value::Null)
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    let (a, b) = (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null()));
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) if !is_duration(x) && !is_duration(y) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Object(x)), _) if !is_duration(x) => {
            for (k, v) in x {
                walk(&join(path, k), Some(v), None, out);
            }
        }
        (_, Some(Value::Object(y))) if !is_duration(y) => {
            for (k, v) in y {
                walk(&join(path, k), None, Some(v), out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: path.to_owned(),
            base: a.map(shown),
            head: b.map(shown),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn is_duration(m: &Map<String, Value>) -> bool {
    m.len() == 2 && m.contains_key("secs") && m.contains_key("nanos")
}

/// A value as shown in a diff: a `Duration` as the config spells it, a URL
/// without its userinfo (a `base_url` password must not reach a CI log; a
/// change only to it shows as two equal URLs: something secret changed).
fn shown(v: &Value) -> Value {
    if let Value::String(s) = v {
        return Value::String(crate::net::url::shown_in(s));
    }
    let duration = match v {
        Value::Object(m) if is_duration(m) => {
            let secs = m.get("secs").and_then(Value::as_u64);
            let nanos = m
                .get("nanos")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok());
            secs.zip(nanos).map(|(s, n)| std::time::Duration::new(s, n))
        }
        _ => None,
    };
    match duration {
        Some(d) => Value::String(humantime::format_duration(d).to_string()),
        None => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_passwords_are_compared_but_never_shown() {
        let a = json!({"provider": {"base_url": "http://admin:OLDPW@h:1/v1"}});
        let b = json!({"provider": {"base_url": "http://admin:NEWPW@h:1/v1"}});
        let c = values(&a, &b);
        assert_eq!(c.len(), 1);
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains("PW"), "{shown}");
        assert!(shown.contains("http://h:1/v1"), "{shown}");
    }

    fn paths(a: Value, b: Value) -> Vec<String> {
        values(&a, &b).into_iter().map(|c| c.path).collect()
    }

    #[test]
    fn leaves_nulls_arrays_and_durations() {
        assert_eq!(
            paths(
                json!({"a": 1, "b": {"c": [1, 2], "d": null}, "t": {"secs": 5, "nanos": 0}}),
                json!({"a": 1, "b": {"c": [1, 3]}, "t": {"secs": 6, "nanos": 0}, "n": {"x": 1}})
            ),
            ["b.c", "n.x", "t"]
        );
        let c = values(
            &json!({"t": {"secs": 5, "nanos": 0}}),
            &json!({"t": {"secs": 90, "nanos": 0}}),
        );
        assert_eq!(c[0].base, Some(json!("5s")));
        assert_eq!(c[0].head, Some(json!("1m 30s")));
        assert!(paths(json!({"a": null}), json!({})).is_empty());
        assert_eq!(
            values(&json!({}), &json!({"a": "x"})),
            [FieldChange {
                path: "a".into(),
                base: None,
                head: Some(json!("x"))
            }]
        );
    }
}
