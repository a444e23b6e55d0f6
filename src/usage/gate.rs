//! `max_concurrent`: a first-come, first-served gate whose size may change
//! while chats hold it (a reload of `[limits]`). A chat beyond the limit
//! waits its turn instead of failing: a chat page or a team round then gets
//! its answer a little later rather than an error. Waiting is cancel-safe:
//! a client that leaves gives up its place, and a turn handed to a waiter
//! that left at that moment passes on to the next.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

#[derive(Default)]
pub(super) struct Gate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: u32,
    /// The size the latest chat asked for.
    max: u32,
    next_id: u64,
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// A place in the gate; the next waiter goes in when it drops.
pub(super) struct Turn(Arc<Gate>);

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait until fewer than `max` chats are inside, in arrival order.
    pub(super) async fn enter(self: &Arc<Self>, max: u32) -> Turn {
        let (id, rx) = {
            let mut s = self.lock();
            s.max = max;
            s.admit_waiters();
            if s.running < s.max && s.waiters.is_empty() {
                s.running += 1;
                return Turn(self.clone());
            }
            let id = s.next_id;
            s.next_id += 1;
            let (tx, rx) = oneshot::channel();
            s.waiters.push_back((id, tx));
            (id, rx)
        };
        let leave = Leave {
            gate: self,
            id,
            armed: true,
        };
        // The sender lives in the queue until a turn is handed over, and the
        // queue lives as long as the gate: `rx` only ends by a turn.
        let _ = rx.await;
        leave.disarm();
        Turn(self.clone())
    }

    /// How many chats are inside now.
    #[cfg(test)]
    fn running(&self) -> u32 {
        self.lock().running
    }

    fn release(&self) {
        let mut s = self.lock();
        s.running = s.running.saturating_sub(1);
        s.admit_waiters();
    }
}

impl State {
    /// Hand turns to waiters while there is room; a waiter that left is skipped.
    fn admit_waiters(&mut self) {
        while self.running < self.max {
            let Some((_, tx)) = self.waiters.pop_front() else {
                return;
            };
            if tx.send(()).is_ok() {
                self.running += 1;
            }
        }
    }
}

/// Removes a waiter that stops waiting (its future dropped) from the queue,
/// or, if its turn came at that very moment, passes the turn on.
struct Leave<'a> {
    gate: &'a Arc<Gate>,
    id: u64,
    armed: bool,
}

impl Leave<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut s = self.gate.lock();
        if let Some(i) = s.waiters.iter().position(|(id, _)| *id == self.id) {
            s.waiters.remove(i);
        } else {
            // Its turn was handed over but never taken.
            s.running = s.running.saturating_sub(1);
            s.admit_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_max_inside_in_arrival_order() {
        let gate = Arc::new(Gate::default());
        let a = gate.enter(2).await;
        let b = gate.enter(2).await;
        assert_eq!(gate.running(), 2);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..3 {
            let (gate, tx) = (gate.clone(), tx.clone());
            tokio::spawn(async move {
                let t = gate.enter(2).await;
                tx.send(n).unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(t);
            });
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            rx.try_recv().is_err(),
            "nobody may enter while two are inside"
        );
        drop(a);
        assert_eq!(rx.recv().await, Some(0));
        drop(b);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.running(), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_keeps_nobody_out() {
        let gate = Arc::new(Gate::default());
        let a = gate.enter(1).await;
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(a);
        let _c = tokio::time::timeout(Duration::from_secs(5), gate.enter(1))
            .await
            .expect("the gate was left blocked");
        assert_eq!(gate.running(), 1);
    }

    #[tokio::test]
    async fn a_larger_limit_lets_waiters_in_at_once() {
        let gate = Arc::new(Gate::default());
        let _a = gate.enter(1).await;
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _b = gate.enter(3).await;
        let _w = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("a raised limit must admit the waiter")
            .unwrap();
        assert_eq!(gate.running(), 3);
    }
}
