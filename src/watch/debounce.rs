//! Debouncing that sleeps while nothing happens.
//!
//! `notify-debouncer-full` looks for settled events on a timer: its thread
//! wakes every tick (5 ms here) for as long as the daemon runs, ~200 wake-ups
//! a second of an idle daemon, most of its idle CPU. Here the thread blocks
//! on the event channel with no timeout until an event arrives, then waits
//! for the burst to settle (no event for `settle`), hands the batch over, and
//! blocks again. Ignored events (reads) are dropped on notify's own thread,
//! so they never wake this one. A burst that never settles is still handed
//! over every `max_delay`, so a storm of edits keeps reconciling.
//!
//! Nothing here tracks what changed per path, as the full debouncer does: the
//! supervisor is level-triggered and re-reads everything on each trigger.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// One settled burst: its events, or the watch errors seen in it (a lost
/// event may hide behind one, so callers should reconcile).
pub type Batch = Result<Vec<Event>, Vec<notify::Error>>;

/// The watches, and the thread that debounces their events; dropping it
/// stops both (the thread ends when the watcher's channel closes).
pub struct Debouncer {
    watcher: RecommendedWatcher,
}

impl Debouncer {
    pub fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        self.watcher.watch(path, mode)
    }

    pub fn unwatch(&mut self, path: &Path) -> notify::Result<()> {
        self.watcher.unwatch(path)
    }
}

/// Watch nothing yet; call `handler` (on the debouncer's own thread) with
/// each burst of events that `ignore` does not drop.
pub fn new(
    settle: Duration,
    max_delay: Duration,
    ignore: fn(&EventKind) -> bool,
    handler: impl FnMut(Batch) + Send + 'static,
) -> notify::Result<Debouncer> {
    let (tx, rx) = channel::<notify::Result<Event>>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        if matches!(&res, Ok(e) if ignore(&e.kind)) {
            return;
        }
        let _ = tx.send(res);
    })?;
    std::thread::Builder::new()
        .name("cadre-watch".into())
        .spawn(move || run(rx, settle, max_delay, handler))
        .map_err(notify::Error::io)?;
    Ok(Debouncer { watcher })
}

fn run(
    rx: Receiver<notify::Result<Event>>,
    settle: Duration,
    max_delay: Duration,
    mut handler: impl FnMut(Batch),
) {
    // Blocks with no timeout: an idle daemon's watcher does not wake.
    while let Ok(first) = rx.recv() {
        let mut burst = Burst::default();
        burst.add(first);
        let deadline = Instant::now() + max_delay;
        let open = loop {
            let wait = settle.min(deadline.saturating_duration_since(Instant::now()));
            if wait.is_zero() {
                break true;
            }
            match rx.recv_timeout(wait) {
                Ok(res) => burst.add(res),
                Err(RecvTimeoutError::Timeout) => break true,
                Err(RecvTimeoutError::Disconnected) => break false,
            }
        };
        handler(burst.finish());
        if !open {
            return;
        }
    }
}

#[derive(Default)]
struct Burst {
    events: Vec<Event>,
    errors: Vec<notify::Error>,
}

impl Burst {
    fn add(&mut self, res: notify::Result<Event>) {
        match res {
            Ok(e) => self.events.push(e),
            Err(e) => self.errors.push(e),
        }
    }

    fn finish(self) -> Batch {
        if self.errors.is_empty() {
            Ok(self.events)
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests;
