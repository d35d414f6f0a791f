//! YAML text for new values, in the file's style: its indentation, whether sequences under a
//! key are indented, and how it quotes strings.

use serde_json::Value;

/// How quoted a file's strings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quote {
    Plain,
    Double,
    Single,
}

/// A file's YAML style.
pub(super) struct Style {
    /// Spaces per level.
    unit: usize,
    /// `key:\n  - item` rather than `key:\n- item`.
    seq_indent: bool,
    /// How new strings are written.
    quote: Quote,
}

impl Style {
    /// The style ours' text is written in (serde_yaml's when it shows none).
    pub fn detect(text: &str) -> Style {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let ind = |l: &str| l.len() - l.trim_start_matches(' ').len();
        let (mut unit, mut seq_indent) = (None, None);
        for w in lines.windows(2) {
            let (a, b) = (w[0], w[1]);
            if !a.trim_end().ends_with(':') || a.trim_start().starts_with('#') {
                continue;
            }
            let bt = b.trim_start();
            if bt.starts_with("- ") || bt == "-" {
                seq_indent.get_or_insert(ind(b) > ind(a));
            } else if ind(b) > ind(a) {
                unit.get_or_insert(ind(b) - ind(a));
            }
        }
        let (mut plain, mut double, mut single) = (0, 0, 0);
        for l in &lines {
            let t = l.trim_start();
            let v = match t.find(": ") {
                Some(i) if !t.starts_with('#') => &t[i + 2..],
                _ => t.strip_prefix("- ").unwrap_or_default(),
            };
            match v.chars().next() {
                Some('"') => double += 1,
                Some('\'') => single += 1,
                Some(c) if c.is_alphabetic() || c == '/' || c == '.' => plain += 1,
                _ => {}
            }
        }
        let quote = if double > plain && double >= single {
            Quote::Double
        } else if single > plain && single > double {
            Quote::Single
        } else {
            Quote::Plain
        };
        Style {
            unit: unit.filter(|&u| u > 0).unwrap_or(2),
            seq_indent: seq_indent.unwrap_or(false),
            quote,
        }
    }
}

/// An entry (`key: value`, or with `key` `None` an item `- value`) at column `col`, with
/// its line break.
pub(super) fn render_entry(key: Option<&str>, v: &Value, col: usize, style: &Style) -> String {
    let pad = " ".repeat(col);
    let head = match key {
        Some(k) => format!("{pad}{k}:"),
        None => format!("{pad}-"),
    };
    // A nested block after `- ` starts on the item's line, two columns in.
    let compact = |inner: String| match inner.get(col + 2..) {
        Some(rest) => format!("{pad}- {rest}"),
        None => format!("{head}\n{inner}"),
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let c = if key.is_some() {
                col + style.unit
            } else {
                col + 2
            };
            let inner: String = m
                .iter()
                .map(|(k, x)| render_entry(Some(&key_text(k)), x, c, style))
                .collect();
            if key.is_some() {
                format!("{head}\n{inner}")
            } else {
                compact(inner)
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let c = match key {
                Some(_) if style.seq_indent => col + style.unit,
                Some(_) => col,
                None => col + 2,
            };
            let inner: String = a.iter().map(|x| render_entry(None, x, c, style)).collect();
            if key.is_some() {
                format!("{head}\n{inner}")
            } else {
                compact(inner)
            }
        }
        Value::String(s) if s.contains('\n') => match literal(s, col + style.unit) {
            Some(block) => format!("{head} {block}"),
            None => format!("{head} {}\n", double(s)),
        },
        other => format!("{head} {}\n", new_scalar(other, style.quote, false)),
    }
}

/// A multi-line string as a literal block (`|`), its lines at column `col`; `None` when a
/// literal block cannot hold it as it is.
fn literal(s: &str, col: usize) -> Option<String> {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => return None,
    };
    if body.starts_with([' ', '\t'])
        || body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return None;
    }
    let pad = " ".repeat(col);
    let mut out = format!("|{chomp}\n");
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(out)
}

/// A replacement for the inline scalar `old`: a string in `old`'s quoting where it can be.
pub(super) fn scalar(v: &Value, old: &str, style: &Style) -> Option<String> {
    let Value::String(s) = v else {
        return Some(new_scalar(v, style.quote, false));
    };
    if s.contains('\n') {
        return Some(double(s));
    }
    Some(match old.chars().next() {
        Some('"') => double(s),
        Some('\'') => single(s),
        _ if plain_ok(s, false) => s.clone(),
        _ => new_scalar(v, style.quote, false),
    })
}

/// A flow collection: `[a, b]`, `{k: v}`.
pub(super) fn flow(v: &Value, style: &Style) -> String {
    match v {
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| flow(x, style)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{}: {}", key_text(k), flow(x, style)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        other => new_scalar(other, style.quote, true),
    }
}

fn new_scalar(v: &Value, quote: Quote, in_flow: bool) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => match quote {
            Quote::Double => double(s),
            Quote::Single if !s.chars().any(char::is_control) => single(s),
            _ if plain_ok(s, in_flow) => s.clone(),
            _ => double(s),
        },
        other => other.to_string(),
    }
}

/// A mapping key: plain where YAML reads it back as the same string, else double-quoted.
pub(super) fn key_text(k: &str) -> String {
    if plain_ok(k, true) {
        k.to_string()
    } else {
        double(k)
    }
}

fn double(s: &str) -> String {
    // A JSON string is a YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_default()
}

fn single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `s` written plain reads back as the same string.
fn plain_ok(s: &str, in_flow: bool) -> bool {
    let bad_start = |c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace();
    let Some(first) = s.chars().next() else {
        return false;
    };
    if bad_start(first)
        || s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| c.is_control())
        || (in_flow && s.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    matches!(serde_yaml::from_str::<serde_yaml::Value>(s), Ok(serde_yaml::Value::String(r)) if r == s)
}
