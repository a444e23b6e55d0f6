//! `[consult]` of a specialist file: which colleagues its model may ask
//! through the `ask_colleague` tool, and how far that may go. The type is
//! the file's and the spec's (nothing to resolve); what is checked here:
//! its own values when the file loads ([`validate`], errors that fail the
//! file), and the names against the team at `check` time ([`check`]), where a
//! colleague that is unknown or disabled is reported with its file and line
//! but never fails the specialist itself (at run time asking it is a tool
//! error the model sees).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::parse::Problem;
use super::{Diagnostic, Loaded, SpecialistName, source, suggest};

/// Every enabled specialist but the asker, in `colleagues`.
pub const EVERYONE: &str = "*";

/// `[consult]`: colleagues this specialist's model may ask before it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consult {
    /// Specialists it may ask, by name; `["*"]` for every other enabled specialist.
    #[serde(default)]
    pub colleagues: Vec<String>,
    /// Remote A2A agents it may ask like colleagues: a name for the model, and the URL of the agent's card (`…/.well-known/agent-card.json`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote: BTreeMap<String, String>,
    /// How deeply consultations may nest: numa asking penia is depth 1, penia then asking telos depth 2 (1-8, default 2).
    #[serde(default = "default_depth")]
    #[schemars(range(min = 1, max = 8))]
    pub max_depth: u8,
    /// The most consultations one chat may cause, its colleagues' own included (1-64, default 4).
    #[serde(default = "default_budget")]
    #[schemars(range(min = 1, max = 64))]
    pub budget: u32,
    /// Time allowed for one remote agent's answer (local colleagues use their own provider timeouts).
    #[serde(default = "default_remote_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub remote_timeout: Duration,
}

fn default_depth() -> u8 {
    2
}
fn default_budget() -> u32 {
    4
}
fn default_remote_timeout() -> Duration {
    Duration::from_secs(120)
}

impl Default for Consult {
    fn default() -> Self {
        Consult {
            colleagues: Vec::new(),
            remote: BTreeMap::new(),
            max_depth: default_depth(),
            budget: default_budget(),
            remote_timeout: default_remote_timeout(),
        }
    }
}

impl Consult {
    /// `colleagues = ["*"]`.
    pub fn everyone(&self) -> bool {
        self.colleagues.iter().any(|c| c == EVERYONE)
    }
}

/// Where `consult.remote.NAME` is written: the key itself, else the
/// `remote = { … }` line, else the table.
fn remote_key(src: &str, name: &str) -> String {
    let own = format!("consult.remote.{name}");
    if source::locate_key(src, &own).is_some() {
        own
    } else if source::locate_key(src, "consult.remote").is_some() {
        "consult.remote".into()
    } else {
        "consult".into()
    }
}

/// The values of `[consult]` of the file at `src`; every problem at once.
pub fn validate(name: &SpecialistName, c: &Consult, src: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |key: &str, msg: String| out.push(Problem::at_key(src, key, msg));
    if !(1..=8).contains(&c.max_depth) {
        bad(
            "consult.max_depth",
            format!("`consult.max_depth` {} is outside 1-8", c.max_depth),
        );
    }
    if !(1..=64).contains(&c.budget) {
        bad(
            "consult.budget",
            format!("`consult.budget` {} is outside 1-64", c.budget),
        );
    }
    if c.remote_timeout.is_zero() {
        bad(
            "consult.remote_timeout",
            "`consult.remote_timeout` must be more than 0s".into(),
        );
    }
    if c.everyone() && c.colleagues.len() > 1 {
        bad(
            "consult.colleagues",
            "`\"*\"` already means every colleague; list names or `[\"*\"]`, not both".into(),
        );
    }
    for n in c.colleagues.iter().filter(|n| *n != EVERYONE) {
        if let Err(e) = SpecialistName::parse(n) {
            bad(
                "consult.colleagues",
                format!("in `consult.colleagues`: {e}"),
            );
        } else if n == name.as_str() {
            bad(
                "consult.colleagues",
                format!("`{n}` cannot consult itself (in `consult.colleagues`)"),
            );
        }
    }
    for (n, url) in &c.remote {
        let key = remote_key(src, n);
        if let Err(e) = SpecialistName::parse(n) {
            bad(&key, format!("remote agent: {e}"));
        } else if c.colleagues.iter().any(|l| l == n) {
            bad(
                &key,
                format!(
                    "`{n}` is both a colleague and a remote agent; give the remote one another name"
                ),
            );
        }
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => bad(
                &key,
                format!("remote agent `{n}`: `{url}` is not an http(s) URL of an agent card"),
            ),
        }
    }
    out
}

