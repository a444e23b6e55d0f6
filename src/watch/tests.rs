use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn wait_for(count: &AtomicUsize, at_least: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if count.load(Ordering::SeqCst) >= at_least {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn triggers_on_specialist_and_project_file_changes_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("specialists.d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(tmp.path().join("templates")).unwrap();
    let paths = ProjectPaths::from_specialists_dir(&dir);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let _w = watch(&paths, move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();

    // A burst of writes coalesces into few triggers (at least one).
    for i in 0..20 {
        std::fs::write(dir.join("a.toml"), format!("x = {i}")).unwrap();
    }
    assert!(wait_for(&count, 1), "no trigger for specialists.d");
    std::thread::sleep(Duration::from_millis(300));
    let after_burst = count.load(Ordering::SeqCst);
    assert!(
        after_burst < 20,
        "burst not coalesced: {after_burst} triggers"
    );

    // An unrelated file in the root is ignored.
    std::fs::write(tmp.path().join("README.md"), "hi").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        count.load(Ordering::SeqCst),
        after_burst,
        "unrelated file triggered"
    );

    // Reading the files (as every reconcile does) changes nothing.
    let _ = std::fs::read(dir.join("a.toml")).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        count.load(Ordering::SeqCst),
        after_burst,
        "reading a file triggered"
    );

    std::fs::write(tmp.path().join("cadre.toml"), "").unwrap();
    assert!(
        wait_for(&count, after_burst + 1),
        "no trigger for cadre.toml"
    );
    // Reading cadre.toml changes nothing either.
    std::thread::sleep(Duration::from_millis(300));
    let n = count.load(Ordering::SeqCst);
    let _ = std::fs::read(tmp.path().join("cadre.toml")).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        count.load(Ordering::SeqCst),
        n,
        "reading cadre.toml triggered"
    );
    let n = count.load(Ordering::SeqCst);
    std::fs::write(tmp.path().join("templates").join("x.md.j2"), "hi").unwrap();
    assert!(wait_for(&count, n + 1), "no trigger for templates");
}

/// kubelet's update of a ConfigMap volume: payload in a new `..TS`
/// directory, `..data_tmp` renamed over `..data`, the old one deleted.
fn swap(root: &Path, n: usize, text: &str) {
    let ts = format!("..2026_12_01_00_00_{n:02}.000000001");
    let old = std::fs::read_link(root.join("..data")).ok();
    for sub in ["specialists.d", "templates"] {
        std::fs::create_dir_all(root.join(&ts).join(sub)).unwrap();
    }
    std::fs::write(root.join(&ts).join("specialists.d/a.toml"), text).unwrap();
    std::fs::write(root.join(&ts).join("cadre.toml"), text).unwrap();
    std::os::unix::fs::symlink(&ts, root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    for top in ["specialists.d", "templates", "cadre.toml"] {
        let _ = std::os::unix::fs::symlink(format!("..data/{top}"), root.join(top));
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(root.join(old)).unwrap();
    }
}

#[test]
fn follows_kubelet_symlink_swaps_again_and_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    swap(&root, 0, "v0");
    let paths = ProjectPaths::from_specialists_dir(&root.join("specialists.d"));
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let _w = watch(&paths, move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    for n in 1..=3 {
        let before = count.load(Ordering::SeqCst);
        swap(&root, n, &format!("v{n}"));
        assert!(wait_for(&count, before + 1), "no trigger for swap {n}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The watch is on the directory `..data` names now: a plain edit there fires.
    let before = count.load(Ordering::SeqCst);
    std::fs::write(root.join("specialists.d/b.toml"), "x").unwrap();
    assert!(
        wait_for(&count, before + 1),
        "no trigger inside the new directory"
    );
}

/// A file replaced by rename triggers, as do edits and deletion; its
/// neighbours and reads of it do not.
#[test]
fn watch_file_sees_its_file_replaced_edited_and_deleted_only() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("registry.json");
    std::fs::write(&file, "{}").unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let _w = watch_file(&file, move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let fresh = tmp.path().join(".registry.json.new");
    std::fs::write(&fresh, "{\"a\":1}").unwrap();
    std::fs::rename(&fresh, &file).unwrap();
    assert!(wait_for(&count, 1), "a rename over the file went unseen");
    std::fs::write(&file, "{\"a\":2}").unwrap();
    assert!(wait_for(&count, 2), "an edit went unseen");
    std::fs::remove_file(&file).unwrap();
    assert!(wait_for(&count, 3), "its deletion went unseen");

    // Settled: a neighbour and a read of the file (recreated) wake nothing.
    std::thread::sleep(DEBOUNCE * 6);
    std::fs::write(&file, "{}").unwrap();
    assert!(wait_for(&count, 4));
    std::thread::sleep(DEBOUNCE * 6);
    let before = count.load(Ordering::SeqCst);
    std::fs::write(tmp.path().join("registry.lock"), "").unwrap();
    std::fs::read(&file).unwrap();
    std::thread::sleep(DEBOUNCE * 6);
    assert_eq!(
        count.load(Ordering::SeqCst),
        before,
        "a neighbour or a read triggered"
    );
}
