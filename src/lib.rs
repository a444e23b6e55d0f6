//! # cadre
//!
//! Runs a team of AI specialists declared as TOML files. Data flows one way:
//! config → prompt → plan → supervisor → registry.
//!
//! # Layout
//! - [`config`]: `cadre.toml` and `specialists.d/*.toml` → typed specs and diagnostics.
//! - [`protocol`]: socket request/reply types and the line codec.
//! - [`prompt`]: minijinja templates → the system prompt a provider receives.
//! - [`schema`]: JSON Schemas of the config files, generated from [`config`]'s types.
//! - [`provider`]: the model providers (Ollama, OpenAI-compatible, Anthropic).
//! - [`review`]: `cadre diff`, two config trees (dirs or git revisions) compared.

pub mod cli;
pub mod config;
pub mod prompt;
pub mod protocol;
pub mod provider;
pub mod registry;
pub mod review;
pub mod schema;
pub mod specialist;
