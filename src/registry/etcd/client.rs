//! A small etcd v3 client over the JSON gateway: unary calls with endpoint
//! failover, token authentication, and the streamed calls (keep-alive,
//! watch) opened the same way.
//!
//! Failover: calls go to the endpoint that answered last. A transport
//! failure (refused, reset, timed out) or a reply meaning "this member
//! cannot serve now" (gRPC UNAVAILABLE or DEADLINE_EXCEEDED: no leader,
//! request timed out) moves on to the next endpoint; a refusal (bad
//! request, compare failed, permission) is returned at once. When every
//! endpoint failed, and still does after a leader election's worth of
//! rounds, the call fails with [`EtcdError::Unavailable`].
//! Retrying a write elsewhere after a timeout may apply it twice, so the
//! store's writes are all conditional or idempotent.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::EtcdError;
use super::config::EtcdSettings;
use super::connect::{self, Credentials};
use super::frames::FrameReader;
use super::wire::{self, StatusBody};

/// gRPC status codes the gateway reports in `code`.
const DEADLINE_EXCEEDED: i32 = 4;
const UNAVAILABLE: i32 = 14;

/// How long a call keeps going round the endpoints while every one of them
/// fails: long enough for a leader election after the leader was lost.
const ELECTION_GRACE: Duration = Duration::from_secs(3);
pub(crate) const UNAUTHENTICATED: i32 = 16;

/// Largest unary reply read: a list of 10000 entries of ~2 KiB, base64'd, fits.
pub const MAX_BODY: usize = 64 << 20;

/// A cheap-to-clone handle on one cluster.
#[derive(Clone, Debug)]
pub struct EtcdClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    endpoints: Vec<reqwest::Url>,
    current: AtomicUsize,
    pub(crate) timeout: Duration,
    pub(crate) creds: Option<Credentials>,
    pub(crate) token: Mutex<Option<String>>,
}

/// How one attempt on one endpoint ended, when it did not succeed.
pub(crate) enum Attempt {
    /// Try the next endpoint; the text says why this one failed.
    Next(String),
    /// Give up: etcd answered and refused.
    Stop(EtcdError),
}

impl EtcdClient {
    /// Validate the settings, read the secrets they name, build the client.
    /// No request is made: an unreachable cluster fails the first call.
    pub fn new(settings: &EtcdSettings) -> Result<EtcdClient, EtcdError> {
        settings.validate()?;
        Ok(EtcdClient {
            inner: Arc::new(Inner {
                http: connect::http_client(settings)?,
                endpoints: settings.endpoint_urls()?,
                current: AtomicUsize::new(0),
                timeout: settings.request_timeout,
                creds: connect::credentials(settings)?,
                token: Mutex::new(None),
            }),
        })
    }

