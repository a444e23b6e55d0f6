//! Integration tests: http. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../daemon_support/mod.rs"]
mod daemon_support;
#[path = "../http_support/mod.rs"]
mod http_support;
#[allow(dead_code)]
#[path = "../server_support/ollama.rs"]
mod ollama;

mod api;
mod bench;
mod browser;
mod kubelet;
mod openai;
mod pages;
mod protocols;
mod sdk;
