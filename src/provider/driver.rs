//! The shared chat loop: send with retries before the first token, then read
//! the body under the first-token, stall and total timeouts.
//!
//! The loop feeds a channel and is polled by the stream handed to the caller,
//! inside the caller's task (not a task of its own: a spawned task cost a
//! cross-task wake, often a worker unpark, per chunk — measurable CPU per chat
//! at 64 concurrent chats on 2 cores). Dropping the stream drops the loop and
//! with it the reqwest response, which cancels the upstream request at once (a
//! client that hangs up stops the model generating for nobody).

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use super::cause::reason;
use super::inline::Inline;
use super::redact::{KeyGuard, scrub, without_key};
use super::secret::ApiKey;
use super::sse::LineSplitter;
use super::wire::{DecodeError, Wire};
use super::{ChatEvent, ChatRequest, ProviderError, TimeoutPhase, retry};
use crate::config::ResolvedProvider;

/// Everything a chat needs; shared by all chats of one provider.
pub struct Ctx {
    pub cfg: ResolvedProvider,
    pub client: reqwest::Client,
    pub wire: Arc<dyn Wire>,
    /// The chat URL, parsed once per provider (build): parsing it per chat
    /// was ~6 % of the daemon's CPU per chat. `Err` keeps the text of a URL
    /// that does not parse, so each chat fails as it did (reqwest's error).
    pub chat_url: Result<reqwest::Url, String>,
}

impl Ctx {
    pub fn new(cfg: ResolvedProvider, client: reqwest::Client, wire: Arc<dyn Wire>) -> Ctx {
        let url = wire.chat_url(&cfg);
        let chat_url = reqwest::Url::parse(&url).map_err(|_| url);
        Ctx {
            cfg,
            client,
            wire,
            chat_url,
        }
    }
}

pub(super) type Item = Result<ChatEvent, ProviderError>;

/// Start a chat. Nothing runs until the stream is polled, so this needs no
/// runtime at call time; dropping the stream drops the loop and cancels the
/// upstream request.
pub fn chat(ctx: Arc<Ctx>, req: ChatRequest) -> BoxStream<'static, Item> {
    let (tx, rx) = mpsc::channel(64);
    Box::pin(Inline::new(Box::pin(run(ctx, req, tx)), rx))
}

async fn run(ctx: Arc<Ctx>, req: ChatRequest, tx: mpsc::Sender<Item>) {
    let key = match ApiKey::from_env(&ctx.cfg.name, ctx.cfg.api_key_env.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut chat = Chat {
        ctx: &ctx,
        req: &req,
        key: key.as_ref(),
        tx: &tx,
        started: Instant::now(),
    };
    if let Err(e) = chat.drive().await {
        let e = ApiKey::redact_error(key.as_ref(), e);
        tracing::debug!(provider = %ctx.cfg.name, error = %e, "chat failed");
        let _ = tx.send(Err(e)).await;
    }
}

/// Whether a failed attempt may be retried.
struct Failure {
    err: ProviderError,
    retry: bool,
    retry_after: Option<Duration>,
}

struct Chat<'a> {
    ctx: &'a Ctx,
    req: &'a ChatRequest,
    key: Option<&'a ApiKey>,
    tx: &'a mpsc::Sender<Item>,
    started: Instant,
}

