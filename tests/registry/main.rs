//! Integration tests: registry. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

mod concurrency;
mod corrupt;
mod etcd;
mod files;
mod ports;
mod stale;
mod torn_reads;
