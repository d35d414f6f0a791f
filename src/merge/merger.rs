//! The value-tree merge: key by key, recursively; what both sides changed differently is a
//! conflict. Arrays are in `arrays.rs`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::arrays::permission_clashes;
use super::text::merge_string;
use super::{Conflict, MergeOptions};

/// Which side a conflict resolves to in this pass.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// Ours' value.
    Ours,
    /// Theirs' value.
    Theirs,
    /// The base's value (for the base section of diff3 markers).
    Base,
}

impl<'a> Merger<'a> {
    /// A first pass: conflicts recorded, resolved to `pick`.
    pub fn new(file: &'a str, opts: &'a MergeOptions<'a>, pick: Pick) -> Self {
        Merger {
            file,
            opts,
            pick,
            record: true,
            conflicts: Vec::new(),
            changed_o: false,
            changed_t: false,
            changes: Changes::default(),
            deleted: Vec::new(),
            in_array: 0,
        }
    }

    /// The value at `at` is not ours' `old` any more.
    pub fn replaced(&mut self, at: &[String], old: Option<Value>) {
        if let Some(n) = self.changes.node(at) {
            n.replaced = true;
            n.old = old;
            n.children.clear();
        }
    }

    /// The object at `at` is merged member by member.
    fn touched(&mut self, at: &[String]) {
        self.changes.node(at);
    }
}

/// One merge pass over a document.
pub(super) struct Merger<'a> {
    /// The file, for conflicts and decryption locators.
    pub file: &'a str,
    /// The conflict policy and decryptor.
    pub opts: &'a MergeOptions<'a>,
    /// How this pass resolves a conflict.
    pub pick: Pick,
    /// Only the first pass records conflicts; the second (for markers) just renders theirs.
    pub record: bool,
    /// The conflicts found.
    pub conflicts: Vec<Conflict>,
    /// The merge took something other than ours somewhere (it is not ours, byte for byte).
    pub changed_o: bool,
    /// Likewise for theirs.
    pub changed_t: bool,
    /// Where the result differs from ours, for the writer.
    pub changes: Changes,
    /// Subtrees (outside arrays) one side deleted and the other changed: maybe moves.
    pub deleted: Vec<super::moves::Deleted>,
    /// How many arrays the current path is inside.
    in_array: usize,
}

/// Where a merge pass's result differs from ours: the writer rewrites ours' text only there.
/// Arrays are not descended into: a merged array keeps ours' old array whole.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Object members below that changed, by key.
    pub children: std::collections::HashMap<String, Changes>,
    /// The value here is not ours' (ours' old value, if ours had one, is `old`).
    pub replaced: bool,
    /// Ours' value here before the merge, when replaced.
    pub old: Option<Value>,
}

impl Changes {
    /// All of a document replaced: the writer compares it with ours' whole old value.
    pub fn whole(old: Value) -> Changes {
        Changes {
            children: Default::default(),
            replaced: true,
            old: Some(old),
        }
    }

    fn node(&mut self, at: &[String]) -> Option<&mut Changes> {
        let mut n = self;
        for seg in at {
            if n.replaced {
                // Inside a replaced value (an array merged element by element): covered.
                return None;
            }
            n = n.children.entry(seg.clone()).or_default();
        }
        Some(n)
    }
}

/// The field path as locators write it (keys escaped), so a ciphertext opens with it.
pub(super) fn dotted(at: &[String]) -> String {
    let mut s = String::new();
    for seg in at {
        // An index, or an element's identity in a list merged by identity: blanked in bindings.
        if seg.starts_with('[') {
            s.push_str(seg);
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(&crate::crypt::rules::escape_key(seg));
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
            (Some(x), Some(y)) if super::equal::equal(x, y) => Some(true),
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
        let subtree = b.is_some_and(Value::is_object) && o.is_none() != t.is_none();
        if self.record && subtree && self.in_array == 0 {
            self.deleted.push(super::moves::Deleted {
                at: at.to_vec(),
                by_ours: o.is_none(),
            });
        }
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
                self.replaced(at, o);
                t.cloned()
            }
            Pick::Base => {
                self.changed_o = true;
                self.changed_t = true;
                self.replaced(at, o);
                b.cloned()
            }
        }
    }

    /// Merges one value. Ours is taken by value: most of a merge is ours unchanged, moved into
    /// the result rather than copied.
    pub(super) fn merge(
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
                self.replaced(at, o);
                return b.cloned();
            }
            return o;
        }
        if self.same(at, b, o.as_ref()) {
            self.changed_o = true;
            self.replaced(at, o);
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
                self.touched(at);
                Some(Value::Object(self.merge_object(at, bm, om, tm)))
            }
            (Some(Value::Array(oa)), Some(Value::Array(ta))) => {
                let ba = match b {
                    Some(Value::Array(ba)) => Some(ba),
                    None => None,
                    Some(_) => return self.conflict(at, b, Some(Value::Array(oa)), t),
                };
                self.in_array += 1;
                let merged = self.merge_array(at, ba, &oa, ta);
                self.in_array -= 1;
                match merged {
                    Some(Value::Array(v)) => {
                        self.changed_o |= !super::equal::all_equal(&v, &oa);
                        self.changed_t |= !super::equal::all_equal(&v, ta);
                        self.replaced(at, Some(Value::Array(oa)));
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
                                self.replaced(at, Some(Value::String(os)));
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
        // Ours' key order; a key only theirs has goes after the key theirs has before it.
        let order: Vec<String> = {
            let base: HashSet<&str> = b
                .map(|b| b.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let ok: Vec<&str> = o.keys().map(String::as_str).collect();
            let tk: Vec<&str> = t.keys().map(String::as_str).collect();
            super::sequence::anchored(&base, &ok, &tk)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let mut o = o;
        let mut out = Map::new();
        for k in order {
            at.push(k.clone());
            let ov = o.remove(&k);
            let v = self.merge(at, b.and_then(|m| m.get(&k)), ov, t.get(&k));
            at.pop();
            if let Some(v) = v {
                out.insert(k, v);
            }
        }
        for (l1, l2, rule) in clashes {
            let mut field = at.to_vec();
            field.push(format!("{l1}/{l2}"));
            let text = rule.as_str().unwrap_or_default();
            let theirs_list = Value::String(format!("{l2}: {text}"));
            let ours_list = Value::String(format!("{l1}: {text}"));
            self.conflict(&field, None, Some(ours_list), Some(&theirs_list));
            // Keep the rule only in the list of the side the policy picked (the base: neither).
            let drop_from: &[&str] = match self.pick {
                Pick::Ours => &[l2],
                Pick::Theirs => &[l1],
                Pick::Base => &[l1, l2],
            };
            for list in drop_from {
                if let Some(Value::Array(a)) = out.get_mut(*list) {
                    let before = a.clone();
                    a.retain(|x| *x != rule);
                    // The list is no longer ours' (unless it was merged already: ours' is kept).
                    at.push(list.to_string());
                    if let Some(n) = self.changes.node(at).filter(|n| !n.replaced) {
                        n.replaced = true;
                        n.old = Some(Value::Array(before));
                        n.children.clear();
                    }
                    at.pop();
                }
            }
        }
        out
    }
}
