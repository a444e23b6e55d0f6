//! `teams.d/*.toml` → [`Draft`]s: each file parsed and checked against the
//! rules it can be checked against alone. What depends on the specialists
//! (do the members exist?) is [`super::resolve`]'s.

use std::path::{Path, PathBuf};

use super::{MAX_ROUNDS, TeamFile, TeamMode};
use crate::config::parse::{self, Problem};
use crate::config::{Diagnostic, SpecialistName, TeamName, files};

/// A team file that parsed and passed the checks of [`check`].
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: TeamName,
    pub file: PathBuf,
    /// The file's text, for locating keys in diagnostics.
    pub src: String,
    pub team: TeamFile,
}

/// Every team file of `dir`, sorted by name; a missing `teams.d` is no
/// teams, one that cannot be listed is `None` (and a diagnostic).
pub fn read_all(dir: &Path, diags: &mut Vec<Diagnostic>) -> Option<Vec<Draft>> {
    if !dir.exists() {
        return Some(Vec::new());
    }
    let mut found = Vec::new();
    let paths = files::config_files(dir, "teams", diags)?;
    for path in paths {
        if let Some(d) = read(&path, diags) {
            found.push(d);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Some(found)
}

/// One team file; its problems go to `diags`.
pub fn read(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<Draft> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = match TeamName::parse(stem) {
        Ok(n) => n,
        Err(e) => {
            let p = Problem::at(
                None,
                Some("name".into()),
                format!("{e} (the file name is the team's name)"),
            );
            diags.push(Diagnostic::error(path, None, p));
            return None;
        }
    };
    let error = |p: Problem| Diagnostic::error(path, None, p).for_team(&name);
    let src = match files::read_text(path) {
        Ok(s) => s,
        Err(p) => {
            diags.push(error(p));
            return None;
        }
    };
    let team: TeamFile = match parse::toml(&src) {
        Ok(t) => t,
        Err(p) => {
            diags.push(error(p));
            return None;
        }
    };
    let problems = check(&src, &team);
    let ok = problems.is_empty();
    diags.extend(problems.into_iter().map(error));
    ok.then(|| Draft {
        name,
        file: path.to_path_buf(),
        src,
        team,
    })
}

/// The rules one file can be checked against alone.
pub fn check(src: &str, t: &TeamFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let at = |key: &str, msg: String| Problem::at_key(src, key, msg);
    members(src, t, &mut out);
    let mode = t.mode;
    let needs_moderator = matches!(mode, TeamMode::Synthesis | TeamMode::Route);
    match &t.moderator {
        None if needs_moderator => out.push(at(
            "mode",
            format!(
                "mode \"{mode}\" needs a `moderator`: the specialist who {}",
                {
                    if mode == TeamMode::Route {
                        "picks which members answer"
                    } else {
                        "writes the synthesis"
                    }
                }
            ),
        )),
        Some(_) if mode == TeamMode::Broadcast => out.push(at(
            "moderator",
            "a broadcast has no moderator; for a moderator's summary use mode = \"synthesis\""
                .into(),
        )),
        Some(m) => {
            if let Err(e) = SpecialistName::parse(m) {
                out.push(at("moderator", format!("`moderator`: {e}")));
            }
        }
        None => {}
    }
    if let Some(n) = t.rounds {
        if mode != TeamMode::Discussion {
            out.push(at(
                "rounds",
                format!("`rounds` is for mode = \"discussion\"; a {mode} has one round"),
            ));
        } else if !(1..=MAX_ROUNDS).contains(&n) {
            out.push(at(
                "rounds",
                format!("`rounds` must be 1 to {MAX_ROUNDS}, got {n}"),
            ));
        }
    }
    if t.synthesis.is_some() && mode != TeamMode::Route {
        let why = match mode {
            TeamMode::Discussion => {
                "a discussion closes with a synthesis when it has a `moderator`"
            }
            TeamMode::Synthesis => "a synthesis team always has one",
            _ => "a broadcast has none",
        };
        out.push(at(
            "synthesis",
            format!("`synthesis` is for mode = \"route\": {why}"),
        ));
    }
    for (key, d) in [
        ("member_timeout", t.member_timeout),
        ("round_timeout", t.round_timeout),
    ] {
        if d.is_some_and(|d| d.is_zero()) {
            out.push(at(key, format!("`{key}` must be longer than 0s")));
        }
    }
    out
}

/// `members`: `["*"]` alone, or distinct specialist names.
fn members(src: &str, t: &TeamFile, out: &mut Vec<Problem>) {
    let at = |msg: String| Problem::at_key(src, "members", msg);
    if t.members.is_empty() {
        out.push(at(
            "`members` is empty: name specialists, or [\"*\"] for every enabled one".into(),
        ));
        return;
    }
    if t.members.iter().any(|m| m == "*") {
        if t.members.len() > 1 {
            out.push(at(
                "`members`: \"*\" (every enabled specialist) stands alone, without names".into(),
            ));
        }
        return;
    }
    let mut seen = std::collections::BTreeSet::new();
    for m in &t.members {
        if let Err(e) = SpecialistName::parse(m) {
            out.push(member_problem(src, m, 0, format!("`members`: {e}")));
        } else if !seen.insert(m.as_str()) {
            let msg = format!("`members` names `{m}` twice");
            out.push(member_problem(src, m, 1, msg));
        }
    }
}

/// A problem about member `name`, at the line that names it for the
/// `nth` time (0: the first), else at `members`.
pub fn member_problem(src: &str, name: &str, nth: usize, message: String) -> Problem {
    match member_position(src, name, nth) {
        Some(pos) => Problem::at(Some(pos), Some("members".into()), message),
        None => Problem::at_key(src, "members", message),
    }
}

/// Where `"name"` is written (the `nth` time) in the `members` array.
fn member_position(src: &str, name: &str, nth: usize) -> Option<crate::config::source::Position> {
    let key = crate::config::source::locate_key(src, "members")?;
    let start: usize = src
        .split_inclusive('\n')
        .take(key.line - 1)
        .map(str::len)
        .sum();
    let rest = &src[start..];
    let array = &rest[..rest.find(']').map_or(rest.len(), |i| i + 1)];
    let mut hits: Vec<usize> = [format!("\"{name}\""), format!("'{name}'")]
        .iter()
        .flat_map(|q| array.match_indices(q.as_str()).map(|(i, _)| i))
        .collect();
    hits.sort_unstable();
    let at = *hits.get(nth)?;
    Some(crate::config::source::position(src, start + at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(toml: &str) -> Vec<String> {
        let t: TeamFile = parse::toml(toml).unwrap();
        check(toml, &t)
            .into_iter()
            .map(|p| format!("{}: {}", p.line, p.message))
            .collect()
    }

    #[test]
    fn mode_rules() {
        assert!(problems("title = \"t\"\nmembers = [\"*\"]\n").is_empty());
        let p = problems("title = \"t\"\nmembers = [\"a\"]\nmode = \"synthesis\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("3: mode \"synthesis\" needs a `moderator`"),
            "{p:?}"
        );
        let p = problems("title = \"t\"\nmembers = [\"a\"]\nmoderator = \"b\"\n");
        assert!(p[0].starts_with("3: a broadcast has no moderator"), "{p:?}");
        let p = problems("title = \"t\"\nmembers = [\"a\"]\nmode = \"discussion\"\nrounds = 6\n");
        assert_eq!(p, ["4: `rounds` must be 1 to 5, got 6"]);
        let p = problems("title = \"t\"\nmembers = [\"a\"]\nrounds = 2\n");
        assert!(
            p[0].starts_with("3: `rounds` is for mode = \"discussion\""),
            "{p:?}"
        );
        let p = problems(
            "title = \"t\"\nmembers = [\"a\"]\nmode = \"route\"\nmoderator = \"n\"\nsynthesis = true\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let p = problems("title = \"t\"\nmembers = [\"a\"]\nmember_timeout = \"0s\"\n");
        assert_eq!(p, ["3: `member_timeout` must be longer than 0s"]);
    }

    #[test]
    fn member_rules_point_at_the_member() {
        let src = "title = \"t\"\nmembers = [\n  \"a\",\n  \"Bad\",\n  \"a\",\n]\n";
        let p = problems(src);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("4: `members`: invalid specialist name `Bad`"),
            "{p:?}"
        );
        assert_eq!(p[1], "5: `members` names `a` twice");
        let p = problems("title = \"t\"\nmembers = [\"*\", \"a\"]\n");
        assert!(p[0].contains("stands alone"), "{p:?}");
        let p = problems("title = \"t\"\nmembers = []\n");
        assert!(p[0].contains("`members` is empty"), "{p:?}");
    }
}
