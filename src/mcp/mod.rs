//! MCP (Model Context Protocol) server of the daemon: the streamable HTTP
//! transport at `/mcp`, and `cadre mcp`, a stdio bridge to it ([`bridge`]).
//!
//! # What is served
//! Tools `list_specialists`, `ask` and `ask_team` ([`tools`]), resources: the roster and
//! each specialist's rendered prompt ([`resources`]), `ping`. Protocol
//! revisions 2025-11-25, 2025-06-18 and 2025-03-26 (the `initialize`
//! handshake era that every MCP host speaks): `initialize` echoes the
//! client's version when it is one of them, else offers 2025-11-25, and
//! starts a session (`Mcp-Session-Id`, 128 random bits). Every later request
//! needs the session (400 without, 404 for an unknown or expired one) and,
//! when it sends `MCP-Protocol-Version`, a served version (400 otherwise).
//! The stateless 2026-07-28 revision's `server/discover` probe is answered
//! "method not found", which is how its clients tell a handshake-era server
//! and fall back to `initialize`.
//!
//! # Responses
//! One JSON object, except `tools/call` with a `progressToken`: then an SSE
//! stream of `notifications/progress` (one per streamed chunk) ending in the
//! result. A client's `notifications/cancelled` stops the call and with it the
//! provider request; so does closing the response stream (no resumability is
//! offered, so a dropped stream's answer could not be delivered anyway).
//! `GET /mcp` is 405 (no server-initiated stream), `DELETE /mcp` ends the session.
//!
//! # Why the wire is written here
//! `rmcp` (the official Rust SDK) would bring its own service runtime,
//! transport stack and macro crates for a surface of seven methods; the
//! JSON-RPC core is shared with A2A ([`crate::jsonrpc`]) and adds no
//! dependency or compile time on the 2-core CI. The official Python SDK
//! (`mcp`) is the judge: `tests/sdk/mcp_client.py`, over HTTP and stdio.

pub mod bridge;
pub mod resources;
pub mod session;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value, json};

use crate::agent::Backend;
use crate::jsonrpc::{self, Call, Incoming, RpcError};
use session::Sessions;
use tools::Step;

/// The protocol revisions served, newest first.
pub const VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// How the HTTP layer should answer.
pub enum Answer {
    /// One JSON body with this status; `session` is set by `initialize`.
    Json {
        status: u16,
        body: Value,
        session: Option<String>,
    },
    /// JSON-RPC messages as SSE, the response last.
    Stream(BoxStream<'static, Value>),
    /// 202: a notification or response was taken.
    Accepted,
}

fn reply(status: u16, id: &Value, e: &RpcError) -> Answer {
    Answer::Json {
        status,
        body: jsonrpc::error(id, e),
        session: None,
    }
}

fn ok(id: &Value, result: Value) -> Answer {
    Answer::Json {
        status: 200,
        body: jsonrpc::result(id, result),
        session: None,
    }
}

const KNOWN: [&str; 7] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
];

pub struct Server {
    backend: Arc<dyn Backend>,
    sessions: Arc<Sessions>,
}

/// A `tools/call` in flight, ended when dropped: answered, streamed to the
/// end, or dropped by a client that went away.
struct InFlight {
    sessions: Arc<Sessions>,
    sid: String,
    rid: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.sessions.end(&self.sid, &self.rid);
    }
}

impl Server {
    pub fn new(backend: Arc<dyn Backend>) -> Server {
        Server {
            backend,
            sessions: Arc::new(Sessions::new(256, Duration::from_secs(3600))),
        }
    }

    /// One POST: its body, `Mcp-Session-Id` and `MCP-Protocol-Version` headers.
    pub async fn post(&self, body: &[u8], session: Option<&str>, version: Option<&str>) -> Answer {
        let call = match jsonrpc::decode(body) {
            Ok(Incoming::Call(c)) => c,
            Ok(Incoming::Response { .. }) => {
                return self.gate(session, version).unwrap_or(Answer::Accepted);
            }
            Err(r) => return reply(400, &r.id, &r.error),
        };
        let id = call.id.clone();
        if call.method == "initialize" {
            return match id {
                Some(id) => self.initialize(&id, &call),
                None => reply(
                    400,
                    &Value::Null,
                    &RpcError::invalid_request("initialize is a request: it needs an id"),
                ),
            };
        }
        let Some(id) = id else {
            if let Some(a) = self.gate(session, version) {
                return a;
            }
            if call.method == "notifications/cancelled"
                && let (Some(sid), Some(rid)) = (
                    session,
                    call.params.as_ref().and_then(|p| p.get("requestId")),
                )
            {
                self.sessions.cancel(sid, &rid.to_string());
            }
            return Answer::Accepted;
        };
        if !KNOWN.contains(&call.method.as_str()) {
            return reply(200, &id, &RpcError::method_not_found(&call.method));
        }
        if let Some(a) = self.gate(session, version) {
            return a;
        }
        let sid = session.unwrap_or_default().to_owned();
        match self.dispatch(&id, &call, &sid).await {
            Ok(a) => a,
            Err(e) => reply(200, &id, &e),
        }
    }

