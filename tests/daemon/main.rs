//! Integration tests: daemon. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

mod cluster;
mod consult;
mod e2e_llama;
mod e2e_smollm_team;
mod many;
mod operation;
mod plan_diff;
mod ports;
mod provenance;
mod registry_heal;
mod reload;
mod special_files;
mod up;
mod watch_heal;
