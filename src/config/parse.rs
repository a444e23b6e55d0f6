//! Bytes → typed config, or one located [`Problem`]. Turns the TOML parser's
//! byte spans and serde's messages into line, column, dotted key and a
//! suggestion for misspelt keys.

use serde::de::DeserializeOwned;

use super::source::{self, Position};
use super::suggest;

/// A problem in one file, before it is attributed to a file and a specialist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub key: Option<String>,
    pub message: String,
    pub source_line: Option<String>,
}

impl Problem {
    /// A problem at `pos` (or at the top of the file when the position is unknown).
    pub fn at(pos: Option<Position>, key: Option<String>, message: String) -> Problem {
        match pos {
            Some(p) => Problem {
                line: p.line,
                column: p.column,
                key,
                message,
                source_line: Some(p.source_line),
            },
            None => Problem {
                line: 1,
                column: 1,
                key,
                message,
                source_line: None,
            },
        }
    }

    /// A problem about `key`, located where the key is written in `src` (top of file if absent).
    pub fn at_key(src: &str, key: &str, message: String) -> Problem {
        Problem::at(source::locate_key(src, key), Some(key.to_owned()), message)
    }
}

/// The file as UTF-8, or where the first invalid byte is.
pub fn utf8(bytes: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // The valid prefix is UTF-8 by definition; position it as text.
        let prefix = std::str::from_utf8(valid).unwrap_or("");
        let p = source::position(prefix, prefix.len());
        let key = source::key_at_line(prefix, p.line);
        let within = key
            .as_ref()
            .map(|k| format!(" in `{k}`"))
            .unwrap_or_default();
        let offset = e.valid_up_to();
        Problem {
            line: p.line,
            column: p.column,
            key,
            message: format!("file is not valid UTF-8{within} (invalid byte at offset {offset})"),
            source_line: Some(p.source_line),
        }
    })
}

/// Parse and type-check one TOML document.
pub fn toml<T: DeserializeOwned>(src: &str) -> Result<T, Problem> {
    toml::from_str::<T>(src).map_err(|e| problem(src, e.message(), e.span()))
}

fn problem(src: &str, raw: &str, span: Option<std::ops::Range<usize>>) -> Problem {
    let raw = raw.trim();
    let pos = span.map(|s| source::position(src, s.start));
    let line_key = pos.as_ref().and_then(|p| source::key_at_line(src, p.line));
    let table_prefix = |key: &str| match &line_key {
        // An unknown key inside `[personality]` is reported as `personality.key`.
        Some(k) if k.ends_with(key) && k.len() > key.len() => k.clone(),
        Some(k)
            if !k.ends_with(key)
                && pos
                    .as_ref()
                    .is_some_and(|p| p.source_line.trim_start().starts_with('[')) =>
        {
            format!("{k}.{key}")
        }
        _ => key.to_owned(),
    };
    let quoted = suggest::quoted(raw);
    if let Some(rest) = raw.strip_prefix("unknown field") {
        let _ = rest;
        let word = quoted.first().copied().unwrap_or("");
        let key = table_prefix(word);
        let mut message = format!("unknown key `{key}`");
        if let Some(s) = suggest::nearest(word, quoted.iter().skip(1).copied()) {
            message.push_str(&format!(", did you mean `{s}`?"));
        } else if quoted.len() > 1 {
            let known: Vec<_> = quoted[1..].iter().map(|k| format!("`{k}`")).collect();
            message.push_str(&format!(" (known keys: {})", known.join(", ")));
        }
        return Problem::at(pos, Some(key), message);
    }
    if raw.starts_with("missing field") {
        let word = quoted.first().copied().unwrap_or("");
        let key = match &line_key {
            Some(k)
                if pos
                    .as_ref()
                    .is_some_and(|p| p.source_line.trim_start().starts_with('[')) =>
            {
                format!("{k}.{word}")
            }
            _ => word.to_owned(),
        };
        let message = if src.trim().is_empty() {
            format!("file is empty: required key `{key}` is missing")
        } else {
            format!("required key `{key}` is missing")
        };
        return Problem::at(pos, Some(key), message);
    }
    let serde_error = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "duplicate field",
    ]
    .iter()
    .any(|p| raw.starts_with(p));
    match line_key {
        Some(k) if serde_error => Problem::at(pos, Some(k.clone()), format!("`{k}`: {raw}")),
        k if serde_error => Problem::at(pos, k, raw.to_owned()),
        Some(k) => Problem::at(
            pos,
            Some(k.clone()),
            format!("TOML syntax error at `{k}`: {raw}"),
        ),
        None => Problem::at(pos, None, format!("TOML syntax error: {raw}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpecialistFile;

    #[test]
    fn unknown_key_with_suggestion() {
        let p = toml::<SpecialistFile>("component = \"c\"\ntitle = \"t\"\nmodle = \"m\"\n")
            .unwrap_err();
        assert_eq!(p.line, 3);
        assert_eq!(p.key.as_deref(), Some("modle"));
        assert!(p.message.contains("did you mean `model`"), "{}", p.message);
    }

    #[test]
    fn nested_unknown_key() {
        let p = toml::<SpecialistFile>(
            "component = \"c\"\ntitle = \"t\"\n[personality]\nrol = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(p.line, 4);
        assert_eq!(p.key.as_deref(), Some("personality.rol"));
        assert!(p.message.contains("did you mean `role`"), "{}", p.message);
    }

    #[test]
    fn wrong_type() {
        let p =
            toml::<SpecialistFile>("component = \"c\"\ntitle = \"t\"\nport = \"x\"\n").unwrap_err();
        assert_eq!((p.line, p.key.as_deref()), (3, Some("port")));
    }

    #[test]
    fn non_utf8() {
        let p = utf8(b"a = 1\nb = \"\xff\"").unwrap_err();
        assert_eq!((p.line, p.column), (2, 6));
    }
}
