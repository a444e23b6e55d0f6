//! Team files (DESIGN §12) as users meet them on the command line: `check`
//! reports an unknown member with file, line and column and exits 1; `diff`
//! shows a team's changed moderator prompt; the three shipped teams check
//! clean and validate against the committed schema, which is what `cadre
//! schema team` prints.

use crate::fixture::project::repo_root;
use crate::fixture::{Project, cadre};

fn project(members: &[&str], team: &str) -> Project {
    let p = Project::new([46000, 46010], "http://127.0.0.1:9");
    for m in members {
        p.spec(&format!("{m}.toml"), crate::fixture::team::member_toml(m));
    }
    p.put("teams.d/council.toml", team);
    p
}

const COUNCIL: &str = "#:schema ../schemas/team.schema.json\ntitle = \"Council\"\n\
    members = [\"penia\", \"telos\"]\nmode = \"discussion\"\nmoderator = \"numa\"\n";

#[test]
fn check_reports_an_unknown_member_with_file_and_line() {
    let bad = COUNCIL.replace("\"telos\"]", "\"telso\"]");
    let p = project(&["penia", "telos", "numa"], &bad);
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{out:?}");
    let all = out.all();
    let diag = all
        .lines()
        .find(|l| l.contains("teams.d/council.toml:3:") && l.contains("error:"))
        .unwrap_or_else(|| panic!("no error at teams.d/council.toml:3 in:\n{all}"));
    assert!(
        diag.contains("`telso`") && diag.contains("did you mean `telos`"),
        "{diag}"
    );
    // A disabled member is a warning at the same place: switching a
    // specialist off must not break every team it is in, but it is named.
    let p = project(&["penia", "telos", "numa"], COUNCIL);
    let telos = p.dir.join("telos.toml");
    let text = std::fs::read_to_string(&telos).unwrap();
    std::fs::write(&telos, format!("enabled = false\n{text}")).unwrap();
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    let all = out.all();
    assert!(
        all.contains("teams.d/council.toml:3:22: warning: member `telos` is disabled"),
        "{all}"
    );
    // And the good file checks clean, counted as a team.
    let p = project(&["penia", "telos", "numa"], COUNCIL);
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("1 team"), "{out:?}");
}

#[test]
fn diff_shows_a_changed_moderator_prompt() {
    let base = project(&["penia", "telos", "numa", "sophia"], COUNCIL);
    let head = project(
        &["penia", "telos", "numa", "sophia"],
        &COUNCIL.replace("\"numa\"", "\"sophia\""),
    );
    let out: crate::fixture::Out = cadre(&[
        "diff",
        base.root().to_str().unwrap(),
        head.root().to_str().unwrap(),
    ])
    .dir(&head.dir)
    .output()
    .into();
    assert_eq!(out.code, 1, "changes exit 1: {out:?}");
    let text = &out.stdout;
    assert!(text.contains("1 team changed"), "{text}");
    assert!(
        text.contains("~ team council (changed, teams.d/council.toml)"),
        "{text}"
    );
    assert!(text.contains("moderator: \"numa\" → \"sophia\""), "{text}");
    assert!(text.contains("synthesis prompt:"), "{text}");
    assert!(
        text.contains("-You are numa (Numa), the moderator"),
        "{text}"
    );
    assert!(
        text.contains("+You are sophia (Sophia), the moderator"),
        "{text}"
    );

    // The same in JSON, and an edit to the template alone reaches the prompt too.
    let template = head.root().join("templates/team.md.j2");
    let t = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        t.replace("write the team's one answer", "write one answer"),
    )
    .unwrap();
    let out: crate::fixture::Out = cadre(&[
        "diff",
        "--format",
        "json",
        head.root().to_str().unwrap(),
        base.root().to_str().unwrap(),
    ])
    .dir(&head.dir)
    .output()
    .into();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let team = &doc["teams"][0];
    assert_eq!(team["name"], "council", "{doc}");
    assert_eq!(team["prompts"][0]["kind"], "synthesis", "{doc}");
    let diff = team["prompts"][0]["diff"].as_str().unwrap();
    assert!(diff.contains("+You are numa (Numa), the moderator of Council. Its members answered a question; write the team's one answer."), "{diff}");

    // No change: exit 0.
    let out: crate::fixture::Out = cadre(&[
        "diff",
        base.root().to_str().unwrap(),
        base.root().to_str().unwrap(),
    ])
    .dir(&base.dir)
    .output()
    .into();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn shipped_teams_check_and_validate() {
    let dir = repo_root().join("teams.d");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["ask.toml", "council.toml", "everyone.toml"]);

    let schema = std::fs::read_to_string(repo_root().join("schemas/team.schema.json")).unwrap();
    let printed = cadre(&["schema", "team"]).output();
    assert_eq!(
        schema,
        String::from_utf8(printed.stdout).unwrap(),
        "run `cadre schema team > schemas/team.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for n in &names {
        let text = std::fs::read_to_string(dir.join(n)).unwrap();
        assert!(
            text.starts_with("#:schema ../schemas/team.schema.json\n"),
            "{n}"
        );
        let doc = serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{n}: {errors:?}");
    }
    // The schema refuses what cadre refuses: an unknown key, an unknown mode.
    for bad in [
        "title = \"X\"\nmembers = [\"*\"]\nmode = \"broadcast\"\nmoderater = \"numa\"\n",
        "title = \"X\"\nmembers = [\"*\"]\nmode = \"consensus\"\n",
    ] {
        let doc = serde_json::to_value(toml::from_str::<toml::Value>(bad).unwrap()).unwrap();
        assert!(!v.is_valid(&doc), "{bad}");
    }

    let out = cadre(&["check", "--format", "json"])
        .dir(&repo_root().join("specialists.d"))
        .output();
    assert_eq!(out.status.code(), Some(0));
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(
        all.contains("\"teams\": 3") || all.contains("\"teams\":3"),
        "{all}"
    );
}

#[test]
fn new_team_writes_a_starter_that_checks() {
    let p = project(&["penia", "telos", "numa"], COUNCIL);
    let out = p.run(&["new", "--team", "crew"]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = p.root().join("teams.d/crew.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("#:schema ../schemas/team.schema.json\n"),
        "{text}"
    );
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("2 teams"), "{out:?}");
    // Never over an existing file; a bad name is refused.
    let out = p.run(&["new", "--team", "crew"]);
    assert_ne!(out.code, 0);
    assert!(out.all().contains("already exists"), "{out:?}");
    assert_ne!(p.run(&["new", "--team", "Bad Name"]).code, 0);
}
