//! `review::provenance::revision` on a temporary git repository: the short
//! commit that last touched a file or its template, `+modified` for
//! uncommitted edits, and the new commit once they are committed.

use std::path::PathBuf;
use std::process::Command;

use crate::fixture::golden::git;
use crate::fixture::project::{copy_shipped, edit};
use cadre::config::ProjectPaths;
use cadre::review::provenance::{Revision, files_of, revision};

fn head_short(dir: &std::path::Path) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit(dir: &std::path::Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
}

#[test]
fn commit_modified_and_recommitted() {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path();
    git(top, &["init", "-q"]);
    copy_shipped(top);
    let paths = ProjectPaths::from_specialists_dir(&top.join("specialists.d"));
    let files = |name: &str| {
        let loaded = cadre::desired::load(&paths);
        let spec = loaded
            .specs
            .iter()
            .find(|s| s.name.as_str() == name)
            .unwrap()
            .clone();
        files_of(&spec, &paths)
    };

    // Not committed yet.
    let r = revision(&files("numa")).unwrap();
    assert_eq!(r.to_string(), "uncommitted");

    commit(top, "team");
    let first = head_short(top);
    assert_eq!(
        revision(&files("numa")),
        Some(Revision {
            commit: Some(first.clone()),
            modified: false
        })
    );

    edit(
        &top.join("specialists.d/numa.toml"),
        "port = 45016",
        "port = 45116",
    );
    assert_eq!(
        revision(&files("numa")).unwrap().to_string(),
        format!("{first}+modified")
    );
    // Other specialists are untouched.
    assert_eq!(revision(&files("hermes")).unwrap().to_string(), first);

    commit(top, "numa moves");
    let second = head_short(top);
    assert_ne!(first, second);
    assert_eq!(revision(&files("numa")).unwrap().to_string(), second);
    assert_eq!(revision(&files("hermes")).unwrap().to_string(), first);

    // A template commit moves every specialist using it.
    edit(
        &top.join("templates/specialist.md.j2"),
        "Your expertise:",
        "Expertise:",
    );
    assert!(revision(&files("hermes")).unwrap().modified);
    commit(top, "template");
    assert_eq!(
        revision(&files("hermes")).unwrap().to_string(),
        head_short(top)
    );
}

#[test]
fn outside_a_work_tree_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let f: PathBuf = tmp.path().join("x.toml");
    std::fs::write(&f, "").unwrap();
    assert_eq!(revision(&[f]), None);
}
