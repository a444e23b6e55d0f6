//! A small async client of the socket protocol, used by `chat`, `team`,
//! `status` and the tests. One connection, requests answered in order.

use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::config::SpecialistName;
use crate::protocol::{
    self, ChatBody, ErrorCode, Line, LineReader, Reply, ReplyBody, Request, RequestBody,
};

/// Why a request did not get a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("connection to {addr} failed: {source}")]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error("no answer from {addr} within {after:?}")]
    Timeout { addr: String, after: Duration },
    #[error("{addr} closed the connection before answering")]
    Closed { addr: String },
    #[error("{addr} sent a reply that is not protocol JSON: {reason}")]
    BadReply { addr: String, reason: String },
    /// None of a specialist's endpoints opened a chat (each said why).
    #[error("no endpoint answered: {tried}")]
    NoEndpoint { tried: String },
    /// The specialist answered with an error reply.
    #[error("{specialist}: {code}: {error}")]
    Remote {
        specialist: SpecialistName,
        code: ErrorCode,
        error: String,
        /// When a retry can succeed (`rate_limited`, `budget_exceeded`).
        retry_after_ms: Option<u64>,
    },
}

impl ClientError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, ClientError::Timeout { .. })
    }
}

/// The final answer of a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub specialist: SpecialistName,
    pub content: String,
    pub model: String,
    pub usage: crate::conversation::Usage,
    pub latency_ms: u64,
    /// The colleagues the specialist asked on the way.
    pub consulted: Vec<crate::protocol::Consulted>,
}

/// One open connection to a specialist.
pub struct Client {
    addr: String,
    reader: LineReader<OwnedReadHalf>,
    /// `None` only inside `drop`.
    writer: Option<OwnedWriteHalf>,
    /// Bound on each wait for a reply line (and on connecting).
    timeout: Duration,
    /// A chat was sent and its final reply has not arrived yet.
    answer_pending: bool,
}

/// A client dropped while a chat's answer is pending (a timeout, a team
/// member given up on, an HTTP client gone) resets the connection: to the
/// specialist a plain close is only end of input, after which it still
/// answers (clients that half-close after their request), while a reset
/// cancels the provider request at once. No FIN may go first (the write
/// half would send one when dropped), or the specialist would take the
/// close for a half-close and never look for the reset.
impl Drop for Client {
    fn drop(&mut self) {
        if self.answer_pending
            && let Some(w) = self.writer.take()
        {
            let _ = w.as_ref().set_zero_linger();
            // The socket closes, with the reset, when the read half drops.
            w.forget();
        }
    }
}

impl Client {
    /// Connect to `host:port`; `timeout` bounds the connect and every later wait for a line.
    /// The socket has SO_REUSEADDR (see [`crate::net::socket`]), so however
    /// many connections this opens, their TIME_WAITs never block a listener.
    pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Client, ClientError> {
        let addr = crate::net::socket::host_port(host, port);
        let connect = crate::net::socket::connect(host, port);
        let stream = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
            Err(_) => {
                return Err(ClientError::Timeout {
                    addr,
                    after: timeout,
                });
            }
        };
        let _ = stream.set_nodelay(true);
        let (rd, writer) = stream.into_split();
        Ok(Client {
            addr,
            reader: LineReader::new(rd),
            writer: Some(writer),
            timeout,
            answer_pending: false,
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Change the bound on each wait for a reply line.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Send one request.
    pub async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let mut line =
            serde_json::to_vec(&request.to_json()).map_err(|e| ClientError::BadReply {
                addr: self.addr.clone(),
                reason: e.to_string(),
            })?;
        line.push(b'\n');
        self.send_raw(&line).await?;
        if matches!(request.body, RequestBody::Chat(_)) {
            self.answer_pending = true;
        }
        Ok(())
    }

    /// Send bytes as they are (tests use it for malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(ClientError::Closed {
                addr: self.addr.clone(),
            });
        };
        let fut = protocol::write_line(writer, bytes);
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(ClientError::Io {
                addr: self.addr.clone(),
                source,
            }),
            Err(_) => Err(ClientError::Timeout {
                addr: self.addr.clone(),
                after: self.timeout,
            }),
        }
    }

    /// The next reply line, whatever its type (error replies included, as `Ok`).
    pub async fn next_reply(&mut self) -> Result<Reply, ClientError> {
        let addr = self.addr.clone();
        let line = match tokio::time::timeout(self.timeout, self.reader.next_line()).await {
            Err(_) => {
                return Err(ClientError::Timeout {
                    addr,
                    after: self.timeout,
                });
            }
            Ok(Err(source)) => return Err(ClientError::Io { addr, source }),
            Ok(Ok(None)) => return Err(ClientError::Closed { addr }),
            Ok(Ok(Some(Line::TooLarge))) => {
                return Err(ClientError::BadReply {
                    addr,
                    reason: "reply line too large".into(),
                });
            }
            Ok(Ok(Some(Line::Line(l)))) => l,
        };
        let reply: Reply = serde_json::from_slice(&line).map_err(|e| ClientError::BadReply {
            addr,
            reason: e.to_string(),
        })?;
        if !matches!(reply.body, ReplyBody::Chunk { .. }) {
            self.answer_pending = false;
        }
        Ok(reply)
    }

    /// Send a request and return its one reply; an error reply becomes [`ClientError::Remote`].
    pub async fn request(&mut self, body: RequestBody) -> Result<Reply, ClientError> {
        self.send(&Request::new(body)).await?;
        into_result(self.next_reply().await?)
    }

    /// Send a chat and collect its answer, calling `on_chunk` for each streamed piece
    /// (chunks are requested only when `chat.stream` is set).
    pub async fn chat(
        &mut self,
        chat: ChatBody,
        mut on_chunk: impl FnMut(&str),
    ) -> Result<Answer, ClientError> {
        self.chat_events(chat, |body| {
            if let ReplyBody::Chunk { content } = body {
                on_chunk(content);
            }
        })
        .await
    }

    /// [`Client::chat`], handing every line before the answer to `on_line`:
    /// chunks, and the `consult` / `consult_result` of a specialist asking
    /// its colleagues.
    pub async fn chat_events(
        &mut self,
        chat: ChatBody,
        mut on_line: impl FnMut(&ReplyBody),
    ) -> Result<Answer, ClientError> {
        self.send(&Request::new(RequestBody::Chat(chat))).await?;
        let first = self.next_reply().await;
        self.finish_chat(first, &mut on_line).await
    }

    /// The rest of a chat whose first reply (or the failure to read it) is
    /// `first`: every line before the answer to `on_line` (as
    /// [`Client::chat_events`]), until the response or an error reply.
    pub async fn finish_chat(
        &mut self,
        first: Result<Reply, ClientError>,
        on_line: &mut impl FnMut(&ReplyBody),
    ) -> Result<Answer, ClientError> {
        let mut next = Some(first);
        loop {
            let reply = match next.take() {
                Some(r) => into_result(r?)?,
                None => into_result(self.next_reply().await?)?,
            };
            match reply.body {
                ReplyBody::Response {
                    content,
                    model,
                    usage,
                    latency_ms,
                    consulted,
                } => {
                    return Ok(Answer {
                        specialist: reply.specialist,
                        content,
                        model,
                        usage,
                        latency_ms,
                        consulted,
                    });
                }
                ref body @ (ReplyBody::Chunk { .. }
                | ReplyBody::Consult { .. }
                | ReplyBody::ConsultResult { .. }) => on_line(body),
                other => {
                    return Err(ClientError::BadReply {
                        addr: self.addr.clone(),
                        reason: format!("unexpected reply to a chat: {other:?}"),
                    });
                }
            }
        }
    }
}

