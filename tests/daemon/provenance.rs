//! Provenance through `cadre up` (DESIGN §11): each specialist shows the
//! commit that last touched its file, `+modified` while edited, and a new
//! commit after the next reconcile, without a restart.
//! Port range of this file: 46520-46529.

use crate::fixture;
use crate::fixture::ollama;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fixture::{Conn, Project, poll};
use serde_json::json;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=cadre",
            "-c",
            "user.email=cadre@example.invalid",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn revision_of(p: &Project, name: &str) -> Option<String> {
    p.status_of(name)
        .and_then(|r| r["revision"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_info_show_the_commit_each_specialist_runs() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46520, 46529], &server.base_url);
    p.write("numa", "First prompt.", None);
    p.write("hermes", "Hermes prompt.", None);
    let root = p.tmp.path();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "team"]);
    let first = git(root, &["rev-parse", "--short", "HEAD"]);

    let mut d = p.up();
    p.wait_ready(&["hermes", "numa"], &mut d);
    assert_eq!(revision_of(&p, "numa").as_deref(), Some(first.as_str()));
    assert_eq!(revision_of(&p, "hermes").as_deref(), Some(first.as_str()));
    let table = String::from_utf8_lossy(&p.cadre(&["status"]).stdout).into_owned();
    assert!(
        table.contains("REVISION") && table.contains(&first),
        "{table}"
    );

    let port = p.port_of("numa").unwrap();
    let mut held = Conn::open(port).unwrap();
    let info = held.ask(json!({"type": "info"}));
    assert_eq!(info["revision"], first.as_str(), "{info}");

    // Edited, not committed: modified.
    p.write("numa", "Second prompt.", None);
    let modified = format!("{first}+modified");
    assert!(
        poll(Duration::from_secs(10), || revision_of(&p, "numa")
            .as_deref()
            == Some(modified.as_str())),
        "numa: {:?}\n{}",
        p.status_of("numa"),
        d.log()
    );
    assert_eq!(revision_of(&p, "hermes").as_deref(), Some(first.as_str()));

    // Committed: the new commit after the next reconcile (SIGHUP forces one).
    git(root, &["commit", "-qam", "numa: second prompt"]);
    let second = git(root, &["rev-parse", "--short", "HEAD"]);
    d.signal("HUP");
    assert!(
        poll(Duration::from_secs(10), || revision_of(&p, "numa")
            .as_deref()
            == Some(second.as_str())),
        "numa: {:?}\n{}",
        p.status_of("numa"),
        d.log()
    );
    assert_eq!(revision_of(&p, "hermes").as_deref(), Some(first.as_str()));

    // Same port, same connection, and the connection sees the new revision.
    assert_eq!(p.port_of("numa"), Some(port));
    let info = held.ask(json!({"type": "info"}));
    assert_eq!(info["revision"], second.as_str(), "{info}");
    assert_eq!(held.chat("still there?")["type"], "response");
}
