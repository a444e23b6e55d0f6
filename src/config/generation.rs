//! The generation: a stable hash of everything that changes how a specialist
//! answers. Equal generations mean "nothing to reload"; the hash must not
//! depend on process, platform or map order, so it is FNV-1a over a JSON
//! rendering of ordered structs. The prompt enters as its own hash, taken
//! eight bytes at a time: at N = 1000 each prompt is ~42 KB, and escaping it
//! into JSON and hashing it byte by byte was a tenth of a cold start.

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
    /// [`text_hash`] of the prompt, as 16 hex digits.
    system_prompt: String,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a over little-endian 64-bit words (then the tail bytewise), with a
/// shift to fold high bits down: platform-independent, and ~10x faster than
/// bytewise on long text. The length is mixed in first, so texts differing
/// only by trailing NULs differ.
fn text_hash(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut h = FNV_OFFSET ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(FNV_PRIME);
        h ^= h >> 29;
    }
    for b in words.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
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
        system_prompt: format!("{:016x}", text_hash(system_prompt)),
    };
    // Serializing plain structs and BTreeMaps cannot fail; fall back to Debug just in case.
    let text = serde_json::to_string(&b).unwrap_or_else(|_| {
        format!("{component}{title}{description}{model}{provider:?}{params:?}{system_prompt}")
    });
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// 16 hex digits identifying any serializable behaviour (a team's).
pub fn of_value(v: &impl Serialize) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
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

    #[test]
    fn text_hash_sees_every_byte() {
        let base = "x".repeat(37);
        let h = text_hash(&base);
        for i in 0..base.len() {
            let mut t = base.clone().into_bytes();
            t[i] = b'y';
            let t = String::from_utf8(t).unwrap();
            assert_ne!(text_hash(&t), h, "byte {i}");
        }
        assert_ne!(text_hash("a"), text_hash("a\0"));
        assert_eq!(text_hash(&base), h);
    }
}
