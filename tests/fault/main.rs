//! Integration tests: fault. One test binary per area keeps the build small
//! (each binary links the whole dependency tree); each module was its own file before.

#[path = "../fixture/mod.rs"]
pub mod fixture;

/// Each fault scenario loads both cores on its own (storms, 2000 sockets, 16 chatting
/// clients); run together they would measure each other, so they take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

mod crash_storm;
mod provider_chaos;
mod reconcile_storm;
mod socket_abuse;
