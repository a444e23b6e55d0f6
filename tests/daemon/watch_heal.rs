//! Watches that went deaf, and a template directory that silently vanished:
//! an edit to a symlink's target outside `specialists.d`, an edit inside a
//! re-created `templates/`, and an edit inside a `specialists.d` replaced by
//! rename each apply at once (not at the 30 s resync); `templates/` removed is
//! a `config_error` that keeps the last good prompt, not a silent switch to
//! the built-in template; `specialists.d` itself gone keeps the whole team.
//! Port range of this file: 49240-49249.

use std::time::{Duration, Instant};

use crate::fixture::ollama::{Behaviour, OllamaServer};
use crate::fixture::project::copy_dir;
use crate::fixture::{Conn, Daemon, Project, last_system_prompt, poll, say};

/// The prompt `name` is chatting with now.
fn prompt_of(p: &Project, server: &OllamaServer, name: &str) -> String {
    let Some(port) = p.port_of(name) else {
        return String::new();
    };
    let Ok(mut c) = Conn::open(port) else {
        return String::new();
    };
    if c.chat("which prompt?")["type"] != "response" {
        return String::new();
    }
    last_system_prompt(&server.requests())
}

/// Wait until `name` chats with a prompt containing `marker`; how long it took.
fn applies(p: &Project, server: &OllamaServer, d: &Daemon, name: &str, marker: &str) -> Duration {
    let t = Instant::now();
    let ok = poll(Duration::from_secs(20), || {
        prompt_of(p, server, name).contains(marker)
    });
    let took = t.elapsed();
    assert!(ok, "{marker:?} never reached {name}'s prompt:\n{}", d.log());
    say(&format!("watch: {marker} applied after {took:?}"));
    // The acceptance is 1 s; 5 s leaves room for a loaded 2-core box while
    // still telling a live watch from the 30 s resync.
    assert!(took < Duration::from_secs(5), "{marker}: {took:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_directories_and_outside_symlink_targets_stay_watched() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let p = Project::new([49240, 49249], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let outside = p.root().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("beta.toml");
    std::fs::write(
        &target,
        Project::specialist_toml("beta", "Beta speaks.", None),
    )
    .unwrap();
    std::os::unix::fs::symlink(&target, p.file("beta")).unwrap();
    let mut d = p.up();
    p.wait_ready(&["alpha", "beta"], &mut d);

    // 1. The symlink's target, outside specialists.d, edited.
    std::fs::write(
        &target,
        Project::specialist_toml("beta", "Beta TARGET-EDIT.", None),
    )
    .unwrap();
    applies(&p, &server, &d, "beta", "TARGET-EDIT");

    // 2. templates/ removed: a config error, and the last good prompt stays.
    let before = prompt_of(&p, &server, "alpha");
    assert!(before.contains("Alpha speaks."), "{before}");
    let templates = p.root().join("templates");
    let kept = p.root().join("templates.kept");
    std::fs::rename(&templates, &kept).unwrap();
    assert!(
        poll(Duration::from_secs(10), || p.is_in("alpha", "config_error")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    let err = p.status_of("alpha").unwrap()["last_error"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(err.contains("templates"), "{err}");
    assert_eq!(
        prompt_of(&p, &server, "alpha"),
        before,
        "the prompt changed"
    );

    // 3. templates/ re-created (a new directory): ready again, and an edit inside applies.
    copy_dir(&kept, &templates);
    assert!(
        poll(Duration::from_secs(10), || p.is_in("alpha", "ready")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    let main = templates.join("specialist.md.j2");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("TEMPLATE-EDIT\n{text}")).unwrap();
    applies(&p, &server, &d, "alpha", "TEMPLATE-EDIT");

    // 4. specialists.d replaced by rename: an edit inside the new one applies.
    let fresh = p.root().join("specialists.new");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::copy(p.file("alpha"), fresh.join("alpha.toml")).unwrap();
    std::os::unix::fs::symlink(&target, fresh.join("beta.toml")).unwrap();
    std::fs::rename(&p.dir, p.root().join("specialists.old")).unwrap();
    std::fs::rename(&fresh, &p.dir).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    p.write("alpha", "Alpha SWAPPED-EDIT.", None);
    applies(&p, &server, &d, "alpha", "SWAPPED-EDIT");
    assert_eq!(p.status_of("beta").unwrap()["state"], "ready");

    // 5. specialists.d gone for a while (a non-atomic replace): an error that
    // keeps the team running as it is, not "every file deleted".
    let port = p.port_of("alpha").unwrap();
    let away = p.root().join("specialists.away");
    std::fs::rename(&p.dir, &away).unwrap();
    assert!(
        poll(Duration::from_secs(10), || p.is_in("alpha", "config_error")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(prompt_of(&p, &server, "alpha").contains("SWAPPED-EDIT"));
    assert_eq!(p.port_of("alpha"), Some(port));
    assert!(!d.log().contains("stop alpha"), "{}", d.log());
    std::fs::rename(&away, &p.dir).unwrap();
    assert!(
        poll(Duration::from_secs(10), || ["alpha", "beta"]
            .iter()
            .all(|n| p.is_in(n, "ready"))),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
}
