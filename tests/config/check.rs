//! `cadre check`, `render` and `new` run as users run them: the real binary
//! against temp project directories, asserting file, line and key in every
//! diagnostic and the exit code.

use std::path::PathBuf;

use proptest::prelude::*;

use crate::fixture::{Out, Project, cadre};

const GOOD: &str =
    "component = \"alpha\"\ntitle = \"Alpha\"\nport = 45100\n\n[personality]\nrole = \"tester\"\n";

/// Exit 1, and a diagnostic line `…file:line:col: error: …` mentioning every `needle`.
fn assert_error(out: &Out, file: &str, line: usize, needles: &[&str]) {
    assert_eq!(out.code, 1, "{out:?}");
    let all = out.all();
    let prefix = format!("{file}:{line}:");
    let diag = all
        .lines()
        .find(|l| l.contains(&prefix) && l.contains("error:"))
        .unwrap_or_else(|| panic!("no error at {prefix} in:\n{all}"));
    for n in needles {
        assert!(diag.contains(n), "`{n}` missing from `{diag}`\n{all}");
    }
}

fn shipped_dir() -> PathBuf {
    crate::fixture::project::repo_root().join("specialists.d")
}

#[test]
fn shipped_team_checks_clean() {
    let out = cadre(&["check"]).dir(&shipped_dir()).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("18 specialists, 3 teams, 0 errors"),
        "{stdout}"
    );
}

#[test]
fn render_numa_names_its_role_and_the_other_17() {
    let out = cadre(&["render", "numa"]).dir(&shipped_dir()).output();
    assert_eq!(out.status.code(), Some(0));
    let prompt = String::from_utf8_lossy(&out.stdout);
    assert!(
        prompt.contains("companion and guide to the team"),
        "{prompt}"
    );
    let others = [
        "engram",
        "hermes",
        "ergon",
        "rhetor",
        "terma",
        "athena",
        "prometheus",
        "harmonia",
        "telos",
        "synthesis",
        "tekton-core",
        "metis",
        "apollo",
        "penia",
        "sophia",
        "noesis",
        "hephaestus",
    ];
    for o in others {
        assert!(
            prompt.contains(&format!("- {o}: ")),
            "{o} missing:\n{prompt}"
        );
    }
    assert!(!prompt.contains("- numa: "), "numa lists itself:\n{prompt}");
}

#[test]
fn toml_syntax_error() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        "component = \"alpha\"\ntitle = \"Alpha\"\nport = = 3\n",
    );
    assert_error(&p.run(&["check"]), "alpha.toml", 3, &["syntax", "port"]);
}

#[test]
fn unknown_key_suggests_the_nearest() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        "component = \"alpha\"\ntitle = \"Alpha\"\nport = 45100\n\nmodle = \"x\"\n",
    );
    let out = p.run(&["check"]);
    assert_error(
        &out,
        "alpha.toml",
        5,
        &["unknown key `modle`", "did you mean `model`?"],
    );
}

#[test]
fn unknown_nested_key() {
    let p = Project::bare();
    p.spec("alpha.toml", format!("{GOOD}rol = \"x\"\n"));
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        7,
        &["`personality.rol`", "did you mean `role`?"],
    );
}

#[test]
fn wrong_type_shows_source_and_caret() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        "component = \"alpha\"\ntitle = \"Alpha\"\nport = \"x\"\n",
    );
    let out = p.run(&["check"]);
    assert_error(&out, "alpha.toml", 3, &["`port`", "invalid type"]);
    assert!(
        out.stderr.contains("3 | port = \"x\"\n  |        ^"),
        "{}",
        out.stderr
    );
}

#[test]
fn port_outside_range() {
    let p = Project::bare();
    p.put("cadre.toml", "[ports]\nrange = [46000, 46010]\n");
    p.spec("alpha.toml", GOOD);
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        3,
        &["`port` 45100", "46000-46010"],
    );
}

#[test]
fn two_files_on_one_port_both_named() {
    let p = Project::bare();
    p.spec("alpha.toml", GOOD);
    p.spec(
        "beta.toml",
        "component = \"beta\"\ntitle = \"Beta\"\n\nport = 45100\n",
    );
    let out = p.run(&["check"]);
    assert_error(
        &out,
        "alpha.toml",
        3,
        &["port 45100", "alpha.toml:3", "beta.toml:4"],
    );
    assert!(
        out.stdout.contains("0 specialists, 1 error"),
        "{}",
        out.stdout
    );
}

#[test]
fn unknown_provider() {
    let p = Project::bare();
    p.spec("alpha.toml", format!("provider = \"olama\"\n{GOOD}"));
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        1,
        &["unknown provider `olama`", "did you mean `ollama`?"],
    );
}

#[test]
fn provider_from_cadre_toml_resolves() {
    let p = Project::bare();
    p.put(
        "cadre.toml",
        "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1\"\n",
    );
    p.spec("alpha.toml", format!("provider = \"local\"\n{GOOD}"));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn invalid_file_name() {
    let p = Project::bare();
    p.spec("Bad Name.toml", GOOD);
    assert_error(
        &p.run(&["check"]),
        "Bad Name.toml",
        1,
        &["invalid specialist name `Bad Name`"],
    );
}

#[test]
fn undefined_template_variable_names_template_and_variable() {
    let p = Project::bare();
    p.put(
        "templates/specialist.md.j2",
        "You are {{ specialist.title }}.\nRole: {{ specialist.personality.rol }}\n",
    );
    p.spec("alpha.toml", GOOD);
    let out = p.run(&["check"]);
    assert_error(
        &out,
        "specialist.md.j2",
        2,
        &["specialist.personality.rol", "specialist.md.j2", "alpha"],
    );
}

#[test]
fn template_syntax_error() {
    let p = Project::bare();
    p.put("templates/mine.j2", "Hello\n{{ specialist.title +* }}\n");
    p.spec("alpha.toml", format!("template = \"mine.j2\"\n{GOOD}"));
    let out = p.run(&["check"]);
    assert_error(
        &out,
        "templates/mine.j2",
        2,
        &[
            "syntax error",
            "template `mine.j2` line 2",
            "rendering `alpha`",
        ],
    );
    assert!(out.stderr.contains("mine.j2:2:22:"), "{}", out.stderr);
}

#[test]
fn missing_template() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        GOOD.replacen(
            "port = 45100\n",
            "port = 45100\ntemplate = \"nope.j2\"\n",
            1,
        ),
    );
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        4,
        &["template `nope.j2` not found"],
    );
}

