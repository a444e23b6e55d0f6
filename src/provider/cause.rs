//! A reqwest error worded for people: its cause chain without the url that
//! its `Display` prepends (which may carry a key in a query, and says nothing
//! the message's context does not), or only the innermost cause.

/// The innermost cause of a reqwest error (`Connection refused (os error
/// 111)`): what a one-line health message needs, without hyper's layers.
pub fn root_cause(e: &reqwest::Error) -> String {
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = src {
        last = Some(s.to_string());
        src = s.source();
    }
    last.unwrap_or_else(|| reason(e))
}

/// A reqwest error's cause chain without the url (which Display prepends).
pub fn reason(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        src = s.source();
    }
    if parts.is_empty() {
        let kind = if e.is_connect() {
            "connection failed"
        } else if e.is_timeout() {
            "timed out"
        } else if e.is_body() || e.is_decode() {
            "body error"
        } else {
            "request failed"
        };
        parts.push(kind.to_string());
    }
    parts.join(": ")
}
