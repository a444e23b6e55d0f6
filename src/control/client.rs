//! The control socket's client side (blocking, for the CLI): one request
//! and its reply, or a streaming request (`team`) and its events.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ControlError, Request, Response, io};

/// Connect to the daemon whose control socket is `socket` and send `req`.
fn open(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<(std::os::unix::net::UnixStream, PathBuf), ControlError> {
    let path = socket.to_path_buf();
    let stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ControlError::NotRunning(path));
        }
        Err(e) => return Err(io(&path)(e)),
    };
    stream.set_read_timeout(Some(timeout)).map_err(io(&path))?;
    stream.set_write_timeout(Some(timeout)).map_err(io(&path))?;
    let mut line =
        serde_json::to_string(req).map_err(|e| ControlError::Malformed(e.to_string()))?;
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(io(&path))?;
    Ok((stream, path))
}

/// One reply line; a reply with `ok: false` becomes [`ControlError::Daemon`].
fn read_reply(reader: &mut impl BufRead, path: &Path) -> Result<Response, ControlError> {
    let mut reply = String::new();
    reader.read_line(&mut reply).map_err(io(path))?;
    if reply.is_empty() {
        return Err(ControlError::Malformed(
            "connection closed without a reply".into(),
        ));
    }
    let resp: Response =
        serde_json::from_str(&reply).map_err(|e| ControlError::Malformed(e.to_string()))?;
    if !resp.ok {
        return Err(ControlError::Daemon(
            resp.error.unwrap_or_else(|| "request failed".into()),
        ));
    }
    Ok(resp)
}

/// Client side (blocking, for the CLI): send one request, read its reply.
/// A reply with `ok: false` becomes [`ControlError::Daemon`].
pub fn request(socket: &Path, req: &Request, timeout: Duration) -> Result<Response, ControlError> {
    let (stream, path) = open(socket, req, timeout)?;
    read_reply(&mut BufReader::new(&stream), &path)
}

/// Client side of a streaming request (`team`): every event to `on`, until
/// the `summary` (returned). `per_event` bounds each wait for the next one.
pub fn stream(
    socket: &Path,
    req: &Request,
    per_event: Duration,
    mut on: impl FnMut(&serde_json::Value),
) -> Result<serde_json::Value, ControlError> {
    let (stream, path) = open(socket, req, per_event)?;
    let mut reader = BufReader::new(&stream);
    loop {
        let resp = read_reply(&mut reader, &path)?;
        let Some(event) = resp.event else {
            return Err(ControlError::Malformed(
                "a streamed reply without an event".into(),
            ));
        };
        on(&event);
        if event["type"] == "summary" {
            return Ok(event);
        }
    }
}
