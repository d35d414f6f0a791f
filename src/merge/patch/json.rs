//! JSON: ours' text rebuilt container by container along the changed paths. Unchanged members
//! and items are copied as they are, with the whitespace between them; new ones are written
//! in the container's own layout (one a line at its indentation, or inline).

use std::ops::Range;

use serde_json::{Map, Value};

use crate::merge::arrays::keys;
use crate::merge::merger::Changes;

/// Ours' text edited to hold `merged` where `changes` says it differs, or `None` when its text
/// cannot be followed.
pub(super) fn edit(text: &str, changes: &Changes, merged: &Value) -> Option<String> {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    let end = skip_value(b, start)?;
    let j = Json {
        text,
        unit: indent_unit(text),
        nl: if text.contains("\r\n") { "\r\n" } else { "\n" },
    };
    let mut out = String::with_capacity(text.len() + 1024);
    out.push_str(&text[..start]);
    j.changed(&mut out, start..end, changes, merged, false)?;
    out.push_str(&text[end..]);
    Some(out)
}

struct Json<'t> {
    text: &'t str,
    /// One level of indentation, as the file writes it (two spaces, four, a tab).
    unit: String,
    nl: &'static str,
}

/// A container's members (or items) in ours' text.
struct Layout {
    /// Where the text after the opening bracket starts, and where the closing bracket is.
    inner: Range<usize>,
    /// Each member from its key (each item from its start) to its value's end.
    entries: Vec<Range<usize>>,
    /// Each value's span.
    values: Vec<Range<usize>>,
    /// Each member's key (empty for items).
    keys: Vec<String>,
}

/// How an entry of ours became the merged one.
enum How<'v> {
    /// It did not change.
    Same,
    /// It was ours' value `.0`: compare the two.
    Compare(&'v Value),
    /// The merge recorded where it changed.
    Changed(&'v Changes),
}

/// One entry of a rebuilt container.
enum Entry<'v> {
    /// Ours' entry `idx`, edited to `merged`.
    Old {
        idx: usize,
        how: How<'v>,
        merged: &'v Value,
    },
    /// A new entry.
    New {
        key: Option<&'v str>,
        value: &'v Value,
    },
}

