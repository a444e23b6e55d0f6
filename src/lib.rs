//! # cadre
//!
//! Runs a team of AI specialists declared as TOML files. Data flows one way:
//! config → prompt → desired → plan → supervisor → registry.
//!
//! # Layout
//! - [`config`]: `cadre.toml` and `specialists.d/*.toml` → resolved specs and diagnostics;
//!   the one field diff of two specs.
//! - [`prompt`]: minijinja templates → the system prompt a provider receives.
//! - [`desired`]: the desired state: every file parsed, every prompt rendered; its
//!   `fingerprint` (a `stat` of every file) tells a resync whether anything changed.
//! - [`plan`]: desired vs running specialists → keep/start/reload/restart/stop, with the
//!   whole reconcile policy (last-known-good, config error marks, operator stops, port claims).
//! - [`supervisor`]: owns the running specialists, applies plans, keeps the registry in step.
//! - [`registry`]: the flock-locked, atomically replaced `registry.json`: who runs where,
//!   port grants, process liveness, single-instance locks. [`registry::etcd`]: the same on
//!   etcd (leases, per-host ports), for many daemons on many hosts.
//! - [`cluster`]: many daemons on one registry: the backend (file or etcd) behind one
//!   interface, the cluster view, replicas, picking an endpoint and failing over.
//! - [`watch`]: file events (specialists.d, teams.d, templates, cadre.toml) → debounced
//!   reconcile triggers (its own debouncer, which sleeps until an event).
//! - [`team`]: teams that confer: a team's run, round by round (broadcast,
//!   discussion, synthesis, route), over one member-call function.
//! - [`consult`]: specialists asking colleagues (the `ask_colleague` tool): the chain,
//!   the policy, the tool loop over provider rounds, A2A agents as colleagues.
//! - [`conversation`]: messages, roles, usage and provider health, shared by both ends of a chat.
//! - [`protocol`]: socket request/reply types and the line codec.
//! - [`specialist`]: one listener per specialist, its connections, counters and drain;
//!   [`specialist::chat`], the one chat path every caller in the daemon takes.
//! - [`generator`]: a stream written as one async block, polled in place (no task, no channel).
//! - [`provider`]: the model providers (Ollama, OpenAI-compatible, Anthropic).
//! - [`client`]: a small async client of the socket protocol (CLI and tests).
//! - [`net`]: outgoing sockets with SO_REUSEADDR, the kernel's TCP table and
//!   ephemeral range, and why a port does not bind.
//! - [`control`]: the daemon's control socket and its client.
//! - [`health`]: provider and component health as every view shows it; the
//!   component monitor (one timer polling every `[health] url`).
//! - [`usage`]: token usage per specialist and provider, `[limits]` applied
//!   to every chat, today's usage kept in the state directory.
//! - [`doctor`]: `cadre doctor`'s checks of a set-up (providers, models,
//!   ports, state directory, HTTP, git), each with its fix.
//! - [`http`]: the web pages, JSON/SSE API, OpenAI-compatible routes, `/metrics` and the
//!   probes (`/healthz`, `/readyz`) of `cadre up`; its chats reach every daemon's specialists.
//! - [`review`]: `cadre diff`, two config trees (dirs or git revisions) compared, specialists and teams.
//! - [`agent`]: what the A2A and MCP servers need of the daemon: agents (specialists, teams) with cards and chats.
//! - [`jsonrpc`]: JSON-RPC 2.0 framing and its errors, shared by A2A and MCP.
//! - [`a2a`]: the A2A v1.0 (and v0.3) JSON-RPC server: agent cards, tasks, streaming.
//! - [`mcp`]: the MCP server (tools, resources) and the `cadre mcp` stdio bridge.
//! - [`schema`]: JSON Schemas of the config files, generated from [`config`]'s types.
//! - [`cli`]: the command line, one file per command; errors rendered once, in `main`.

pub mod a2a;
pub mod agent;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod config;
pub mod consult;
pub mod control;
pub mod conversation;
pub mod desired;
pub mod doctor;
pub mod generator;
pub mod health;
pub mod http;
pub mod jsonrpc;
pub mod mcp;
pub mod net;
pub mod plan;
pub mod prompt;
pub mod protocol;
pub mod provider;
pub mod registry;
pub mod review;
pub mod schema;
pub mod specialist;
pub mod supervisor;
pub mod team;
pub mod usage;
pub mod watch;
