//! YAML (block style): ours' text edited line by line along the changed paths. A changed
//! scalar is rewritten in place in its own quoting, keeping the line's comment; entries and
//! items are added after their neighbour, at its indentation, and removed with the comment
//! lines right above them. Anything this reader does not follow (anchors, tags, block scalars
//! that changed, flow mappings over several lines) gives `None`, and the caller writes anew.

use std::ops::Range;

use serde_json::{Map, Value};

use super::yaml_render::{flow, key_text, render_entry, scalar, Style};
use crate::merge::arrays::keys;

/// Ours' text edited to hold `merged`, or `None`.
pub(super) fn edit(text: &str, ours: &Value, merged: &Value) -> Option<String> {
    let y = Yaml::new(text);
    let first = (0..y.lines.len()).find(|&i| y.content(i))?;
    let mut edits = Vec::new();
    let col = y.indent(first);
    let node = y.block(first, y.lines.len(), col)?;
    y.node(&node, ours, merged, &mut edits)?;
    edits.sort_by_key(|e: &(Range<usize>, String)| (e.0.start, e.0.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    let crlf = text.contains("\r\n");
    for (r, s) in edits {
        if r.start < at {
            return None;
        }
        out.push_str(&text[at..r.start]);
        // New lines end as the file's do.
        if crlf {
            out.push_str(&s.replace('\n', "\r\n"));
        } else {
            out.push_str(&s);
        }
        at = r.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

type Edits = Vec<(Range<usize>, String)>;

struct Yaml<'t> {
    text: &'t str,
    /// Each line's byte range, without its line break.
    lines: Vec<Range<usize>>,
    style: Style,
}

/// A block mapping or sequence: its entries (items), each from its first line to its last.
struct Block {
    seq: bool,
    col: usize,
    entries: Vec<Entry>,
}

struct Entry {
    key: Option<String>,
    /// The entry's first and last lines (inclusive), and where its own comment lines start.
    first: usize,
    last: usize,
    lead: usize,
    /// Where the key (or the item's `-`) starts on the first line.
    col: usize,
    value: Loc,
}

/// Where an entry's value is.
enum Loc {
    /// On the entry's line: a scalar or a flow collection (its byte span, no comment).
    Inline(Range<usize>),
    /// A nested block.
    Block(Block),
    /// Nothing: null.
    Empty,
    /// Something else (a block scalar, anchors, tags): rewritten whole if it changed.
    Opaque,
}

impl<'t> Yaml<'t> {
    fn new(text: &'t str) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if c == '\n' {
                let end = if text[..i].ends_with('\r') { i - 1 } else { i };
                lines.push(start..end);
                start = i + 1;
            }
        }
        if start < text.len() {
            lines.push(start..text.len());
        }
        let style = Style::detect(text);
        Yaml { text, lines, style }
    }

    fn line(&self, i: usize) -> &'t str {
        &self.text[self.lines[i].clone()]
    }

    fn indent(&self, i: usize) -> usize {
        let l = self.line(i);
        l.len() - l.trim_start_matches(' ').len()
    }

    /// A line with data on it (not blank, not a comment, not a document marker).
    fn content(&self, i: usize) -> bool {
        let t = self.line(i).trim();
        !(t.is_empty() || t.starts_with('#') || t == "---" || t.starts_with("%"))
    }

    /// Where line `i` ends, its line break included.
    fn line_end(&self, i: usize) -> usize {
        match self.lines.get(i + 1) {
            Some(next) => next.start,
            None => self.text.len(),
        }
    }

    /// The block whose entries start at column `col`, from line `first` (its first entry may
    /// start mid-line, after a `- `) up to line `end`.
    fn block(&self, first: usize, end: usize, col: usize) -> Option<Block> {
        let at = |i: usize| self.line(i).get(col..).unwrap_or_default();
        let seq = is_item(at(first));
        let mut starts = vec![first];
        for i in first + 1..end {
            if !self.content(i) {
                continue;
            }
            let ind = self.indent(i);
            if ind < col {
                return None;
            }
            if ind == col && (!seq || is_item(at(i))) {
                if !seq && is_item(at(i)) {
                    continue;
                }
                starts.push(i);
            }
        }
        let mut entries = Vec::with_capacity(starts.len());
        for (n, &s) in starts.iter().enumerate() {
            let next = starts.get(n + 1).copied().unwrap_or(end);
            let last = (s..next).rev().find(|&i| self.content(i))?;
            let lead = (0..s)
                .rev()
                .take_while(|&i| {
                    self.line(i).trim_start().starts_with('#') && self.indent(i) == col
                })
                .last()
                .unwrap_or(s);
            let lead = if n == 0 { s } else { lead };
            entries.push(self.entry(s, last, col, seq, lead)?);
        }
        Some(Block { seq, col, entries })
    }

    fn entry(
        &self,
        first: usize,
        last: usize,
        col: usize,
        seq: bool,
        lead: usize,
    ) -> Option<Entry> {
        let start = self.lines[first].start + col;
        let line_end = self.lines[first].end;
        let (key, rest_at) = if seq {
            (None, start + 1)
        } else {
            let (k, after) = parse_key(&self.text[start..line_end])?;
            (Some(k), start + after)
        };
        let rest = &self.text[rest_at..line_end];
        let value_at = rest_at + (rest.len() - rest.trim_start().len());
        let value = self.loc(first, last, value_at, seq && rest.starts_with(' '))?;
        Some(Entry {
            key,
            first,
            last,
            lead,
            col,
            value,
        })
    }

    /// The value that starts at byte `at` on line `first` (or on the lines after it).
    fn loc(&self, first: usize, last: usize, at: usize, item: bool) -> Option<Loc> {
        let rest = &self.text[at..self.lines[first].end];
        if rest.is_empty() || rest.starts_with('#') {
            if last == first {
                return Some(Loc::Empty);
            }
            let next = (first + 1..=last).find(|&i| self.content(i))?;
            return Some(Loc::Block(self.block(next, last + 1, self.indent(next))?));
        }
        if matches!(rest.as_bytes()[0], b'|' | b'>' | b'&' | b'*' | b'!') {
            return Some(Loc::Opaque);
        }
        if item
            && parse_key(rest).is_some_and(|(_, after)| {
                let v = rest[after..].trim_start();
                v.is_empty() || !v.starts_with(['{', '['])
            })
            && !rest.starts_with(['"', '\'', '[', '{'])
        {
            // `- key: value`: a mapping whose first entry shares the item's line.
            let col = at - self.lines[first].start;
            return Some(Loc::Block(self.block(first, last + 1, col)?));
        }
        if last != first {
            return Some(Loc::Opaque);
        }
        Some(Loc::Inline(at..at + inline_len(rest)?))
    }

    fn node(&self, b: &Block, ov: &Value, mv: &Value, edits: &mut Edits) -> Option<()> {
        match (b.seq, ov, mv) {
            (false, Value::Object(o), Value::Object(m)) => self.mapping(b, o, m, edits),
            (true, Value::Array(o), Value::Array(m)) => self.sequence(b, o, m, edits),
            _ => None,
        }
    }

    fn mapping(
        &self,
        b: &Block,
        o: &Map<String, Value>,
        m: &Map<String, Value>,
        edits: &mut Edits,
    ) -> Option<()> {
        let ks: Vec<&str> = b.entries.iter().filter_map(|e| e.key.as_deref()).collect();
        if ks.len() != o.len() || ks.iter().any(|k| !o.contains_key(*k)) {
            return None;
        }
        let mut anchor: Option<&Entry> = None;
        let mut pending = String::new();
        for (k, mv) in m {
            match b.entries.iter().find(|e| e.key.as_deref() == Some(k)) {
                Some(e) => {
                    self.flush(anchor, b, &mut pending, edits)?;
                    self.value(e, &o[k], mv, edits)?;
                    anchor = Some(e);
                }
                None => pending.push_str(&render_entry(Some(&key_text(k)), mv, b.col, &self.style)),
            }
        }
        self.flush(anchor, b, &mut pending, edits)?;
        for e in b
            .entries
            .iter()
            .filter(|e| !e.key.as_ref().is_some_and(|k| m.contains_key(k)))
        {
            self.remove(e, edits)?;
        }
        Some(())
    }

    fn sequence(&self, b: &Block, o: &[Value], m: &[Value], edits: &mut Edits) -> Option<()> {
        if b.entries.len() != o.len() {
            return None;
        }
        let (ok, mk) = (keys(o), keys(m));
        let mut anchor: Option<&Entry> = None;
        let mut pending = String::new();
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ok, &mk) {
            let (tag, or, mr) = op.as_tag_tuple();
            let paired = tag == similar::DiffTag::Equal
                || (tag == similar::DiffTag::Replace && or.len() == mr.len());
            if paired {
                for (i, j) in or.zip(mr) {
                    self.flush(anchor, b, &mut pending, edits)?;
                    self.value(&b.entries[i], &o[i], &m[j], edits)?;
                    anchor = Some(&b.entries[i]);
                }
                continue;
            }
            for i in or {
                self.remove(&b.entries[i], edits)?;
            }
            for j in mr {
                pending.push_str(&render_entry(None, &m[j], b.col, &self.style));
            }
        }
        self.flush(anchor, b, &mut pending, edits)
    }

    /// Inserts the pending new entries after `anchor` (or before the block's first entry).
    fn flush(
        &self,
        anchor: Option<&Entry>,
        b: &Block,
        pending: &mut String,
        edits: &mut Edits,
    ) -> Option<()> {
        if pending.is_empty() {
            return Some(());
        }
        let at = match anchor {
            Some(e) => self.line_end(e.last),
            None => {
                let first = b.entries.first()?;
                // A first entry sharing a `- ` line cannot have another put before it.
                if first.col != self.indent(first.first) {
                    return None;
                }
                self.lines[first.lead].start
            }
        };
        let mut text = std::mem::take(pending);
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            text.insert(0, '\n');
            text.pop();
        }
        edits.push((at..at, text));
        Some(())
    }

    fn remove(&self, e: &Entry, edits: &mut Edits) -> Option<()> {
        if e.col != self.indent(e.first) {
            return None;
        }
        edits.push((
            self.lines[e.lead].start..self.line_end(e.last),
            String::new(),
        ));
        Some(())
    }

    fn value(&self, e: &Entry, ov: &Value, mv: &Value, edits: &mut Edits) -> Option<()> {
        if ov == mv {
            return Some(());
        }
        match &e.value {
            Loc::Block(b)
                if (b.seq && mv.is_array() && !arr_empty(mv))
                    || (!b.seq && mv.is_object() && !obj_empty(mv)) =>
            {
                self.node(b, ov, mv, edits)
            }
            Loc::Inline(span)
                if !is_container(mv) || self.text[span.clone()].starts_with(['[', '{']) =>
            {
                let old = &self.text[span.clone()];
                let new = if is_container(mv) {
                    flow(mv, &self.style)
                } else {
                    scalar(mv, old, &self.style)?
                };
                edits.push((span.clone(), new));
                Some(())
            }
            _ => {
                // Rewrite the whole entry (its comment lines above stay).
                if e.col != self.indent(e.first) {
                    return None;
                }
                let key = e.key.as_deref().map(key_text);
                let text = render_entry(key.as_deref(), mv, e.col, &self.style);
                edits.push((self.lines[e.first].start..self.line_end(e.last), text));
                Some(())
            }
        }
    }
}

