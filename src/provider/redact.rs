//! The one scrub every provider text passes before it is cut short, logged or
//! shown: the key (however a provider spelled it: raw, or JSON `\u` escapes) and
//! the userinfo of any URL (`http://admin:PW@host`). Cutting first would leave a
//! key's head that no longer matches the whole key, so callers scrub, then cut.

use super::secret::ApiKey;

/// What a removed key reads as.
pub const REDACTED: &str = "[redacted]";

/// Remove the key and any URL userinfo from `text`: for texts cadre shows
/// as its own (errors, health, logs).
pub fn scrub(key: Option<&ApiKey>, text: &str) -> String {
    crate::net::url::shown_in(&without_key(key, text))
}

/// Remove only the key: for what the provider sends as the answer, where a
/// URL's userinfo (`ssh://git@host/…`) is content, not a secret of cadre's.
pub fn without_key(key: Option<&ApiKey>, text: &str) -> String {
    match key {
        Some(k) => redact_key(text, k.expose()),
        None => text.to_string(),
    }
}

/// Whether `text` can hold a spelling of `key` at all: the literal key, a
/// `\u` escape, or one of the short escapes (`\/`, `\\`, `\"`) of a character
/// the key has. A streamed line's `\n` or `\"` in ordinary text is not
/// enough to walk it (almost every line of a chatty answer has one).
pub fn may_hold_key(text: &str, key: &ApiKey) -> bool {
    let key = key.expose();
    text.contains(key)
        || text.contains("\\u")
        || [('/', "\\/"), ('\\', "\\\\"), ('"', "\\\"")]
            .iter()
            .any(|(c, esc)| key.contains(*c) && text.contains(esc))
}

/// Replace every spelling of `key` in `text`: each of its characters may appear
/// literally or as a JSON escape (`\u0073`, `\/`), as a proxy echoing a header
/// inside a JSON string writes it.
fn redact_key(text: &str, key: &str) -> String {
    if key.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(len) = match_at(&text[i..], key) {
            out.push_str(REDACTED);
            i += len;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The length of `text`'s prefix that spells `key`, if it does.
fn match_at(text: &str, key: &str) -> Option<usize> {
    let mut at = 0;
    for want in key.chars() {
        let (got, used) = next_char(&text[at..])?;
        if got != want {
            return None;
        }
        at += used;
    }
    Some(at)
}

/// The first character `text` spells and how many bytes it takes: a literal
/// character or one JSON string escape (a surrogate pair counts as one).
fn next_char(text: &str) -> Option<(char, usize)> {
    let c = text.chars().next()?;
    if c != '\\' {
        return Some((c, c.len_utf8()));
    }
    match text.as_bytes().get(1)? {
        b'/' => Some(('/', 2)),
        b'\\' => Some(('\\', 2)),
        b'"' => Some(('"', 2)),
        b'u' => {
            let hi = hex4(text.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                let rest = text.get(6..12)?;
                let lo = rest.strip_prefix("\\u").and_then(hex4)?;
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?);
                return Some((char::from_u32(code)?, 12));
            }
            Some((char::from_u32(hi)?, 6))
        }
        _ => Some((c, 1)),
    }
}

fn hex4(s: &str) -> Option<u32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The key out of an answer that arrives in pieces, even when the provider
/// splits it across them (`"your key is sk-ab"`, `"c123"`): each piece is
/// passed on without the longest tail that could begin the key, which waits
/// for the next piece (or the end) to show whether it does. A tail that
/// cannot begin the key (almost every piece) is not held, so nothing is
/// delayed; nothing is lost, as [`KeyGuard::finish`] hands out what is held.
/// The pieces are decoded text (the wire lines were scrubbed of escaped
/// spellings before decoding), so only the literal key is looked for here.
pub struct KeyGuard<'k> {
    key: &'k str,
    held: String,
}

