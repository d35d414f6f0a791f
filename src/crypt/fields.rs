//! Sealing and opening the secret fields of a parsed JSON/YAML document.

use serde_json::Value;

use super::align::{counterparts, inverse, key, same_neighbour};
use super::detect::{is_reference, literal, scan_text, secret_name, Reason};
use super::entropy::random_token;
use super::rules::{dotted, parse_path, Rules, Seg};
use super::{is_encrypted, open_at, seal_at, CryptError, Identity, Recipients};

/// What sealing needs: the rules, who to encrypt to, and (to reuse old ciphertexts) this machine's key.
pub struct Sealer<'a> {
    /// The secret rules in force.
    pub rules: &'a Rules,
    /// The recipients from ctx.yaml.
    pub recipients: &'a Recipients,
    /// This machine's key, to check whether an old ciphertext still holds the same value.
    pub identity: Option<&'a Identity>,
}

/// `file:field`, the name of one secret.
pub fn locator(file: &str, path: &[Seg]) -> String {
    format!("{file}:{}", dotted(path))
}

fn lookup<'v>(doc: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let mut cur = doc;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Keys under which a value is a command line, a header or an environment: places where a
/// random-looking string is a secret far more often than not.
const SECRET_BEARING: &[&str] = &[
    "args",
    "argv",
    "command",
    "env",
    "headers",
    "permissions",
    "url",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "otelHeadersHelper",
];

/// The secret-bearing place `path` of `file` lies in, named for `secret ls`.
fn secret_bearing(file: &str, path: &[Seg]) -> Option<String> {
    let named = path.iter().find_map(|s| match s {
        Seg::Key(k) if SECRET_BEARING.contains(&k.as_str()) => Some(format!("`{k}`")),
        _ => None,
    });
    named.or_else(|| super::rules::is_mcp_file(file).then(|| "an MCP server".into()))
}

fn last_key(path: &[Seg]) -> Option<&str> {
    path.iter().rev().find_map(|s| match s {
        Seg::Key(k) => Some(k.as_str()),
        Seg::Index(_) => None,
    })
}

