//! Positions in a source text: byte offsets to 1-based line/column, the line
//! itself for display, and where a dotted key is written. Spans from the TOML
//! parser only point at bytes; users need lines, columns and key names.

/// A 1-based position plus the text of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub source_line: String,
}

/// Position of byte `offset` in `src` (clamped to the text; columns count characters).
pub fn position(src: &str, offset: usize) -> Position {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = src[line_start..offset].chars().count() + 1;
    let line_end = src[line_start..]
        .find('\n')
        .map_or(src.len(), |i| line_start + i);
    Position {
        line,
        column,
        source_line: src[line_start..line_end].trim_end_matches('\r').to_owned(),
    }
}

/// The text of 1-based line `line`, if it exists.
pub fn line_text(src: &str, line: usize) -> Option<String> {
    src.lines().nth(line.checked_sub(1)?).map(str::to_owned)
}

/// The table a `[header]` line opens (`[a.b]` → `a.b`), if the line is one.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.split("]]").next())
        .or_else(|| t.strip_prefix('[').and_then(|r| r.split(']').next()))?;
    Some(
        inner
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The bare key a `key = value` line assigns, if the line is one.
fn assigned_key(line: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    let k = k.trim();
    if k.is_empty() {
        return None;
    }
    Some(
        k.split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join("."),
    )
}

fn join(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    }
}

/// What one line of a TOML file does, as far as locating keys needs.
struct Line<'a> {
    offset: usize,
    text: &'a str,
    /// The dotted key the line assigns (with its table) or the table it opens.
    key: Option<String>,
}

/// Whether a line leaves a multi-line string open: an odd count of a delimiter.
fn toggles(line: &str, delim: &str) -> bool {
    line.matches(delim).count() % 2 == 1
}

/// Every line with the key it assigns; lines inside multi-line strings assign nothing,
/// so a prompt that says `port = 1` never counts as the `port` key.
fn scan(src: &str) -> Vec<Line<'_>> {
    let mut table = String::new();
    let mut open: Option<&str> = None;
    let mut offset = 0;
    let mut out = Vec::new();
    for raw in src.split_inclusive('\n') {
        let text = raw.trim_end_matches(['\n', '\r']);
        let mut key = None;
        match open {
            Some(d) => {
                if toggles(text, d) {
                    open = None;
                }
            }
            None => {
                if let Some(h) = header(text) {
                    table = h;
                    key = Some(table.clone());
                } else if let Some(k) = assigned_key(text) {
                    key = Some(join(&table, &k));
                }
                open = ["\"\"\"", "'''"].into_iter().find(|d| toggles(text, d));
            }
        }
        out.push(Line { offset, text, key });
        offset += raw.len();
    }
    out
}

/// The dotted key that 1-based `line` assigns or opens, with its table prefix.
/// A heuristic over the text (good for the line-per-key files people write).
pub fn key_at_line(src: &str, line: usize) -> Option<String> {
    scan(src).into_iter().nth(line.checked_sub(1)?)?.key
}

/// Where the dotted `key` is written in `src`: 1-based line and the column of the key.
pub fn locate_key(src: &str, key: &str) -> Option<Position> {
    let l = scan(src)
        .into_iter()
        .find(|l| l.key.as_deref() == Some(key))?;
    Some(position(
        src,
        l.offset + (l.text.len() - l.text.trim_start().len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_keys() {
        let src = "a = 1\n[personality]\nrole = \"x\"\n";
        let p = position(src, src.find("role").unwrap());
        assert_eq!(
            (p.line, p.column, p.source_line.as_str()),
            (3, 1, "role = \"x\"")
        );
        assert_eq!(key_at_line(src, 3).as_deref(), Some("personality.role"));
        assert_eq!(locate_key(src, "personality.role").unwrap().line, 3);
        assert_eq!(locate_key(src, "a").unwrap().line, 1);
        assert!(locate_key(src, "role").is_none());
        let src = "prompt = \"\"\"\nport = 1\n\"\"\"\nport = 2\n";
        assert_eq!(locate_key(src, "port").unwrap().line, 4);
        assert_eq!(key_at_line(src, 2), None);
        let p = position("é\nx", 100);
        assert_eq!((p.line, p.column), (2, 2));
    }
}