/// `check`: every named colleague against the team. Unknown is an error
/// (a typo; with a did-you-mean), disabled a warning (on purpose, maybe,
/// but the model is offered someone who never answers).
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let enabled: BTreeMap<&str, bool> = loaded
        .specs
        .iter()
        .map(|s| (s.name.as_str(), s.enabled))
        .collect();
    let mut out = Vec::new();
    for spec in &loaded.specs {
        let Some(c) = &spec.consult else { continue };
        let named: Vec<&String> = c.colleagues.iter().filter(|n| *n != EVERYONE).collect();
        if named.is_empty() {
            continue;
        }
        let src = std::fs::read_to_string(&spec.file).unwrap_or_default();
        for n in named {
            let problem = match enabled.get(n.as_str()) {
                Some(true) => continue,
                Some(false) => Diagnostic::warning(
                    &spec.file,
                    Some(&spec.name),
                    Problem::at_key(
                        &src,
                        "consult.colleagues",
                        format!(
                            "colleague `{n}` is disabled (`enabled = false`): asking it will fail"
                        ),
                    ),
                ),
                None => {
                    let mut msg = format!("unknown colleague `{n}`: no specialists.d/{n}.toml");
                    if let Some(s) = suggest::nearest(n, enabled.keys().copied()) {
                        msg.push_str(&format!("; did you mean `{s}`?"));
                    }
                    Diagnostic::error(
                        &spec.file,
                        Some(&spec.name),
                        Problem::at_key(&src, "consult.colleagues", msg),
                    )
                }
            };
            out.push(problem);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SpecialistName {
        SpecialistName::parse(s).unwrap()
    }

    fn parse(toml_src: &str) -> Consult {
        #[derive(Deserialize)]
        struct F {
            consult: Consult,
        }
        toml::from_str::<F>(toml_src).unwrap().consult
    }

    #[test]
    fn defaults() {
        let c = parse("[consult]\ncolleagues = [\"penia\"]\n");
        assert_eq!((c.max_depth, c.budget), (2, 4));
        assert_eq!(c.remote_timeout, Duration::from_secs(120));
        assert!(!c.everyone());
        assert!(parse("[consult]\ncolleagues = [\"*\"]\n").everyone());
    }

    #[test]
    fn bad_values_are_located() {
        let src = "title = \"x\"\n[consult]\ncolleagues = [\"*\", \"Bad\", \"numa\"]\nmax_depth = 0\n\
                   budget = 100\nremote = { scout = \"ftp://x\", numa2 = \"http://127.0.0.1:9/card\" }\n";
        let c = parse(src);
        let p = validate(&name("numa"), &c, src);
        let msgs: Vec<String> = p
            .iter()
            .map(|p| format!("{}:{}", p.line, p.message))
            .collect();
        assert_eq!(p.len(), 6, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("4:") && msgs[0].contains("max_depth"),
            "{msgs:?}"
        );
        assert!(
            msgs[1].starts_with("5:") && msgs[1].contains("budget"),
            "{msgs:?}"
        );
        assert!(
            msgs[2].starts_with("3:") && msgs[2].contains("not both"),
            "{msgs:?}"
        );
        assert!(
            msgs[3].contains("invalid specialist name `Bad`"),
            "{msgs:?}"
        );
        assert!(msgs[4].contains("cannot consult itself"), "{msgs:?}");
        assert!(
            msgs[5].starts_with("6:") && msgs[5].contains("`scout`"),
            "{msgs:?}"
        );
        let src = "[consult.remote]\nscout = \"ftp://x\"\n";
        let p = validate(&name("numa"), &parse(src), src);
        assert_eq!((p.len(), p[0].line), (1, 2), "{p:?}");
        assert!(p[0].message.contains("not an http(s) URL"), "{p:?}");
    }
}
