//! The accept loop of the HTTP server: axum's `serve`, plus HTTP/1 half-close.
//!
//! A client may send its request and shut down its writing half while it
//! waits for the answer (`printf 'POST …' | nc -N`). hyper's default takes
//! that end of input for a client gone and drops the response mid-way,
//! cancelling the chat behind it; with half-close allowed, the answer is
//! written, and a client that really left is noticed when a write to it fails
//! (the SSE streams write keep-alive comments, so that is soon even before the
//! first token). The same contract as the socket protocol's.

use std::future::Future;
use std::pin::pin;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;

mod own_wakes;

/// Serve `app` on `listener` until `shutdown` resolves, then let open
/// connections finish (the caller bounds how long it waits).
pub(super) async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Dropping `stop` tells every connection to finish; `done` closes once
    // every connection task has dropped its receiver.
    let (stop, stopped) = watch::channel(());
    let (done_tx, done) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors, a connection reset before accept: keep serving.
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // SSE writes many small frames: without TCP_NODELAY, Nagle plus the
        // peer's delayed ACK holds each one back ~40 ms.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut stopped = stopped.clone();
        let done_rx = done.clone();
        tokio::spawn(own_wakes::OwnWakes::new(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.half_close(true);
            let mut conn = pin!(builder.serve_connection(TokioIo::new(tcp), service));
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!("HTTP connection ended: {e}");
                        }
                        break;
                    }
                    _ = stopped.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done_rx);
        }));
    }
    drop(stop);
    drop(done);
    done_tx.closed().await;
    Ok(())
}
