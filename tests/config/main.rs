//! Integration tests: config. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

mod check;
mod fault_config_roundtrip;
mod kubernetes;
mod load;
mod plan_shipped;
mod schema_files;
mod teams;
