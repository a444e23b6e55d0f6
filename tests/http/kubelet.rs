//! Kubernetes hot reload: kubelet updates a mounted ConfigMap by an atomic
//! symlink swap, replayed here step by step on a projected directory (the
//! layout deploy/kubernetes mounts: one volume, `items` mapping every key to
//! `specialists.d/…`, `templates/…`, `cadre.toml`). Under a running
//! `cadre up --dir <projected>/specialists.d`, each update (a prompt, then
//! the template, then cadre.toml) reaches the next chat on the same
//! connection, with no restart and no config error in between.
//! Port range of this file: 48600-48619 (specialists); HTTP on port 0.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture::http::*;
use crate::fixture::ollama;
use crate::fixture::{Conn, Project, last_system_prompt, poll};

/// Write `files` (path → text) into `dir` as kubelet's AtomicWriter does:
/// a new `..TIMESTAMP` directory with the payload, a `..data_tmp` symlink to
/// it renamed over `..data`, a visible symlink `NAME -> ..data/NAME` per
/// top-level entry, then the old timestamped directory removed.
fn kubelet_write(dir: &Path, files: &BTreeMap<&str, String>) {
    let old = std::fs::read_link(dir.join("..data")).ok();
    let now = time::OffsetDateTime::now_utc();
    let ts = format!(
        "..{:04}_{:02}_{:02}_{:02}_{:02}_{:02}.{:09}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond()
    );
    for (path, text) in files {
        let dest = dir.join(&ts).join(path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, text).unwrap();
    }
    std::os::unix::fs::symlink(&ts, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    for path in files.keys() {
        let top = path.split('/').next().unwrap();
        let visible = dir.join(top);
        if visible.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(format!("..data/{top}"), visible).unwrap();
        }
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(dir.join(old)).unwrap();
    }
}

/// The project as the ConfigMap carries it.
fn payload(
    base_url: &str,
    prompt: &str,
    template_note: &str,
    temperature: f64,
) -> BTreeMap<&'static str, String> {
    let shipped = include_str!("../../templates/specialist.md.j2");
    BTreeMap::from([
        (
            "specialists.d/numa.toml",
            format!(
                "component = \"numa\"\ntitle = \"Numa\"\ndescription = \"Tests numa.\"\n\n\
                 [personality]\nrole = \"tester\"\nprompt = \"{prompt}\"\n"
            ),
        ),
        (
            "templates/specialist.md.j2",
            format!("{shipped}\n{template_note}\n"),
        ),
        (
            "cadre.toml",
            format!(
                "[defaults]\nprovider = \"local\"\nmodel = \"test-model\"\n\n\
                 [defaults.params]\ntemperature = {temperature}\n\n\
                 [providers.local]\nkind = \"ollama\"\nbase_url = \"{base_url}\"\n\n\
                 [ports]\nrange = [48600, 48619]\n"
            ),
        ),
    ])
}

/// Chat on `c` until the provider's last request satisfies `ok`.
fn chat_until(c: &mut Conn, server: &ollama::OllamaServer, ok: impl Fn(&Value) -> bool) -> bool {
    poll(Duration::from_secs(10), || {
        let a = c.chat("which prompt?");
        assert_eq!(a["type"], "response", "{a}");
        server.requests().last().is_some_and(&ok)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubelet_configmap_swap_reloads_with_no_restart_and_no_config_error() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let projected = tmp.path().join("project");
    std::fs::create_dir(&projected).unwrap();
    kubelet_write(
        &projected,
        &payload(&server.base_url, "Prompt one.", "", 0.1),
    );
    let state = tmp.path().join("state");
    let p = Project {
        dir: projected.join("specialists.d"),
        state,
        tmp,
    };
    let started = Instant::now();
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let pid = web.daemon.pid();

    // Every reconcile event from here on.
    let mut events = client().get(web.url("/api/events")).send().await.unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    while !seen.lock().unwrap().contains("hello") {
        let chunk = events.chunk().await.unwrap().unwrap();
        seen.lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&chunk));
    }
    let collector = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = events.chunk().await {
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk));
            }
        })
    };

    let port = p.port_of("numa").unwrap();
    let mut c = Conn::open(port).unwrap();
    assert_eq!(c.chat("hi")["type"], "response");
    assert!(last_system_prompt(&server.requests()).contains("Prompt one."));

    let steps: [(&str, &str, f64); 3] = [
        ("Prompt two.", "", 0.1),
        ("Prompt two.", "Template note three.", 0.1),
        ("Prompt two.", "Template note three.", 0.7),
    ];
    for (prompt, note, temperature) in steps {
        kubelet_write(
            &projected,
            &payload(&server.base_url, prompt, note, temperature),
        );
        let arrived = chat_until(&mut c, &server, |req| {
            let system = last_system_prompt(std::slice::from_ref(req));
            system.contains(prompt)
                && system.contains(note)
                && req["options"]["temperature"].as_f64() == Some(temperature)
        });
        assert!(
            arrived,
            "update {prompt:?} {note:?} {temperature} never reached a chat:\n{}",
            web.daemon.log()
        );
    }
    // Only a watch event can have done this: the periodic resync is 30 s away.
    assert!(
        started.elapsed() < cadre::supervisor::RESYNC,
        "took {:?}: cannot tell the watcher from the periodic resync",
        started.elapsed()
    );

    // The replay left kubelet's layout: one timestamped directory, `..data`.
    let stamped = std::fs::read_dir(&projected)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("..20")
        })
        .count();
    assert_eq!(stamped, 1);

    // No restart: same daemon, same port, same connection; no config error.
    web.daemon.assert_running();
    assert_eq!(web.daemon.pid(), pid);
    assert_eq!(c.ask(serde_json::json!({"type": "ping"}))["type"], "pong");
    let row = p.status_of("numa").unwrap();
    assert_eq!(row["port"], port);
    assert_eq!(row["state"], "ready", "{row}");
    collector.abort();
    let kinds: Vec<String> = sse_objects(&seen.lock().unwrap())
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.iter().any(|k| k == "reload"), "{kinds:?}");
    for bad in ["config_error", "restart", "stop", "start", "failed"] {
        assert!(
            !kinds.iter().any(|k| k == bad),
            "{bad} among {kinds:?}\n{}",
            web.daemon.log()
        );
    }
}
