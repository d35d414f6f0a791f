//! A whole JSON, YAML or TOML document: parse the three versions, merge the values
//! (`merger.rs`, `arrays.rs`), and write the result.
//!
//! Identity rules for arrays of objects: Claude's `hooks.<Event>` groups by `matcher` (absent =
//! `""`), the handlers inside a group by what they run (`command`, else `url`, `prompt`); any
//! other array of objects by the first of `id`, `uuid`, `name`, `matcher`, `command`, `context`
//! (keybindings) that every element has, unique. Both sides replacing one element with
//! different new ones is a conflict (two edits of one hook's command must not leave both
//! commands running); one side replacing one element in place is an edit of it (the other
//! side's edits of that element still apply). Such arrays keep ours' order, theirs' new
//! elements placed after the element theirs has before them; object keys likewise.
//!
//! Every other array merges as a sequence (`sequence.rs`): each side's insertions keep their
//! place, two replacements of one element conflict. Claude's permission lists (and lists of
//! server or tool names) are sets: never a conflict. Multi-line strings both sides changed
//! merge line by line. Anything else both sides changed is a conflict.

use serde_json::Value;

use super::merger::{Changes, Merger, Pick};
use super::text::merge_string;
use super::{Conflict, Markers, MergeOptions, MergeOutcome, Overruled, Policy};

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

pub(super) fn parse(doc: Doc, text: &str) -> Option<Value> {
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

/// Merges a whole document; `None` when an input does not parse (the caller falls back to lines).
pub fn merge_document(
    file: &str,
    doc: Doc,
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    opts: &MergeOptions,
    markers: Markers,
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
        return merge_values(
            file,
            doc,
            (base, ours, theirs),
            (b, o, t),
            opts,
            markers,
            || base.and_then(line_merge),
        );
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
        merge_values(
            file,
            doc,
            (base, ours, theirs),
            (b, o, t),
            opts,
            markers,
            || line.and_then(|h| h.join().ok().flatten()),
        )
    })
}

/// Above this many bytes (ours + theirs), parsing and the line merge run in parallel.
const PARALLEL_BYTES: usize = 256 * 1024;

type Texts<'t> = (Option<&'t str>, &'t str, &'t str);

fn merge_values(
    file: &str,
    doc: Doc,
    texts: Texts,
    (b, o, t): (Option<Value>, Value, Value),
    opts: &MergeOptions,
    markers: Markers,
    line_merge: impl FnOnce() -> Option<(String, Value)>,
) -> Option<MergeOutcome> {
    let (_, ours, theirs) = texts;
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
    let mut m = Merger::new(file, opts, first_pick);
    // Ours is moved into the result; the merger records where the result differs from it.
    let mut merged = m
        .merge(&mut Vec::new(), b.as_deref(), Some(o), Some(&t))
        .unwrap_or(Value::Null);
    let (mut b, mut t, mut o_moved) = (b, t, None);
    if !m.deleted.is_empty() {
        if let Some(again) = with_moves(&m, doc, ours, (b.as_deref(), &t)) {
            (m, merged) = (again.merger, again.merged);
            (b, t) = (Some(Deferred(again.base, big)), Deferred(again.theirs, big));
            o_moved = again.ours;
        }
    }
    let merged = Deferred(merged, big);
    let conflicts = std::mem::take(&mut m.conflicts);
    // Ours' old arrays and values: freed like the trees.
    let changes = Deferred(std::mem::take(&mut m.changes), big);
    let w = Writer {
        doc,
        ours,
        theirs: (theirs, &t),
    };
    let theirs_reformatted = texts.0.is_some_and(|bt| bt != theirs) && b.as_deref() == Some(&*t);
    let clean_content = || -> Option<Vec<u8>> {
        let flags = (m.changed_o, m.changed_t, theirs_reformatted);
        w.clean(&merged, &changes, flags).map(String::into_bytes)
    };
    if conflicts.is_empty() {
        // When git's line merge is clean and means the same data, its text wins: it keeps
        // both sides' formatting and comments where each side wrote them.
        if m.changed_o && m.changed_t {
            if let Some((text, v)) = line_merge() {
                if *Deferred(v, big) == *merged {
                    return Some(outcome(text.into_bytes(), conflicts, Vec::new()));
                }
            }
        }
        return Some(outcome(clean_content()?, conflicts, Vec::new()));
    }
    if opts.policy != Policy::Stop {
        let overruled = overruled(&conflicts, first_pick);
        return Some(outcome(clean_content()?, Vec::new(), overruled));
    }
    let a = w.write(&merged, &changes)?;
    let content = marked(&mut m, &w, a, (b.as_deref(), o_moved.as_ref(), &t), markers)?;
    Some(outcome(content.into_bytes(), conflicts, Vec::new()))
}

/// A merge run again with the moves of subtrees replayed (see `moves.rs`).
struct Again<'a> {
    merger: Merger<'a>,
    merged: Value,
    base: Value,
    /// Ours with theirs' move replayed, when theirs moved (`None`: ours is as it was).
    ours: Option<Value>,
    theirs: Value,
}