impl<'k> KeyGuard<'k> {
    /// `None` without a key: nothing to guard.
    pub fn new(key: Option<&'k ApiKey>) -> Option<KeyGuard<'k>> {
        let key = key?.expose();
        (!key.is_empty()).then(|| KeyGuard {
            key,
            held: String::new(),
        })
    }

    /// What of `piece` (after what was held) can be passed on now.
    pub fn push(&mut self, piece: &str) -> String {
        let mut text = std::mem::take(&mut self.held);
        text.push_str(piece);
        if text.contains(self.key) {
            text = text.replace(self.key, REDACTED);
        }
        let keep = key_head_at_end(&text, self.key);
        self.held = text.split_off(text.len() - keep);
        text
    }

    /// What is still held at the end of the answer: not the key, so it is the answer's.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// The length of the longest proper prefix of `key` that `text` ends with.
fn key_head_at_end(text: &str, key: &str) -> usize {
    let Some(&last) = text.as_bytes().last() else {
        return 0;
    };
    let longest = (key.len() - 1).min(text.len());
    (1..=longest)
        .rev()
        .filter(|&n| key.as_bytes()[n - 1] == last && key.is_char_boundary(n))
        .find(|&n| text.ends_with(&key[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::url::shown_in as strip_userinfo;

    #[test]
    fn the_key_goes_however_it_is_spelled() {
        let key = "sk-KEY/9é";
        assert_eq!(redact_key("a sk-KEY/9é b", key), "a [redacted] b");
        assert_eq!(
            redact_key(r#""\u0073\u006B-KEY\/9\u00e9""#, key),
            r#""[redacted]""#
        );
        assert_eq!(redact_key("sk-KEY/9", key), "sk-KEY/9");
        assert_eq!(redact_key(r"trailing \u00", key), r"trailing \u00");
        let astral = "k😀";
        assert_eq!(redact_key(r"\u006b\ud83d\ude00!", astral), "[redacted]!");
    }

    #[test]
    fn userinfo_leaves_every_url() {
        assert_eq!(
            strip_userinfo("cannot reach http://admin:PW@host:1/v1 (http://u@h) and https://ok/x"),
            "cannot reach http://host:1/v1 (http://h) and https://ok/x"
        );
        assert_eq!(strip_userinfo("no url here: a@b"), "no url here: a@b");
        assert_eq!(strip_userinfo("end http://a:b@c"), "end http://c");
    }

    #[test]
    fn scrub_before_cut_leaves_no_head_of_the_key() {
        let key = ApiKey::for_test("sk-KEYCANARYyDtail");
        let body = format!("{}Bearer sk-KEYCANARYyDtail</p>", "x".repeat(490));
        let cut = super::super::wire::short(&scrub(Some(&key), &body));
        assert!(!cut.contains("KEYCANARY"), "{cut}");
    }

    proptest::proptest! {
        #[test]
        fn a_key_spelled_any_mix_of_ways_never_survives(
            prefix in "[ -~]{0,60}",
            suffix in "[ -~]{0,60}",
            key in "[A-Za-z0-9_-]{8,40}",
            mask in proptest::collection::vec(0u8..3, 40),
        ) {
            let spelled: String = key
                .chars()
                .zip(mask.iter().cycle())
                .map(|(c, how)| match how {
                    0 => c.to_string(),
                    1 => format!("\\u{:04x}", c as u32),
                    _ => format!("\\u{:04X}", c as u32),
                })
                .collect();
            let text = format!("{prefix}{spelled}{suffix}");
            let out = redact_key(&text, &key);
            proptest::prop_assert!(!out.contains(&spelled), "{out}");
            proptest::prop_assert!(out.contains(REDACTED));
        }

        #[test]
        fn a_url_password_never_survives_and_other_text_is_kept(
            before in "[a-z .]{0,30}",
            user in "[a-z]{1,10}",
            password in "[A-Z]{6,20}",
            host in "[a-z0-9.]{1,20}",
            path in "[a-z/]{0,20}",
        ) {
            let text = format!("{before}http://{user}:{password}@{host}/{path}");
            let out = strip_userinfo(&text);
            proptest::prop_assert!(!out.contains(&password));
            proptest::prop_assert_eq!(out, format!("{before}http://{host}/{path}"));
        }

        #[test]
        fn scrubbing_arbitrary_text_never_panics(text in "\\PC{0,200}", key in "\\PC{0,20}") {
            let _ = redact_key(&text, &key);
            let _ = strip_userinfo(&text);
        }
    }

    /// However an answer is cut into pieces, the key never comes out whole,
    /// no text but the key is changed, and nothing is lost.
    fn guarded(pieces: &[&str], key: &str) -> (Vec<String>, String) {
        let key = ApiKey::for_test(key);
        let mut g = KeyGuard::new(Some(&key)).unwrap();
        let mut out: Vec<String> = pieces.iter().map(|p| g.push(p)).collect();
        out.push(g.finish());
        let whole = out.concat();
        (out, whole)
    }

    #[test]
    fn a_key_split_across_pieces_is_redacted_and_other_tails_pass() {
        let key = "sk-abc123";
        let (out, whole) = guarded(&["your key is sk-a", "bc1", "23, ok"], key);
        assert_eq!(whole, "your key is [redacted], ok");
        assert_eq!(out[0], "your key is ");
        // A tail that began like the key but was not is handed on whole.
        let (_, whole) = guarded(&["ask sk-ab", "out it"], key);
        assert_eq!(whole, "ask sk-about it");
        // Held at the end, handed out by finish.
        let (out, whole) = guarded(&["ends in sk-abc"], key);
        assert_eq!(
            (out[0].as_str(), whole.as_str()),
            ("ends in ", "ends in sk-abc")
        );
        // A tail that cannot begin the key is not held; one that can (`s`) is.
        assert_eq!(guarded(&["plain text"], key).0[0], "plain text");
        assert_eq!(guarded(&["plain words"], key).0[0], "plain word");
    }

    proptest::proptest! {
        #[test]
        fn however_an_answer_is_cut_the_key_never_comes_out(
            before in "[ a-z]{0,30}",
            after in "[ a-z]{0,30}",
            key in "[A-Za-z0-9_-]{6,30}",
            cuts in proptest::collection::vec(0usize..100, 0..8),
        ) {
            let text = format!("{before}{key}{after}");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            cuts.sort();
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in cuts {
                pieces.push(&text[at..c]);
                at = c;
            }
            pieces.push(&text[at..]);
            let (out, whole) = guarded(&pieces, &key);
            proptest::prop_assert!(!whole.contains(&key), "{whole}");
            proptest::prop_assert_eq!(&whole, &text.replace(&key, REDACTED));
            for piece in &out {
                proptest::prop_assert!(!piece.contains(&key));
            }
        }
    }
}
