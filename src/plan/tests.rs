use std::path::PathBuf;

use super::*;
use crate::config::{Params, Personality, ProviderKind, ResolvedProvider, ResolvedTimeouts};

/// A spec for tests anywhere in the crate.
pub(crate) fn spec(name: &str) -> Spec {
    Spec {
        name: SpecialistName::parse(name).unwrap(),
        file: PathBuf::from(format!("specialists.d/{name}.toml")),
        component: name.into(),
        title: "T".into(),
        description: "D".into(),
        model: "m1".into(),
        provider: ResolvedProvider {
            name: "ollama".into(),
            kind: ProviderKind::Ollama,
            base_url: "http://127.0.0.1:11434".into(),
            api_key_env: None,
            timeouts: ResolvedTimeouts::default(),
            max_retries: 2,
            keep_alive: None,
        },
        host: "127.0.0.1".into(),
        advertise: None,
        port: None,
        template: "specialist.md.j2".into(),
        enabled: true,
        personality: Personality {
            prompt: "p".into(),
            ..Personality::default()
        },
        params: Params::default(),
        health: None,
        limits: Default::default(),
        consult: None,
        system_prompt: "rendered p".into(),
        builtin_template: false,
        generation: "g1".into(),
    }
}

/// A specialist as it runs, in the shape the table below was written for.
struct Running {
    name: SpecialistName,
    spec: Arc<Spec>,
    port: u16,
    operator_stopped: bool,
}

fn running(s: &Spec, port: u16) -> Running {
    Running {
        name: s.name.clone(),
        spec: Arc::new(s.clone()),
        port,
        operator_stopped: false,
    }
}

/// The daemon's path: files loaded (`broken` failed to load), specialists
/// serving (an operator-stopped one drained and stopped), no marks yet.
fn plan(desired: &[Spec], actual: &[Running], broken: &[SpecialistName]) -> Vec<Action> {
    let loaded = loaded(desired, broken);
    let mut operator = Operator::default();
    let mut now = Actual::default();
    for r in actual {
        let phase = if r.operator_stopped {
            operator.stopped.insert(r.name.clone());
            Phase::Stopped
        } else {
            Phase::Serving
        };
        now.specialists
            .insert(r.name.clone(), instance(&r.spec, r.port, phase));
    }
    super::plan(&loaded, &now, &operator).actions
}

fn instance(spec: &Arc<Spec>, port: u16, phase: Phase) -> Instance {
    Instance {
        spec: spec.clone(),
        port,
        phase,
        backoff: false,
    }
}

/// `specs` loaded cleanly, and one error for each of `broken`.
fn loaded(specs: &[Spec], broken: &[SpecialistName]) -> Loaded {
    let diagnostics = broken
        .iter()
        .map(|n| {
            let file = PathBuf::from(format!("specialists.d/{n}.toml"));
            let p = crate::config::parse::Problem::at(None, None, "broken".into());
            crate::config::Diagnostic::error(&file, Some(n), p)
        })
        .collect();
    Loaded {
        project: Default::default(),
        project_ok: true,
        specs: specs.to_vec(),
        teams: Vec::new(),
        teams_unlisted: false,
        diagnostics,
        templates_missing: None,
    }
}

fn name(s: &str) -> SpecialistName {
    SpecialistName::parse(s).unwrap()
}

fn show(actions: &[Action]) -> Vec<String> {
    actions.iter().map(ToString::to_string).collect()
}

type Edit = fn(&mut Spec);

fn cases() -> Vec<(&'static str, Edit, &'static str)> {
    vec![
        ("unchanged", |_| {}, "keep numa"),
        (
            "prompt",
            |s| s.personality.prompt = "q".into(),
            "reload numa (personality.prompt)",
        ),
        ("model", |s| s.model = "m2".into(), "reload numa (model)"),
        (
            "temperature",
            |s| s.params.temperature = Some(0.3),
            "reload numa (params.temperature)",
        ),
        (
            "provider url",
            |s| s.provider.base_url = "http://x".into(),
            "reload numa (provider.base_url)",
        ),
        (
            "provider timeout",
            |s| s.provider.timeouts.connect = std::time::Duration::from_secs(1),
            "reload numa (provider.timeouts.connect)",
        ),
        ("title", |s| s.title = "U".into(), "reload numa (title)"),
        (
            "description",
            |s| s.description = "E".into(),
            "reload numa (description)",
        ),
        (
            "component",
            |s| s.component = "c".into(),
            "reload numa (component)",
        ),
        (
            "expertise",
            |s| s.personality.expertise = vec!["x".into()],
            "reload numa (personality.expertise)",
        ),
        (
            "template edit only",
            |s| s.system_prompt = "other".into(),
            "reload numa (system_prompt)",
        ),
        (
            "prompt and rendered",
            |s| {
                s.personality.prompt = "q".into();
                s.system_prompt = "rendered q".into();
            },
            "reload numa (personality.prompt)",
        ),
        (
            "pinned port differs",
            |s| s.port = Some(45002),
            "restart numa (port)",
        ),
        (
            "pinned port same as bound",
            |s| s.port = Some(45001),
            "keep numa",
        ),
        ("host", |s| s.host = "0.0.0.0".into(), "restart numa (host)"),
        (
            "port and prompt",
            |s| {
                s.port = Some(45009);
                s.personality.prompt = "q".into();
            },
            "restart numa (personality.prompt, port)",
        ),
        ("disabled", |s| s.enabled = false, "stop numa (enabled)"),
    ]
}

