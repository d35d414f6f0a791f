//! The value-tree merge shared by JSON, YAML and TOML.
//!
//! Identity rules for arrays of objects: Claude's `hooks.<Event>` groups by `matcher` (absent =
//! `""`), the handlers inside a group by what they run (`command`, else `url`, `prompt`); any
//! other array of objects by the first of `id`, `uuid`, `name`, `matcher`, `command`, `context`
//! (keybindings) that every element has, unique. Both sides replacing one element with
//! different new ones is a conflict (two edits of one hook's command must not leave both
//! commands running); one side replacing one element in place is an edit of it (the other
//! side's edits of that element still apply).
//!
//! Arrays of scalars are ordered sets: base order minus what either side removed, then ours'
//! additions, then theirs' — except command lines (`args`, `argv`, `command`) and arrays
//! holding duplicates, whose order and repetitions mean something: those, and arrays of objects
//! without an identity, merge as sequences (three-way, element by element, like lines).
//! Multi-line strings both sides changed merge line by line. Anything else both sides changed
//! is a conflict.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde_json::{Map, Value};

use super::text::{merge_sequence, merge_string, Elem};
use super::{Conflict, MergeOptions, MergeOutcome, Overruled, Policy};

/// The serialisation of a document.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// JSON, two-space indent.
    Json,
    /// YAML (comments are not kept when the merged data differs from both sides).
    Yaml,
    /// TOML (likewise).
    Toml,
}

fn parse(doc: Doc, text: &str) -> Option<Value> {
    match doc {
        Doc::Json => serde_json::from_str(text).ok(),
        Doc::Yaml => {
            if text.trim().is_empty() {
                Some(Value::Null)
            } else {
                serde_yaml::from_str(text).ok()
            }
        }
        Doc::Toml => toml::from_str(text).ok(),
    }
}

fn render(doc: Doc, v: &Value, newline: bool) -> Option<String> {
    match doc {
        Doc::Json => {
            let mut buf = Vec::with_capacity(64 * 1024);
            serde_json::to_writer_pretty(&mut buf, v).ok()?;
            if newline {
                buf.push(b'\n');
            }
            String::from_utf8(buf).ok()
        }
        Doc::Yaml => serde_yaml::to_string(v).ok(),
        Doc::Toml => toml::to_string(&to_toml(v)?).ok(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    Ours,
    Theirs,
}

struct Merger<'a> {
    file: &'a str,
    opts: &'a MergeOptions<'a>,
    pick: Pick,
    /// Only the first pass records conflicts; the second (for markers) just renders theirs.
    record: bool,
    conflicts: Vec<Conflict>,
    /// The merge took something other than ours somewhere (it is not ours, byte for byte).
    changed_o: bool,
    /// Likewise for theirs.
    changed_t: bool,
}

/// Merges a whole document; `None` when an input does not parse (the caller falls back to lines).
pub fn merge_document(
    file: &str,
    doc: Doc,
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    opts: &MergeOptions,
) -> Option<MergeOutcome> {
    // git's line merge, parsed: preferred when it means the same data as the value merge.
    let line_merge = move |b: &str| -> Option<(String, Value)> {
        let text = merge_string(b, ours, theirs)?;
        let v = parse(doc, &text)?;
        Some((text, v))
    };
    if ours.len() + theirs.len() < PARALLEL_BYTES {
        let b = match base {
            Some(b) => Some(parse(doc, b)?),
            None => None,
        };
        let (o, t) = (parse(doc, ours)?, parse(doc, theirs)?);
        return merge_values(file, doc, (base, ours, theirs), (b, o, t), opts, || {
            base.and_then(line_merge)
        });
    }
    // Big documents: parse the base and theirs (and run the line merge) on other threads while
    // this one parses ours, then merges the values. Big JSON skips the line merge: the
    // re-serialisation is already in Claude's style, and the line merge plus a fourth parse
    // would double the time for formatting alone.
    std::thread::scope(|s| {
        let line = base
            .filter(|_| doc != Doc::Json)
            .map(|b| s.spawn(move || line_merge(b)));
        let t = s.spawn(|| parse(doc, theirs));
        let b = base.map(|b| s.spawn(move || parse(doc, b)));
        let o = parse(doc, ours)?;
        let b = match b {
            Some(h) => Some(h.join().ok()??),
            None => None,
        };
        let t = t.join().ok()??;
        merge_values(file, doc, (base, ours, theirs), (b, o, t), opts, || {
            line.and_then(|h| h.join().ok().flatten())
        })
    })
}

/// Above this many bytes (ours + theirs), parsing and the line merge run in parallel.
const PARALLEL_BYTES: usize = 256 * 1024;

type Texts<'t> = (Option<&'t str>, &'t str, &'t str);

