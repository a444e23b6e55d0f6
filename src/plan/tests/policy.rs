//! The policy lines of the module doc, each through [`super::super::plan`]
//! exactly as the daemon calls it: the plan's own marks fed back as the next
//! plan's `actual.marks`, as the supervisor does.

use super::*;

/// The real plan (the parent's `plan` is the table's shorthand).
fn plan(loaded: &Loaded, actual: &Actual, operator: &Operator) -> Plan {
    crate::plan::plan(loaded, actual, operator)
}

fn world(list: &[(&Spec, u16, Phase)]) -> Actual {
    let mut a = Actual::default();
    for (s, port, phase) in list {
        a.specialists.insert(
            s.name.clone(),
            instance(&Arc::new((*s).clone()), *port, *phase),
        );
    }
    a
}

fn of(p: &Plan, n: &str) -> Option<String> {
    p.actions
        .iter()
        .find(|a| a.name.as_str() == n)
        .map(ToString::to_string)
}

fn marked(p: &Plan, n: &str) -> Option<String> {
    p.config_errors
        .get(&Subject::Specialist(name(n)))
        .map(str::to_owned)
}

fn errors_of(notices: &[Notice]) -> Vec<(String, Effect)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::ConfigError {
                subject, effect, ..
            } => Some((subject.to_string(), *effect)),
            Notice::ConfigOk { .. } => None,
        })
        .collect()
}

fn oks_of(notices: &[Notice]) -> Vec<String> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::ConfigOk { subject } => Some(subject.to_string()),
            Notice::ConfigError { .. } => None,
        })
        .collect()
}

#[test]
fn last_known_good_keeps_a_broken_file_on_its_running_spec_and_marks_it_once() {
    let numa = spec("numa");
    let mut actual = world(&[(&numa, 45001, Phase::Serving)]);
    let broken = loaded(&[], &[name("numa")]);
    let p = plan(&broken, &actual, &Operator::default());
    assert_eq!(of(&p, "numa").as_deref(), Some("keep numa"));
    let kept = p.actions[0].spec.as_ref().unwrap();
    assert!(Arc::ptr_eq(kept, &actual.specialists[&name("numa")].spec));
    assert_eq!(
        marked(&p, "numa").as_deref(),
        Some("specialists.d/numa.toml:1: broken")
    );
    assert_eq!(
        errors_of(&p.notices),
        [("numa".to_owned(), Effect::KeepsServing)]
    );

    // Still broken at the next reconcile: still kept, nothing new to say.
    actual.marks = p.config_errors;
    let again = plan(&broken, &actual, &Operator::default());
    assert_eq!(of(&again, "numa").as_deref(), Some("keep numa"));
    assert!(again.notices.is_empty(), "{:?}", again.notices);

    // Fixed with an edit: reloaded, and the mark clears with a config_ok.
    actual.marks = again.config_errors;
    let mut fixed = numa.clone();
    fixed.model = "m2".into();
    let p = plan(&loaded(&[fixed], &[]), &actual, &Operator::default());
    assert_eq!(of(&p, "numa").as_deref(), Some("reload numa (model)"));
    assert!(p.config_errors.is_empty());
    assert_eq!(oks_of(&p.notices), ["numa"]);
}

#[test]
fn a_failed_specialist_with_a_broken_file_retries_its_last_good_spec() {
    let numa = spec("numa");
    let mut actual = world(&[(&numa, 45001, Phase::Failed)]);
    let broken = loaded(&[], &[name("numa")]);
    let p = plan(&broken, &actual, &Operator::default());
    assert_eq!(of(&p, "numa").as_deref(), Some("start numa"));
    assert_eq!(p.actions[0].cause, Cause::Retry);
    assert_eq!(p.actions[0].claim, Claim::Prefer(45001));
    assert_eq!(p.actions[0].spec.as_ref().unwrap().generation, "g1");
    // Within its backoff it waits.
    actual.specialists.get_mut(&name("numa")).unwrap().backoff = true;
    let p = plan(&broken, &actual, &Operator::default());
    assert_eq!(of(&p, "numa").as_deref(), Some("keep numa"));
}

