//! One client session: read a line, answer it, repeat. Requests on one
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

use tokio::net::TcpStream;

use super::connection::Connection;
use super::{Shared, handlers};
use crate::protocol::{self, ErrorCode, Line, Reply};

/// How long a connection being closed for a protocol violation keeps reading,
/// so the client receives the error instead of a connection reset.
const LINGER: Duration = Duration::from_secs(2);

/// Why the session reads no further.
enum Next {
    Line(Vec<u8>),
    Close,
}

pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut conn = Connection::new(stream);
    tracing::debug!(specialist = %shared.name(), %peer, "connection opened");
    while let Next::Line(line) = next(&shared, &mut conn).await {
        let request = match protocol::decode(&line) {
            Ok(r) => r,
            Err(e) => {
                let reply = Reply::error(&shared.name(), e.id, e.code, e.message);
                if shared.send(&mut conn, reply).await.is_err() {
                    break;
                }
                continue;
            }
        };
        shared.counters.request(request.body.kind());
        if shared.draining.is_cancelled() {
            let reply = Reply::error(
                &shared.name(),
                request.id,
                ErrorCode::ShuttingDown,
                "specialist is shutting down",
            );
            if shared.send(&mut conn, reply).await.is_err() {
                break;
            }
            continue;
        }
        if handlers::respond(&shared, request, &mut conn)
            .await
            .is_err()
        {
            break;
        }
    }
    tracing::debug!(specialist = %shared.name(), %peer, "connection closed");
}

/// The next line to answer, or why the session ends.
async fn next(shared: &Shared, conn: &mut Connection) -> Next {
    let idle = shared.limits.idle_timeout;
    let read = tokio::select! {
        biased;
        r = conn.read_line() => r,
        _ = shared.draining.cancelled() => return Next::Close,
        _ = tokio::time::sleep(idle) => {
            if conn.has_partial() {
                let msg = format!("no complete line within {idle:?}; closing the connection");
                let reply = Reply::error(&shared.name(), None, ErrorCode::Timeout, msg);
                let _ = shared.send(conn, reply).await;
            }
            return Next::Close;
        }
    };
    match read {
        Ok(Some(Line::Line(line))) => Next::Line(line),
        Ok(Some(Line::TooLarge)) => {
            let msg = format!(
                "request line exceeds {} bytes; closing the connection",
                protocol::MAX_LINE
            );
            let reply = Reply::error(&shared.name(), None, ErrorCode::TooLarge, msg);
            let _ = shared.send(conn, reply).await;
            conn.close_after(LINGER).await;
            Next::Close
        }
        Ok(None) | Err(_) => Next::Close,
    }
}