#[test]
fn table() {
    for (what, edit, want) in cases() {
        let old = spec("numa");
        let mut new = old.clone();
        edit(&mut new);
        let got = plan(&[new], &[running(&old, 45001)], &[]);
        assert_eq!(show(&got), vec![want.to_owned()], "case: {what}");
    }
}

#[test]
fn unpinning_a_port_keeps_the_bound_one() {
    let mut old = spec("numa");
    old.port = Some(45001);
    let mut new = old.clone();
    new.port = None;
    assert_eq!(
        show(&plan(&[new], &[running(&old, 45001)], &[])),
        ["keep numa"]
    );
}

#[test]
fn start_stop_and_broken_files() {
    let numa = spec("numa");
    let hermes = spec("hermes");
    let mut off = spec("off");
    off.enabled = false;
    let mut edited = numa.clone();
    edited.personality.prompt = "new".into();
    let broken = spec("broken");
    let gone = spec("gone");
    let actions = plan(
        &[edited, hermes, off],
        &[running(&numa, 1), running(&broken, 2), running(&gone, 3)],
        &[name("broken"), name("never-ran")],
    );
    assert_eq!(
        show(&actions),
        [
            "keep broken",
            "stop gone",
            "start hermes",
            "reload numa (personality.prompt)"
        ]
    );
    let start = &actions[2];
    assert_eq!(start.spec.as_ref().unwrap().name, name("hermes"));
    assert_eq!(actions[0].spec.as_ref().unwrap().generation, "g1");
    assert!(!actions[0].is_change() && actions[1].is_change());
}

#[test]
fn operator_stopped_stays_stopped() {
    let numa = spec("numa");
    let mut edited = numa.clone();
    edited.model = "m9".into();
    let mut a = running(&numa, 1);
    a.operator_stopped = true;
    assert_eq!(
        show(&plan(&[edited], std::slice::from_ref(&a), &[])),
        ["keep numa"]
    );
    assert_eq!(show(&plan(&[], &[a], &[])), ["stop numa"]);
}

#[test]
fn nothing_running_nothing_desired() {
    assert!(plan(&[], &[], &[name("x")]).is_empty());
}

#[test]
fn a_new_colleague_refreshes_prompts_quietly() {
    let numa = spec("numa");
    let apollo = spec("apollo");
    let mut numa2 = numa.clone();
    numa2.personality.prompt = "new".into();
    numa2.system_prompt = "rendered new + team with hermes".into();
    let mut apollo2 = apollo.clone();
    apollo2.system_prompt = "rendered p + team with hermes".into();
    let actions = plan(
        &[apollo2, spec("hermes"), numa2],
        &[running(&numa, 1), running(&apollo, 2)],
        &[],
    );
    assert_eq!(
        show(&actions),
        [
            "keep apollo",
            "start hermes",
            "reload numa (personality.prompt)"
        ]
    );
    assert!(actions[0].refresh);
    assert_eq!(
        actions[0].spec.as_ref().unwrap().system_prompt,
        "rendered p + team with hermes"
    );
    assert!(!actions[2].refresh);
    let changes: Vec<_> = actions
        .iter()
        .filter(|a| a.is_change())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        changes,
        ["start hermes", "reload numa (personality.prompt)"]
    );
}

/// The unchanged-spec shortcut still moves a pinned spec bound elsewhere,
/// and an unchanged keep carries the running spec itself (no copy).
#[test]
fn unchanged_spec_keeps_the_running_arc_unless_bound_elsewhere() {
    let mut pinned = spec("numa");
    pinned.port = Some(45002);
    let got = plan(&[pinned.clone()], &[running(&pinned, 45001)], &[]);
    assert_eq!(show(&got), vec!["restart numa (port)".to_owned()]);

    let old = spec("numa");
    let actual = running(&old, 45001);
    let got = plan(
        std::slice::from_ref(&old),
        std::slice::from_ref(&actual),
        &[],
    );
    assert_eq!(show(&got), vec!["keep numa".to_owned()]);
    let kept = got[0].spec.as_ref().unwrap();
    assert!(Arc::ptr_eq(kept, &actual.spec));
}

mod held;
mod policy;
mod teams;
