//! One client connection's framing, as mini-redis's `Connection`: read a
//! request line, write a reply line, nothing else. The session loop
//! ([`super::session`]) and the handlers decide what is written.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::protocol::{self, Line, LineReader, Reply};

pub(crate) struct Connection {
    reader: LineReader<OwnedReadHalf>,
    writer: Writer,
}

/// The writing half: reply lines out.
pub(crate) struct Writer(OwnedWriteHalf);

impl Writer {
    /// Write one reply line.
    pub(crate) async fn write(&mut self, reply: &Reply) -> std::io::Result<()> {
        protocol::write_line(&mut self.0, &reply.to_line()).await
    }
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Connection {
        let _ = stream.set_nodelay(true);
        let (rd, writer) = stream.into_split();
        Connection {
            reader: LineReader::new(rd),
            writer: Writer(writer),
        }
    }

    /// The next request line; `None` at end of stream. Cancel-safe.
    pub(crate) async fn read_line(&mut self) -> std::io::Result<Option<Line>> {
        self.reader.next_line().await
    }

    /// Whether half a line is waiting for its newline.
    pub(crate) fn has_partial(&self) -> bool {
        self.reader.has_partial()
    }

    /// Write one reply line.
    pub(crate) async fn write(&mut self, reply: &Reply) -> std::io::Result<()> {
        self.writer.write(reply).await
    }

    /// While a chat is answered: the writer for its chunks, and a future
    /// that resolves when the connection breaks (a reset; end of input only
    /// means no further requests). The client's next request stays buffered
    /// meanwhile.
    pub(crate) fn split(
        &mut self,
    ) -> (&mut Writer, impl Future<Output = std::io::Result<()>> + '_) {
        (&mut self.writer, self.reader.broken())
    }

    /// After a protocol violation: stop writing, and keep reading for
    /// `linger` so the client receives the error instead of a reset.
    pub(crate) async fn close_after(&mut self, linger: Duration) {
        let _ = self.writer.0.shutdown().await;
        self.reader.discard(linger).await;
    }
}
