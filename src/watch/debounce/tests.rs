use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use super::*;

/// Long enough that no stall of a loaded machine splits a tight burst.
const SETTLE: Duration = Duration::from_millis(500);
const WAIT: Duration = Duration::from_secs(20);

fn debouncer(dir: &Path, max_delay: Duration) -> (Debouncer, Receiver<Batch>) {
    let (tx, rx) = channel();
    let ignore = |k: &EventKind| matches!(k, EventKind::Access(_));
    let mut d = new(SETTLE, max_delay, ignore, move |b| {
        let _ = tx.send(b);
    })
    .unwrap();
    d.watch(dir, RecursiveMode::NonRecursive).unwrap();
    (d, rx)
}

#[test]
fn a_burst_is_one_batch_and_reads_wake_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_d, rx) = debouncer(tmp.path(), Duration::from_secs(60));
    let file = tmp.path().join("a.toml");
    for i in 0..20 {
        std::fs::write(&file, format!("n = {i}")).unwrap();
    }
    let batch = rx.recv_timeout(WAIT).expect("no batch for 20 writes");
    let events = batch.expect("watch errors");
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.kind, EventKind::Access(_)))
    );
    assert!(
        events
            .iter()
            .all(|e| e.paths.iter().all(|p| p.ends_with("a.toml")))
    );

    // Opens and reads (every reconcile does them) are dropped unseen.
    for _ in 0..20 {
        std::fs::read(&file).unwrap();
    }
    let more = rx.recv_timeout(SETTLE * 4);
    assert!(more.is_err(), "reads made a batch: {more:?}");
}

/// Writes that never pause for `SETTLE` still come out every `max_delay`.
#[test]
fn a_storm_that_never_settles_is_handed_over_in_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (_d, rx) = debouncer(tmp.path(), Duration::from_millis(100));
    let file = tmp.path().join("a.toml");
    let start = Instant::now();
    let mut batches = 0;
    while start.elapsed() < Duration::from_secs(3) {
        std::fs::write(&file, "x").unwrap();
        std::thread::sleep(Duration::from_millis(10));
        batches += rx.try_iter().count();
    }
    assert!(batches >= 2, "{batches} batches during a 3 s storm");
}

#[test]
fn dropping_it_ends_its_thread() {
    let held = Arc::new(());
    let h = held.clone();
    let d = new(
        SETTLE,
        SETTLE,
        |_| false,
        move |_| {
            let _keep = &h;
        },
    )
    .unwrap();
    assert_eq!(Arc::strong_count(&held), 2);
    drop(d);
    let start = Instant::now();
    while Arc::strong_count(&held) > 1 {
        assert!(start.elapsed() < WAIT, "the thread outlived its debouncer");
        std::thread::sleep(Duration::from_millis(10));
    }
}
