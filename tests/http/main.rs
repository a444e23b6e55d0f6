//! Integration tests: http. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

mod api;
mod bench;
mod browser;
mod cluster;
mod consult_remote;
mod cross_site;
mod half_close;
mod health;
mod kubelet;
mod openai;
mod operation;
mod pages;
mod protocols;
mod sdk;
mod secrets;
mod team_files;
mod team_page;
mod teams;
