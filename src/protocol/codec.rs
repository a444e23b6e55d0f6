//! Line framing over any tokio byte stream: read one line at a time with a
//! hard size limit, write one reply per line.
//!
//! The reader keeps its buffer between calls, so `next_line` is cancel-safe:
//! a `select!` that drops it mid-read loses no bytes.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::MAX_LINE;

/// Bytes read per syscall.
const READ_CHUNK: usize = 64 * 1024;

/// What the reader found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line, newline (and a trailing `\r`) stripped.
    Line(Vec<u8>),
    /// More than [`MAX_LINE`] bytes without a newline; the stream is out of sync and must be closed.
    TooLarge,
}

/// Reads newline-delimited lines of at most `max` bytes.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    eof: bool,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_max(inner, MAX_LINE)
    }

    pub fn with_max(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            scanned: 0,
            eof: false,
            max,
        }
    }

    /// The next non-blank line; `None` at end of stream. A final line without
    /// a newline is still returned (clients that half-close after writing).
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.scanned = 0;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if line.len() > self.max {
                    return Ok(Some(Line::TooLarge));
                }
                return Ok(Some(Line::Line(line)));
            }
            self.scanned = self.buf.len();
            // One byte of slack for a `\r` before the newline.
            if self.buf.len() > self.max + 1 {
                return Ok(Some(Line::TooLarge));
            }
            if self.eof {
                let mut rest = std::mem::take(&mut self.buf);
                self.scanned = 0;
                if rest.last() == Some(&b'\r') {
                    rest.pop();
                }
                if rest.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                if rest.len() > self.max {
                    return Ok(Some(Line::TooLarge));
                }
                return Ok(Some(Line::Line(rest)));
            }
            self.fill().await?;
        }
    }

    /// True when bytes of an unfinished line are buffered.
    pub fn has_partial(&self) -> bool {
        self.buf.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// Wait until the connection breaks (a read error: a reset), buffering
    /// whatever the peer sends meanwhile (up to one line's worth, then wait
    /// without reading). Used while a request runs, to notice a client that
    /// went away. End of input is not that: a client that half-closes after
    /// its request (`printf '…\n' | nc -N`) still waits for the answer, so
    /// after end of input this waits for ever, and only a failed write tells
    /// that the client is gone.
    pub async fn broken(&mut self) -> std::io::Result<()> {
        loop {
            if self.eof || self.buf.len() > self.max + 1 {
                return std::future::pending().await;
            }
            self.fill().await?;
        }
    }

    /// Read and throw away input for a moment, so closing after an error does
    /// not reset the connection before the client has read the error.
    pub async fn discard(&mut self, budget: std::time::Duration) {
        self.buf.clear();
        self.scanned = 0;
        let deadline = tokio::time::Instant::now() + budget;
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut total = 0usize;
        while !self.eof && total < 8 * self.max.max(READ_CHUNK) {
            let step = tokio::time::Instant::now() + std::time::Duration::from_millis(250);
            match tokio::time::timeout_at(step.min(deadline), self.inner.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => total += n,
            }
        }
    }

    /// Cancel-safe: `read_buf` appends to spare capacity only when bytes arrived.
    async fn fill(&mut self) -> std::io::Result<()> {
        self.buf.reserve(READ_CHUNK);
        if self.inner.read_buf(&mut self.buf).await? == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

/// Write `line` (which must end in `\n`) in one go.
pub async fn write_line<W: AsyncWrite + Unpin>(w: &mut W, line: &[u8]) -> std::io::Result<()> {
    w.write_all(line).await?;
    w.flush().await
}