impl Json<'_> {
    /// Writes the merged value at `span` where the merge recorded changes.
    fn changed(
        &self,
        out: &mut String,
        span: Range<usize>,
        ch: &Changes,
        mv: &Value,
        inline: bool,
    ) -> Option<()> {
        if ch.replaced {
            match &ch.old {
                Some(ov) => return self.node(out, span, ov, mv, inline),
                None => {
                    self.render(out, mv, self.line_indent(span.start), inline);
                    return Some(());
                }
            }
        }
        match mv {
            Value::Object(m) if self.text.as_bytes().get(span.start) == Some(&b'{') => {
                let lay = layout(self.text.as_bytes(), span.start, b'}')?;
                let mut seen = std::collections::HashSet::with_capacity(lay.keys.len());
                if !lay.keys.iter().all(|k| seen.insert(k.as_str())) {
                    return None;
                }
                let entries = self.entries(&lay, m, |k, idx| match ch.children.get(k) {
                    Some(c) => Some((idx, How::Changed(c))),
                    None => Some((idx, How::Same)),
                })?;
                self.rebuild(out, span.start, &lay, entries, ('{', '}'), inline)
            }
            _ if ch.children.is_empty() => {
                out.push_str(&self.text[span]);
                Some(())
            }
            _ => None,
        }
    }

    /// The merged object's entries against ours' layout: `old` says how ours' member `idx`
    /// (key `k`) became the merged one. `None` when the merge reordered ours' keys.
    fn entries<'v>(
        &self,
        lay: &Layout,
        m: &'v Map<String, Value>,
        old: impl Fn(&str, usize) -> Option<(usize, How<'v>)>,
    ) -> Option<Vec<Entry<'v>>> {
        let index: std::collections::HashMap<&str, usize> = lay
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut last = None;
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            match index.get(k.as_str()) {
                Some(&i) => {
                    if last.is_some_and(|l| l > i) {
                        return None;
                    }
                    last = Some(i);
                    let (idx, how) = old(k, i)?;
                    out.push(Entry::Old {
                        idx,
                        how,
                        merged: v,
                    });
                }
                None => out.push(Entry::New {
                    key: Some(k),
                    value: v,
                }),
            }
        }
        Some(out)
    }

    fn node(
        &self,
        out: &mut String,
        span: Range<usize>,
        ov: &Value,
        mv: &Value,
        inline: bool,
    ) -> Option<()> {
        if crate::merge::equal::equal(ov, mv) {
            out.push_str(&self.text[span]);
            return Some(());
        }
        match (ov, mv) {
            (Value::Object(o), Value::Object(m)) => self.object(out, span, o, m, inline),
            (Value::Array(o), Value::Array(m)) => self.array(out, span, o, m, inline),
            _ => {
                let indent = self.line_indent(span.start);
                self.render(out, mv, indent, inline);
                Some(())
            }
        }
    }

    fn object(
        &self,
        out: &mut String,
        span: Range<usize>,
        o: &Map<String, Value>,
        m: &Map<String, Value>,
        inline: bool,
    ) -> Option<()> {
        let lay = layout(self.text.as_bytes(), span.start, b'}')?;
        let entries = match self.entries(&lay, m, |k, idx| Some((idx, How::Compare(o.get(k)?)))) {
            // Duplicate keys, or keys the merge reordered: write this object anew.
            Some(e) if lay.keys.len() == o.len() => e,
            _ => {
                self.render(
                    out,
                    &Value::Object(m.clone()),
                    self.line_indent(span.start),
                    inline,
                );
                return Some(());
            }
        };
        self.rebuild(out, span.start, &lay, entries, ('{', '}'), inline)
    }

    fn array(
        &self,
        out: &mut String,
        span: Range<usize>,
        o: &[Value],
        m: &[Value],
        inline: bool,
    ) -> Option<()> {
        let lay = layout(self.text.as_bytes(), span.start, b']')?;
        if lay.values.len() != o.len() {
            return None;
        }
        let (ok, mk) = (keys(o), keys(m));
        let mut entries = Vec::with_capacity(m.len());
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ok, &mk) {
            let (tag, or, mr) = op.as_tag_tuple();
            let paired = tag == similar::DiffTag::Equal
                || (tag == similar::DiffTag::Replace && or.len() == mr.len());
            if paired {
                entries.extend(or.zip(mr).map(|(i, j)| Entry::Old {
                    idx: i,
                    how: How::Compare(&o[i]),
                    merged: &m[j],
                }));
            } else {
                entries.extend(mr.map(|j| Entry::New {
                    key: None,
                    value: &m[j],
                }));
            }
        }
        self.rebuild(out, span.start, &lay, entries, ('[', ']'), inline)
    }

    /// Writes a container: ours' entries where they stay, with the whitespace that was between
    /// them; new entries in the container's layout.
    fn rebuild(
        &self,
        out: &mut String,
        open: usize,
        lay: &Layout,
        entries: Vec<Entry>,
        (open_c, close_c): (char, char),
        inline: bool,
    ) -> Option<()> {
        let text = self.text;
        let inner = &text[lay.inner.clone()];
        let outer_indent = self.line_indent(open);
        let multi = if lay.entries.is_empty() {
            !inline && !self.unit.is_empty()
        } else {
            text[lay.inner.start..lay.entries[0].start].contains('\n')
        };
        let indent = match lay.entries.first() {
            Some(e) if multi => self.line_indent(e.start).to_string(),
            _ => format!("{outer_indent}{}", self.unit),
        };
        // The separator for entries that were not neighbours: the file's own, else the default.
        let sep = match lay.entries.get(..2) {
            Some([a, b]) => text[a.end..b.start].to_string(),
            _ if multi => format!(",{}{indent}", self.nl),
            _ => ", ".to_string(),
        };
        out.push(open_c);
        if entries.is_empty() {
            if lay.entries.is_empty() {
                out.push_str(inner);
            }
            out.push(close_c);
            return Some(());
        }
        match (lay.entries.first(), lay.entries.last()) {
            (Some(first), _) => out.push_str(&text[lay.inner.start..first.start]),
            _ if multi => {
                out.push_str(self.nl);
                out.push_str(&indent);
            }
            _ => {}
        }
        let mut prev: Option<usize> = None;
        for (n, e) in entries.iter().enumerate() {
            let idx = match e {
                Entry::Old { idx, .. } => Some(*idx),
                Entry::New { .. } => None,
            };
            if n > 0 {
                match (prev, idx) {
                    (Some(p), Some(i)) if i == p + 1 => {
                        out.push_str(&text[lay.entries[p].end..lay.entries[i].start])
                    }
                    _ => out.push_str(&sep),
                }
            }
            prev = idx;
            self.entry(out, lay, e, &indent, multi)?;
        }
        match lay.entries.last() {
            Some(last) => out.push_str(&text[last.end..lay.inner.end]),
            None if multi => {
                out.push_str(self.nl);
                out.push_str(outer_indent);
            }
            None => {}
        }
        out.push(close_c);
        Some(())
    }

    /// Writes one entry of a rebuilt container (`indent`: where a new one's lines start).
    fn entry(
        &self,
        out: &mut String,
        lay: &Layout,
        e: &Entry,
        indent: &str,
        multi: bool,
    ) -> Option<()> {
        let text = self.text;
        match e {
            Entry::Old { idx, how, merged } => {
                let (entry, value) = (lay.entries.get(*idx)?, lay.values.get(*idx)?);
                match how {
                    How::Same => out.push_str(&text[entry.clone()]),
                    How::Compare(ov) => {
                        out.push_str(&text[entry.start..value.start]);
                        self.node(out, value.clone(), ov, merged, !multi)?;
                    }
                    How::Changed(ch) => {
                        out.push_str(&text[entry.start..value.start]);
                        self.changed(out, value.clone(), ch, merged, !multi)?;
                    }
                }
            }
            Entry::New { key, value } => {
                if let Some(k) = key {
                    out.push_str(&serde_json::to_string(k).ok()?);
                    out.push_str(": ");
                }
                self.render(out, value, indent, !multi);
            }
        }
        Some(())
    }

    /// Writes a new value: pretty, in the file's indentation unit, continued lines at `indent`;
    /// or on one line inside an inline container.
    fn render(&self, out: &mut String, v: &Value, indent: &str, inline: bool) {
        if inline || self.unit.is_empty() {
            inline_json(out, v);
            return;
        }
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(self.unit.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        if serde::Serialize::serialize(v, &mut ser).is_err() {
            inline_json(out, v);
            return;
        }
        let s = String::from_utf8_lossy(&buf);
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            out.push_str(first);
        }
        for l in lines {
            out.push_str(self.nl);
            out.push_str(indent);
            out.push_str(l);
        }
    }

    /// The whitespace that starts the line holding `at`.
    fn line_indent(&self, at: usize) -> &str {
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[start..];
        let n = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..n]
    }
}