fn arr_empty(v: &Value) -> bool {
    v.as_array().is_some_and(Vec::is_empty)
}

fn obj_empty(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn is_container(v: &Value) -> bool {
    v.is_array() || v.is_object()
}

fn is_item(s: &str) -> bool {
    s == "-" || s.starts_with("- ")
}

/// A mapping key at the start of `s`: the key and where what follows its `:` starts.
fn parse_key(s: &str) -> Option<(String, usize)> {
    let (key, after) = if s.starts_with(['"', '\'']) {
        let end = quoted_len(s)?;
        let k: String = serde_yaml::from_str(&s[..end]).ok()?;
        (k, end)
    } else {
        let end = s
            .find(": ")
            .or_else(|| s.ends_with(':').then(|| s.len() - 1))?;
        let k = &s[..end];
        if k.is_empty()
            || k.starts_with(['-', '?', '[', '{', '&', '*', '!', '|', '>', '#'])
            || k.contains(" #")
        {
            return None;
        }
        (k.to_string(), end)
    };
    s[after..].starts_with(':').then_some((key, after + 1))
}

/// The length of the quoted scalar starting `s`.
fn quoted_len(s: &str) -> Option<usize> {
    let q = s.chars().next()?;
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q == '"' => i += 2,
            c if c == q as u8 => {
                if q == '\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            _ => i += 1,
        }
    }
    None
}

/// The length of the inline value starting `s` (a scalar or flow collection), comment excluded.
fn inline_len(s: &str) -> Option<usize> {
    if s.starts_with(['"', '\'']) {
        return quoted_len(s);
    }
    if s.starts_with(['[', '{']) {
        let mut depth = 0usize;
        let mut i = 0;
        let b = s.as_bytes();
        while i < b.len() {
            match b[i] {
                b'"' | b'\'' => i += quoted_len(&s[i..])?,
                b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b']' | b'}' => {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => i += 1,
            }
        }
        return None;
    }
    let end = s.find(" #").unwrap_or(s.len());
    Some(s[..end].trim_end().len())
}
