//! Arrays: sequences merged element by element, Claude's permission lists as sets, arrays of
//! objects with an identity (hook groups by matcher, handlers by what they run, anything by
//! `id`/`name`/…) element by element in the order of ours, theirs' new ones where theirs put
//! them.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::merger::Merger;
use super::sequence::{self, Mode, Piece, Sides};

impl Merger<'_> {
    /// Merges two arrays; `None` when they conflict as a whole.
    pub(super) fn merge_array(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Vec<Value>>,
        o: &[Value],
        t: &[Value],
    ) -> Option<Value> {
        let empty = Vec::new();
        let b = b.unwrap_or(&empty);
        let scalar = |v: &Value| !v.is_object() && !v.is_array();
        let scalars = b.iter().chain(o).chain(t).all(scalar);
        if !scalars {
            if let Some(key) = identity(at, b, o, t) {
                return self.merge_by_identity(at, &key, b, o, t);
            }
        }
        let mode = if scalars && is_set(at) {
            Mode::Set
        } else if scalars && is_command_line(at) {
            Mode::CommandLine
        } else {
            Mode::List
        };
        let (bk, ok, tk) = (keys(b), keys(o), keys(t));
        let sides = Sides {
            base: &bk,
            ours: &ok,
            theirs: &tk,
        };
        let pieces = sequence::merge(&sides, mode, !scalars)?;
        // An element both sides edited merges recursively when it is an object (or an array).
        let container = |v: &Value| v.is_object() || v.is_array();
        let edits_merge = pieces.iter().all(|p| match *p {
            Piece::Edited(bi, oi, ti) => {
                let kinds = [&b[bi], &o[oi], &t[ti]].map(|v| (v.is_object(), v.is_array()));
                container(&b[bi]) && kinds[0] == kinds[1] && kinds[1] == kinds[2]
            }
            _ => true,
        });
        if !edits_merge {
            return None;
        }
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            let v = match p {
                Piece::Base(i) => Some(b[i].clone()),
                Piece::Ours(i) => Some(o[i].clone()),
                Piece::Theirs(i) => Some(t[i].clone()),
                Piece::Edited(bi, oi, ti) => {
                    at.push(format!("[{}]", out.len()));
                    let v = self.merge(at, Some(&b[bi]), Some(o[oi].clone()), Some(&t[ti]));
                    at.pop();
                    v
                }
            };
            out.extend(v);
        }
        Some(Value::Array(out))
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
        let ids = Ids {
            b: (&bi, &bm),
            o: (&oi, &om),
            t: (&ti, &tm),
        };
        if ids.both_replaced() {
            return None;
        }
        let (o_ren, t_ren) = (ids.renamed(ids.o, &tm), ids.renamed(ids.t, &om));
        // One identity per element (its base one when a side renamed it), in merged order.
        let canon = |ids: &[String], ren: &Option<(String, String)>| -> Vec<String> {
            ids.iter()
                .map(|k| match ren {
                    Some((x, y)) if y == k => x.clone(),
                    _ => k.clone(),
                })
                .collect()
        };
        let (oc, tc) = (canon(&oi, &o_ren), canon(&ti, &t_ren));
        let base: HashSet<&str> = bi.iter().map(String::as_str).collect();
        let order = sequence::anchored(
            &base,
            &oc.iter().map(String::as_str).collect::<Vec<_>>(),
            &tc.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let name = |c: &str, ren: &Option<(String, String)>| -> String {
            match ren {
                Some((x, y)) if x == c => y.clone(),
                _ => c.to_string(),
            }
        };
        let mut out = Vec::with_capacity(order.len());
        for c in order {
            // (base, ours, theirs) identities of this element.
            let (ko, kt) = (name(c, &o_ren), name(c, &t_ren));
            let shown = if ko != c { &ko } else { &kt };
            at.push(format!("[{shown}]"));
            let v = self.merge(
                at,
                bm.get(c).map(|&i| &b[i]),
                om.get(&ko).map(|&i| o[i].clone()),
                tm.get(&kt).map(|&i| &t[i]),
            );
            at.pop();
            if let Some(v) = v {
                out.push(v);
            }
        }
        Some(Value::Array(out))
    }
}

/// The identities of the three arrays' elements: in order, and each one's index.
struct Ids<'a> {
    b: (&'a [String], &'a HashMap<String, usize>),
    o: (&'a [String], &'a HashMap<String, usize>),
    t: (&'a [String], &'a HashMap<String, usize>),
}