fn merge_values(
    file: &str,
    doc: Doc,
    (_, ours, theirs): Texts,
    (b, o, t): (Option<Value>, Value, Value),
    opts: &MergeOptions,
    line_merge: impl FnOnce() -> Option<(String, Value)>,
) -> Option<MergeOutcome> {
    let big = ours.len() + theirs.len() >= PARALLEL_BYTES;
    let (b, t) = (b.map(|v| Deferred(v, big)), Deferred(t, big));
    let first_pick = match opts.policy {
        Policy::Theirs => Pick::Theirs,
        Policy::Newest {
            ours_time,
            theirs_time,
        } if theirs_time > ours_time => Pick::Theirs,
        _ => Pick::Ours,
    };
    let mut m = Merger {
        file,
        opts,
        pick: first_pick,
        record: true,
        conflicts: Vec::new(),
        changed_o: false,
        changed_t: false,
    };
    let merged = m
        .merge(&mut Vec::new(), b.as_deref(), Some(o), Some(&t))
        .unwrap_or(Value::Null);
    let merged = Deferred(merged, big);
    let conflicts = std::mem::take(&mut m.conflicts);
    let newline = ours.ends_with('\n');
    let (changed_o, changed_t) = (m.changed_o, m.changed_t);
    let emit = |v: &Value| -> Option<Vec<u8>> {
        if !changed_o {
            Some(ours.as_bytes().to_vec())
        } else if !changed_t {
            Some(theirs.as_bytes().to_vec())
        } else {
            render(doc, v, newline).map(String::into_bytes)
        }
    };
    if conflicts.is_empty() {
        // When git's line merge is clean and means the same data, its text wins over a
        // re-serialisation: it keeps comments, quoting, indentation and where keys were added.
        if changed_o && changed_t {
            if let Some((text, v)) = line_merge() {
                if same_data(&Deferred(v, big), &merged, "") {
                    return Some(MergeOutcome {
                        content: text.into_bytes(),
                        conflicts,
                        overruled: Vec::new(),
                        line_fallback: false,
                    });
                }
            }
        }
        return Some(MergeOutcome {
            content: emit(&merged)?,
            conflicts,
            overruled: Vec::new(),
            line_fallback: false,
        });
    }
    if opts.policy != Policy::Stop {
        let overruled = conflicts
            .iter()
            .map(|c| {
                let (kept, lost) = match first_pick {
                    Pick::Ours => (c.ours.clone(), c.theirs.clone()),
                    Pick::Theirs => (c.theirs.clone(), c.ours.clone()),
                };
                Overruled {
                    field: c.field.clone(),
                    kept,
                    lost,
                }
            })
            .collect();
        return Some(MergeOutcome {
            content: emit(&merged)?,
            conflicts: Vec::new(),
            overruled,
            line_fallback: false,
        });
    }
    // Stop: render the merge once resolved to ours and once to theirs; the lines where the two
    // differ are exactly the conflicting regions, so markers go around those and nothing else.
    // (The first pass consumed ours; conflicts are rare enough to parse it again.)
    m.pick = Pick::Theirs;
    m.record = false;
    let o = parse(doc, ours)?;
    let as_theirs = m
        .merge(&mut Vec::new(), b.as_deref(), Some(o), Some(&t))
        .unwrap_or(Value::Null);
    let a = render(doc, &merged, newline)?;
    let z = render(doc, &as_theirs, newline)?;
    Some(MergeOutcome {
        content: markers(&a, &z).into_bytes(),
        conflicts,
        overruled: Vec::new(),
        line_fallback: false,
    })
}

