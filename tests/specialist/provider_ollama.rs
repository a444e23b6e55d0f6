//! The ollama provider against a loopback server speaking its wire format,
//! with every fault of the acceptance list (see tests/fixture/provider/scenarios.rs),
//! and token usage and the provider doctor (tests/fixture/provider/operation.rs).

use crate::fixture::provider::Kind;

crate::provider_scenarios!(Kind::Ollama);
crate::operation_scenarios!(Kind::Ollama);