impl Sealer<'_> {
    /// Why the value at `path` of `file` must be sealed, if it must: a rule, its shape, its name
    /// (its key, or the flag before it in a list), or its randomness in a secret-bearing place.
    /// `prev` is the element before it when it is in a list.
    pub fn classify(
        &self,
        file: &str,
        path: &[Seg],
        v: &Value,
        prev: Option<&Value>,
    ) -> Option<Reason> {
        let allowed = |value: &str| self.rules.allowed(file, value);
        let named = last_key(path)
            .filter(|k| path.last().is_some_and(|s| matches!(s, Seg::Key(_))) && secret_name(k));
        match v {
            Value::String(s) if s.is_empty() || is_reference(s) => None,
            Value::String(s) => {
                if let Some(r) = self.rules.rule(file, path) {
                    return Some(r);
                }
                if let Some(f) = scan_text(s, file).into_iter().find(|f| !allowed(&f.value)) {
                    return Some(f.reason);
                }
                if let Some(k) = named.filter(|_| literal(s) && !allowed(s)) {
                    return Some(Reason::Name(format!("`{k}`")));
                }
                let flag = prev
                    .and_then(Value::as_str)
                    .filter(|p| p.starts_with('-') && !p.contains('='))
                    .filter(|p| secret_name(p.trim_start_matches('-')));
                if let Some(f) = flag.filter(|_| !s.starts_with('-') && literal(s) && !allowed(s)) {
                    return Some(Reason::Name(format!("the flag `{f}`")));
                }
                let place = secret_bearing(file, path)?;
                random_token(s)
                    .filter(|t| !allowed(t))
                    .map(|_| Reason::Entropy(place))
            }
            Value::Number(_) | Value::Bool(_) => self.rules.rule(file, path).or_else(|| {
                let k = named.filter(|_| v.is_number() && !allowed(&v.to_string()))?;
                Some(Reason::Name(format!("`{k}`")))
            }),
            _ => None,
        }
    }

    /// Encrypts every secret value of `doc` in place; an unchanged value keeps the ciphertext it
    /// has in `old` (the stored version), so history does not churn, and a value sealed there
    /// stays sealed. Returns how many were sealed.
    pub fn seal_doc(
        &self,
        file: &str,
        doc: &mut Value,
        old: Option<&Value>,
    ) -> Result<usize, CryptError> {
        let mut path = Vec::new();
        let mut count = 0;
        self.walk(file, doc, old, None, &mut path, &mut count)?;
        Ok(count)
    }

    fn walk(
        &self,
        file: &str,
        v: &mut Value,
        old: Option<&Value>,
        prev: Option<&Value>,
        path: &mut Vec<Seg>,
        count: &mut usize,
    ) -> Result<(), CryptError> {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(Seg::Key(k.clone()));
                    let o = old.and_then(|o| o.get(k));
                    self.walk(file, child, o, None, path, count)?;
                    path.pop();
                }
            }
            Value::Array(a) => {
                let before = a.clone();
                let olds = match old.and_then(Value::as_array) {
                    Some(o) => self.matched(file, path, o, &before)?,
                    None => vec![None; a.len()],
                };
                for (i, child) in a.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    let o = olds.get(i).copied().flatten();
                    let p = i.checked_sub(1).and_then(|p| before.get(p));
                    self.walk(file, child, o, p, path, count)?;
                    path.pop();
                }
            }
            _ => self.scalar(file, v, old, prev, path, count)?,
        }
        Ok(())
    }

    fn scalar(
        &self,
        file: &str,
        v: &mut Value,
        old: Option<&Value>,
        prev: Option<&Value>,
        path: &[Seg],
        count: &mut usize,
    ) -> Result<(), CryptError> {
        if v.as_str().is_some_and(is_encrypted) {
            return Ok(());
        }
        let stored = old.and_then(Value::as_str).filter(|p| is_encrypted(p));
        let opened = stored.map(|p| self.identity.map(|id| open_at(p, file, path, id)));
        match (stored, opened) {
            (Some(p), Some(None | Some(Err(_)))) => {
                // A secret this machine cannot read: apply left its own value (or nothing)
                // there, so the live value says nothing about the secret. It stays as stored.
                *v = Value::String(p.to_string());
                *count += 1;
            }
            (Some(p), Some(Some(Ok(o)))) if o.current && o.value == *v => {
                *v = Value::String(p.to_string());
                *count += 1;
            }
            // Sealed before: an edit of a secret is a secret too, whatever it looks like now.
            (Some(_), _)
                if !v.is_null() && !v.as_str().is_some_and(|s| s.is_empty() || is_reference(s)) =>
            {
                *v = Value::String(seal_at(v, file, path, self.recipients)?);
                *count += 1;
            }
            _ => {
                if self.classify(file, path, v, prev).is_some() {
                    *v = Value::String(seal_at(v, file, path, self.recipients)?);
                    *count += 1;
                }
            }
        }
        Ok(())
    }

    /// For each element of the live list `new`, its counterpart in the stored list `old`. A
    /// sealed element this machine cannot open must land where its placeholder is, after the
    /// same neighbour; when it cannot, the edit is refused.
    fn matched<'o>(
        &self,
        file: &str,
        path: &[Seg],
        old: &'o [Value],
        new: &[Value],
    ) -> Result<Vec<Option<&'o Value>>, CryptError> {
        let unreadable: Vec<bool> = old
            .iter()
            .map(|o| {
                o.as_str().filter(|s| is_encrypted(s)).is_some_and(|ct| {
                    self.identity
                        .is_none_or(|id| open_at(ct, file, path, id).is_err())
                })
            })
            .collect();
        let old_keys: Vec<String> = old
            .iter()
            .zip(&unreadable)
            .map(|(o, u)| match (u, o.as_str().filter(|s| is_encrypted(s))) {
                (false, Some(ct)) => self
                    .identity
                    .and_then(|id| open_at(ct, file, path, id).ok())
                    .map_or_else(|| key(o, false), |op| key(&op.value, false)),
                _ => key(o, *u),
            })
            .collect();
        let new_keys: Vec<String> = new.iter().map(|n| key(n, false)).collect();
        let map = counterparts(&old_keys, &new_keys);
        // A placeholder no stored element matched: a secret could belong there.
        let loose = (0..new.len()).any(|j| new_keys[j] == "\"\"" && !map.contains(&Some(j)));
        for (i, _) in unreadable.iter().enumerate().filter(|(_, u)| **u) {
            let placed = match map[i] {
                Some(j) => same_neighbour(&map, i, j),
                // Gone with its neighbours (deleted on purpose), unless a placeholder is left
                // whose place is a guess.
                None => !loose,
            };
            if !placed {
                return Err(misplaced(file, path, i));
            }
        }
        Ok(inverse(&map, new.len())
            .into_iter()
            .map(|i| i.and_then(|i| old.get(i)))
            .collect())
    }
}

