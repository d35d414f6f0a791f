//! A subtree one side moved (a key renamed or re-nested) and the other edited: without this,
//! a delete/modify conflict. The move is replayed on the base and on the editing side, so the
//! merge that runs again sees the edit where the subtree now lives.

use serde_json::{Map, Value};

/// A delete/modify conflict at an object path: `by_ours` when ours deleted it.
#[derive(Debug, Clone)]
pub(super) struct Deleted {
    pub at: Vec<String>,
    pub by_ours: bool,
}

/// The base and the editing side with each found move replayed; `None` when no deletion was
/// a move (the deleted subtree is not, exactly and once, somewhere new on the deleting side).
/// Returns (base, ours, theirs), one of the sides rewritten.
pub(super) fn follow(
    deleted: &[Deleted],
    b: &Value,
    o: &Value,
    t: &Value,
) -> Option<(Value, Value, Value)> {
    let (mut b2, mut o2, mut t2) = (b.clone(), o.clone(), t.clone());
    let mut any = false;
    for d in deleted {
        let old = get(b, &d.at).filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))?;
        let (mover, editor) = if d.by_ours {
            (o, &mut t2)
        } else {
            (t, &mut o2)
        };
        let mut found = Vec::new();
        find(mover, old, &mut Vec::new(), &mut found);
        let [to] = found.as_slice() else {
            return None;
        };
        if get(b, to).is_some() || get(editor, to).is_some() {
            return None;
        }
        let edited = take(editor, &d.at)?;
        put(editor, to, edited)?;
        let moved = take(&mut b2, &d.at)?;
        put(&mut b2, to, moved)?;
        any = true;
    }
    any.then_some((b2, o2, t2))
}

fn get<'v>(v: &'v Value, at: &[String]) -> Option<&'v Value> {
    at.iter().try_fold(v, |v, k| v.as_object()?.get(k))
}

/// Where `old` is in `v` (objects only, not the root).
fn find(v: &Value, old: &Value, at: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    if found.len() > 1 {
        return;
    }
    if !at.is_empty() && v == old {
        found.push(at.clone());
        return;
    }
    if let Value::Object(m) = v {
        for (k, x) in m {
            at.push(k.clone());
            find(x, old, at, found);
            at.pop();
        }
    }
}

fn take(v: &mut Value, at: &[String]) -> Option<Value> {
    let (last, parent) = at.split_last()?;
    let mut p = v;
    for k in parent {
        p = p.as_object_mut()?.get_mut(k)?;
    }
    p.as_object_mut()?.shift_remove(last)
}

/// Puts `x` at `at`, making the objects on the way that are not there yet.
fn put(v: &mut Value, at: &[String], x: Value) -> Option<()> {
    let (last, parent) = at.split_last()?;
    let mut p = v;
    for k in parent {
        p = p
            .as_object_mut()?
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    p.as_object_mut()?.insert(last.clone(), x);
    Some(())
}
