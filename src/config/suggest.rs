//! "Did you mean …?" for unknown keys and names: typos must not pass silently,
//! and the fix should be one glance away.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| {
            *d <= (c.chars().count().max(word.chars().count()) / 3).max(1) + 1 && *d > 0
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Backtick-quoted words of a serde message ("unknown field `x`, expected one of `a`, `b`").
pub fn quoted(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(nearest("modle", ["model", "port", "title"]), Some("model"));
        assert_eq!(nearest("olama", ["ollama", "openai"]), Some("ollama"));
        assert_eq!(nearest("zzzzzz", ["model", "port"]), None);
        assert_eq!(
            quoted("unknown field `modle`, expected `a` or `b`"),
            ["modle", "a", "b"]
        );
    }
}
