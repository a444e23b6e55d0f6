//! The openai provider against a loopback server speaking its wire format,
//! with every fault of the acceptance list (see tests/support/scenarios.rs).

use crate::support;

use support::Kind;

crate::provider_scenarios!(Kind::OpenAi);