    /// The session and version checks; `Some` is the refusal.
    fn gate(&self, session: Option<&str>, version: Option<&str>) -> Option<Answer> {
        let Some(sid) = session else {
            return Some(reply(
                400,
                &Value::Null,
                &RpcError::invalid_request(
                    "no Mcp-Session-Id header: send initialize first and then the session id it returns",
                ),
            ));
        };
        let Some(negotiated) = self.sessions.touch(sid) else {
            return Some(reply(
                404,
                &Value::Null,
                &RpcError::invalid_request("unknown or expired session: send initialize again"),
            ));
        };
        match version {
            Some(v) if !VERSIONS.contains(&v) => Some(reply(
                400,
                &Value::Null,
                &RpcError::invalid_request(format!(
                    "MCP-Protocol-Version {v:?} is not served; this session speaks {negotiated} (served: {})",
                    VERSIONS.join(", ")
                )),
            )),
            _ => None,
        }
    }

    fn initialize(&self, id: &Value, call: &Call) -> Answer {
        let asked = call
            .params
            .as_ref()
            .and_then(|p| p.get("protocolVersion"))
            .and_then(Value::as_str);
        let version = asked
            .filter(|v| VERSIONS.contains(v))
            .unwrap_or(VERSIONS[0]);
        let session = self.sessions.create(version);
        let result = json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false}, "resources": {"listChanged": false, "subscribe": false}},
            "serverInfo": {"name": "cadre", "title": "cadre team", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "A team of AI specialists. Call list_specialists to see who is there, \
                then ask one a question with ask, or ask a whole team (its members confer and a \
                moderator sums up) with ask_team; the cadre://roster resource lists the teams. \
                Each specialist's system prompt is a resource.",
        });
        Answer::Json {
            status: 200,
            body: jsonrpc::result(id, result),
            session: Some(session),
        }
    }

    async fn dispatch(&self, id: &Value, call: &Call, sid: &str) -> Result<Answer, RpcError> {
        let params = call.params_object()?;
        Ok(match call.method.as_str() {
            "ping" => ok(id, json!({})),
            "tools/list" => ok(id, json!({"tools": tools::definitions()})),
            "tools/call" => return self.call_tool(id, &params, sid).await,
            "resources/list" | "resources/read" => {
                let mut agents = self
                    .backend
                    .agents()
                    .await
                    .map_err(|e| resources::unavailable(&e))?;
                let teams = self.backend.teams().await;
                agents.extend(teams.map_err(|e| resources::unavailable(&e))?);
                if call.method == "resources/list" {
                    ok(id, resources::list(&agents))
                } else {
                    let uri = params
                        .get("uri")
                        .and_then(Value::as_str)
                        .ok_or_else(|| RpcError::invalid_params("`uri` (a string) is required"))?;
                    ok(id, resources::read(&agents, uri)?)
                }
            }
            "resources/templates/list" => ok(id, resources::templates()),
            other => return Err(RpcError::method_not_found(other)),
        })
    }

    async fn call_tool(
        &self,
        id: &Value,
        params: &Map<String, Value>,
        sid: &str,
    ) -> Result<Answer, RpcError> {
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("`name` (the tool) is required"))?;
        let args = match params.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a.clone(),
            Some(_) => return Ok(ok(id, tools::tool_error("`arguments` must be an object"))),
        };
        let progress = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .cloned();
        let steps = tools::call(&self.backend, name, &args)
            .await
            .ok_or_else(|| RpcError::invalid_params(format!("unknown tool: {name:?}")))?;
        let rid = id.to_string();
        let cancel = self.sessions.begin(sid, &rid);
        let in_flight = InFlight {
            sessions: self.sessions.clone(),
            sid: sid.to_owned(),
            rid,
        };
        let mut steps = steps.take_until(cancel.cancelled_owned()).boxed();
        let Some(token) = progress else {
            let mut result = None;
            while let Some(step) = steps.next().await {
                if let Step::Result(v) = step {
                    result = Some(v);
                }
            }
            drop(in_flight);
            return Ok(match result {
                Some(r) => ok(id, r),
                None => reply(200, id, &RpcError::new(-32800, "request cancelled")),
            });
        };
        let id = id.clone();
        Ok(Answer::Stream(
            steps
                .map(move |s| {
                    let _ = &in_flight;
                    match s {
                        Step::Progress { done, message } => {
                            json!({"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": done, "message": message}})
                        }
                        Step::Result(v) => jsonrpc::result(&id, v),
                    }
                })
                .boxed(),
        ))
    }

    /// `DELETE /mcp`: the HTTP status.
    pub fn delete(&self, session: Option<&str>) -> u16 {
        match session {
            Some(s) if self.sessions.remove(s) => 204,
            Some(_) => 404,
            None => 400,
        }
    }
}