/// Equal as data, arrays that merge as ordered sets (scalars, no duplicates, not a command line)
/// compared as sets: the line merge may place an added rule where its side put it, not after
/// the base's rules, and still mean the same.
fn same_data(a: &Value, b: &Value, key: &str) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_data(v, w, k)))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            let scalar = |v: &Value| !v.is_object() && !v.is_array();
            let command_line = matches!(key, "args" | "argv" | "command");
            if !command_line && x.iter().chain(y).all(scalar) {
                let (kx, ky) = (keys(x), keys(y));
                let (sx, sy): (HashSet<&Key>, HashSet<&Key>) =
                    (kx.iter().collect(), ky.iter().collect());
                if sx.len() == x.len() && sy.len() == y.len() {
                    return sx == sy;
                }
            }
            x.iter().zip(y).all(|(v, w)| same_data(v, w, ""))
        }
        _ => a == b,
    }
}

/// The TOML value of a merged tree: toml parses a datetime into serde's private one-key map,
/// which must become a datetime again (serialising the map would write a table). `None` for a
/// null, which TOML cannot hold.
fn to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().map(to_toml).collect::<Option<_>>()?),
        Value::Object(m) => {
            if let (1, Some(Value::String(d))) = (m.len(), m.get(TOML_DATETIME)) {
                return d.parse().ok().map(toml::Value::Datetime);
            }
            let mut t = toml::map::Map::new();
            for (k, v) in m {
                t.insert(k.clone(), to_toml(v)?);
            }
            toml::Value::Table(t)
        }
    })
}

const TOML_DATETIME: &str = "$__toml_private_datetime";

/// A value tree freed on another thread when it is big: dropping a megabyte of parsed JSON
/// (tens of thousands of allocations) costs milliseconds the merge's caller need not wait for.
struct Deferred(Value, bool);

impl std::ops::Deref for Deferred {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if self.1 {
            let v = std::mem::take(&mut self.0);
            // Should no thread be available, the value is simply freed here.
            let _ = std::thread::Builder::new().spawn(move || drop(v));
        }
    }
}

fn markers(ours: &str, theirs: &str) -> String {
    let diff = similar::TextDiff::from_lines(ours, theirs);
    let mut out = String::new();
    let (mut o_buf, mut t_buf) = (String::new(), String::new());
    let flush = |out: &mut String, o: &mut String, t: &mut String| {
        if o.is_empty() && t.is_empty() {
            return;
        }
        out.push_str("<<<<<<< ours\n");
        out.push_str(o);
        out.push_str("=======\n");
        out.push_str(t);
        out.push_str(">>>>>>> theirs\n");
        o.clear();
        t.clear();
    };
    for change in diff.iter_all_changes() {
        let line = change.value();
        let line = if line.ends_with('\n') {
            line.to_string()
        } else {
            format!("{line}\n")
        };
        match change.tag() {
            similar::ChangeTag::Equal => {
                flush(&mut out, &mut o_buf, &mut t_buf);
                out.push_str(&line);
            }
            similar::ChangeTag::Delete => o_buf.push_str(&line),
            similar::ChangeTag::Insert => t_buf.push_str(&line),
        }
    }
    flush(&mut out, &mut o_buf, &mut t_buf);
    out
}

fn dotted(at: &[String]) -> String {
    let mut s = String::new();
    for seg in at {
        if seg.starts_with('[') {
            s.push_str(seg);
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(seg);
        }
    }
    s
}

fn is_enc(v: &Value) -> Option<&str> {
    v.as_str()
        .filter(|s| s.starts_with("ENC[age:") && s.ends_with(']'))
}