#[test]
fn empty_file() {
    let p = Project::bare();
    p.spec("alpha.toml", "");
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        1,
        &["empty", "`component`"],
    );
}

#[test]
fn utf8_garbage() {
    let p = Project::bare();
    p.spec("alpha.toml", "☃☃ ünïcödé garbage ☃\n");
    assert_error(&p.run(&["check"]), "alpha.toml", 1, &["syntax"]);
}

#[test]
fn non_utf8_file() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        b"component = \"alpha\"\ntitle = \"\xff\xfe\"\n",
    );
    assert_error(
        &p.run(&["check"]),
        "alpha.toml",
        2,
        &["not valid UTF-8", "title"],
    );
}

#[test]
fn broken_cadre_toml() {
    let p = Project::bare();
    p.put("cadre.toml", "[defaults]\nmodle = \"x\"\n");
    p.spec("alpha.toml", GOOD);
    assert_error(
        &p.run(&["check"]),
        "cadre.toml",
        2,
        &["`defaults.modle`", "did you mean `model`?"],
    );
}

#[test]
fn every_problem_at_once() {
    let p = Project::bare();
    p.spec("alpha.toml", GOOD);
    p.spec("beta.toml", "port = \"x\"\n");
    p.spec("gamma.toml", "");
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("1 specialist, 2 errors"),
        "{}",
        out.stdout
    );
}

#[test]
fn editor_leftovers_are_ignored() {
    let p = Project::bare();
    p.spec("numa.toml", GOOD);
    for junk in [
        ".numa.toml.swp",
        "numa.toml~",
        ".hidden.toml",
        "#numa.toml#",
        "numa.toml.tmp",
        "notes.txt",
    ] {
        p.spec(junk, "garbage = = =");
    }
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("1 specialist, 0 errors, 0 warnings"),
        "{}",
        out.stdout
    );
}

#[test]
fn github_and_json_formats() {
    let p = Project::bare();
    p.spec(
        "alpha.toml",
        "component = \"alpha\"\ntitle = \"Alpha\"\nport = \"x\"\n",
    );
    let gh = p.run(&["check", "--format", "github"]);
    assert_eq!(gh.code, 1);
    assert!(
        gh.stdout
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("alpha.toml,line=3,col=8")),
        "{}",
        gh.stdout
    );
    let js = p.run(&["check", "--json"]);
    assert_eq!(js.code, 1);
    let v: serde_json::Value = serde_json::from_str(&js.stdout).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["diagnostics"][0]["line"], 3);
    assert_eq!(v["diagnostics"][0]["key"], "port");
    assert_eq!(v["diagnostics"][0]["specialist"], "alpha");
}

#[test]
fn unset_api_key_env_is_a_warning() {
    let p = Project::bare();
    p.put(
        "cadre.toml",
        "[providers.cloud]\nkind = \"openai\"\napi_key_env = \"CADRE_TEST_SURELY_UNSET_KEY\"\n",
    );
    p.spec("alpha.toml", format!("provider = \"cloud\"\n{GOOD}"));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("cadre.toml:3:1: warning:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("CADRE_TEST_SURELY_UNSET_KEY"));
    assert!(
        out.stdout.contains("1 specialist, 0 errors, 1 warning"),
        "{}",
        out.stdout
    );
}

#[test]
fn new_writes_a_file_that_passes_check() {
    let p = Project::bare();
    let out = p.run(&["new", "scribe", "--component", "docs"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(p.specialists().join("scribe.toml")).unwrap();
    assert!(text.starts_with("#:schema ../schemas/specialist.schema.json\n"));
    assert!(text.contains("component = \"docs\""));
    let check = p.run(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert_eq!(
        p.run(&["new", "scribe"]).code,
        1,
        "overwrote an existing file"
    );
    assert_ne!(p.run(&["new", "Bad Name"]).code, 0);
}

#[test]
fn render_reports_a_broken_specialist() {
    let p = Project::bare();
    p.spec("alpha.toml", "port = \"x\"\n");
    let out = p.run(&["render", "alpha"]);
    assert_error(&out, "alpha.toml", 1, &["`port`"]);
    assert_eq!(p.run(&["render", "nobody"]).code, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever bytes a file holds, loading gives a spec or a diagnostic for it, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), prefix in any::<bool>()) {
        let p = Project::bare();
        let mut contents = if prefix { GOOD.as_bytes().to_vec() } else { Vec::new() };
        contents.extend(&bytes);
        p.spec("alpha.toml", &contents);
        let loaded = cadre::desired::load(&cadre::config::ProjectPaths::from_specialists_dir(&p.specialists()));
        let name = cadre::config::SpecialistName::parse("alpha").unwrap();
        let has_spec = loaded.specs.iter().any(|s| s.name == name);
        let has_error = loaded.errors().any(|d| d.specialist.as_ref() == Some(&name));
        prop_assert!(has_spec != has_error, "spec {has_spec}, error {has_error}: {:?}", loaded.diagnostics);
    }
}
