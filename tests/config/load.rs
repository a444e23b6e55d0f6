//! `config::load` as the daemon uses it: resolved specs, last-good
//! attribution of failures, and a generation that changes iff behaviour does.

use std::path::Path;
use std::time::Duration;

use cadre::config::{Loaded, ProjectPaths, ProviderKind, SpecialistName};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn load(root: &Path) -> Loaded {
    cadre::desired::load(&ProjectPaths::from_specialists_dir(
        &root.join("specialists.d"),
    ))
}

fn name(s: &str) -> SpecialistName {
    SpecialistName::parse(s).unwrap()
}

const A: &str = "component = \"a\"\ntitle = \"A\"\nport = 45100\n[personality]\nrole = \"first\"\n";
const B: &str =
    "component = \"b\"\ntitle = \"B\"\nport = 45101\n[personality]\nrole = \"second\"\n";

#[test]
fn defaults_and_providers_resolve() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "cadre.toml",
        "[defaults]\nprovider = \"local\"\nmodel = \"tiny\"\n[defaults.params]\ntemperature = 0.3\nmax_tokens = 50\n\
         [providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1/\"\n[providers.local.timeouts]\nconnect = \"2s\"\n\
         [listen]\nhost = \"127.0.0.2\"\n",
    );
    write(
        d.path(),
        "specialists.d/a.toml",
        &format!("{A}[params]\ntemperature = 0.9\n[timeouts]\ntotal = \"7s\"\n"),
    );
    write(
        d.path(),
        "specialists.d/b.toml",
        &B.replace(
            "port = 45101\n",
            "provider = \"anthropic\"\nmodel = \"claude\"\n",
        ),
    );
    let l = load(d.path());
    assert!(l.project_ok);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let a = &l.specs[0];
    assert_eq!((a.model.as_str(), a.host.as_str()), ("tiny", "127.0.0.2"));
    assert_eq!(
        (a.params.temperature, a.params.max_tokens),
        (Some(0.9), Some(50))
    );
    assert_eq!(a.provider.kind, ProviderKind::Openai);
    assert_eq!(a.provider.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(a.provider.timeouts.connect, Duration::from_secs(2));
    assert_eq!(a.provider.timeouts.total, Duration::from_secs(7));
    assert_eq!(a.provider.max_retries, 2);
    let b = &l.specs[1];
    assert_eq!(
        (b.provider.name.as_str(), b.provider.base_url.as_str()),
        ("anthropic", "https://api.anthropic.com")
    );
    assert_eq!(b.port, None);
    assert!(
        a.system_prompt.contains("b: B, second"),
        "{}",
        a.system_prompt
    );
}

#[test]
fn generation_changes_iff_behaviour_changes() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "specialists.d/a.toml", A);
    let g0 = load(d.path()).specs[0].generation.clone();
    assert_eq!(g0, load(d.path()).specs[0].generation, "not stable");
    write(
        d.path(),
        "specialists.d/a.toml",
        &A.replace("45100", "45102"),
    );
    assert_eq!(
        g0,
        load(d.path()).specs[0].generation,
        "a port change is a restart, not a reload"
    );
    write(
        d.path(),
        "specialists.d/a.toml",
        &format!("# a comment\n{A}"),
    );
    assert_eq!(
        g0,
        load(d.path()).specs[0].generation,
        "a comment changes nothing"
    );
    write(
        d.path(),
        "specialists.d/a.toml",
        &A.replace("first", "changed"),
    );
    assert_ne!(g0, load(d.path()).specs[0].generation);
    write(d.path(), "specialists.d/a.toml", A);
    write(
        d.path(),
        "templates/specialist.md.j2",
        "I am {{ specialist.title }}.",
    );
    let l = load(d.path());
    assert_eq!(l.specs[0].system_prompt, "I am A.\n");
    assert_ne!(g0, l.specs[0].generation, "a template edit is a reload");
}

#[test]
fn team_lists_only_other_enabled_specialists() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "specialists.d/a.toml", A);
    write(
        d.path(),
        "specialists.d/b.toml",
        &format!("enabled = false\n{B}"),
    );
    write(
        d.path(),
        "specialists.d/c.toml",
        "component = \"c\"\ntitle = \"C\"\n",
    );
    let l = load(d.path());
    assert_eq!(l.specs.len(), 3, "disabled specs are still returned");
    let a = &l.specs[0].system_prompt;
    assert!(
        a.contains("- c: C") && !a.contains("- b:") && !a.contains("- a:"),
        "{a}"
    );
}

#[test]
fn duplicate_port_fails_both_with_one_diagnostic() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "specialists.d/a.toml", A);
    write(
        d.path(),
        "specialists.d/b.toml",
        &B.replace("45101", "45100"),
    );
    write(
        d.path(),
        "specialists.d/c.toml",
        "component = \"c\"\ntitle = \"C\"\n",
    );
    let l = load(d.path());
    assert_eq!(l.errors().count(), 1);
    assert_eq!(l.failed_names(), vec![name("a"), name("b")]);
    assert_eq!(
        l.specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    assert_eq!(l.diagnostics_for(&name("b")).count(), 1);
}

#[test]
fn per_file_errors_name_their_specialist() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "specialists.d/a.toml", A);
    write(d.path(), "specialists.d/b.toml", "component = 3\n");
    write(
        d.path(),
        "specialists.d/c.toml",
        &format!("template = \"missing.j2\"\n{}", A.replace("45100", "45103")),
    );
    let l = load(d.path());
    assert!(l.project_ok);
    assert_eq!(l.failed_names(), vec![name("b"), name("c")]);
    assert_eq!(l.specs.len(), 1);
}

#[test]
fn broken_cadre_toml_is_not_ok() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "cadre.toml", "[ports]\nrange = \"all\"\n");
    write(d.path(), "specialists.d/a.toml", A);
    let l = load(d.path());
    assert!(!l.project_ok);
    let e = l.errors().next().unwrap();
    assert!(
        e.file.ends_with("cadre.toml") && e.line == 2 && e.specialist.is_none(),
        "{e:?}"
    );
}

#[test]
fn missing_directory_is_a_diagnostic() {
    let d = tempfile::tempdir().unwrap();
    let l = load(d.path());
    assert!(l.specs.is_empty());
    assert_eq!(l.errors().count(), 1);
}