#[test]
fn config_errors_mark_new_broken_files_and_files_that_are_no_specialist() {
    let mut l = loaded(&[spec("ok")], &[name("fresh")]);
    let p = crate::config::parse::Problem::at(None, None, "bad name".into());
    l.diagnostics.push(crate::config::Diagnostic::error(
        std::path::Path::new("specialists.d/Bad.toml"),
        None,
        p,
    ));
    let p = plan(&l, &Actual::default(), &Operator::default());
    assert_eq!(show(&p.actions), ["start ok"]);
    assert!(marked(&p, "fresh").is_some());
    assert_eq!(
        errors_of(&p.notices),
        [
            ("specialists.d/Bad.toml".to_owned(), Effect::Skipped),
            ("fresh".to_owned(), Effect::NotStarted),
        ]
    );
    // Fixed: it starts; there was nothing running to say config_ok about.
    let mut actual = Actual {
        marks: p.config_errors,
        ..Actual::default()
    };
    actual.marks.set(
        Subject::File("specialists.d/Bad.toml".into()),
        "specialists.d/Bad.toml:1: bad name".into(),
    );
    let p = plan(
        &loaded(&[spec("ok"), spec("fresh")], &[]),
        &actual,
        &Operator::default(),
    );
    assert_eq!(show(&p.actions), ["start fresh", "start ok"]);
    assert!(p.notices.is_empty(), "{:?}", p.notices);
}

#[test]
fn two_files_pinning_one_port_are_both_marked_and_neither_changes() {
    let (a, b) = (spec("a"), spec("b"));
    let actual = world(&[(&a, 45001, Phase::Serving)]);
    let mut l = loaded(&[], &[name("a")]);
    l.diagnostics[0].related = vec![name("b")];
    let p = plan(&l, &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["keep a"]);
    assert!(marked(&p, "a").is_some() && marked(&p, "b") == marked(&p, "a"));
    drop(b);
}

#[test]
fn operator_stops_hold_until_start_and_are_forgotten_with_their_file() {
    let numa = spec("numa");
    let mut operator = Operator::default();
    operator.stopped.insert(name("numa"));
    let serving = world(&[(&numa, 45001, Phase::Serving)]);
    let files = loaded(std::slice::from_ref(&numa), &[]);
    let p = plan(&files, &serving, &operator);
    assert_eq!(show(&p.actions), ["stop numa"]);
    assert_eq!(p.actions[0].cause, Cause::OperatorStop);
    assert_eq!(p.operator, operator);

    // Drained and stopped: an edit does not start it, a broken file neither.
    let stopped = world(&[(&numa, 45001, Phase::Stopped)]);
    let mut edited = numa.clone();
    edited.model = "m9".into();
    let p = plan(&loaded(&[edited], &[]), &stopped, &operator);
    assert_eq!(show(&p.actions), ["keep numa"]);
    let p = plan(&loaded(&[], &[name("numa")]), &stopped, &operator);
    assert_eq!(show(&p.actions), ["keep numa"]);
    assert_eq!(p.operator, operator, "a broken file still exists");

    // `cadre start`: it comes back on its old port.
    let p = plan(&files, &stopped, &Operator::default());
    assert_eq!(show(&p.actions), ["start numa"]);
    assert_eq!(p.actions[0].cause, Cause::OperatorStart);
    assert_eq!(p.actions[0].claim, Claim::Prefer(45001));

    // Its file deleted: the stop is forgotten and the stopped slot goes.
    let p = plan(&loaded(&[], &[]), &stopped, &operator);
    assert_eq!(show(&p.actions), ["stop numa"]);
    assert!(p.operator.stopped.is_empty());
}

#[test]
fn a_pinned_port_held_by_a_running_specialist_is_refused_not_fought_over() {
    // `old` serves on 45001 from its last good spec (its file is broken);
    // a new file pins the same port.
    let old = spec("old");
    let mut new = spec("new");
    new.port = Some(45001);
    let actual = world(&[(&old, 45001, Phase::Serving)]);
    let p = plan(
        &loaded(std::slice::from_ref(&new), &[name("old")]),
        &actual,
        &Operator::default(),
    );
    assert_eq!(show(&p.actions), ["keep old"]);
    assert_eq!(
        marked(&p, "new").as_deref(),
        Some("specialists.d/new.toml: port 45001 is pinned, but `old` serves on it")
    );
    assert!(errors_of(&p.notices).contains(&("new".to_owned(), Effect::NotStarted)));

    // A move onto a held port: it stays where it is, marked.
    let mut moved = old.clone();
    moved.port = Some(45002);
    let other = spec("other");
    let actual = world(&[
        (&old, 45001, Phase::Serving),
        (&other, 45002, Phase::Serving),
    ]);
    let p = plan(&loaded(&[moved, other], &[]), &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["keep old", "keep other"]);
    assert!(marked(&p, "old").is_some_and(|m| m.contains("`other` serves on it")));

    // A free pinned port is claimed as pinned.
    let mut free = spec("free");
    free.port = Some(45003);
    let p = plan(&loaded(&[free], &[]), &actual, &Operator::default());
    let start = p
        .actions
        .iter()
        .find(|a| a.name.as_str() == "free")
        .unwrap();
    assert_eq!(start.claim, Claim::Pinned(45003));
}

