//! `team` in a template, built once per load.
//!
//! Every specialist sees every other enabled specialist, so a naive render
//! converts the whole roster into template values once per specialist:
//! O(N²) conversions per load (9 % of `cadre check` at N = 1000). Here the
//! roster is converted once, and each specialist gets a view that skips
//! itself, which costs nothing to make.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use super::TeamMember;

/// The enabled roster as template values, shared by every render of a load.
#[derive(Debug, Clone)]
pub struct Team {
    members: Arc<Vec<Value>>,
    index: Arc<HashMap<String, usize>>,
}

impl Team {
    pub fn new(roster: &[TeamMember]) -> Team {
        Team {
            members: Arc::new(roster.iter().map(Member::value).collect()),
            index: Arc::new(
                roster
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.name.clone(), i))
                    .collect(),
            ),
        }
    }

    /// The whole roster as `team`.
    pub fn everyone(&self) -> Value {
        Value::from_object(Colleagues {
            members: self.members.clone(),
            skip: None,
        })
    }

    /// `team` as `name` sees it: everyone on the roster but `name`.
    pub fn without(&self, name: &str) -> Value {
        Value::from_object(Colleagues {
            members: self.members.clone(),
            skip: self.index.get(name).copied(),
        })
    }
}

/// One colleague: a map with [`TeamMember`]'s fields in its order, each
/// converted once. A render looks up `member.title` and friends 1000 times
/// per prompt at N = 1000; a generic serialized struct searched its keys
/// and allocated a new string value for each lookup.
#[derive(Debug)]
struct Member {
    /// In the order of [`FIELDS`].
    values: [Value; 6],
}

const FIELDS: &[&str] = &["name", "component", "title", "role", "description", "port"];

impl Member {
    fn value(m: &TeamMember) -> Value {
        Value::from_object(Member {
            values: [
                Value::from(m.name.as_str()),
                Value::from(m.component.as_str()),
                Value::from(m.title.as_str()),
                Value::from(m.role.as_str()),
                Value::from(m.description.as_str()),
                Value::from(m.port),
            ],
        })
    }
}

impl Object for Member {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let i = match key {
            "name" => 0,
            "component" => 1,
            "title" => 2,
            "role" => 3,
            "description" => 4,
            "port" => 5,
            _ => return None,
        };
        self.values.get(i).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(FIELDS)
    }
}

/// A sequence over the roster with one position left out.
#[derive(Debug)]
struct Colleagues {
    members: Arc<Vec<Value>>,
    skip: Option<usize>,
}

impl Colleagues {
    fn len(&self) -> usize {
        self.members.len() - usize::from(self.skip.is_some())
    }
}

impl Object for Colleagues {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = key.as_usize()?;
        let i = match self.skip {
            Some(s) if i >= s => i.checked_add(1)?,
            _ => i,
        };
        self.members.get(i).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Serde;
    use minijinja::{Environment, context};

    fn member(name: &str, i: u16) -> TeamMember {
        TeamMember {
            name: name.into(),
            component: format!("c-{name}"),
            title: name.to_uppercase(),
            role: if i.is_multiple_of(2) {
                "r".into()
            } else {
                String::new()
            },
            description: format!("D {name}."),
            port: i.is_multiple_of(3).then_some(45000 + i),
        }
    }

    /// The shared view behaves exactly like the roster serialized per render.
    #[test]
    fn view_renders_like_a_serialized_list() {
        let roster: Vec<TeamMember> = ["a", "b", "c", "d"]
            .iter()
            .zip(0..)
            .map(|(n, i)| member(n, i))
            .collect();
        let team = Team::new(&roster);
        let env = Environment::new();
        let exprs = [
            "{% for m in team %}{{ loop.index }} {{ m.name }} {{ m.title }} {{ m.role }} {{ m.description }} {{ m.port }};{% endfor %}",
            "{{ team | length }} {{ team[0].name }} {{ team[-1].name }} {{ (team | last).name }}",
            "{{ team | tojson }}",
            "{{ team }}",
            "{% if team %}some{% else %}none{% endif %}",
            "{{ team | map(attribute='name') | join(',') }} {{ team | reverse | map(attribute='name') | join(',') }}",
            "{{ team | selectattr('role') | map(attribute='name') | list }} {{ team[1:] | map(attribute='name') | list }}",
            "{{ team[9] is undefined }} {{ 'x' in team }} {{ team[0].nope is undefined }}",
            "{% for m in team %}{% for k in m %}{{ k }}={{ m[k] }},{% endfor %}{{ m | length }} {{ m | dictsort }} {{ m | items | list }} {{ m }} {{ m | tojson }}|{% endfor %}",
            "{{ team | map(attribute='port') | select | list }} {{ team | sort(attribute='title', reverse=true) | map(attribute='name') | join }}",
        ];
        for skip in ["a", "b", "d", "nobody"] {
            let plain: Vec<TeamMember> =
                roster.iter().filter(|m| m.name != skip).cloned().collect();
            for e in exprs {
                let t = env.template_from_str(e).unwrap();
                let want = t.render(context! { team => Serde(&plain) }).unwrap();
                let got = t.render(context! { team => team.without(skip) }).unwrap();
                assert_eq!(got, want, "{e} without {skip}");
            }
        }
        let empty = Team::new(&roster[..1]).without("a");
        let t = env
            .template_from_str("{% if team %}some{% else %}none{% endif %} {{ team | length }}")
            .unwrap();
        assert_eq!(t.render(context! { team => empty }).unwrap(), "none 0");
    }
}