/// The merge again with one side's moves replayed on the base and the other side, when that
/// leaves fewer conflicts.
fn with_moves<'a>(
    m: &Merger<'a>,
    doc: Doc,
    ours: &str,
    (b, t): (Option<&Value>, &Value),
) -> Option<Again<'a>> {
    let o = parse(doc, ours)?;
    let (b2, o2, t2) = super::moves::follow(&m.deleted, b?, &o, t)?;
    let mut again = Merger::new(m.file, m.opts, m.pick);
    let rewritten = o2 != o;
    let merged = again
        .merge(&mut Vec::new(), Some(&b2), Some(o2.clone()), Some(&t2))
        .unwrap_or(Value::Null);
    if again.conflicts.len() >= m.conflicts.len() {
        return None;
    }
    // The writer edits ours' text from what it was: compare the result with it whole. Neither
    // side's bytes are the result any more (each side's data was rewritten or merged into).
    if rewritten {
        again.changes = Changes::whole(o);
    }
    (again.changed_o, again.changed_t) = (true, true);
    Some(Again {
        merger: again,
        merged,
        base: b2,
        ours: rewritten.then_some(o2),
        theirs: t2,
    })
}

/// What each conflict's policy kept and lost.
fn overruled(conflicts: &[Conflict], pick: Pick) -> Vec<Overruled> {
    conflicts
        .iter()
        .map(|c| {
            let (kept, lost) = match pick {
                Pick::Theirs => (c.theirs.clone(), c.ours.clone()),
                _ => (c.ours.clone(), c.theirs.clone()),
            };
            Overruled {
                field: c.field.clone(),
                kept,
                lost,
            }
        })
        .collect()
}

/// Conflict markers: the merge written once resolved to ours (`as_ours`), once to theirs (and
/// to the base, for diff3 markers); the lines where they differ are exactly the conflicting
/// regions, so markers go around those and nothing else.
fn marked(
    m: &mut Merger,
    w: &Writer,
    as_ours: String,
    (b, o_moved, t): (Option<&Value>, Option<&Value>, &Value),
    markers: Markers,
) -> Option<String> {
    let mut resolved = |pick: Pick| -> Option<String> {
        m.pick = pick;
        m.record = false;
        m.changes = Default::default();
        // The first pass consumed ours; conflicts are rare enough to parse it again.
        let o = match o_moved {
            Some(o) => o.clone(),
            None => parse(w.doc, w.ours)?,
        };
        let v = m
            .merge(&mut Vec::new(), b, Some(o), Some(t))
            .unwrap_or(Value::Null);
        let changes = match o_moved {
            Some(_) => Changes::whole(parse(w.doc, w.ours)?),
            None => std::mem::take(&mut m.changes),
        };
        w.write(&v, &changes)
    };
    let z = resolved(Pick::Theirs)?;
    let base = if markers.base {
        resolved(Pick::Base)?
    } else {
        String::new()
    };
    Some(super::text::two_way_markers(&as_ours, &z, &base, markers))
}

fn outcome(content: Vec<u8>, conflicts: Vec<Conflict>, overruled: Vec<Overruled>) -> MergeOutcome {
    MergeOutcome {
        content,
        conflicts,
        overruled,
        line_fallback: false,
    }
}

/// Writes merged values in the document's format: by editing ours' text where it can (only
/// what changed is rewritten; indentation, quoting, comments and key order stay), else anew.
struct Writer<'a> {
    doc: Doc,
    ours: &'a str,
    theirs: super::patch::Side<'a>,
}

impl Writer<'_> {
    /// A clean merge's text. `changed_o`/`changed_t`: the result is not ours'/theirs' data;
    /// `theirs_reformatted`: theirs' data is the base's, only its text changed.
    fn clean(
        &self,
        v: &Value,
        changes: &Changes,
        (changed_o, changed_t, theirs_reformatted): (bool, bool, bool),
    ) -> Option<String> {
        let (theirs, tv) = self.theirs;
        // Theirs only reformatted the file: its layout is kept, ours' changes written into it.
        if theirs_reformatted {
            let whole = Changes::whole(tv.clone());
            if let Some(text) = super::patch::edit(self.doc, theirs, &whole, self.theirs, v) {
                return Some(text);
            }
        }
        // Else ours' text edited, even when the data is theirs: ours may have reformatted it.
        if !changed_o {
            Some(self.ours.to_string())
        } else if let Some(text) = self.edit(v, changes) {
            Some(text)
        } else if !changed_t {
            Some(theirs.to_string())
        } else {
            self.write(v, changes)
        }
    }

    fn edit(&self, v: &Value, changes: &Changes) -> Option<String> {
        super::patch::edit(self.doc, self.ours, changes, self.theirs, v)
    }

    fn write(&self, v: &Value, changes: &Changes) -> Option<String> {
        self.edit(v, changes)
            .or_else(|| render(self.doc, v, self.ours.ends_with('\n')))
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
/// Where frees do nothing (the arena of a short-lived process), it is not walked at all.
struct Deferred<T: Default + Send + 'static = Value>(T, bool);

impl<T: Default + Send + 'static> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Default + Send + 'static> Drop for Deferred<T> {
    fn drop(&mut self) {
        if self.1 {
            let v = std::mem::take(&mut self.0);
            if crate::arena::frees_are_noops() {
                std::mem::forget(v);
                return;
            }
            // Should no thread be available, the value is simply freed here.
            let _ = std::thread::Builder::new().spawn(move || drop(v));
        }
    }
}
