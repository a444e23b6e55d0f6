//! Line framing for streamed bodies (Ollama NDJSON, SSE).
//!
//! Network chunks split wherever TCP pleases: mid-line and mid-UTF-8
//! character. Bytes are buffered and only complete lines are decoded, so a
//! multi-byte character split across two chunks is never mangled.

/// Splits a byte stream into complete `\n`-terminated lines (a trailing `\r` is dropped).
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

/// A line that is not valid UTF-8 (the wire formats are all UTF-8 JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream line is not valid UTF-8")]
pub struct NotUtf8;

impl LineSplitter {
    /// Feed the next chunk; returns every line it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, NotUtf8> {
        self.buf.extend_from_slice(chunk);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            lines.push(decode(&self.buf[start..end])?);
            start = end + 1;
        }
        self.buf.drain(..start);
        Ok(lines)
    }

    /// The unterminated rest at end of stream, if any (servers may omit the last newline).
    pub fn finish(&mut self) -> Result<Option<String>, NotUtf8> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let rest = std::mem::take(&mut self.buf);
        decode(&rest).map(Some)
    }

    /// Bytes held back waiting for a newline.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn decode(line: &[u8]) -> Result<String, NotUtf8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8(line.to_vec()).map_err(|_| NotUtf8)
}

/// One server-sent event: its `event:` name (if any) and joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Assembles SSE events from lines (per the WHATWG event-stream rules we need:
/// `event`, `data`, comments, blank line dispatches).
#[derive(Debug, Default)]
pub struct SseParser {
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feed one line; returns an event when the line was the blank line ending one.
    pub fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        None
    }

    /// Dispatch what is pending at end of stream (a server may omit the final blank line).
    pub fn finish(&mut self) -> Option<SseEvent> {
        self.dispatch()
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = self.data.take()?;
        Some(SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks_and_utf8_boundaries() {
        let text = "héllo 🌍\r\nwörld\nlast";
        let bytes = text.as_bytes();
        // Every split point, including inside the 2- and 4-byte characters.
        for cut in 0..=bytes.len() {
            let mut s = LineSplitter::default();
            let mut lines = s.push(&bytes[..cut]).unwrap();
            lines.extend(s.push(&bytes[cut..]).unwrap());
            lines.extend(s.finish().unwrap());
            assert_eq!(lines, vec!["héllo 🌍", "wörld", "last"], "cut at {cut}");
        }
    }

    #[test]
    fn byte_by_byte_feed_yields_the_same_lines() {
        let text = "a\n\nüñ✓\n";
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        for b in text.as_bytes() {
            lines.extend(s.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(lines, vec!["a", "", "üñ✓"]);
        assert_eq!(s.finish().unwrap(), None);
    }

    #[test]
    fn invalid_utf8_line_is_an_error() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"\xff\xfe\n"), Err(NotUtf8));
    }

    #[test]
    fn sse_events_join_data_and_skip_comments() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for l in [
            ": ping",
            "event: message_start",
            "data: {\"a\":",
            "data: 1}",
            "",
            "data:[DONE]",
            "",
        ] {
            out.extend(p.line(l));
        }
        assert_eq!(
            out,
            vec![
                SseEvent {
                    event: Some("message_start".into()),
                    data: "{\"a\":\n1}".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
        assert_eq!(p.finish(), None);
    }
}
