//! A stream whose producer is polled in place: the chat loop runs inside the
//! task that polls the stream (see [`super::driver`] for why), and dropping
//! the stream drops the loop. The provider's chat loop and the consultation
//! loop ([`crate::consult`]) both use it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

/// The chat loop, polled in place by whoever polls the stream.
///
/// Only the loop puts items into `rx`, and only while `poll_next` polls it, so
/// `rx` needs no waker of its own: `try_recv` after each poll of the loop is
/// enough, and the loop's own wakers (socket, timers, channel capacity) wake
/// the caller's task.
pub(crate) struct Inline<T> {
    run: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    rx: mpsc::Receiver<T>,
}

impl<T> Stream for Inline<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match self.rx.try_recv() {
                Ok(item) => return Poll::Ready(Some(item)),
                // The loop ended and dropped its sender; everything was read.
                Err(TryRecvError::Disconnected) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {}
            }
            let Some(run) = self.run.as_mut() else {
                return Poll::Ready(None);
            };
            match run.as_mut().poll(cx) {
                // Its sender is dropped now: the next `try_recv` drains or ends.
                Poll::Ready(()) => self.run = None,
                Poll::Pending if self.rx.is_empty() => return Poll::Pending,
                Poll::Pending => {}
            }
        }
    }
}

impl<T> Inline<T> {
    pub(crate) fn new(
        run: Pin<Box<dyn Future<Output = ()> + Send>>,
        rx: mpsc::Receiver<T>,
    ) -> Inline<T> {
        Inline { run: Some(run), rx }
    }
}