impl Merger<'_> {
    /// Equality, with encrypted values compared by plaintext where this machine can open them.
    fn same(&self, at: &[String], a: Option<&Value>, b: Option<&Value>) -> bool {
        self.same_how(at, a, b).is_some()
    }

    /// `Some(true)`: equal; `Some(false)`: equal by plaintext only; `None`: different.
    fn same_how(&self, at: &[String], a: Option<&Value>, b: Option<&Value>) -> Option<bool> {
        match (a, b) {
            (None, None) => Some(true),
            (Some(x), Some(y)) if x == y => Some(true),
            (Some(x), Some(y)) => match (is_enc(x), is_enc(y), self.opts.decrypt) {
                (Some(cx), Some(cy), Some(d)) => {
                    let loc = format!("{}:{}", self.file, dotted(at));
                    match (d.decrypt(&loc, cx), d.decrypt(&loc, cy)) {
                        (Some(px), Some(py)) if px == py => Some(false),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn conflict(
        &mut self,
        at: &[String],
        b: Option<&Value>,
        o: Option<Value>,
        t: Option<&Value>,
    ) -> Option<Value> {
        if self.record {
            self.conflicts.push(Conflict {
                file: self.file.to_string(),
                field: dotted(at),
                base: b.cloned(),
                ours: o.clone(),
                theirs: t.cloned(),
            });
        }
        match self.pick {
            Pick::Ours => {
                self.changed_t = true;
                o
            }
            Pick::Theirs => {
                self.changed_o = true;
                t.cloned()
            }
        }
    }

    /// Merges one value. Ours is taken by value: most of a merge is ours unchanged, moved into
    /// the result rather than copied.
    fn merge(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Value>,
        o: Option<Value>,
        t: Option<&Value>,
    ) -> Option<Value> {
        if let Some(exact) = self.same_how(at, o.as_ref(), t) {
            if !exact {
                self.changed_t = true;
            }
            // Unchanged plaintext keeps its old ciphertext.
            if b.is_some() && self.same_how(at, b, o.as_ref()) == Some(false) {
                self.changed_o = true;
                self.changed_t = true;
                return b.cloned();
            }
            return o;
        }
        if self.same(at, b, o.as_ref()) {
            self.changed_o = true;
            return t.cloned();
        }
        if self.same(at, b, t) {
            self.changed_t = true;
            return o;
        }
        match (o, t) {
            (Some(Value::Object(om)), Some(Value::Object(tm))) => {
                let bm = match b {
                    Some(Value::Object(bm)) => Some(bm),
                    None => None,
                    Some(_) => return self.conflict(at, b, Some(Value::Object(om)), t),
                };
                Some(Value::Object(self.merge_object(at, bm, om, tm)))
            }
            (Some(Value::Array(oa)), Some(Value::Array(ta))) => {
                let ba = match b {
                    Some(Value::Array(ba)) => Some(ba),
                    None => None,
                    Some(_) => return self.conflict(at, b, Some(Value::Array(oa)), t),
                };
                match self.merge_array(at, ba, &oa, ta) {
                    Some(Value::Array(v)) => {
                        self.changed_o |= v != oa;
                        self.changed_t |= v != *ta;
                        Some(Value::Array(v))
                    }
                    _ => self.conflict(at, b, Some(Value::Array(oa)), t),
                }
            }
            (Some(Value::String(os)), Some(Value::String(ts))) => {
                let multi = |s: &str| s.contains('\n') && !s.starts_with("ENC[age:");
                match b {
                    Some(Value::String(bs)) if multi(bs) && multi(&os) && multi(ts) => {
                        match merge_string(bs, &os, ts) {
                            Some(m) => {
                                self.changed_o = true;
                                self.changed_t = true;
                                Some(Value::String(m))
                            }
                            None => self.conflict(at, b, Some(Value::String(os)), t),
                        }
                    }
                    _ => self.conflict(at, b, Some(Value::String(os)), t),
                }
            }
            (o, t) => self.conflict(at, b, o, t),
        }
    }

    fn merge_object(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Map<String, Value>>,
        o: Map<String, Value>,
        t: &Map<String, Value>,
    ) -> Map<String, Value> {
        let clashes = if at.len() == 1 && at[0] == "permissions" {
            permission_clashes(b, &o, t)
        } else {
            Vec::new()
        };
        let t_only: Vec<&String> = t.keys().filter(|k| !o.contains_key(*k)).collect();
        let b_only: Vec<&String> = b
            .map(|b| {
                b.keys()
                    .filter(|k| !o.contains_key(*k) && !t.contains_key(*k))
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Map::new();
        for (k, ov) in o {
            at.push(k.clone());
            let v = self.merge(at, b.and_then(|m| m.get(&k)), Some(ov), t.get(&k));
            at.pop();
            if let Some(v) = v {
                out.insert(k, v);
            }
        }
        for k in t_only.into_iter().chain(b_only) {
            at.push(k.clone());
            let v = self.merge(at, b.and_then(|m| m.get(k)), None, t.get(k));
            at.pop();
            if let Some(v) = v {
                out.insert(k.clone(), v);
            }
        }
        for (l1, l2, rule) in clashes {
            let mut field = at.to_vec();
            field.push(format!("{l1}/{l2}"));
            let text = rule.as_str().unwrap_or_default();
            let theirs_list = Value::String(format!("{l2}: {text}"));
            let ours_list = Value::String(format!("{l1}: {text}"));
            self.conflict(&field, None, Some(ours_list), Some(&theirs_list));
            // Keep the rule only in the list of the side the policy picked.
            let drop_from = if self.pick == Pick::Ours { l2 } else { l1 };
            if let Some(Value::Array(a)) = out.get_mut(drop_from) {
                a.retain(|x| *x != rule);
            }
        }
        out
    }

    fn merge_array(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Vec<Value>>,
        o: &[Value],
        t: &[Value],
    ) -> Option<Value> {
        let empty = Vec::new();
        let b = b.unwrap_or(&empty);
        let scalars = b
            .iter()
            .chain(o)
            .chain(t)
            .all(|v| !v.is_object() && !v.is_array());
        let (bk, ok, tk) = (keys(b), keys(o), keys(t));
        if scalars {
            let command_line = at
                .last()
                .is_some_and(|s| matches!(s.as_str(), "args" | "argv" | "command"));
            if !command_line && !has_dups(&bk) && !has_dups(&ok) && !has_dups(&tk) {
                return Some(Value::Array(ordered_set(b, o, t, &bk, &ok, &tk)));
            }
        } else if let Some(key) = identity(at, b, o, t) {
            return self.merge_by_identity(at, &key, b, o, t);
        }
        let lines = |k: &[Key]| -> Vec<String> { k.iter().map(Key::line).collect() };
        // Where both sides changed one region of a command line and every argument there is
        // positional (a directory each for a filesystem server; no `-` flag, whose value would
        // follow it), the region merges as an ordered set — unless a side replaced an argument
        // and the other removed or replaced it too (`pkg@2` vs `pkg@3`: a conflict).
        let resolve = |br: Range<usize>, or: Range<usize>, tr: Range<usize>| {
            let positional = |side: &[Value]| {
                side.iter()
                    .all(|v| v.as_str().is_some_and(|s| !s.starts_with('-')))
            };
            let (bs, os, ts) = (&b[br.clone()], &o[or.clone()], &t[tr.clone()]);
            if !(scalars && positional(bs) && positional(os) && positional(ts)) {
                return None;
            }
            let removed = |side: &[Value]| bs.iter().any(|x| !side.contains(x));
            let added = |side: &[Value]| side.iter().any(|x| !bs.contains(x));
            let (o_rem, t_rem) = (removed(os), removed(ts));
            if o_rem && t_rem && (added(os) || added(ts)) {
                return None;
            }
            let mut out: Vec<Elem> = br
                .filter(|&i| os.contains(&b[i]) && ts.contains(&b[i]))
                .map(Elem::Base)
                .collect();
            out.extend(or.filter(|&i| !bs.contains(&o[i])).map(Elem::Ours));
            out.extend(
                tr.filter(|&i| !bs.contains(&t[i]) && !os.contains(&t[i]))
                    .map(Elem::Theirs),
            );
            Some(out)
        };
        let merged = merge_sequence(&lines(&bk), &lines(&ok), &lines(&tk), resolve)?;
        Some(Value::Array(
            merged
                .into_iter()
                .map(|e| match e {
                    Elem::Base(i) => b[i].clone(),
                    Elem::Ours(i) => o[i].clone(),
                    Elem::Theirs(i) => t[i].clone(),
                })
                .collect(),
        ))
    }

    fn merge_by_identity(
        &mut self,
        at: &mut Vec<String>,
        key: &str,
        b: &[Value],
        o: &[Value],
        t: &[Value],
    ) -> Option<Value> {
        let ids = |arr: &[Value]| -> Vec<String> {
            arr.iter()
                .map(|v| key_of(key, v).unwrap_or_default())
                .collect()
        };
        let (bi, oi, ti) = (ids(b), ids(o), ids(t));
        let index = |ids: &[String]| -> HashMap<String, usize> {
            ids.iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), i))
                .collect()
        };
        let (bm, om, tm) = (index(&bi), index(&oi), index(&ti));
        // Both sides dropped an element and each put something else in: two different edits
        // of one element (a hook's command, a group's matcher), not two independent additions.
        if bi
            .iter()
            .any(|k| !om.contains_key(k) && !tm.contains_key(k))
        {
            let only_o = oi
                .iter()
                .any(|k| !bm.contains_key(k) && !tm.contains_key(k));
            let only_t = ti
                .iter()
                .any(|k| !bm.contains_key(k) && !om.contains_key(k));
            if only_o && only_t {
                return None;
            }
        }
        // A side that dropped exactly one element and put exactly one new one in its place
        // edited that element's identity (a hook's command): the two are one element, so the
        // other side's edits of it (a timeout) still apply, and its removal is a conflict.
        let renamed = |side: &[String],
                       sm: &HashMap<String, usize>,
                       other: &HashMap<String, usize>|
         -> Option<(String, String)> {
            let mut gone = bi.iter().filter(|k| !sm.contains_key(*k));
            let mut new = side.iter().filter(|k| !bm.contains_key(*k));
            match (gone.next(), gone.next(), new.next(), new.next()) {
                (Some(x), None, Some(y), None) if bm[x] == sm[y] && !other.contains_key(y) => {
                    Some((x.clone(), y.clone()))
                }
                _ => None,
            }
        };
        let o_ren = renamed(&oi, &om, &tm);
        let t_ren = renamed(&ti, &tm, &om);
        let mut seen = HashSet::new();
        let order: Vec<&String> = oi
            .iter()
            .chain(&ti)
            .chain(&bi)
            .filter(|k| seen.insert(k.as_str()))
            .collect();
        let mut out = Vec::with_capacity(order.len());
        for k in order {
            // (base, ours, theirs) identities of this element.
            let (kb, ko, kt) = match (&o_ren, &t_ren) {
                (Some((x, _)), _) | (_, Some((x, _))) if x == k => continue,
                (Some((x, y)), _) if y == k => (x, k, x),
                (_, Some((x, y))) if y == k => (x, x, k),
                _ => (k, k, k),
            };
            at.push(format!("[{k}]"));
            let v = self.merge(
                at,
                bm.get(kb).map(|&i| &b[i]),
                om.get(ko).map(|&i| o[i].clone()),
                tm.get(kt).map(|&i| &t[i]),
            );
            at.pop();
            if let Some(v) = v {
                out.push(v);
            }
        }
        Some(Value::Array(out))
    }
}

/// The same rule added to `allow` on one side and to `deny` (or `ask`) on the other is a
/// conflict, not a union: the two machines disagree about what Claude may do. Returns
/// (ours' list, theirs' list, rule).
fn permission_clashes<'m>(
    b: Option<&'m Map<String, Value>>,
    o: &'m Map<String, Value>,
    t: &'m Map<String, Value>,
) -> Vec<(&'static str, &'static str, Value)> {
    const LISTS: [&str; 3] = ["allow", "ask", "deny"];
    let set = |m: Option<&'m Map<String, Value>>, k: &str| -> HashSet<Key<'m>> {
        m.and_then(|m| m.get(k))
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(skey).collect())
            .unwrap_or_default()
    };
    // Per list: the rules a side added (not in the base's list), in that side's order.
    let added = |m: &'m Map<String, Value>, k: &str| -> Vec<(Key<'m>, &'m Value)> {
        if m.get(k) == b.and_then(|b| b.get(k)) {
            return Vec::new();
        }
        let base = set(b, k);
        m.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|v| (skey(v), v))
                    .filter(|(key, _)| !base.contains(key))
                    .collect()
            })
            .unwrap_or_default()
    };
    let o_added: Vec<_> = LISTS.iter().map(|l| added(o, l)).collect();
    let t_added: Vec<HashSet<Key>> = LISTS
        .iter()
        .map(|l| added(t, l).into_iter().map(|(k, _)| k).collect())
        .collect();
    let mut out = Vec::new();
    for (i1, l1) in LISTS.iter().enumerate() {
        for (i2, l2) in LISTS.iter().enumerate() {
            if i1 == i2 {
                continue;
            }
            for (key, rule) in &o_added[i1] {
                if t_added[i2].contains(key) {
                    out.push((*l1, *l2, (*rule).clone()));
                }
            }
        }
    }
    out
}

