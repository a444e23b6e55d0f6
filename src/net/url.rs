//! URLs as cadre shows them: without userinfo. A `base_url` or health url
//! may carry `user:password@`; logs, `status`, `doctor` and the API show the
//! rest of it.

/// `url` without its `user:password@`, if any. Works on text that does not
/// parse as a url too: what lies between `://` and the first `@` before the
/// path is dropped.
pub fn shown(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
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
