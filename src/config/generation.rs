//! The generation: a stable hash of everything that changes how a specialist
//! answers. Equal generations mean "nothing to reload"; the hash must not
//! depend on process, platform or map order, so it is FNV-1a over a JSON
//! rendering of ordered structs.

use serde::Serialize;

use super::spec::ResolvedProvider;
use super::types::Params;

#[derive(Serialize)]
struct Behaviour<'a> {
    component: &'a str,
    title: &'a str,
    description: &'a str,
    model: &'a str,
    provider: &'a ResolvedProvider,
    params: &'a Params,
    system_prompt: &'a str,
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// 16 hex digits identifying the behaviour of a specialist.
pub fn generation(
    component: &str,
    title: &str,
    description: &str,
    model: &str,
    provider: &ResolvedProvider,
    params: &Params,
    system_prompt: &str,
) -> String {
    let b = Behaviour {
        component,
        title,
        description,
        model,
        provider,
        params,
        system_prompt,
    };
    // Serializing plain structs and BTreeMaps cannot fail; fall back to Debug just in case.
    let text = serde_json::to_string(&b).unwrap_or_else(|_| {
        format!("{component}{title}{description}{model}{provider:?}{params:?}{system_prompt}")
    });
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProviderKind, ResolvedTimeouts};

    fn p() -> ResolvedProvider {
        ResolvedProvider {
            name: "ollama".into(),
            kind: ProviderKind::Ollama,
            base_url: "http://127.0.0.1:11434".into(),
            api_key_env: None,
            timeouts: ResolvedTimeouts::default(),
            max_retries: 2,
            keep_alive: None,
        }
    }

    #[test]
    fn stable_and_sensitive() {
        let a = generation("c", "t", "d", "m", &p(), &Params::default(), "hi");
        assert_eq!(
            a,
            generation("c", "t", "d", "m", &p(), &Params::default(), "hi")
        );
        assert_eq!(a.len(), 16);
        assert_ne!(
            a,
            generation("c", "t", "d", "m", &p(), &Params::default(), "hi!")
        );
        let mut q = p();
        q.max_retries = 3;
        assert_ne!(
            a,
            generation("c", "t", "d", "m", &q, &Params::default(), "hi")
        );
        let params = Params {
            temperature: Some(0.1),
            ..Params::default()
        };
        assert_ne!(a, generation("c", "t", "d", "m", &p(), &params, "hi"));
    }
}
