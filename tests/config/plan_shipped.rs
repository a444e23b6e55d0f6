//! `plan` over the real loader and renderer on a copy of the shipped team,
//! called as the daemon calls it:
//! editing one prompt and adding a file is exactly one reload and one start,
//! even though every prompt lists the team (the others refresh quietly).

use std::sync::Arc;

use cadre::config::ProjectPaths;
use cadre::desired::load;
use cadre::plan::{Actual, Instance, Operator, Phase, plan};

use crate::fixture::project::copy_dir;

#[test]
fn edit_one_prompt_and_add_a_file() {
    let root = crate::fixture::project::repo_root();
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &root.join("specialists.d"),
        &tmp.path().join("specialists.d"),
    );
    copy_dir(&root.join("templates"), &tmp.path().join("templates"));
    let paths = ProjectPaths::from_specialists_dir(&tmp.path().join("specialists.d"));
    let before = load(&paths);
    assert_eq!(before.errors().count(), 0, "{:?}", before.diagnostics);
    assert_eq!(before.specs.len(), 18);
    let actual = Actual {
        specialists: before
            .specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let running = Instance {
                    port: s.port.unwrap_or(46000 + i as u16),
                    spec: Arc::new(s.clone()),
                    phase: Phase::Serving,
                    backoff: false,
                };
                (s.name.clone(), running)
            })
            .collect(),
        teams: Default::default(),
        ..Actual::default()
    };
    let none = Operator::default();
    let unchanged = plan(&before, &actual, &none).actions;
    assert!(
        unchanged.iter().all(|a| !a.is_change() && !a.refresh),
        "{unchanged:?}"
    );

    let numa = tmp.path().join("specialists.d/numa.toml");
    let text = std::fs::read_to_string(&numa).unwrap();
    std::fs::write(
        &numa,
        text.replace("You are the user's companion", "You are the user's friend"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("specialists.d/iris.toml"),
        "component = \"iris\"\ntitle = \"Iris\"\nport = 45100\n[personality]\nprompt = \"Carry messages.\"\n",
    )
    .unwrap();
    let after = load(&paths);
    assert_eq!(after.errors().count(), 0, "{:?}", after.diagnostics);
    let actions = plan(&after, &actual, &none).actions;
    let changes: Vec<String> = actions
        .iter()
        .filter(|a| a.is_change())
        .map(ToString::to_string)
        .collect();
    assert_eq!(changes, ["start iris", "reload numa (personality.prompt)"]);
    // Every other specialist now lists Iris in its prompt: a quiet refresh.
    let refreshed = actions.iter().filter(|a| a.refresh).count();
    assert_eq!(refreshed, 17, "{actions:?}");

    // Break numa: it is kept on its last good spec, nothing else changes.
    std::fs::write(&numa, "component = \n").unwrap();
    let broken = load(&paths);
    let actions = plan(&broken, &actual, &none).actions;
    let numa_action = actions.iter().find(|a| a.name.as_str() == "numa").unwrap();
    assert_eq!(numa_action.to_string(), "keep numa");
    assert_eq!(
        numa_action.spec.as_ref().unwrap().system_prompt,
        before
            .specs
            .iter()
            .find(|s| s.name.as_str() == "numa")
            .unwrap()
            .system_prompt
    );
}
