//! Reading a streamed gateway reply: a sequence of JSON objects
//! (`{"result":…}` or `{"error":…}`), newline-separated in practice but
//! parsed without relying on it, with a bound on one object's size so a
//! hostile or broken peer cannot make the buffer grow without end.

use serde::de::DeserializeOwned;

use super::wire::Frame;

/// Largest single frame accepted. A watch response carries at most one
/// revision's events; 1000 entries of ~1 KiB fit many times over.
pub const MAX_FRAME: usize = 16 << 20;

/// Frames of one streamed HTTP reply.
pub struct FrameReader {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new(resp: reqwest::Response) -> FrameReader {
        FrameReader {
            resp,
            buf: Vec::new(),
        }
    }

    /// The next frame; `Ok(None)` when the stream ended cleanly between
    /// frames. Errors are plain text for the caller to wrap.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<Frame<T>>, String> {
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(Some(frame));
            }
            match self.resp.chunk().await {
                Ok(Some(chunk)) => {
                    if self.buf.len() + chunk.len() > MAX_FRAME {
                        return Err(format!("a frame is over {MAX_FRAME} bytes"));
                    }
                    self.buf.extend_from_slice(&chunk);
                }
                Ok(None) if self.buf.iter().all(u8::is_ascii_whitespace) => return Ok(None),
                Ok(None) => return Err("the stream ended inside a frame".into()),
                Err(e) => return Err(super::client::describe(&e)),
            }
        }
    }

    fn parse<T: DeserializeOwned>(&mut self) -> Result<Option<Frame<T>>, String> {
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Frame<T>>();
        match it.next() {
            None => {
                self.buf.clear();
                Ok(None)
            }
            Some(Ok(frame)) => {
                let used = it.byte_offset();
                self.buf.drain(..used);
                Ok(Some(frame))
            }
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(e)) => Err(format!("undecodable frame: {e}")),
        }
    }
}
