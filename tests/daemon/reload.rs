//! Hot reload through `cadre up`: prompt edits on a held connection,
//! last-known-good on a broken file, and editors' save patterns.
//! Port range of this file: 46200-46299.

use crate::fixture;
use crate::fixture::ollama;

use std::io::Write;
use std::time::Duration;

use fixture::{Conn, Project, last_system_prompt, poll};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(10);

/// Chat on `c` until the provider sees a system prompt containing `marker`.
fn chat_until_prompt(c: &mut Conn, server: &ollama::OllamaServer, marker: &str) -> bool {
    poll(WITHIN, || {
        let a = c.chat("which prompt?");
        assert_eq!(a["type"], "response", "{a}");
        last_system_prompt(&server.requests()).contains(marker)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_edit_reaches_the_next_chat_on_the_same_connection() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46200, 46219], &server.base_url);
    p.write("numa", "Prompt version one.", None);
    let mut d = p.up();
    p.wait_ready(&["numa"], &mut d);
    let port = p.port_of("numa").unwrap();

    let mut c = Conn::open(port).unwrap();
    assert_eq!(c.chat("hi")["type"], "response");
    assert!(last_system_prompt(&server.requests()).contains("Prompt version one."));

    p.write("numa", "Prompt version two.", None);
    assert!(
        chat_until_prompt(&mut c, &server, "Prompt version two."),
        "{}",
        d.log()
    );
    // Same connection, still open, same port; the reload was logged with its field.
    assert_eq!(c.ask(json!({"type": "ping"}))["type"], "pong");
    assert_eq!(p.port_of("numa"), Some(port));
    assert!(
        d.log().contains("reload numa") && d.log().contains("personality.prompt"),
        "{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_keeps_the_last_good_spec_until_fixed() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46220, 46239], &server.base_url);
    p.write("numa", "Good prompt.", None);
    p.write("other", "Other prompt.", None);
    let mut d = p.up();
    p.wait_ready(&["numa", "other"], &mut d);
    let port = p.port_of("numa").unwrap();

    // Break it: a syntax error on line 3.
    std::fs::write(
        p.file("numa"),
        "component = \"numa\"\ntitle = \"x\"\nprompt = = broken\n",
    )
    .unwrap();
    assert!(
        poll(WITHIN, || p.is_in("numa", "config_error")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    let row = p.status_of("numa").unwrap();
    let err = row["last_error"].as_str().unwrap();
    assert!(err.contains("numa.toml:3"), "no file:line in {err:?}");
    assert_eq!(row["port"].as_u64(), Some(u64::from(port)));

    // Still answering, on the last good prompt; the rest of the team unaffected.
    let mut c = Conn::open(port).unwrap();
    assert_eq!(c.chat("still there?")["type"], "response");
    assert!(last_system_prompt(&server.requests()).contains("Good prompt."));
    assert_eq!(p.status_of("other").unwrap()["state"], "ready");

    // A new invalid file starts nothing: once its config_error is reported
    // (so the watcher saw it), it is still not in the registry.
    std::fs::write(p.file("newbie"), "component = [\n").unwrap();
    assert!(
        poll(WITHIN, || d.log().lines().any(|l| l
            .contains("config_error newbie: ")
            && l.contains("; not started"))),
        "no config_error event for the new broken file:\n{}",
        d.log()
    );
    assert!(p.status_of("newbie").is_none());

    // Fix it: ready, with the new prompt, on the same connection.
    p.write("numa", "Fixed prompt.", None);
    assert!(poll(WITHIN, || p.is_in("numa", "ready")));
    assert!(p.status_of("numa").unwrap()["last_error"].is_null());
    assert!(chat_until_prompt(&mut c, &server, "Fixed prompt."));
}

/// Each editor save pattern must end with the specialist on the final content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_save_patterns_converge_on_the_final_content() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46240, 46259], &server.base_url);
    p.write("ed", "Original.", None);
    let mut d = p.up();
    p.wait_ready(&["ed"], &mut d);
    let mut c = Conn::open(p.port_of("ed").unwrap()).unwrap();
    let file = p.file("ed");
    let text = |marker: &str| Project::specialist_toml("ed", marker, None);

    // 1. write a temp file, rename it over the original (most GUI editors).
    let tmp = p.dir.join(".ed.toml.tmp");
    std::fs::write(&tmp, text("Saved by rename.")).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    assert!(
        chat_until_prompt(&mut c, &server, "Saved by rename."),
        "rename: {}",
        d.log()
    );

    // 2. truncate, then write in pieces (nano, `>` redirection).
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&file)
        .unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let body = text("Saved by truncate.");
    let (a, b) = body.split_at(body.len() / 2);
    f.write_all(a.as_bytes()).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    f.write_all(b.as_bytes()).unwrap();
    drop(f);
    assert!(
        chat_until_prompt(&mut c, &server, "Saved by truncate."),
        "truncate: {}",
        d.log()
    );

    // 3. vim: rename the original to a backup, write a new file, delete the backup.
    let backup = p.dir.join("ed.toml~");
    std::fs::rename(&file, &backup).unwrap();
    std::fs::write(&file, text("Saved by vim.")).unwrap();
    std::fs::remove_file(&backup).unwrap();
    assert!(
        chat_until_prompt(&mut c, &server, "Saved by vim."),
        "vim: {}",
        d.log()
    );

    // 4. delete, then recreate a moment later.
    std::fs::remove_file(&file).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    std::fs::write(&file, text("Recreated.")).unwrap();
    assert!(
        poll(WITHIN, || {
            p.is_in("ed", "ready")
                && p.port_of("ed")
                    .and_then(|port| Conn::open(port).ok())
                    .is_some_and(|mut c| {
                        c.chat("after recreate")["type"] == "response"
                            && last_system_prompt(&server.requests()).contains("Recreated.")
                    })
        }),
        "recreate: {}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_cadre_toml_keeps_everything_and_a_corrupt_registry_heals() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46260, 46279], &server.base_url);
    p.write("keep", "Kept prompt.", None);
    let mut d = p.up();
    p.wait_ready(&["keep"], &mut d);
    let port = p.port_of("keep").unwrap();

    let project = p.tmp.path().join("cadre.toml");
    let good = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, "[ports\nrange = 1\n").unwrap();
    assert!(
        poll(WITHIN, || p.is_in("keep", "config_error")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    assert!(
        p.status_of("keep").unwrap()["last_error"]
            .as_str()
            .unwrap()
            .contains("cadre.toml")
    );
    let mut c = Conn::open(port).unwrap();
    assert_eq!(c.chat("still?")["type"], "response");
    assert!(last_system_prompt(&server.requests()).contains("Kept prompt."));
    std::fs::write(&project, good).unwrap();
    assert!(poll(WITHIN, || p.is_in("keep", "ready")));

    // A registry file mangled behind our back is rebuilt on the next reconcile (SIGHUP forces one).
    std::fs::write(p.state.join("registry.json"), "{ not json").unwrap();
    d.signal("HUP");
    assert!(
        poll(WITHIN, || p
            .status_of("keep")
            .is_some_and(|r| r["state"] == "ready" && r["port"] == port)),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    assert_eq!(c.ask(json!({"type": "ping"}))["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_claiming_one_port_change_neither() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46280, 46299], &server.base_url);
    p.write("left", "Left.", Some(46281));
    p.write("right", "Right.", Some(46282));
    let mut d = p.up();
    p.wait_ready(&["left", "right"], &mut d);

    p.write("right", "Right moved.", Some(46281));
    assert!(
        poll(WITHIN, || ["left", "right"]
            .iter()
            .all(|n| p.is_in(n, "config_error"))),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    assert_eq!(p.port_of("left"), Some(46281));
    assert_eq!(p.port_of("right"), Some(46282));
    let err = p.status_of("right").unwrap()["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(err.contains("46281"), "{err}");
    let mut c = Conn::open(46282).unwrap();
    assert_eq!(c.chat("which?")["type"], "response");
    assert!(last_system_prompt(&server.requests()).contains("Right."));
}
