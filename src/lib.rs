//! # cadre
//!
//! Runs a team of AI specialists declared as TOML files. Data flows one way:
//! config → prompt → plan → supervisor → registry.
//!
//! # Layout
//! - [`config`]: `cadre.toml` and `specialists.d/*.toml` → typed specs and diagnostics.
//! - [`protocol`]: socket request/reply types and the line codec.
//! - [`provider`]: the model providers (Ollama, OpenAI-compatible, Anthropic).
//! - [`supervisor`]: owns the running specialists, applies plans, keeps the registry in step.
//! - [`watch`]: file events → debounced reconcile triggers.
//! - [`control`]: the daemon's control socket and its client.

pub mod cli;
pub mod config;
pub mod control;
pub mod protocol;
pub mod provider;
pub mod registry;
pub mod specialist;
pub mod supervisor;
pub mod watch;
