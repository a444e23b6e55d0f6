//! A stream written as one `async` block: the block hands items out with
//! [`Yield::send`] and is polled in place by whoever polls the stream.
//!
//! Why not a task and a channel: a spawned producer costs a spawn, a channel
//! allocation and a cross-task wake (often a worker unpark) per item, and it
//! outlives its consumer unless told to stop. Here the producer *is* the
//! stream: it runs only while the consumer polls, so it is back-pressured for
//! free, and dropping the stream drops the block at its current `await` —
//! with it whatever the block owns (a provider request, a drain token, a
//! counter guard), which is how a client that goes away cancels its chat.
//!
//! Cost: one boxed future and one small shared slot per stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::Stream;

type Slot<T> = Arc<Mutex<Option<T>>>;

/// The stream side: items come from the block given to [`Generator::new`].
pub struct Generator<T> {
    slot: Slot<T>,
    block: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

/// The block's side: hands items to the stream's consumer.
///
/// Only meaningful inside the block it was given to: `send` suspends the
/// block until the consumer asks for the next item, and only the
/// [`Generator`] polling that block resumes it.
pub struct Yield<T> {
    slot: Slot<T>,
}

impl<T: Send + 'static> Generator<T> {
    /// A stream of what `block` sends; it ends when the block returns.
    pub fn new<F, Fut>(block: F) -> Generator<T>
    where
        F: FnOnce(Yield<T>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let slot: Slot<T> = Arc::new(Mutex::new(None));
        let y = Yield { slot: slot.clone() };
        Generator {
            slot,
            block: Some(Box::pin(block(y))),
        }
    }
}

impl<T> Yield<T> {
    /// Hand `item` out; resumes once the consumer polls for the next one
    /// (never, if it drops the stream instead).
    pub async fn send(&self, item: T) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(item);
        Suspend(false).await;
    }
}

/// Pending exactly once, without a wake-up: the generator sees the item in
/// the slot and returns it, and the consumer's next poll resumes the block.
struct Suspend(bool);

impl Future for Suspend {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

impl<T> Stream for Generator<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(block) = self.block.as_mut() else {
            return Poll::Ready(None);
        };
        let done = block.as_mut().poll(cx).is_ready();
        if done {
            self.block = None;
        }
        let item = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match item {
            Some(item) => Poll::Ready(Some(item)),
            None if done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<T> Unpin for Generator<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn items_come_in_order_and_the_stream_ends_with_the_block() {
        let g = Generator::new(|y| async move {
            for i in 0..3 {
                y.send(i).await;
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(g.collect::<Vec<_>>().await, vec![0, 1, 2]);
    }

    #[tokio::test]
    async fn the_block_runs_only_when_polled_and_dropping_the_stream_drops_it() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let started = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let (s, d) = (started.clone(), dropped.clone());
        let mut g = Generator::new(move |y| async move {
            let _flag = Flag(d);
            s.store(true, Ordering::SeqCst);
            y.send("first").await;
            std::future::pending::<()>().await;
        });
        assert!(!started.load(Ordering::SeqCst), "ran before being polled");
        assert_eq!(g.next().await, Some("first"));
        assert!(!dropped.load(Ordering::SeqCst));
        drop(g);
        assert!(dropped.load(Ordering::SeqCst), "block outlived its stream");
    }

    #[tokio::test]
    async fn an_item_sent_as_the_block_returns_is_not_lost() {
        let g = Generator::new(|y| async move { y.send(7).await });
        assert_eq!(g.collect::<Vec<_>>().await, vec![7]);
    }
}
