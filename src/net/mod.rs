//! The host's TCP facts cadre depends on: outgoing sockets that never keep
//! cadre's own listeners from binding ([`socket`]), the kernel's socket
//! table ([`tcp_table`]) and ephemeral port range ([`ephemeral`]), and the
//! explanation of a port that does not bind ([`held`]); urls as shown, without
//! userinfo ([`url`]); an HTTP body read up to a bound ([`body`]).

pub mod body;
pub mod ephemeral;
pub mod held;
pub mod socket;
pub mod tcp_table;
pub mod url;
