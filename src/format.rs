//! Reading and writing the file formats ctx understands, with errors that name file, line and column.

use serde_json::Value;

/// A file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct FormatError {
    /// The file, as the user knows it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser said.
    pub message: String,
}

/// How ctx treats a file, chosen by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.json`
    Json,
    /// `.jsonl`
    Jsonl,
    /// `.yaml`, `.yml`
    Yaml,
    /// `.md`: optional YAML front matter, then text.
    Markdown,
    /// Anything else.
    Other,
}

impl Kind {
    /// The kind of the file at `path`.
    pub fn of(path: &str) -> Kind {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Kind::Json
        } else if lower.ends_with(".jsonl") {
            Kind::Jsonl
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Kind::Yaml
        } else if lower.ends_with(".md") {
            Kind::Markdown
        } else {
            Kind::Other
        }
    }
}

/// Parses JSON, keeping key order.
pub fn parse_json(file: &str, text: &str) -> Result<Value, FormatError> {
    serde_json::from_str(text).map_err(|e| FormatError {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// Parses YAML into a JSON value (YAML documents ctx reads are JSON-shaped).
pub fn parse_yaml(file: &str, text: &str, line_offset: usize) -> Result<Value, FormatError> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    if let Some((line, column)) = too_deep(text) {
        return Err(FormatError {
            file: file.to_string(),
            line: line + line_offset,
            column,
            message: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    serde_yaml::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        FormatError {
            file: file.to_string(),
            line: line + line_offset,
            column,
            message: strip_position(&e.to_string()),
        }
    })
}

/// Deeper nesting than this is refused before parsing: YAML parsers take quadratic time on it,
/// and no configuration needs it (JSON and TOML parsers stop at 128 already).
pub const MAX_DEPTH: usize = 128;

/// Where YAML text first nests deeper than [`MAX_DEPTH`] (flow brackets or indentation), as
/// 1-based line and column. A linear scan that ignores quoting: it can only over-count.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        if indent / 2 + depth > MAX_DEPTH {
            return Some((n + 1, indent + 1));
        }
        for (col, c) in line.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => continue,
            }
            if depth + indent / 2 > MAX_DEPTH {
                return Some((n + 1, col + 1));
            }
        }
    }
    None
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Checks every line of a JSONL file.
pub fn check_jsonl(file: &str, text: &str) -> Result<(), FormatError> {
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        serde_json::from_str::<serde::de::IgnoredAny>(line).map_err(|e| FormatError {
            file: file.to_string(),
            line: n + 1,
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
    }
    Ok(())
}

/// The YAML front matter of a Markdown text, and the line its first YAML line is on (0-based).
pub fn front_matter(text: &str) -> Option<(&str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], 1));
        }
        offset += line.len();
    }
    None
}