/// An array element as a hashable key: strings (nearly every element) borrowed, anything else
/// as its compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Str(&'a str),
    Json(String),
}

impl Key<'_> {
    /// One line per element for the sequence merge: compact JSON never holds a raw newline.
    fn line(&self) -> String {
        match self {
            Key::Str(s) => serde_json::to_string(s).unwrap_or_default(),
            Key::Json(j) => j.clone(),
        }
    }
}

fn skey(v: &Value) -> Key<'_> {
    match v {
        Value::String(s) => Key::Str(s),
        other => Key::Json(serde_json::to_string(other).unwrap_or_default()),
    }
}

fn keys(a: &[Value]) -> Vec<Key<'_>> {
    a.iter().map(skey).collect()
}

fn has_dups(keys: &[Key]) -> bool {
    let mut seen = HashSet::with_capacity(keys.len());
    !keys.iter().all(|k| seen.insert(k))
}

/// Base order minus what either side removed, then ours' additions, then theirs'.
fn ordered_set(
    b: &[Value],
    o: &[Value],
    t: &[Value],
    bk: &[Key],
    ok: &[Key],
    tk: &[Key],
) -> Vec<Value> {
    fn set<'k, 'a>(k: &'k [Key<'a>]) -> HashSet<&'k Key<'a>> {
        k.iter().collect()
    }
    let (bs, os, ts) = (set(bk), set(ok), set(tk));
    let mut seen = HashSet::with_capacity(bk.len() + ok.len());
    let mut out = Vec::with_capacity(bk.len() + ok.len());
    for (v, k) in b.iter().zip(bk) {
        if os.contains(k) && ts.contains(k) && seen.insert(k) {
            out.push(v.clone());
        }
    }
    for (v, k) in o.iter().zip(ok).chain(t.iter().zip(tk)) {
        if !bs.contains(k) && seen.insert(k) {
            out.push(v.clone());
        }
    }
    out
}

