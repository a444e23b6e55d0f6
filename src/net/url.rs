//! URLs as cadre shows them: without userinfo. A `base_url` or health url
//! may carry `user:password@`; logs, `status`, `doctor` and the API show the
//! rest of it.

/// `url` without its `user:password@`, if any. Works on text that does not
/// parse as a url too: what lies between `://` and the last `@` before the
/// path is dropped.
pub fn shown(url: &str) -> String {
    shown_in(url)
}

/// `text` with `user[:password]@` dropped from every `scheme://` in it: an
/// error message may quote several URLs, each ending at a path, query,
/// fragment, space or quote.
pub fn shown_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || "\"'<>)`,".contains(c)
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `url`'s host is this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = u.host_str().unwrap_or("").trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, shown};

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:11434"));
        assert!(is_loopback("http://localhost:11434/"));
        assert!(is_loopback("http://[::1]:1/v1"));
        assert!(!is_loopback("http://10.0.0.1:11434"));
        assert!(!is_loopback("https://api.openai.com/v1"));
        assert!(!is_loopback("nonsense"));
    }

    #[test]
    fn userinfo_is_dropped_and_nothing_else() {
        assert_eq!(shown("http://u:p@h:1/x@y"), "http://h:1/x@y");
        assert_eq!(shown("https://tok@h/v1"), "https://h/v1");
        assert_eq!(shown("http://h:1/a?b=c@d"), "http://h:1/a?b=c@d");
        assert_eq!(shown("http://a@b@h"), "http://h");
        assert_eq!(shown("no scheme@host"), "no scheme@host");
        assert_eq!(shown("http://127.0.0.1:11434"), "http://127.0.0.1:11434");
    }
}
