//! Integration tests: specialist. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

mod bad_input;
mod chat_path;
mod cli_chat_team;
mod concurrency;
mod half_close;
mod protocol;
mod provider_anthropic;
mod provider_ollama;
mod provider_openai;
mod provider_secrets;
mod team;
