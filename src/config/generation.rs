//! The generation: a stable hash of everything that changes how a specialist
//! answers. Equal generations mean "nothing to reload"; the hash must not
//! depend on process, platform or map order, so it is FNV-1a over a JSON
//! rendering of ordered structs. The prompt enters as its own hash, taken
//! eight bytes at a time: at N = 1000 each prompt is ~42 KB, and escaping it
//! into JSON and hashing it byte by byte was a tenth of a cold start.

use serde::Serialize;

use super::spec::Spec;

/// What the hash covers: the spec's behaviour fields and its prompt.
#[derive(Serialize)]
struct Behaviour<'a> {
    component: &'a str,
    title: &'a str,
    description: &'a str,
    model: &'a str,
    provider: &'a super::ResolvedProvider,
    params: &'a super::Params,
    /// Absent from the JSON when unset, so specs without `[consult]` keep
    /// the generation they had before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    consult: Option<&'a super::Consult>,
    /// [`text_hash`] of the prompt, as 16 hex digits.
    system_prompt: String,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bit: stable across processes and platforms (file names, hashes on disk).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
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

/// 16 hex digits identifying the behaviour of `spec` once it runs on
/// `system_prompt` (the spec's own prompt field is not filled in yet).
pub fn generation(spec: &Spec, system_prompt: &str) -> String {
    let b = Behaviour {
        component: &spec.component,
        title: &spec.title,
        description: &spec.description,
        model: &spec.model,
        provider: &spec.provider,
        params: &spec.params,
        consult: spec.consult.as_ref(),
        system_prompt: format!("{:016x}", text_hash(system_prompt)),
    };
    // Serializing plain structs and BTreeMaps cannot fail; fall back to Debug just in case.
    let text = serde_json::to_string(&b).unwrap_or_else(|_| format!("{spec:?}{system_prompt}"));
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

    #[test]
    fn stable_and_sensitive() {
        let s = Spec::example("numa");
        let a = generation(&s, "hi");
        assert_eq!(a, generation(&s, "hi"));
        assert_eq!(a.len(), 16);
        assert_ne!(a, generation(&s, "hi!"));
        let mut q = s.clone();
        q.provider.max_retries += 1;
        assert_ne!(a, generation(&q, "hi"));
        let mut q = s.clone();
        q.params.temperature = Some(0.1);
        assert_ne!(a, generation(&q, "hi"));
        let mut q = s.clone();
        q.consult = Some(crate::config::Consult::default());
        let with = generation(&q, "hi");
        assert_ne!(a, with, "[consult] changes behaviour");
        q.consult.as_mut().unwrap().budget = 9;
        assert_ne!(with, generation(&q, "hi"));
        // What the hash does not cover: identity and where it listens.
        let mut q = s.clone();
        q.port = Some(45001);
        assert_eq!(a, generation(&q, "hi"));
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
