//! Teams in a load: checked against the specialists, `["*"]` expanded,
//! their prompts rendered, and every problem a located diagnostic
//! attributed to its team.

use super::*;
use crate::config::Severity;
use crate::config::team::{PromptKind, TeamMode};

fn project(teams: &[(&str, &str)]) -> (tempfile::TempDir, ProjectPaths) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("specialists.d")).unwrap();
    std::fs::create_dir_all(root.join("teams.d")).unwrap();
    for (n, enabled) in [
        ("penia", true),
        ("telos", true),
        ("numa", true),
        ("off", false),
    ] {
        let text = format!(
            "component = \"{n}\"\ntitle = \"{n} title\"\nenabled = {enabled}\n[personality]\nrole = \"{n} role\"\n"
        );
        std::fs::write(root.join(format!("specialists.d/{n}.toml")), text).unwrap();
    }
    for (n, text) in teams {
        std::fs::write(root.join(format!("teams.d/{n}.toml")), text).unwrap();
    }
    let paths = ProjectPaths::from_specialists_dir(&root.join("specialists.d"));
    (dir, paths)
}

fn lines(l: &Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .map(|d| {
            let file = d.file.file_name().unwrap().to_string_lossy().into_owned();
            format!("{file}:{}: {:?}: {}", d.line, d.severity, d.message)
        })
        .collect()
}

const COUNCIL: &str = "title = \"Council\"\nmembers = [\"penia\", \"telos\"]\nmode = \"discussion\"\nmoderator = \"numa\"\n";

#[test]
fn a_valid_team_resolves_with_its_prompts() {
    let (_d, paths) = project(&[
        ("council", COUNCIL),
        ("all", "title = \"All\"\nmembers = [\"*\"]\n"),
    ]);
    let l = load(&paths);
    assert!(l.diagnostics.is_empty(), "{:?}", lines(&l));
    let names: Vec<&str> = l.teams.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["all", "council"]);
    let all = &l.teams[0];
    assert!(all.everyone);
    let members: Vec<&str> = all.members.iter().map(|m| m.as_str()).collect();
    assert_eq!(members, ["numa", "penia", "telos"], "enabled only, by name");
    assert!(
        all.previews.is_empty(),
        "a broadcast has no prompt of its own"
    );
    let council = &l.teams[1];
    assert_eq!(
        (council.mode, council.rounds, council.synthesis),
        (TeamMode::Discussion, 2, true)
    );
    let kinds: Vec<PromptKind> = council.previews.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PromptKind::Round, PromptKind::Synthesis]);
    let round = &council.previews[0].text;
    assert!(
        round.contains("## telos (telos title)\n<telos's answer>"),
        "{round}"
    );
    assert!(
        !round.contains("<penia's answer>"),
        "a member never reads its own answer: {round}"
    );
    let synthesis = &council.previews[1].text;
    assert!(
        synthesis.contains("## penia (penia title)")
            && synthesis.contains("## telos (telos title)"),
        "{synthesis}"
    );
    assert_eq!(council.generation.len(), 16);
}

#[test]
fn unknown_members_are_errors_disabled_ones_warnings() {
    let text = "title = \"C\"\nmembers = [\n  \"penia\",\n  \"peni\",\n  \"off\",\n]\nmode = \"synthesis\"\nmoderator = \"numo\"\n";
    let (_d, paths) = project(&[("council", text)]);
    let l = load(&paths);
    assert_eq!(
        lines(&l),
        [
            "council.toml:4: Error: member `peni` is not a specialist: there is no specialists.d/peni.toml; did you mean `penia`?",
            "council.toml:5: Warning: member `off` is disabled (`enabled = false` in specialists.d/off.toml); every round reports it as not ready",
            "council.toml:8: Error: moderator `numo` is not a specialist: there is no specialists.d/numo.toml; did you mean `numa`?",
        ]
    );
    assert!(l.teams.is_empty());
    assert!(
        l.diagnostics
            .iter()
            .all(|d| d.team.as_ref().is_some_and(|t| t.as_str() == "council"))
    );
    assert_eq!(l.failed_teams().len(), 1);
    assert!(
        l.failed_names().is_empty(),
        "no specialist is broken by a team"
    );
}

#[test]
fn a_template_error_breaks_the_team_at_the_template_line() {
    let (d, paths) = project(&[("council", COUNCIL)]);
    std::fs::create_dir_all(&paths.templates).unwrap();
    std::fs::write(
        paths.templates.join("team.md.j2"),
        "ok\n{{ question }} {{ team.titel }}\n",
    )
    .unwrap();
    let l = load(&paths);
    let errors: Vec<_> = l.errors().collect();
    assert_eq!(errors.len(), 1, "{:?}", lines(&l));
    let e = errors[0];
    assert_eq!(e.file, paths.templates.join("team.md.j2"));
    assert_eq!((e.line, e.severity), (2, Severity::Error));
    assert!(
        e.message
            .contains("rendering the round prompt of team `council`"),
        "{}",
        e.message
    );
    assert_eq!(e.team.as_ref().map(|t| t.as_str()), Some("council"));
    assert!(l.teams.is_empty());
    // The specialists' prompts do not use it: they still load.
    assert_eq!(l.specs.len(), 4);
    drop(d);
}

#[test]
fn a_bad_file_name_and_broken_toml_are_located() {
    let (_d, paths) = project(&[
        ("Bad Name", COUNCIL),
        ("x", "title = \"X\"\nmembrs = [\"penia\"]\n"),
    ]);
    let l = load(&paths);
    let got = lines(&l);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("Bad Name.toml:1: Error: invalid team name `Bad Name`"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("x.toml:2: Error: unknown key `membrs`, did you mean `members`?"),
        "{got:?}"
    );
    assert!(l.diagnostics[0].team.is_none(), "a file that names no team");
}
