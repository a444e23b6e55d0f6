//! Integration tests: registry. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../registry_support/etcd_cluster.rs"]
mod etcd_cluster;
#[path = "../registry_support/etcd_tls.rs"]
mod etcd_tls;
#[path = "../registry_support/mod.rs"]
mod registry_support;

mod concurrency;
mod corrupt;
mod etcd;
mod files;
mod ports;
mod stale;