/// The identity key of an array of objects, if it has one (see the module docs).
fn identity(at: &[String], b: &[Value], o: &[Value], t: &[Value]) -> Option<String> {
    let in_hooks = at.first().is_some_and(|s| s == "hooks");
    let candidates: Vec<&str> = if in_hooks && at.len() == 2 {
        vec!["matcher"]
    } else if in_hooks && at.last().is_some_and(|s| s == "hooks") {
        vec!["@handler"]
    } else {
        vec!["id", "uuid", "name", "matcher", "command", "context"]
    };
    'next: for key in candidates {
        for arr in [b, o, t] {
            let mut seen = std::collections::HashSet::new();
            for v in arr {
                match key_of(key, v) {
                    Some(k) if seen.insert(k.clone()) => {}
                    _ => continue 'next,
                }
            }
        }
        return Some(key.to_string());
    }
    None
}

fn key_of(key: &str, v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    if key == "@handler" {
        // A hook handler is what it runs: its command, URL or prompt, whatever its type.
        return ["command", "url", "prompt"].iter().find_map(|f| {
            obj.get(*f)
                .and_then(|x| x.as_str())
                .map(|s| format!("{f}:{s}"))
        });
    }
    match obj.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        // A hook group without a matcher matches everything: its identity is "".
        None if key == "matcher" => Some(String::new()),
        _ => None,
    }
}
