//! A future that answers its own wake-ups at once instead of rescheduling.
//!
//! hyper's HTTP/1 connection wakes its own task while it is being polled:
//! the request body goes through a one-slot channel whose sender (the
//! connection) is woken when the handler takes the body, in the same poll.
//! tokio treats a task woken during its own poll as one that yielded: it goes
//! to the back of the run queue and an idle worker is unparked to steal it.
//! On every chat over HTTP, one futex wake-up, one thread woken and the
//! connection moved to the other core (seen with strace: two futex calls per
//! `/v1` chat, none per socket chat). Here a wake-up that arrives during the
//! inner poll is noted, and the inner future is polled again right away, a
//! few times at most, so a future that yields to be fair still yields.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// Polls of the inner future per poll of this one at most.
const REPOLLS: usize = 4;

pub(super) struct OwnWakes<F> {
    inner: Pin<Box<F>>,
    state: Arc<State>,
    waker: Waker,
}

#[derive(Default)]
struct State {
    /// Set while the inner future is being polled.
    polling: AtomicBool,
    /// A wake-up came while `polling`.
    woken: AtomicBool,
    /// The task's own waker, for wake-ups from elsewhere.
    task: AtomicWaker,
}

impl Wake for State {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Noted first, then checked: a wake that finds `polling` cleared
        // forwards, and one that does not is seen by the check after the poll.
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            self.task.wake();
        }
    }
}

impl<F: Future> OwnWakes<F> {
    pub(super) fn new(inner: F) -> OwnWakes<F> {
        let state = Arc::new(State::default());
        OwnWakes {
            inner: Box::pin(inner),
            waker: Waker::from(state.clone()),
            state,
        }
    }
}

impl<F: Future> Future for OwnWakes<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Unpin (the inner future is boxed): the fields borrow apart, so the
        // waker is lent to each poll instead of cloned for it.
        let this = self.get_mut();
        this.state.task.register(cx.waker());
        for _ in 0..REPOLLS {
            this.state.woken.store(false, Ordering::SeqCst);
            this.state.polling.store(true, Ordering::SeqCst);
            let out = this
                .inner
                .as_mut()
                .poll(&mut Context::from_waker(&this.waker));
            this.state.polling.store(false, Ordering::SeqCst);
            if out.is_ready() {
                return out;
            }
            if !this.state.woken.swap(false, Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
        // Still waking itself: let the scheduler run others first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Wakes itself `n` times, then is ready; counts its polls.
    struct SelfWaking {
        left: usize,
        polls: Arc<AtomicUsize>,
    }

    impl Future for SelfWaking {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            if self.left == 0 {
                return Poll::Ready(());
            }
            self.left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn run(left: usize) -> (Poll<()>, usize, usize) {
        let polls = Arc::new(AtomicUsize::new(0));
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut f = OwnWakes::new(SelfWaking {
            left,
            polls: polls.clone(),
        });
        let out = Pin::new(&mut f).poll(&mut Context::from_waker(&waker));
        (
            out,
            polls.load(Ordering::SeqCst),
            wakes.0.load(Ordering::SeqCst),
        )
    }

    #[test]
    fn own_wakes_are_answered_by_polling_again_a_few_times_only() {
        // Two self-wakes: done within one poll, the task never woken.
        assert_eq!(run(2), (Poll::Ready(()), 3, 0));
        // Endless self-wakes: REPOLLS polls, then the task is woken to yield.
        let (out, polls, wakes) = run(usize::MAX);
        assert!(out.is_pending());
        assert_eq!((polls, wakes), (REPOLLS, 1));
    }

    /// A wake from elsewhere, between polls, reaches the task.
    #[test]
    fn wakes_from_outside_a_poll_reach_the_task() {
        struct Parked(Option<Waker>);
        impl Future for Parked {
            type Output = ();
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                self.0 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut f = OwnWakes::new(Parked(None));
        assert!(
            Pin::new(&mut f)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let inner = f.inner.0.clone().unwrap();
        inner.wake_by_ref();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    }
}