    pub fn endpoints(&self) -> &[reqwest::Url] {
        &self.inner.endpoints
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    pub async fn range(&self, req: &wire::RangeRequest) -> Result<wire::RangeResponse, EtcdError> {
        self.call("range", "/v3/kv/range", req).await
    }

    pub async fn txn(&self, req: &wire::TxnRequest) -> Result<wire::TxnResponse, EtcdError> {
        self.call("txn", "/v3/kv/txn", req).await
    }

    pub async fn put(&self, req: &wire::PutRequest) -> Result<serde_json::Value, EtcdError> {
        self.call("put", "/v3/kv/put", req).await
    }

    /// Grant a lease of `ttl` seconds; returns its id and granted TTL.
    pub async fn lease_grant(&self, ttl: i64) -> Result<wire::LeaseReply, EtcdError> {
        self.call(
            "lease grant",
            "/v3/lease/grant",
            &wire::LeaseGrantRequest { ttl },
        )
        .await
    }

    /// One keep-alive round; a reply with `ttl` 0 means the lease is gone.
    pub async fn lease_keepalive(&self, id: i64) -> Result<wire::LeaseReply, EtcdError> {
        let body = json_body(&wire::LeaseId { id })?;
        self.failover(|idx| self.keepalive_once(idx, &body)).await
    }

    /// Revoke a lease (deleting every key on it). An unknown lease is not an error.
    pub async fn lease_revoke(&self, id: i64) -> Result<(), EtcdError> {
        match self
            .call::<_, serde_json::Value>("lease revoke", "/v3/lease/revoke", &wire::LeaseId { id })
            .await
        {
            Ok(_) => Ok(()),
            Err(EtcdError::Server { message, .. }) if message.contains("lease not found") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Open a watch stream on some endpoint; returns its frames and the
    /// endpoint's index (pass it to [`EtcdClient::demote`] when the stream breaks).
    pub(crate) async fn open_watch(
        &self,
        req: &wire::WatchRequest,
    ) -> Result<(FrameReader, usize), EtcdError> {
        let body = &json_body(req)?;
        self.failover(|idx| async move {
            let resp = self.send(idx, "watch", "/v3/watch", body, false).await?;
            Ok((FrameReader::new(resp), idx))
        })
        .await
    }

    /// The endpoint `idx` failed outside a call (a broken stream): start
    /// the next call at the one after it.
    pub(crate) fn demote(&self, idx: usize) {
        let n = self.inner.endpoints.len();
        let _ = self.inner.current.compare_exchange(
            idx,
            (idx + 1) % n,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The endpoint the next call starts with (the one that answered last).
    pub fn current_endpoint(&self) -> String {
        let n = self.inner.endpoints.len();
        self.endpoint_name(self.inner.current.load(Ordering::Relaxed) % n)
    }

    pub(crate) fn endpoint_name(&self, idx: usize) -> String {
        self.inner.endpoints[idx]
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        call: &'static str,
        path: &'static str,
        req: &Q,
    ) -> Result<R, EtcdError> {
        let body = &json_body(req)?;
        self.failover(|idx| async move {
            let resp = self.send(idx, call, path, body, true).await?;
            let bytes = read_body(resp)
                .await
                .map_err(|e| Attempt::Next(format!("{}: {e}", self.endpoint_name(idx))))?;
            serde_json::from_slice(&bytes).map_err(|e| {
                Attempt::Stop(EtcdError::BadReply {
                    endpoint: self.endpoint_name(idx),
                    call,
                    detail: e.to_string(),
                })
            })
        })
        .await
    }

    async fn keepalive_once(&self, idx: usize, body: &[u8]) -> Result<wire::LeaseReply, Attempt> {
        let resp = self
            .send(idx, "lease keep-alive", "/v3/lease/keepalive", body, true)
            .await?;
        let ep = self.endpoint_name(idx);
        match FrameReader::new(resp).next::<wire::LeaseReply>().await {
            Ok(Some(wire::Frame {
                result: Some(r), ..
            })) => Ok(r),
            Ok(Some(wire::Frame {
                error: Some(st), ..
            })) => Err(classify(&ep, "lease keep-alive", &st)),
            Ok(_) => Err(Attempt::Next(format!(
                "{ep}: keep-alive stream ended empty"
            ))),
            Err(e) => Err(Attempt::Next(format!("{ep}: {e}"))),
        }
    }

    /// Try `f` on each endpoint in turn, starting with the current one.
    /// When every endpoint failed within [`ELECTION_GRACE`] of the start,
    /// go round again after a short pause: a member that was the leader
    /// going away makes the others answer "leader changed" / "no leader"
    /// until they have elected a new one (about a second, longer on a
    /// loaded host), and that is no outage.
    pub(crate) async fn failover<T, F, Fut>(&self, mut f: F) -> Result<T, EtcdError>
    where
        F: FnMut(usize) -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let n = self.inner.endpoints.len();
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let start = self.inner.current.load(Ordering::Relaxed) % n;
            let mut last = String::new();
            for i in 0..n {
                let idx = (start + i) % n;
                match f(idx).await {
                    Ok(v) => {
                        if i > 0 {
                            self.inner.current.store(idx, Ordering::Relaxed);
                        }
                        return Ok(v);
                    }
                    Err(Attempt::Next(why)) => last = why,
                    Err(Attempt::Stop(e)) => return Err(e),
                }
            }
            self.inner.current.store((start + 1) % n, Ordering::Relaxed);
            if started.elapsed() + pause > ELECTION_GRACE {
                return Err(EtcdError::Unavailable { tried: n, last });
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }

    /// POST `body` to `path` on endpoint `idx`, authenticated; a success
    /// status is returned for its body to be read, anything else becomes an
    /// [`Attempt`]. An expired token is renewed once.
    async fn send(
        &self,
        idx: usize,
        call: &'static str,
        path: &str,
        body: &[u8],
        bounded: bool,
    ) -> Result<reqwest::Response, Attempt> {
        let ep = self.endpoint_name(idx);
        let url = format!("{ep}{path}");
        for renewed in [false, true] {
            let token = self.token(idx).await?;
            let mut req = self
                .inner
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
            if let Some(t) = &token {
                req = req.header(reqwest::header::AUTHORIZATION, t.as_str());
            }
            if bounded {
                req = req.timeout(self.inner.timeout);
            } else {
                // A stream: a member that loses its leader cancels it instead
                // of going silent, so the watch moves to a member that has one.
                // (Not on unary calls: it would refuse serializable reads too.)
                req = req.header("Grpc-Metadata-hasleader", "true");
            }
            let resp = tokio::time::timeout(self.inner.timeout, req.send())
                .await
                .map_err(|_| {
                    Attempt::Next(format!("{ep}: no answer within {:?}", self.inner.timeout))
                })?
                .map_err(|e| Attempt::Next(format!("{ep}: {}", describe(&e))))?;
            if resp.status().is_success() {
                return Ok(resp);
            }
            let st = error_status(resp).await;
            if st.code == UNAUTHENTICATED && token.is_some() && !renewed {
                self.clear_token();
                continue;
            }
            return Err(classify(&ep, call, &st));
        }
        Err(Attempt::Next(format!("{ep}: authentication kept failing")))
    }
}

/// The gRPC status of a failed reply; a body that is not one (a proxy, an
/// etcd without the v3 gateway) becomes one from the HTTP status.
pub(crate) async fn error_status(resp: reqwest::Response) -> StatusBody {
    let status = resp.status();
    let bytes = read_body(resp).await.unwrap_or_default();
    if let Ok(st) = serde_json::from_slice::<StatusBody>(&bytes)
        && (st.code != 0 || !st.text().is_empty())
    {
        return st;
    }
    let message = match status.as_u16() {
        404 => format!("HTTP {status}: no v3 JSON gateway here (etcd 3.4 or later serves /v3/)"),
        _ => format!("HTTP {status}"),
    };
    StatusBody {
        message,
        code: if status.is_server_error() {
            UNAVAILABLE
        } else {
            0
        },
        error: None,
    }
}

/// A whole unary reply, at most [`MAX_BODY`] bytes: a broken or hostile
/// peer cannot make the client buffer without end.
pub(crate) async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(format!("a reply is over {MAX_BODY} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Whether an error status means "try another member".
pub(crate) fn classify(endpoint: &str, call: &'static str, st: &StatusBody) -> Attempt {
    let msg = st.text();
    if matches!(st.code, UNAVAILABLE | DEADLINE_EXCEEDED) || msg.contains("no leader") {
        return Attempt::Next(format!("{endpoint}: {msg}"));
    }
    Attempt::Stop(EtcdError::Server {
        endpoint: endpoint.to_string(),
        call,
        code: st.code,
        message: msg.chars().take(300).collect(),
    })
}

fn json_body<Q: Serialize>(req: &Q) -> Result<Vec<u8>, EtcdError> {
    serde_json::to_vec(req).map_err(|e| EtcdError::Client(e.to_string()))
}

/// A transport error with its root cause ("connection refused"), which
/// reqwest's own message leaves out.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}: {cause}")
}
