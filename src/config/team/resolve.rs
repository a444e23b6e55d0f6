//! Drafts against the loaded specialists → [`TeamSpec`]s. A member or
//! moderator that names no specialist file is an error (with a suggestion);
//! one whose file says `enabled = false` is a warning, and at run time it is
//! reported as not ready in every round, never dropped.

use std::collections::BTreeMap;

use super::read::member_problem;
use super::{
    DEFAULT_MEMBER_TIMEOUT, DEFAULT_ROUNDS, DEFAULT_TEAM_TEMPLATE, Draft, TeamMode, TeamSpec,
};
use crate::config::parse::Problem;
use crate::config::{Diagnostic, Spec, SpecialistName, suggest};

/// What the specialists' files say about a name: enabled or not. A file that
/// exists but failed to load counts as enabled (its last good spec may run).
pub struct Roster(BTreeMap<SpecialistName, bool>);

impl Roster {
    pub fn new(specs: &[Spec], failed: &[SpecialistName]) -> Roster {
        let mut m: BTreeMap<SpecialistName, bool> =
            specs.iter().map(|s| (s.name.clone(), s.enabled)).collect();
        for n in failed {
            m.entry(n.clone()).or_insert(true);
        }
        Roster(m)
    }

    fn enabled(&self) -> Vec<SpecialistName> {
        self.0
            .iter()
            .filter(|(_, on)| **on)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Every draft that resolves, with the draft it came from (for locating its
/// later problems); the others' problems go to `diags`.
pub fn all(
    drafts: Vec<Draft>,
    roster: &Roster,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(Draft, TeamSpec)> {
    drafts
        .into_iter()
        .filter_map(|d| one(&d, roster, diags).map(|spec| (d, spec)))
        .collect()
}

fn one(d: &Draft, roster: &Roster, diags: &mut Vec<Diagnostic>) -> Option<TeamSpec> {
    let t = &d.team;
    let mut ok = true;
    let mut problem = |p: Problem, error: bool| {
        let diag = if error {
            ok = false;
            Diagnostic::error(&d.file, None, p)
        } else {
            Diagnostic::warning(&d.file, None, p)
        };
        diags.push(diag.for_team(&d.name));
    };
    let everyone = t.members.iter().any(|m| m == "*");
    let mut members = Vec::new();
    if everyone {
        members = roster.enabled();
    } else {
        for m in &t.members {
            let Ok(name) = SpecialistName::parse(m) else {
                continue;
            };
            match roster.0.get(&name) {
                None => problem(
                    member_problem(&d.src, m, 0, unknown("member", m, roster)),
                    true,
                ),
                Some(false) => problem(member_problem(&d.src, m, 0, disabled("member", m)), false),
                Some(true) => {}
            }
            members.push(name);
        }
    }
    let moderator = t
        .moderator
        .as_deref()
        .and_then(|m| SpecialistName::parse(m).ok());
    if let Some(m) = &moderator {
        match roster.0.get(m) {
            None => problem(
                Problem::at_key(
                    &d.src,
                    "moderator",
                    unknown("moderator", m.as_str(), roster),
                ),
                true,
            ),
            Some(false) => problem(
                Problem::at_key(&d.src, "moderator", disabled("moderator", m.as_str())),
                false,
            ),
            Some(true) => {}
        }
    }
    if !ok {
        return None;
    }
    let synthesis = match t.mode {
        TeamMode::Broadcast => false,
        TeamMode::Discussion => moderator.is_some(),
        TeamMode::Synthesis => true,
        TeamMode::Route => t.synthesis.unwrap_or(false),
    };
    Some(TeamSpec {
        name: d.name.clone(),
        file: d.file.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        mode: t.mode,
        everyone,
        members,
        moderator,
        rounds: match t.mode {
            TeamMode::Discussion => t.rounds.unwrap_or(DEFAULT_ROUNDS),
            _ => 1,
        },
        synthesis,
        member_timeout: t.member_timeout.unwrap_or(DEFAULT_MEMBER_TIMEOUT),
        round_timeout: t.round_timeout,
        template: t
            .template
            .clone()
            .unwrap_or_else(|| DEFAULT_TEAM_TEMPLATE.to_owned()),
        previews: Vec::new(),
        people: Default::default(),
        templates: Default::default(),
        generation: String::new(),
    })
}

fn unknown(what: &str, name: &str, roster: &Roster) -> String {
    let mut msg =
        format!("{what} `{name}` is not a specialist: there is no specialists.d/{name}.toml");
    if let Some(s) = suggest::nearest(name, roster.0.keys().map(SpecialistName::as_str)) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    msg
}

fn disabled(what: &str, name: &str) -> String {
    format!(
        "{what} `{name}` is disabled (`enabled = false` in specialists.d/{name}.toml); \
         every round reports it as not ready"
    )
}