fn into_result(reply: Reply) -> Result<Reply, ClientError> {
    match reply.body {
        ReplyBody::Error {
            code,
            error,
            retry_after_ms,
        } => Err(ClientError::Remote {
            specialist: reply.specialist,
            code,
            error,
            retry_after_ms,
        }),
        _ => Ok(reply),
    }
}

/// Connect, ping, and return the round-trip time: the liveness check of `status`.
pub async fn ping(host: &str, port: u16, timeout: Duration) -> Result<Duration, ClientError> {
    let started = std::time::Instant::now();
    let mut c = Client::connect(host, port, timeout).await?;
    let reply = c.request(RequestBody::Ping).await?;
    match reply.body {
        ReplyBody::Pong => Ok(started.elapsed()),
        other => Err(ClientError::BadReply {
            addr: c.addr.clone(),
            reason: format!("expected pong, got {other:?}"),
        }),
    }
}

/// What [`probe`] found: a specialist that answers `ping`, and its `info`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Who answered: the `specialist` the pong names (the port may hold another).
    pub specialist: crate::config::SpecialistName,
    pub rtt: Duration,
    /// `None` when `info` did not answer.
    pub info: Option<Box<crate::protocol::Info>>,
}

/// [`ping`], then `info` on the same connection: the liveness check of `status`.
pub async fn probe(host: &str, port: u16, timeout: Duration) -> Result<Probe, ClientError> {
    let started = std::time::Instant::now();
    let mut c = Client::connect(host, port, timeout).await?;
    let reply = c.request(RequestBody::Ping).await?;
    if !matches!(reply.body, ReplyBody::Pong) {
        return Err(ClientError::BadReply {
            addr: c.addr.clone(),
            reason: format!("expected pong, got {:?}", reply.body),
        });
    }
    let rtt = started.elapsed();
    let info = match c.request(RequestBody::Info).await.map(|r| r.body) {
        Ok(ReplyBody::InfoResponse(info)) => Some(info),
        _ => None,
    };
    Ok(Probe {
        specialist: reply.specialist,
        rtt,
        info,
    })
}

/// Connect, send one chat, collect the answer.
pub async fn chat_once(
    host: &str,
    port: u16,
    chat: ChatBody,
    timeout: Duration,
    on_chunk: impl FnMut(&str),
) -> Result<Answer, ClientError> {
    let mut c = Client::connect(host, port, timeout).await?;
    c.chat(chat, on_chunk).await
}

/// One member of a team request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// How one member of a team request ended.
#[derive(Debug)]
pub enum TeamOutcome {
    Answered(Answer),
    Failed(ClientError),
    TimedOut,
}

/// Send `chat` to every target at once; yields `(name, outcome)` in order of
/// arrival. Each target has its own `timeout` (connect included), so a slow or
/// failing one never delays the others.
pub fn team(
    targets: Vec<Target>,
    chat: ChatBody,
    timeout: Duration,
) -> impl futures::Stream<Item = (String, TeamOutcome)> {
    targets
        .into_iter()
        .map(|t| {
            let body = chat.clone();
            async move {
                let ask = chat_once(&t.host, t.port, body, timeout, |_| {});
                let outcome = match tokio::time::timeout(timeout, ask).await {
                    Ok(Ok(answer)) => TeamOutcome::Answered(answer),
                    Ok(Err(err)) if err.is_timeout() => TeamOutcome::TimedOut,
                    Ok(Err(err)) => TeamOutcome::Failed(err),
                    Err(_) => TeamOutcome::TimedOut,
                };
                (t.name, outcome)
            }
        })
        .collect::<futures::stream::FuturesUnordered<_>>()
}
