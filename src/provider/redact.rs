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

/// Whether `text` can hold a spelling of `key` at all: every spelling starts
/// with the key's literal text or a JSON escape, so a line with neither is
/// clean without being walked (the common case of every streamed line).
pub fn may_hold_key(text: &str, key: &ApiKey) -> bool {
    text.contains('\\') || text.contains(key.expose())
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
}