/// Checks the front matter of a Markdown file, if it has one.
pub fn check_markdown(file: &str, text: &str) -> Result<(), FormatError> {
    if text.starts_with("---\n") || text.starts_with("---\r\n") {
        let Some((yaml, offset)) = front_matter(text) else {
            return Err(FormatError {
                file: file.to_string(),
                line: 1,
                column: 1,
                message: "front matter opened with `---` is never closed".into(),
            });
        };
        if let Err(e) = parse_yaml(file, yaml, offset) {
            // Claude Code reads front matter leniently (its `/agents` wizard writes descriptions
            // with `: ` and blank lines inside an unquoted value): accept what it accepts.
            if !lenient_front_matter(yaml) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Front matter as Claude Code's fallback reader takes it: `key: value` lines at the margin,
/// anything else continuing the value above. It fails when text comes before any key, when a
/// value opened as a list or map (`tools: [Read, Grep`) does not close on its line, or when the
/// nesting is too deep to read at all.
fn lenient_front_matter(yaml: &str) -> bool {
    if too_deep(yaml).is_some() {
        return false;
    }
    fn key_value(l: &str) -> Option<(&str, &str)> {
        l.split_once(':').filter(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    }
    let mut lines = yaml
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    if lines.next().is_none_or(|l| key_value(l).is_none()) {
        return false;
    }
    yaml.lines().filter_map(key_value).all(|(_, v)| {
        let v = v.trim();
        !(v.starts_with('[') || v.starts_with('{')) || serde_yaml::from_str::<Value>(v).is_ok()
    })
}

/// A JSON or YAML document parsed leniently (no error position): `None` for other kinds and for
/// text that does not parse. The one place that picks the parser by kind.
pub fn parse_doc(kind: Kind, text: &str) -> Option<Value> {
    match kind {
        Kind::Json => serde_json::from_str(text).ok(),
        Kind::Yaml => serde_yaml::from_str(text).ok(),
        _ => None,
    }
}

/// A JSON or YAML document rendered back; `like` is the text it came from (a JSON file keeps
/// its final newline or lack of one).
pub fn render_doc(kind: Kind, doc: &Value, like: &str) -> Vec<u8> {
    match kind {
        Kind::Yaml => to_yaml(doc),
        _ => to_json(doc, like.ends_with('\n')),
    }
}

/// JSON in Claude Code's own style (two-space indent), with a final newline if `newline`.
pub fn to_json(value: &Value, newline: bool) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    if newline {
        out.push(b'\n');
    }
    out
}

/// YAML as serde_yaml writes it.
pub fn to_yaml(value: &Value) -> Vec<u8> {
    serde_yaml::to_string(value)
        .unwrap_or_default()
        .into_bytes()
}

/// Replaces the value of top-level `key` in the JSON object `text`, leaving every other byte as it
/// was; appends the key if absent, removes it for `None`. `None` is returned if `text` is not an object.
pub fn splice_key(text: &str, key: &str, value: Option<&Value>) -> Option<String> {
    let spans = top_level_spans(text)?;
    let rendered = value.map(|v| indent(&String::from_utf8_lossy(&to_json(v, false)), "  "));
    if let Some(span) = spans.iter().find(|s| s.key == key) {
        let mut out = String::with_capacity(text.len());
        match rendered {
            Some(r) => {
                out.push_str(&text[..span.value.0]);
                out.push_str(&r);
                out.push_str(&text[span.value.1..]);
            }
            None => {
                // Remove `"key": value` and one adjoining comma.
                let (mut start, mut end) = (span.entry_start, span.value.1);
                let after = text[end..].trim_start();
                if after.starts_with(',') {
                    end = text.len() - after.len() + 1;
                } else if let Some(prev) = text[..start].rfind(',') {
                    if text[prev + 1..start].trim().is_empty() {
                        start = prev;
                    }
                }
                // A key on a line of its own takes its line along, not leaving it blank.
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let rest = &text[end..];
                if text[line_start..start].trim().is_empty() {
                    if let Some(nl) = rest.find('\n').filter(|nl| rest[..*nl].trim().is_empty()) {
                        start = line_start;
                        end += nl + 1;
                    }
                }
                out.push_str(&text[..start]);
                out.push_str(&text[end..]);
            }
        }
        return Some(out);
    }
    let Some(r) = rendered else {
        return Some(text.to_string());
    };
    let close = text.rfind('}')?;
    let body = text[..close].trim_end();
    let entry = format!("  {}: {r}", serde_json::to_string(key).ok()?);
    let mut out = String::new();
    if spans.is_empty() {
        out.push_str(body);
        out.push('\n');
    } else {
        out.push_str(body);
        out.push_str(",\n");
    }
    out.push_str(&entry);
    out.push('\n');
    out.push_str(&text[close..]);
    Some(out)
}

fn indent(s: &str, pad: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(pad);
        }
        out.push_str(line);
    }
    out
}

struct Span {
    key: String,
    entry_start: usize,
    value: (usize, usize),
}

/// Byte spans of the top-level entries of a JSON object.
fn top_level_spans(text: &str) -> Option<Vec<Span>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut spans = Vec::new();
    loop {
        i = skip_ws(b, i);
        match b.get(i)? {
            b'}' => return Some(spans),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {
                let entry_start = i;
                let key_end = skip_string(b, i)?;
                let key: String = serde_json::from_str(&text[i..key_end]).ok()?;
                i = skip_ws(b, key_end);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(b, i + 1);
                let vstart = i;
                let vend = skip_value(b, i)?;
                spans.push(Span {
                    key,
                    entry_start,
                    value: (vstart, vend),
                });
                i = vend;
            }
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_key() {
        let text = "{\n  \"a\": 1,\n  \"mcpServers\": {\n    \"x\": {}\n  },\n  \"z\": [1,2]\n}\n";
        let v: Value = serde_json::json!({"y": {"command": "npx"}});
        let out = splice_key(text, "mcpServers", Some(&v)).unwrap();
        assert_eq!(
            out,
            "{\n  \"a\": 1,\n  \"mcpServers\": {\n    \"y\": {\n      \"command\": \"npx\"\n    }\n  },\n  \"z\": [1,2]\n}\n"
        );
        let removed = splice_key(text, "mcpServers", None).unwrap();
        let parsed: Value = serde_json::from_str(&removed).unwrap();
        assert_eq!(parsed, serde_json::json!({"a": 1, "z": [1, 2]}));
        let added = splice_key("{\n  \"a\": 1\n}\n", "m", Some(&serde_json::json!({}))).unwrap();
        assert_eq!(added, "{\n  \"a\": 1,\n  \"m\": {}\n}\n");
        let empty = splice_key("{}", "m", Some(&serde_json::json!(1))).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&empty).unwrap(),
            serde_json::json!({"m": 1})
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_json("x.json", "{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        let e = check_markdown("a.md", "---\nname: x\ndesc: [unclosed\n---\nbody\n").unwrap_err();
        assert_eq!(e.line, 4);
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    #[test]
    fn removing_a_key_leaves_no_blank_line() {
        let first = "{\n  \"mcpServers\": {\n    \"a\": {}\n  },\n  \"b\": 1\n}\n";
        assert_eq!(
            splice_key(first, "mcpServers", None).as_deref(),
            Some("{\n  \"b\": 1\n}\n")
        );
        let last = "{\n  \"b\": 1,\n  \"mcpServers\": {}\n}\n";
        assert_eq!(
            splice_key(last, "mcpServers", None).as_deref(),
            Some("{\n  \"b\": 1\n}\n")
        );
        let only = "{\n  \"mcpServers\": {}\n}\n";
        assert_eq!(
            splice_key(only, "mcpServers", None).as_deref(),
            Some("{\n}\n")
        );
    }

    #[test]
    fn the_agents_wizards_front_matter_is_accepted() {
        let md = "---\nname: reviewer\ndescription: Use this agent when code changed. Examples:\n\n<example>\nContext: the user wrote code\nuser: \"review it\"\n</example>\nmodel: sonnet\n---\nBody\n";
        assert!(parse_yaml("a.md", front_matter(md).map(|f| f.0).unwrap_or(""), 1).is_err());
        assert!(check_markdown("a.md", md).is_ok());
    }

    #[test]
    fn an_unclosed_list_is_still_an_error() {
        let md = "---\nname: broken\ntools: [Read, Grep\n---\nBody\n";
        assert!(check_markdown("a.md", md).is_err());
    }

    #[test]
    fn text_before_any_key_is_still_an_error() {
        let md = "---\n: nothing\n  - x\n---\n";
        assert!(check_markdown("a.md", md).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_yaml("x.yaml", &deep, 0)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(e.contains("nested deeper"), "{e}");
    }
}