fn misplaced(file: &str, path: &[Seg], i: usize) -> CryptError {
    let mut p = path.to_vec();
    p.push(Seg::Index(i));
    CryptError::Misplaced {
        locator: locator(file, &p),
    }
}

/// Puts back the sealed fields of `old` that this machine cannot open and that apply therefore
/// left out of the live file, at their old place among their siblings. A field whose whole
/// parent is gone was deleted on purpose and stays deleted. Returns how many were put back.
pub fn restore_unreadable(
    file: &str,
    doc: &mut Value,
    old: &Value,
    identity: Option<&Identity>,
) -> usize {
    let mut n = 0;
    for path in sealed_paths(old) {
        let Some(Seg::Key(key)) = path.last() else {
            continue;
        };
        let Some(ct) = lookup(old, &path).and_then(|v| v.as_str()) else {
            continue;
        };
        if identity.is_some_and(|id| open_at(ct, file, &path, id).is_ok()) {
            continue;
        }
        let parent_path = &path[..path.len() - 1];
        let old_parent = lookup(old, parent_path).and_then(|v| v.as_object());
        let Some(Value::Object(parent)) = lookup_mut(doc, parent_path) else {
            continue;
        };
        if parent.contains_key(key) {
            continue;
        }
        // After the nearest earlier sibling that is still there.
        let mut index = 0;
        if let Some(op) = old_parent {
            for k in op.keys().take_while(|k| *k != key) {
                if let Some(i) = parent.keys().position(|pk| pk == k) {
                    index = i + 1;
                }
            }
        }
        parent.shift_insert(
            index.min(parent.len()),
            key.clone(),
            Value::String(ct.into()),
        );
        n += 1;
    }
    n
}

fn lookup_mut<'v>(doc: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut cur = doc;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Decrypts the sealed values of `doc` that this machine can open. One it cannot open (no key,
/// or a key that is not among its recipients) takes the value the live file has there (in a
/// list: at its matching place, after the same neighbour), or, if the live file has none, is
/// left out (an empty string in a list, so its siblings keep their places): ciphertext never
/// reaches a live config. Returns the locators that could not be opened.
pub fn open_doc_lenient(
    file: &str,
    doc: &mut Value,
    id: Option<&Identity>,
    live: Option<&Value>,
) -> Vec<String> {
    let mut unreadable = Vec::new();
    lenient(file, doc, id, live, &mut Vec::new(), &mut unreadable);
    unreadable
}