impl Ids<'_> {
    /// Both sides dropped an element and each put something else in: two different edits of
    /// one element (a hook's command, a group's matcher), not two independent additions.
    fn both_replaced(&self) -> bool {
        let ((bi, bm), (oi, om), (ti, tm)) = (self.b, self.o, self.t);
        let dropped_by_both = bi
            .iter()
            .any(|k| !om.contains_key(k) && !tm.contains_key(k));
        let only_o = oi
            .iter()
            .any(|k| !bm.contains_key(k) && !tm.contains_key(k));
        let only_t = ti
            .iter()
            .any(|k| !bm.contains_key(k) && !om.contains_key(k));
        dropped_by_both && only_o && only_t
    }

    /// A side that dropped exactly one element and put exactly one new one in its place
    /// edited that element's identity (a hook's command): the two are one element, so the
    /// other side's edits of it (a timeout) still apply, and its removal is a conflict.
    /// Returns (old identity, new identity).
    fn renamed(
        &self,
        (side, sm): (&[String], &HashMap<String, usize>),
        other: &HashMap<String, usize>,
    ) -> Option<(String, String)> {
        let (bi, bm) = self.b;
        let mut gone = bi.iter().filter(|k| !sm.contains_key(*k));
        let mut new = side.iter().filter(|k| !bm.contains_key(*k));
        match (gone.next(), gone.next(), new.next(), new.next()) {
            (Some(x), None, Some(y), None) if bm.get(x) == sm.get(y) && !other.contains_key(y) => {
                Some((x.clone(), y.clone()))
            }
            _ => None,
        }
    }
}

/// The same rule added to `allow` on one side and to `deny` (or `ask`) on the other is a
/// conflict, not a union: the two machines disagree about what Claude may do. Returns
/// (ours' list, theirs' list, rule).
pub(super) fn permission_clashes<'m>(
    b: Option<&'m Map<String, Value>>,
    o: &'m Map<String, Value>,
    t: &'m Map<String, Value>,
) -> Vec<(&'static str, &'static str, Value)> {
    const LISTS: [&str; 3] = ["allow", "ask", "deny"];
    let list = |m: Option<&'m Map<String, Value>>, k: &str| -> &'m [Value] {
        m.and_then(|m| m.get(k))
            .and_then(|v| v.as_array())
            .map_or(&[], Vec::as_slice)
    };
    // Per list: the rules a side added (not in the base's list), in that side's order. The
    // diff finds the inserted ones without hashing thousands of unchanged rules.
    let added = |m: &'m Map<String, Value>, k: &str| -> Vec<(Key<'m>, &'m Value)> {
        if m.get(k) == b.and_then(|b| b.get(k)) {
            return Vec::new();
        }
        let (base, side) = (list(b, k), list(Some(m), k));
        let (bk, sk) = (keys(base), keys(side));
        let inserted: Vec<usize> =
            similar::capture_diff_slices(similar::Algorithm::Myers, &bk, &sk)
                .iter()
                .flat_map(|op| {
                    op.as_tag_tuple()
                        .2
                        .clone()
                        .filter(move |_| op.as_tag_tuple().0 != similar::DiffTag::Equal)
                })
                .collect();
        let moved: HashSet<&Key> = if inserted.is_empty() {
            HashSet::new()
        } else {
            let new: HashSet<&Key> = inserted.iter().map(|&i| &sk[i]).collect();
            bk.iter().filter(|k| new.contains(k)).collect()
        };
        inserted
            .into_iter()
            .filter(|&i| !moved.contains(&sk[i]))
            .map(|i| (sk[i].clone(), &side[i]))
            .collect()
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
pub(super) enum Key<'a> {
    Str(&'a str),
    Json(String),
}

impl sequence::Element for Key<'_> {
    fn is_flag(&self) -> bool {
        matches!(self, Key::Str(s) if s.starts_with('-'))
    }
}

fn skey(v: &Value) -> Key<'_> {
    match v {
        Value::String(s) => Key::Str(s),
        other => Key::Json(serde_json::to_string(other).unwrap_or_default()),
    }
}

pub(super) fn keys(a: &[Value]) -> Vec<Key<'_>> {
    a.iter().map(skey).collect()
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

/// Claude's lists whose order means nothing: permission rules, MCP server and tool names.
fn is_set(at: &[String]) -> bool {
    let last = at.last().map(String::as_str).unwrap_or_default();
    let parent = at.len().checked_sub(2).map(|i| at[i].as_str());
    (parent == Some("permissions") && matches!(last, "allow" | "ask" | "deny"))
        || matches!(
            last,
            "enabledMcpjsonServers"
                | "disabledMcpjsonServers"
                | "allowedTools"
                | "disallowedTools"
                | "allowed-tools"
                | "disallowed-tools"
        )
}

/// A command line, whose arguments' order and repetitions mean something.
fn is_command_line(at: &[String]) -> bool {
    at.last()
        .is_some_and(|s| matches!(s.as_str(), "args" | "argv" | "command"))
}
