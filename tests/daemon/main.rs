//! Integration tests: daemon. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../daemon_support/mod.rs"]
mod daemon_support;
#[path = "../server_support/mod.rs"]
mod server_support;
use server_support::ollama;
#[path = "../support/mod.rs"]
mod support;

mod e2e_llama;
mod ports;
mod provenance;
mod reload;
mod up;
