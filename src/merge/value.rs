//! The value-tree merge shared by JSON, YAML and TOML.
//!
//! Identity rules for arrays of objects: Claude's `hooks.<Event>` groups by `matcher` (absent =
//! `""`), the handlers inside a group by `command` (else `url`, `prompt`); any other array of
//! objects by the first of `id`, `uuid`, `name`, `matcher`, `command` that every element has,
//! unique. Arrays of scalars are ordered sets: base order minus what either side removed, then
//! ours' additions, then theirs'. Anything else both sides changed is a conflict.

use serde_json::{Map, Value};

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
            let mut s = serde_json::to_string_pretty(v).ok()?;
            if newline {
                s.push('\n');
            }
            Some(s)
        }
        Doc::Yaml => serde_yaml::to_string(v).ok(),
        Doc::Toml => toml::to_string(v).ok(),
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
    let b = match base {
        Some(b) => Some(parse(doc, b)?),
        None => None,
    };
    let o = parse(doc, ours)?;
    let t = parse(doc, theirs)?;
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
    };
    let merged = m
        .merge(&mut Vec::new(), b.as_ref(), Some(&o), Some(&t))
        .unwrap_or(Value::Null);
    let conflicts = std::mem::take(&mut m.conflicts);
    let newline = ours.ends_with('\n');
    let emit = |v: &Value| -> Option<Vec<u8>> {
        if *v == o {
            Some(ours.as_bytes().to_vec())
        } else if *v == t {
            Some(theirs.as_bytes().to_vec())
        } else {
            render(doc, v, newline).map(String::into_bytes)
        }
    };
    if conflicts.is_empty() {
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
    m.pick = Pick::Theirs;
    m.record = false;
    let as_theirs = m
        .merge(&mut Vec::new(), b.as_ref(), Some(&o), Some(&t))
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
        match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) if x == y => true,
            (Some(x), Some(y)) => match (is_enc(x), is_enc(y), self.opts.decrypt) {
                (Some(cx), Some(cy), Some(d)) => {
                    let loc = format!("{}:{}", self.file, dotted(at));
                    match (d.decrypt(&loc, cx), d.decrypt(&loc, cy)) {
                        (Some(px), Some(py)) => px == py,
                        _ => false,
                    }
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn conflict(
        &mut self,
        at: &[String],
        b: Option<&Value>,
        o: Option<&Value>,
        t: Option<&Value>,
    ) -> Option<Value> {
        if self.record {
            self.conflicts.push(Conflict {
                file: self.file.to_string(),
                field: dotted(at),
                base: b.cloned(),
                ours: o.cloned(),
                theirs: t.cloned(),
            });
        }
        match self.pick {
            Pick::Ours => o.cloned(),
            Pick::Theirs => t.cloned(),
        }
    }

    fn merge(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Value>,
        o: Option<&Value>,
        t: Option<&Value>,
    ) -> Option<Value> {
        if self.same(at, o, t) {
            // Unchanged plaintext keeps its old ciphertext.
            if self.same(at, b, o) {
                return b.cloned();
            }
            return o.cloned();
        }
        if self.same(at, b, o) {
            return t.cloned();
        }
        if self.same(at, b, t) {
            return o.cloned();
        }
        match (o, t) {
            (Some(Value::Object(om)), Some(Value::Object(tm))) => {
                let bm = match b {
                    Some(Value::Object(bm)) => Some(bm),
                    None => None,
                    Some(_) => return self.conflict(at, b, o, t),
                };
                Some(Value::Object(self.merge_object(at, bm, om, tm)))
            }
            (Some(Value::Array(oa)), Some(Value::Array(ta))) => {
                let ba = match b {
                    Some(Value::Array(ba)) => Some(ba),
                    None => None,
                    Some(_) => return self.conflict(at, b, o, t),
                };
                self.merge_array(at, ba, oa, ta)
                    .or_else(|| self.conflict(at, b, o, t))
            }
            _ => self.conflict(at, b, o, t),
        }
    }

    fn merge_object(
        &mut self,
        at: &mut Vec<String>,
        b: Option<&Map<String, Value>>,
        o: &Map<String, Value>,
        t: &Map<String, Value>,
    ) -> Map<String, Value> {
        let mut keys: Vec<&String> = o.keys().collect();
        keys.extend(t.keys().filter(|k| !o.contains_key(*k)));
        if let Some(b) = b {
            keys.extend(
                b.keys()
                    .filter(|k| !o.contains_key(*k) && !t.contains_key(*k)),
            );
        }
        let mut out = Map::new();
        for k in keys {
            at.push(k.clone());
            let v = self.merge(at, b.and_then(|m| m.get(k)), o.get(k), t.get(k));
            at.pop();
            if let Some(v) = v {
                out.insert(k.clone(), v);
            }
        }
        if at.len() == 1 && at[0] == "permissions" {
            self.check_permissions(at, b, o, t, &mut out);
        }
        out
    }

    /// The same rule added to `allow` on one side and to `deny` (or `ask`) on the other is a
    /// conflict, not a union: the two machines disagree about what Claude may do.
    fn check_permissions(
        &mut self,
        at: &mut [String],
        b: Option<&Map<String, Value>>,
        o: &Map<String, Value>,
        t: &Map<String, Value>,
        out: &mut Map<String, Value>,
    ) {
        let list = |m: Option<&Map<String, Value>>, k: &str| -> Vec<Value> {
            m.and_then(|m| m.get(k))
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        const LISTS: [&str; 3] = ["allow", "ask", "deny"];
        for l1 in LISTS {
            for l2 in LISTS {
                if l1 == l2 {
                    continue;
                }
                let (b1, o1) = (list(b, l1), list(Some(o), l1));
                let (b2, t2) = (list(b, l2), list(Some(t), l2));
                for rule in o1.iter().filter(|r| !b1.contains(r)) {
                    if t2.contains(rule) && !b2.contains(rule) {
                        let mut field = at.to_vec();
                        field.push(format!("{l1}/{l2}"));
                        let theirs_list =
                            Value::String(format!("{l2}: {}", rule.as_str().unwrap_or_default()));
                        let ours_list =
                            Value::String(format!("{l1}: {}", rule.as_str().unwrap_or_default()));
                        self.conflict(&field, None, Some(&ours_list), Some(&theirs_list));
                        // Keep the rule only in the list of the side the policy picked.
                        let drop_from = if self.pick == Pick::Ours { l2 } else { l1 };
                        if let Some(Value::Array(a)) = out.get_mut(drop_from) {
                            a.retain(|x| x != rule);
                        }
                    }
                }
            }
        }
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
        let all = || b.iter().chain(o).chain(t);
        if all().all(|v| !v.is_object() && !v.is_array()) {
            let mut out: Vec<Value> = Vec::new();
            for x in b {
                if o.contains(x) && t.contains(x) && !out.contains(x) {
                    out.push(x.clone());
                }
            }
            for x in o.iter().chain(t) {
                if !b.contains(x) && !out.contains(x) {
                    out.push(x.clone());
                }
            }
            return Some(Value::Array(out));
        }
        let key = identity(at, b, o, t)?;
        let id = |v: &Value| -> String { key_of(&key, v).unwrap_or_default() };
        let find = |arr: &[Value], k: &str| arr.iter().find(|v| id(v) == k).cloned();
        let mut order: Vec<String> = o.iter().map(id).collect();
        for v in t {
            let k = id(v);
            if !order.contains(&k) {
                order.push(k);
            }
        }
        for v in b {
            let k = id(v);
            if !order.contains(&k) {
                order.push(k);
            }
        }
        let mut out = Vec::new();
        for k in order {
            at.push(format!("[{k}]"));
            let v = self.merge(
                at,
                find(b, &k).as_ref(),
                find(o, &k).as_ref(),
                find(t, &k).as_ref(),
            );
            at.pop();
            if let Some(v) = v {
                out.push(v);
            }
        }
        Some(Value::Array(out))
    }
}

/// The identity key of an array of objects, if it has one (see the module docs).
fn identity(at: &[String], b: &[Value], o: &[Value], t: &[Value]) -> Option<String> {
    let in_hooks = at.first().is_some_and(|s| s == "hooks");
    let candidates: Vec<&str> = if in_hooks && at.len() == 2 {
        vec!["matcher"]
    } else if in_hooks && at.last().is_some_and(|s| s == "hooks") {
        vec!["command", "url", "prompt"]
    } else {
        vec!["id", "uuid", "name", "matcher", "command"]
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
    match obj.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        // A hook group without a matcher matches everything: its identity is "".
        None if key == "matcher" => Some(String::new()),
        _ => None,
    }
}