fn lenient(
    file: &str,
    v: &mut Value,
    id: Option<&Identity>,
    live: Option<&Value>,
    path: &mut Vec<Seg>,
    out: &mut Vec<String>,
) {
    match v {
        Value::Object(m) => {
            let mut gone = Vec::new();
            for (k, child) in m.iter_mut() {
                path.push(Seg::Key(k.clone()));
                let l = live.and_then(|l| l.get(k));
                if !lenient_leaf(file, child, id, l, path, out) {
                    gone.push(k.clone());
                }
                path.pop();
            }
            for k in gone {
                m.shift_remove(&k);
            }
        }
        Value::Array(a) => {
            let sealed = |x: &Value| {
                x.as_str()
                    .filter(|s| is_encrypted(s))
                    .is_some_and(|ct| id.is_none_or(|id| open_at(ct, file, path, id).is_err()))
            };
            let old_keys: Vec<String> = a.iter().map(|x| key(x, sealed(x))).collect();
            let live_list = live.and_then(Value::as_array);
            let new_keys: Vec<String> = live_list
                .map(|l| l.iter().map(|x| key(x, false)).collect())
                .unwrap_or_default();
            let map = counterparts(&old_keys, &new_keys);
            for (i, child) in a.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                let l = map[i]
                    .filter(|j| same_neighbour(&map, i, *j))
                    .and_then(|j| live_list.and_then(|l| l.get(j)));
                if !lenient_leaf(file, child, id, l, path, out) {
                    // Removing an element would shift its siblings; an empty string keeps them.
                    *child = Value::String(String::new());
                }
                path.pop();
            }
        }
        _ => {}
    }
}

/// Opens one value (or walks into it); `false` when it must be left out.
fn lenient_leaf(
    file: &str,
    v: &mut Value,
    id: Option<&Identity>,
    live: Option<&Value>,
    path: &mut Vec<Seg>,
    out: &mut Vec<String>,
) -> bool {
    let Some(ct) = v.as_str().filter(|s| is_encrypted(s)).map(String::from) else {
        lenient(file, v, id, live, path, out);
        return true;
    };
    match id.and_then(|id| open_at(&ct, file, path, id).ok()) {
        Some(o) => {
            *v = o.value;
            true
        }
        None => {
            out.push(locator(file, path));
            match live.filter(|l| !l.as_str().is_some_and(is_encrypted)) {
                Some(l) => {
                    *v = l.clone();
                    true
                }
                None => false,
            }
        }
    }
}

/// Decrypts every sealed value of `doc` in place. Returns how many were opened.
pub fn open_doc(file: &str, doc: &mut Value, id: &Identity) -> Result<usize, CryptError> {
    let mut n = 0;
    for path in sealed_paths(doc) {
        let Some(ct) = lookup(doc, &path).and_then(Value::as_str).map(String::from) else {
            continue;
        };
        let opened = open_at(&ct, file, &path, id)?;
        set_at(doc, &path, opened.value);
        n += 1;
    }
    Ok(n)
}

/// The paths of every sealed value in `doc`.
pub fn sealed_paths(doc: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(Seg::Key(k.clone()));
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::String(s) if is_encrypted(s) => out.push(path.clone()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

/// The locators of every sealed value in `doc`.
pub fn sealed_locators(file: &str, doc: &Value) -> Vec<String> {
    sealed_paths(doc).iter().map(|p| locator(file, p)).collect()
}

/// Parses a `file:a.b[2].c` locator (keys escaped as `dotted` writes them) into file and path.
pub fn parse_locator(loc: &str) -> Option<(String, Vec<Seg>)> {
    let (file, field) = loc.split_once(':')?;
    let path = parse_path(field)?;
    (!path.is_empty()).then(|| (file.to_string(), path))
}

/// Sets the value at `path`, creating objects on the way. Fails where an array index is missing.
pub fn set_at(doc: &mut Value, path: &[Seg], value: Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        *doc = value;
        return true;
    };
    let mut cur = doc;
    for seg in parents {
        cur = match seg {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Default::default());
                }
                let Value::Object(m) = cur else { return false };
                m.entry(k.clone())
                    .or_insert(Value::Object(Default::default()))
            }
            Seg::Index(i) => match cur {
                Value::Array(a) if *i < a.len() => &mut a[*i],
                _ => return false,
            },
        };
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => {
            m.insert(k.clone(), value);
            true
        }
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a[*i] = value;
            true
        }
        _ => false,
    }
}

/// The value at `path`, if there is one.
pub fn get_at<'v>(doc: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    lookup(doc, path)
}