/// A value on one line: `{"a": 1, "b": [1, 2]}`.
fn inline_json(out: &mut String, v: &Value) {
    match v {
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline_json(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(": ");
                inline_json(out, x);
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// The file's indentation unit: the leading whitespace of its first indented line.
fn indent_unit(text: &str) -> String {
    text.lines()
        .skip(1)
        .find_map(|l| {
            let n = l.len() - l.trim_start_matches([' ', '\t']).len();
            (n > 0 && n < l.len()).then(|| l[..n].to_string())
        })
        .unwrap_or_default()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The end of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        open @ (b'{' | b'[') => {
            // Only this kind of bracket counts: the other kind balances itself inside.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    c if c == open => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The entries of the container opening at `open` and closing with `close`.
fn layout(b: &[u8], open: usize, close: u8) -> Option<Layout> {
    let mut lay = Layout {
        inner: open + 1..open + 1,
        entries: Vec::new(),
        values: Vec::new(),
        keys: Vec::new(),
    };
    let mut i = skip_ws(b, open + 1);
    if *b.get(i)? == close {
        lay.inner.end = i;
        return Some(lay);
    }
    loop {
        let start = i;
        if close == b'}' {
            let key_end = skip_string(b, i).filter(|_| b[i] == b'"')?;
            let raw = std::str::from_utf8(&b[i..key_end]).ok()?;
            lay.keys.push(serde_json::from_str(raw).ok()?);
            i = skip_ws(b, key_end);
            if *b.get(i)? != b':' {
                return None;
            }
            i = skip_ws(b, i + 1);
        }
        let end = skip_value(b, i)?;
        lay.entries.push(start..end);
        lay.values.push(i..end);
        i = skip_ws(b, end);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            c if c == close => {
                lay.inner.end = i;
                return Some(lay);
            }
            _ => return None,
        }
    }
}
