//! Sealing and opening the secret fields of a parsed JSON/YAML document.

use serde_json::Value;

use super::rules::{dotted, token_kind, Rules, Seg};
use super::{is_encrypted, open, seal, CryptError, Identity, Recipients};

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

impl Sealer<'_> {
    /// Encrypts every secret string of `doc` in place; an unchanged value keeps the ciphertext it
    /// has in `old` (the stored version), so history does not churn. Returns how many were sealed.
    pub fn seal_doc(
        &self,
        file: &str,
        doc: &mut Value,
        old: Option<&Value>,
    ) -> Result<usize, CryptError> {
        let mut path = Vec::new();
        let mut count = 0;
        self.walk(file, doc, old, &mut path, &mut count)?;
        Ok(count)
    }

    fn walk(
        &self,
        file: &str,
        v: &mut Value,
        old: Option<&Value>,
        path: &mut Vec<Seg>,
        count: &mut usize,
    ) -> Result<(), CryptError> {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(Seg::Key(k.clone()));
                    self.walk(file, child, old, path, count)?;
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    self.walk(file, child, old, path, count)?;
                    path.pop();
                }
            }
            Value::String(s) => {
                if is_encrypted(s) {
                    return Ok(());
                }
                let loc = locator(file, path);
                let prev = old
                    .and_then(|o| lookup(o, path))
                    .and_then(|p| p.as_str())
                    .filter(|p| is_encrypted(p));
                let opened = prev.map(|p| self.identity.map(|id| open(p, &loc, id)));
                if let (Some(p), Some(None) | Some(Some(Err(_)))) = (prev, &opened) {
                    // A secret this machine cannot read: apply left its own value (or nothing)
                    // there, so the live value says nothing about the secret. It stays as stored.
                    *s = p.to_string();
                    *count += 1;
                    return Ok(());
                }
                if is_reference(s) || s.is_empty() {
                    return Ok(());
                }
                if self.rules.is_secret_field(file, path) || token_kind(s).is_some() {
                    *s = match (prev, opened) {
                        (Some(p), Some(Some(Ok(plain)))) if plain == *s => p.to_string(),
                        _ => seal(s, &loc, self.recipients)?,
                    };
                    *count += 1;
                }
            }
            _ => {}
        }
        Ok(())
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
    for loc in sealed_locators(file, old) {
        let Some((_, path)) = parse_locator(&loc) else {
            continue;
        };
        let Some(Seg::Key(key)) = path.last() else {
            continue;
        };
        let Some(ct) = lookup(old, &path).and_then(|v| v.as_str()) else {
            continue;
        };
        if identity.is_some_and(|id| open(ct, &loc, id).is_ok()) {
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

/// Decrypts the sealed strings of `doc` that this machine can open. One it cannot open (no key,
/// or a key that is not among its recipients) takes the value the live file has there, or, if the
/// live file has none, is left out: ciphertext never reaches a live config. Returns the locators
/// that could not be opened.
pub fn open_doc_lenient(
    file: &str,
    doc: &mut Value,
    id: Option<&Identity>,
    live: Option<&Value>,
) -> Vec<String> {
    let mut unreadable = Vec::new();
    for loc in sealed_locators(file, doc) {
        let Some((_, path)) = parse_locator(&loc) else {
            continue;
        };
        let Some(ct) = lookup(doc, &path)
            .and_then(|v| v.as_str())
            .map(String::from)
        else {
            continue;
        };
        let plain = id.and_then(|id| open(&ct, &loc, id).ok());
        let replacement = match plain {
            Some(p) => Some(Value::String(p)),
            None => {
                unreadable.push(loc.clone());
                live.and_then(|l| lookup(l, &path))
                    .filter(|v| !v.as_str().is_some_and(is_encrypted))
                    .cloned()
            }
        };
        match replacement {
            Some(v) => {
                set_at(doc, &path, v);
            }
            None => remove_at(doc, &path),
        }
    }
    unreadable
}

fn remove_at(doc: &mut Value, path: &[Seg]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    match (last, lookup_mut(doc, parent)) {
        (Seg::Key(k), Some(Value::Object(m))) => {
            m.shift_remove(k);
        }
        // Removing an element would shift its siblings' locators; an empty string keeps them.
        (Seg::Index(i), Some(Value::Array(a))) => {
            if let Some(v) = a.get_mut(*i) {
                *v = Value::String(String::new());
            }
        }
        _ => {}
    }
}

/// A value that only names an environment variable (`${VAR}`, `${VAR:-x}`): not itself a secret.
fn is_reference(s: &str) -> bool {
    s.starts_with("${") && s.ends_with('}') && !s[2..s.len() - 1].contains("${")
}

/// Decrypts every sealed string of `doc` in place. Returns how many were opened.
pub fn open_doc(file: &str, doc: &mut Value, id: &Identity) -> Result<usize, CryptError> {
    fn walk(
        file: &str,
        v: &mut Value,
        id: &Identity,
        path: &mut Vec<Seg>,
        n: &mut usize,
    ) -> Result<(), CryptError> {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(Seg::Key(k.clone()));
                    walk(file, child, id, path, n)?;
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    walk(file, child, id, path, n)?;
                    path.pop();
                }
            }
            Value::String(s) if is_encrypted(s) => {
                *s = open(s, &locator(file, path), id)?;
                *n += 1;
            }
            _ => {}
        }
        Ok(())
    }
    let mut n = 0;
    walk(file, doc, id, &mut Vec::new(), &mut n)?;
    Ok(n)
}

/// The locators of every sealed value in `doc`.
pub fn sealed_locators(file: &str, doc: &Value) -> Vec<String> {
    fn walk(file: &str, v: &Value, path: &mut Vec<Seg>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(Seg::Key(k.clone()));
                    walk(file, child, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(file, child, path, out);
                    path.pop();
                }
            }
            Value::String(s) if is_encrypted(s) => out.push(locator(file, path)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(file, doc, &mut Vec::new(), &mut out);
    out
}

/// Parses a `file:a.b[2].c` locator into the file and its path.
pub fn parse_locator(loc: &str) -> Option<(String, Vec<Seg>)> {
    let (file, field) = loc.split_once(':')?;
    let mut path = Vec::new();
    for part in field.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            path.push(Seg::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            path.push(Seg::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        }
    }
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
