//! One client connection: read a line, answer it, repeat. Requests on one
//! connection are answered strictly in order; connections run concurrently.
//!
//! Closing rules: end of stream or a read error closes; a line over
//! `MAX_LINE` gets `too_large` and closes; no complete line within
//! `idle_timeout` closes (with a `timeout` error when half a line is pending);
//! draining closes idle connections and answers lines that are already
//! waiting with `shutting_down`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use super::Shared;
use super::handlers;
use crate::protocol::{self, ErrorCode, Line, LineReader, Reply};

/// How long a connection being closed for a protocol violation keeps reading,
/// so the client receives the error instead of a connection reset.
const LINGER: Duration = Duration::from_secs(2);

pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut reader = LineReader::new(rd);
    tracing::debug!(specialist = %shared.name(), %peer, "connection opened");
    loop {
        let next = tokio::select! {
            biased;
            r = reader.next_line() => r,
            _ = shared.draining.cancelled() => break,
            _ = tokio::time::sleep(shared.limits.idle_timeout) => {
                if reader.has_partial() {
                    let msg = format!(
                        "no complete line within {:?}; closing the connection",
                        shared.limits.idle_timeout
                    );
                    let _ = send(&shared, &mut wr, Reply::error(&shared.name(), None, ErrorCode::Timeout, msg)).await;
                }
                break;
            }
        };
        let line = match next {
            Ok(Some(Line::Line(line))) => line,
            Ok(Some(Line::TooLarge)) => {
                shared.counters.request();
                let msg = format!(
                    "request line exceeds {} bytes; closing the connection",
                    protocol::MAX_LINE
                );
                let _ = send(
                    &shared,
                    &mut wr,
                    Reply::error(&shared.name(), None, ErrorCode::TooLarge, msg),
                )
                .await;
                let _ = wr.shutdown().await;
                reader.discard(LINGER).await;
                break;
            }
            Ok(None) | Err(_) => break,
        };
        shared.counters.request();
        let request = match protocol::decode(&line) {
            Ok(r) => r,
            Err(e) => {
                let reply = Reply::error(&shared.name(), e.id, e.code, e.message);
                if send(&shared, &mut wr, reply).await.is_err() {
                    break;
                }
                continue;
            }
        };
        if shared.draining.is_cancelled() {
            let reply = Reply::error(
                &shared.name(),
                request.id,
                ErrorCode::ShuttingDown,
                "specialist is shutting down",
            );
            if send(&shared, &mut wr, reply).await.is_err() {
                break;
            }
            continue;
        }
        if handlers::respond(&shared, request, &mut wr, &mut reader)
            .await
            .is_err()
        {
            break;
        }
    }
    tracing::debug!(specialist = %shared.name(), %peer, "connection closed");
}

/// Write one reply, counting error replies.
pub(crate) async fn send(
    shared: &Shared,
    wr: &mut OwnedWriteHalf,
    reply: Reply,
) -> std::io::Result<()> {
    if let protocol::ReplyBody::Error { code, .. } = &reply.body {
        shared.counters.error_code(*code);
    }
    protocol::write_line(wr, &reply.to_line()).await
}