#[test]
fn a_broken_cadre_toml_holds_everything_and_says_so_once() {
    let numa = spec("numa");
    let mut actual = world(&[(&numa, 45001, Phase::Serving)]);
    let mut l = loaded(&[], &[]);
    l.project_ok = false;
    let p = plan(&l, &actual, &Operator::default());
    assert!(p.settings.is_none());
    assert_eq!(show(&p.actions), ["keep numa"]);
    assert_eq!(
        p.config_errors.of_specialist(&name("numa")),
        Some("cadre.toml: invalid")
    );
    assert_eq!(
        errors_of(&p.notices),
        [("cadre.toml".to_owned(), Effect::KeepsEverything)]
    );
    actual.marks = p.config_errors;
    assert!(plan(&l, &actual, &Operator::default()).notices.is_empty());
    let p = plan(&loaded(&[numa], &[]), &actual, &Operator::default());
    assert!(p.settings.is_some() && p.config_errors.is_empty());
    assert_eq!(oks_of(&p.notices), ["cadre.toml"]);
}

#[test]
fn failed_and_stopped_specialists_without_a_file_are_forgotten() {
    let (a, b) = (spec("a"), spec("b"));
    let actual = world(&[(&a, 0, Phase::Failed), (&b, 45002, Phase::Draining)]);
    let p = plan(&loaded(&[], &[]), &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["stop a", "keep b"]);
    assert_eq!(p.actions[0].cause, Cause::FileDeleted);
}

#[test]
fn a_failed_move_waits_for_its_retry_time() {
    let numa = spec("numa");
    let mut moved = numa.clone();
    moved.port = Some(45009);
    let mut actual = world(&[(&numa, 45001, Phase::Serving)]);
    let files = loaded(&[moved], &[]);
    let p = plan(&files, &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["restart numa (port)"]);
    assert_eq!(p.actions[0].claim, Claim::Pinned(45009));
    actual.specialists.get_mut(&name("numa")).unwrap().backoff = true;
    let p = plan(&files, &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["keep numa"]);
}

#[test]
fn an_action_is_its_own_wire_form() {
    let mut a = Action::new(name("numa"), ActionKind::Reload, None);
    a.changed = vec!["model".into()];
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        json,
        r#"{"name":"numa","action":"reload","changed":["model"]}"#
    );
    let back: Action = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    let keep = Action::new(name("x"), ActionKind::Keep, None);
    assert_eq!(
        serde_json::to_string(&keep).unwrap(),
        r#"{"name":"x","action":"keep"}"#
    );
}

#[test]
fn a_vanished_templates_dir_keeps_file_rendered_prompts_and_marks_them() {
    let numa = spec("numa");
    let mut fallback = numa.clone();
    fallback.system_prompt = "rendered by the built-in".into();
    fallback.builtin_template = true;
    let actual = world(&[(&numa, 45000, Phase::Serving)]);

    // templates/ gone: the running prompt stays, and says why.
    let mut gone = loaded(std::slice::from_ref(&fallback), &[]);
    gone.templates_missing = Some("templates is missing".into());
    let p = plan(&gone, &actual, &Operator::default());
    assert_eq!(of(&p, "numa").as_deref(), Some("keep numa"));
    let kept = p.actions[0].spec.as_ref().unwrap();
    assert_eq!(kept.system_prompt.as_str(), "rendered p");
    let mark = marked(&p, "numa").unwrap();
    assert!(mark.contains("templates is missing"), "{mark}");
    assert_eq!(
        errors_of(&p.notices),
        vec![("numa".to_owned(), Effect::KeepsServing)]
    );

    // templates/ present but without the file: the built-in is what the project says.
    let present = loaded(std::slice::from_ref(&fallback), &[]);
    let p = plan(&present, &actual, &Operator::default());
    assert!(
        of(&p, "numa").unwrap().starts_with("reload numa"),
        "{:?}",
        of(&p, "numa")
    );
    assert_eq!(marked(&p, "numa"), None);

    // Already on the built-in (a project without templates/): edits apply as ever.
    let on_builtin = world(&[(&fallback, 45000, Phase::Serving)]);
    let mut edited = fallback.clone();
    edited.system_prompt = "rendered by the built-in, edited".into();
    let mut still_gone = loaded(std::slice::from_ref(&edited), &[]);
    still_gone.templates_missing = Some("templates is missing".into());
    let p = plan(&still_gone, &on_builtin, &Operator::default());
    assert!(
        of(&p, "numa").unwrap().starts_with("reload numa"),
        "{:?}",
        of(&p, "numa")
    );
    assert_eq!(marked(&p, "numa"), None);
}