impl Chat<'_> {
    fn name(&self) -> String {
        self.ctx.cfg.name.clone()
    }

    fn total_deadline(&self) -> Instant {
        self.started + self.ctx.cfg.timeouts.total
    }

    fn timeout(&self, phase: TimeoutPhase) -> ProviderError {
        ProviderError::Timeout {
            provider: self.name(),
            phase,
            after_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Malformed {
            provider: self.name(),
            reason: reason.into(),
        }
    }

    fn decode_error(&self, e: DecodeError) -> ProviderError {
        match e {
            DecodeError::Malformed(r) => self.malformed(r),
            DecodeError::Provider(message) => ProviderError::Http {
                provider: self.name(),
                status: 200,
                message,
            },
        }
    }

    /// Deadline for waiting on the next piece: the gap allowed (first token,
    /// or between tokens) clipped by the total; names the phase that expires.
    fn deadline(&self, gap: Duration, phase: TimeoutPhase) -> (Instant, TimeoutPhase) {
        let gap_end = Instant::now() + gap;
        if gap_end < self.total_deadline() {
            (gap_end, phase)
        } else {
            (self.total_deadline(), TimeoutPhase::Total)
        }
    }

    async fn drive(&mut self) -> Result<(), ProviderError> {
        let resp = self.send_with_retries().await?;
        if self.req.stream {
            self.stream_body(resp).await
        } else {
            self.whole_body(resp).await
        }
    }

    async fn send_with_retries(&self) -> Result<reqwest::Response, ProviderError> {
        // Shared by every attempt: a retry re-sends it without a copy.
        let body = bytes::Bytes::from(self.ctx.wire.chat_body(&self.ctx.cfg, self.req));
        let mut attempt = 0u32;
        loop {
            let failure = match self.attempt(&body).await? {
                Ok(resp) => return Ok(resp),
                Err(f) => f,
            };
            if !failure.retry || attempt >= self.ctx.cfg.max_retries {
                return Err(failure.err);
            }
            let Some(wait) = retry::delay(attempt, failure.retry_after) else {
                return Err(failure.err);
            };
            if Instant::now() + wait >= self.total_deadline() {
                return Err(failure.err);
            }
            let err = ApiKey::redact_error(self.key, failure.err);
            tracing::debug!(provider = %self.ctx.cfg.name, attempt, ?wait, error = %err, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt. Outer `Err` ends the chat at once (a timeout); inner `Err` may be retried.
    async fn attempt(
        &self,
        body: &bytes::Bytes,
    ) -> Result<Result<reqwest::Response, Failure>, ProviderError> {
        let headers = self.ctx.wire.headers(&self.ctx.cfg, self.key)?;
        // A non-streamed answer arrives whole, so only the total bounds it.
        let (deadline, phase) = if self.req.stream {
            self.deadline(self.ctx.cfg.timeouts.first_token, TimeoutPhase::FirstToken)
        } else {
            (self.total_deadline(), TimeoutPhase::Total)
        };
        let post = match &self.ctx.chat_url {
            Ok(url) => self.ctx.client.post(url.clone()),
            Err(text) => self.ctx.client.post(text.as_str()),
        };
        let send = post
            .headers(headers)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.clone())
            .send();
        let resp = match timeout_at(deadline, send).await {
            Err(_) => return Err(self.timeout(phase)),
            Ok(Err(e)) => return Ok(Err(self.transport_failure(&e))),
            Ok(Ok(resp)) => resp,
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(Ok(resp));
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let text = match timeout_at(deadline, resp.text()).await {
            Err(_) => return Err(self.timeout(phase)),
            Ok(t) => t.unwrap_or_default(),
        };
        // Scrubbed before the wire cuts it short (a cut key no longer matches)
        // and here, not only at the end: the retry path logs this error.
        let text = scrub(self.key, &text);
        let message = self
            .ctx
            .wire
            .error_message(status.as_u16(), &text, &self.req.model);
        let message = scrub(self.key, &message);
        Ok(Err(Failure {
            err: ProviderError::Http {
                provider: self.name(),
                status: status.as_u16(),
                message,
            },
            retry: retry::retryable_status(status.as_u16()),
            retry_after,
        }))
    }

    fn transport_failure(&self, e: &reqwest::Error) -> Failure {
        let err = if e.is_timeout() {
            ProviderError::Timeout {
                provider: self.name(),
                phase: TimeoutPhase::Connect,
                after_ms: self.ctx.cfg.timeouts.connect.as_millis() as u64,
            }
        } else {
            ProviderError::Unavailable {
                provider: self.name(),
                url: self.ctx.cfg.base_url.clone(),
                reason: reason(e),
            }
        };
        // Connect failures never reached the model: safe to retry.
        Failure {
            err,
            retry: e.is_connect() || e.is_timeout(),
            retry_after: None,
        }
    }

    async fn stream_body(&self, mut resp: reqwest::Response) -> Result<(), ProviderError> {
        let gap = self.ctx.cfg.timeouts.first_token;
        let mut splitter = LineSplitter::default();
        let mut decoder = self.ctx.wire.decoder();
        let mut content = String::new();
        let mut phase_name = TimeoutPhase::FirstToken;
        // A key split across lines is in no one line's scrub.
        let mut guard = KeyGuard::new(self.key);
        'read: loop {
            let (deadline, phase) = self.deadline(gap, phase_name);
            let chunk = match timeout_at(deadline, resp.chunk()).await {
                Err(_) => return Err(self.timeout(phase)),
                Ok(Err(e)) => {
                    return Err(self.malformed(format!("stream broke off: {}", reason(&e))));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(bytes))) => bytes,
            };
            let lines = splitter
                .push(&chunk)
                .map_err(|e| self.malformed(e.to_string()))?;
            for line in lines {
                // A provider (or a proxy) echoing the key inside a stream
                // line: gone before the decoder quotes or cuts the line.
                let line = self.scrubbed(line);
                for text in decoder.line(&line).map_err(|e| self.decode_error(e))? {
                    if text.is_empty() {
                        continue;
                    }
                    phase_name = TimeoutPhase::Stall;
                    let text = match &mut guard {
                        Some(g) => g.push(&text),
                        None => text,
                    };
                    if text.is_empty() {
                        continue;
                    }
                    content.push_str(&text);
                    if self.tx.send(Ok(ChatEvent::Chunk(text))).await.is_err() {
                        return Ok(()); // the client is gone; dropping resp cancels upstream
                    }
                }
                if decoder.calling() {
                    phase_name = TimeoutPhase::Stall;
                }
                if decoder.is_done() {
                    break 'read;
                }
            }
        }
        if !decoder.is_done() {
            if let Some(rest) = splitter
                .finish()
                .map_err(|e| self.malformed(e.to_string()))?
            {
                let rest = self.scrubbed(rest);
                for text in decoder.line(&rest).map_err(|e| self.decode_error(e))? {
                    let text = match &mut guard {
                        Some(g) => g.push(&text),
                        None => text,
                    };
                    content.push_str(&text);
                    let _ = self.tx.send(Ok(ChatEvent::Chunk(text))).await;
                }
            }
            decoder.at_eof().map_err(|e| self.decode_error(e))?;
        }
        drop(resp);
        // What was held back in case it began the key did not: it is the answer's end.
        if let Some(tail) = guard
            .as_mut()
            .map(KeyGuard::finish)
            .filter(|t| !t.is_empty())
        {
            content.push_str(&tail);
            let _ = self.tx.send(Ok(ChatEvent::Chunk(tail))).await;
        }
        let mut done = decoder.completion();
        done.content = content;
        if done.model.is_empty() {
            done.model = self.req.model.clone();
        }
        let _ = self.tx.send(Ok(ChatEvent::Done(done))).await;
        Ok(())
    }

    /// What the provider sent, without the key when there is one (no copy
    /// otherwise); other content, URLs included, is left as it is.
    fn scrubbed(&self, text: String) -> String {
        match self.key {
            Some(k) if super::redact::may_hold_key(&text, k) => without_key(self.key, &text),
            _ => text,
        }
    }

    async fn whole_body(&self, resp: reqwest::Response) -> Result<(), ProviderError> {
        let bytes = match timeout_at(self.total_deadline(), resp.bytes()).await {
            Err(_) => return Err(self.timeout(TimeoutPhase::Total)),
            Ok(Err(e)) => return Err(self.malformed(format!("body broke off: {}", reason(&e)))),
            Ok(Ok(b)) => b,
        };
        let text =
            std::str::from_utf8(&bytes).map_err(|_| self.malformed("body is not valid UTF-8"))?;
        let text = self.scrubbed(text.to_owned());
        let mut done = self
            .ctx
            .wire
            .parse_whole(&text)
            .map_err(|e| self.decode_error(e))?;
        if done.model.is_empty() {
            done.model = self.req.model.clone();
        }
        if !done.content.is_empty() {
            let _ = self
                .tx
                .send(Ok(ChatEvent::Chunk(done.content.clone())))
                .await;
        }
        let _ = self.tx.send(Ok(ChatEvent::Done(done))).await;
        Ok(())
    }
}
