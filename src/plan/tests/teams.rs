//! Teams through the real plan, as the daemon feeds it: a table of one team
//! file's life (added, kept, edited, broken, fixed, deleted) against the
//! version held, and the marks and notices each step leaves.

use std::time::Duration;

use super::*;
use crate::config::team::{Preview, PromptKind, TeamMode, TeamSpec, Templates};
use crate::config::{Diagnostic, TeamName};
use crate::prompt::TemplateSources;

fn team(n: &str, members: &[&str]) -> TeamSpec {
    TeamSpec {
        name: TeamName::parse(n).unwrap(),
        file: PathBuf::from(format!("teams.d/{n}.toml")),
        title: "T".into(),
        description: String::new(),
        mode: TeamMode::Discussion,
        everyone: false,
        members: members.iter().map(|m| name(m)).collect(),
        moderator: Some(name("numa")),
        rounds: 2,
        synthesis: true,
        member_timeout: Duration::from_secs(120),
        round_timeout: None,
        template: "team.md.j2".into(),
        previews: vec![Preview {
            kind: PromptKind::Synthesis,
            text: "sum up".into(),
        }],
        people: Default::default(),
        templates: Templates::default(),
        generation: "g".into(),
    }
}

fn tname(s: &str) -> TeamName {
    TeamName::parse(s).unwrap()
}

/// Teams `valid` loaded, the files of `broken` failing, nothing else.
fn loaded_teams(valid: &[&TeamSpec], broken: &[&str]) -> Loaded {
    let mut l = loaded(&[], &[]);
    l.teams = valid.iter().map(|t| (*t).clone()).collect();
    for b in broken {
        let file = PathBuf::from(format!("teams.d/{b}.toml"));
        let p = crate::config::parse::Problem::at(None, None, "broken".into());
        l.diagnostics
            .push(Diagnostic::error(&file, None, p).for_team(&tname(b)));
    }
    l
}

fn held(teams: &[&TeamSpec]) -> Actual {
    let mut a = Actual::default();
    for t in teams {
        a.teams.insert(t.name.clone(), Arc::new((*t).clone()));
    }
    a
}

fn steps(p: &Plan) -> Vec<String> {
    p.teams.iter().map(ToString::to_string).collect()
}

fn team_mark<'a>(p: &'a Plan, n: &str) -> Option<&'a str> {
    p.config_errors.get(&Subject::Team(tname(n)))
}

#[test]
fn a_team_files_life() {
    let council = team("council", &["penia", "telos"]);
    let edited = team("council", &["penia", "telos", "metis"]);
    let mut remoded = council.clone();
    remoded.mode = TeamMode::Synthesis;
    remoded.rounds = 1;
    let table: Vec<(&str, Loaded, Actual, Vec<&str>)> = vec![
        (
            "new file",
            loaded_teams(&[&council], &[]),
            held(&[]),
            vec!["add team council"],
        ),
        (
            "unchanged",
            loaded_teams(&[&council], &[]),
            held(&[&council]),
            vec!["keep team council"],
        ),
        (
            "members edited",
            loaded_teams(&[&edited], &[]),
            held(&[&council]),
            vec!["change team council (members)"],
        ),
        (
            "mode edited",
            loaded_teams(&[&remoded], &[]),
            held(&[&council]),
            vec!["change team council (mode, rounds)"],
        ),
        (
            "broken, held",
            loaded_teams(&[], &["council"]),
            held(&[&council]),
            vec!["keep team council"],
        ),
        (
            "broken, new",
            loaded_teams(&[], &["council"]),
            held(&[]),
            vec![],
        ),
        (
            "deleted",
            loaded_teams(&[], &[]),
            held(&[&council]),
            vec!["remove team council"],
        ),
    ];
    for (case, loaded, actual, want) in table {
        let p = crate::plan::plan(&loaded, &actual, &Operator::default());
        assert_eq!(steps(&p), want, "{case}");
    }
}

#[test]
fn a_broken_team_keeps_its_last_good_version_and_is_marked() {
    let council = team("council", &["penia", "telos"]);
    let p = crate::plan::plan(
        &loaded_teams(&[], &["council"]),
        &held(&[&council]),
        &Operator::default(),
    );
    let keep = &p.teams[0];
    assert_eq!(
        keep.spec.as_deref(),
        Some(&council),
        "the held version stays"
    );
    assert_eq!(
        team_mark(&p, "council"),
        Some("teams.d/council.toml:1: broken")
    );
    assert!(p.config_errors.of_specialist(&name("penia")).is_none());
    assert_eq!(
        p.notices,
        vec![Notice::ConfigError {
            subject: Subject::Team(tname("council")),
            message: "teams.d/council.toml:1: broken".into(),
            effect: Effect::KeepsServing,
        }]
    );
    // A broken new file starts nothing and says so.
    let p = crate::plan::plan(
        &loaded_teams(&[], &["council"]),
        &held(&[]),
        &Operator::default(),
    );
    assert!(matches!(
        p.notices.as_slice(),
        [Notice::ConfigError {
            effect: Effect::NotStarted,
            ..
        }]
    ));
    // Fixed: the file's version again, and the mark clears with a notice.
    let mut before = held(&[&council]);
    before.marks = p.config_errors.clone();
    before.marks.set(
        Subject::Team(tname("council")),
        "teams.d/council.toml:1: broken".into(),
    );
    let fixed = team("council", &["penia"]);
    let p = crate::plan::plan(&loaded_teams(&[&fixed], &[]), &before, &Operator::default());
    assert_eq!(steps(&p), ["change team council (members)"]);
    assert_eq!(p.teams[0].spec.as_deref(), Some(&fixed));
    assert_eq!(
        p.notices,
        vec![Notice::ConfigOk {
            subject: Subject::Team(tname("council"))
        }]
    );
}

#[test]
fn a_broken_project_holds_every_team() {
    let council = team("council", &["penia"]);
    let mut l = loaded_teams(&[], &[]);
    l.project_ok = false;
    let p = crate::plan::plan(&l, &held(&[&council]), &Operator::default());
    assert_eq!(steps(&p), ["keep team council"]);
    assert_eq!(p.teams[0].spec.as_deref(), Some(&council));
}

#[test]
fn a_template_snapshot_the_team_does_not_show_is_a_quiet_swap() {
    let council = team("council", &["penia"]);
    let mut newer = council.clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.j2"), "x").unwrap();
    newer.templates = Templates(Arc::new(TemplateSources::read(dir.path())));
    assert_ne!(newer, council);
    let p = crate::plan::plan(
        &loaded_teams(&[&newer], &[]),
        &held(&[&council]),
        &Operator::default(),
    );
    assert_eq!(steps(&p), ["keep team council"]);
    assert_eq!(p.teams[0].spec.as_deref(), Some(&newer), "held from now on");
    assert!(p.team_changes().next().is_none());
}

#[test]
fn an_unlisted_teams_dir_keeps_every_team_held() {
    let council = team("council", &["penia"]);
    let mut l = loaded_teams(&[], &[]);
    l.teams_unlisted = true;
    let plan = crate::plan::plan(&l, &held(&[&council]), &Operator::default());
    assert_eq!(plan.teams.len(), 1);
    assert_eq!(plan.teams[0].kind, TeamActionKind::Keep);
    assert_eq!(plan.teams[0].spec.as_deref(), Some(&council));
}
