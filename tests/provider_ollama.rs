//! The ollama provider against a loopback server speaking its wire format,
//! with every fault of the acceptance list (see tests/support/scenarios.rs).

mod support;

use support::Kind;

provider_scenarios!(Kind::Ollama);
