//! The per-machine layer. Fields listed under `local:` in ctx.yaml (`settings.json:theme`) keep
//! one value per machine: capture takes them out of the shared file and into this machine's own
//! `machines/<name>/local/<store path>`, apply writes the shared file with this machine's values
//! put back. Nothing merges them, so two machines never conflict over them and neither carries
//! its value to the other; a new machine can start from another's (`ctx apply --local-from`).
//! Also what one machine leaves out (`machines.<name>.exclude`): neither captured nor applied
//! there, deleted nowhere.

use std::path::Path;

use serde_json::{Map, Value};

use crate::format::{self, Kind};
use crate::layout::{under, Source};
use crate::model::Manifest;
use crate::store::Files;

/// The folder of a machine's layer inside its `machines/<name>/` folder.
const LAYER: &str = "local";

/// One machine-local field: the store path of its file and the keys leading to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalField {
    /// Store path of the file (`claude/settings.json`).
    pub file: String,
    /// Keys from the document's root (`["env", "HTTP_PROXY"]`).
    pub keys: Vec<String>,
}

impl LocalField {
    /// Parses `FILE:FIELD` as ctx.yaml writes it: FILE relative to the Claude home (or a store
    /// path), FIELD dotted with `\.` for a dot inside a key. `None` for anything else.
    pub fn parse(entry: &str) -> Option<LocalField> {
        let (file, field) = entry.split_once(':')?;
        let file = file.trim().trim_start_matches("./");
        let file = match file.strip_prefix("~/.claude/") {
            Some(rel) => format!("claude/{rel}"),
            None if file.starts_with("claude/") => file.to_string(),
            None => format!("claude/{file}"),
        };
        let bad_file = file
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
        if bad_file || !matches!(Kind::of(&file), Kind::Json | Kind::Yaml) {
            return None;
        }
        let keys = split_keys(field.trim());
        (!keys.is_empty() && keys.iter().all(|k| !k.is_empty()))
            .then_some(LocalField { file, keys })
    }

    /// The field as `ctx status` names it (`env.HTTP_PROXY`).
    pub fn dotted(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(|k| k.replace('.', "\\.")).collect();
        keys.join(".")
    }
}

/// `a.b\.c` -> `["a", "b.c"]`.
fn split_keys(field: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => keys.push(String::new()),
            c => {
                let c = match c == '\\' && chars.peek() == Some(&'.') {
                    true => chars.next().unwrap_or(c),
                    false => c,
                };
                if let Some(k) = keys.last_mut() {
                    k.push(c);
                }
            }
        }
    }
    keys
}

/// The machine-local fields in force.
#[derive(Debug, Clone, Default)]
pub struct LocalFields(Vec<LocalField>);

impl LocalFields {
    /// The fields ctx.yaml lists (or the built-in list); entries that do not parse are skipped
    /// (`ctx config` refuses them, and the schema check names a hand edit).
    pub fn of(manifest: &Manifest) -> LocalFields {
        let fields = manifest.local_fields();
        LocalFields(fields.iter().filter_map(|f| LocalField::parse(f)).collect())
    }

    /// Whether `file` (a store path) has machine-local fields.
    pub fn has(&self, file: &str) -> bool {
        self.0.iter().any(|f| f.file == file)
    }

    /// The machine-local fields of `file`.
    pub fn fields<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a LocalField> + 'a {
        self.0.iter().filter(move |f| f.file == file)
    }

    /// The store paths of the files with machine-local fields.
    pub fn files(&self) -> std::collections::BTreeSet<&str> {
        self.0.iter().map(|f| f.file.as_str()).collect()
    }

    /// Takes the machine-local fields out of `doc` (a parent left empty by that goes too);
    /// returns whether any was there.
    pub fn strip(&self, file: &str, doc: &mut Value) -> bool {
        let mut any = false;
        for f in self.fields(file) {
            any |= remove(doc, &f.keys).is_some();
        }
        any
    }

    /// Only the machine-local fields of `doc`, in the same shape; `None` when it has none.
    pub fn keep_only(&self, file: &str, doc: &Value) -> Option<Value> {
        let mut out = Value::Object(Map::new());
        for f in self.fields(file) {
            if let Some(v) = get(doc, &f.keys) {
                put(&mut out, &f.keys, v.clone());
            }
        }
        out.as_object()
            .is_some_and(|m| !m.is_empty())
            .then_some(out)
    }

    /// Sets in `doc` every machine-local field of `file` that `from` holds; returns the fields set.
    pub fn copy(&self, file: &str, from: &Value, doc: &mut Value) -> Vec<String> {
        let mut set = Vec::new();
        for f in self.fields(file) {
            if let Some(v) = get(from, &f.keys) {
                put(doc, &f.keys, v.clone());
                set.push(f.dotted());
            }
        }
        set
    }
}

fn get<'a>(doc: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(doc, |v, k| v.as_object()?.get(k))
}

fn put(doc: &mut Value, keys: &[String], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut cur = doc;
    for k in parents {
        let Some(m) = cur.as_object_mut() else {
            // A non-object where the field's parent should be: the person's, left alone.
            return;
        };
        cur = m
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some(m) = cur.as_object_mut() {
        m.insert(last.clone(), value);
    }
}

fn remove(doc: &mut Value, keys: &[String]) -> Option<Value> {
    let (first, rest) = keys.split_first()?;
    let map = doc.as_object_mut()?;
    if rest.is_empty() {
        return map.shift_remove(first);
    }
    let child = map.get_mut(first)?;
    let removed = remove(child, rest)?;
    if child.as_object().is_some_and(|m| m.is_empty()) {
        map.shift_remove(first);
    }
    Some(removed)
}

/// The store path of `machine`'s layer of `file`: `machines/<machine>/local/<file>`.
pub fn layer_path(machine: &str, file: &str) -> String {
    format!("machines/{machine}/{LAYER}/{file}")
}

/// A layer's store path split into (machine, file).
pub fn layer_of(path: &str) -> Option<(&str, &str)> {
    let (machine, rest) = path.strip_prefix("machines/")?.split_once('/')?;
    let file = rest.strip_prefix(LAYER)?.strip_prefix('/')?;
    (!machine.is_empty() && file.starts_with("claude/")).then_some((machine, file))
}

/// The layer files `machine` has in `files`: (layer path, file).
pub fn layers_of<'a>(files: &'a Files, machine: &str) -> Vec<(&'a str, &'a str)> {
    files
        .keys()
        .filter_map(|p| {
            layer_of(p)
                .filter(|(m, _)| *m == machine)
                .map(|(_, f)| (p.as_str(), f))
        })
        .collect()
}

/// Whether `machine` leaves `path` (a store path) out, by `machines.<machine>.exclude`.
pub fn excluded_on(manifest: &Manifest, machine: &str, path: &str) -> bool {
    let rel = path.strip_prefix("claude/");
    manifest.excluded_on(machine).iter().any(|e| {
        let e = e.trim_matches('/');
        under(path, e) || rel.is_some_and(|r| under(r, e))
    })
}

/// The live form of a file about to be written, with this machine's values of its machine-local
/// fields put back: those of the live file as it is, or, where there is no live file yet, those
/// of this machine's layer in `target`. `None` when the file has no machine-local fields.
pub fn restore(
    ws: &crate::workspace::Workspace,
    local: &LocalFields,
    file: &str,
    live_form: &[u8],
    live_now: Option<&Path>,
    target: &Files,
) -> Option<Vec<u8>> {
    if !local.has(file) {
        return None;
    }
    let kind = Kind::of(file);
    let text = std::str::from_utf8(live_form).ok()?;
    let mut doc = format::parse_doc(kind, text)?;
    let live_path = live_now
        .map(Path::to_path_buf)
        .or_else(|| crate::layout::live_location(&ws.env, file).map(|(p, _)| p));
    let from = match live_path.and_then(|p| std::fs::read(p).ok()) {
        Some(raw) => format::parse_doc(kind, &String::from_utf8_lossy(&raw))?,
        None => layer_doc(ws, target, ws.machine(), file)?,
    };
    local.copy(file, &from, &mut doc);
    Some(format::render_doc(kind, &doc, text))
}

/// `machine`'s layer of `file` in `files`, in live form (secrets this machine can open opened,
/// home paths restored), with the fields it could not open.
fn layer_doc(
    ws: &crate::workspace::Workspace,
    files: &Files,
    machine: &str,
    file: &str,
) -> Option<Value> {
    let entry = files.get(&layer_path(machine, file))?;
    let stored = ws.repo.store.blob(entry.oid).ok()?;
    let form = ws.codec().to_live(file, &Source::Whole, &stored, None);
    format::parse_doc(Kind::of(file), &String::from_utf8_lossy(&form.bytes))
}

/// What `ctx apply --local-from` took from another machine.
#[derive(Debug, Default, serde::Serialize)]
pub struct Adopted {
    /// The machine the values came from.
    pub from: String,
    /// Per live file (as shown), the fields set.
    pub files: Vec<(String, Vec<String>)>,
    /// Fields sealed for machines this one is not yet among (`ctx machine approve` on another
    /// machine): left as they were here.
    pub unreadable: Vec<String>,
}

/// Why `--local-from` took nothing.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The machine has no layer in the store.
    #[error("machine `{0}` has no machine-local values in the store")]
    NoLayer(String),
    /// A live file that does not parse: its fields are not set into it.
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    /// Reading the store or writing a live file failed.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
}

/// Writes `from`'s values of the machine-local fields into this machine's live files (the
/// next commit records them as this machine's own).
pub fn adopt(ws: &crate::workspace::Workspace, from: &str) -> Result<Adopted, LocalError> {
    let head = &ws.repo.files;
    let layers = layers_of(head, from);
    if layers.is_empty() {
        return Err(LocalError::NoLayer(from.to_string()));
    }
    let local = LocalFields::of(&ws.repo.manifest);
    let mut out = Adopted {
        from: from.to_string(),
        ..Default::default()
    };
    for (layer, file) in layers {
        let Some((live, Source::Whole)) = crate::layout::live_location(&ws.env, file) else {
            continue;
        };
        if !local.has(file) || excluded_on(&ws.repo.manifest, ws.machine(), file) {
            continue;
        }
        let stored = ws
            .repo
            .store
            .blob(head[layer].oid)
            .map_err(crate::error::Error::from)?;
        let form = ws.codec().to_live(file, &Source::Whole, &stored, None);
        out.unreadable.extend(form.unreadable.iter().cloned());
        let kind = Kind::of(file);
        let Some(mut theirs) = format::parse_doc(kind, &String::from_utf8_lossy(&form.bytes))
        else {
            continue;
        };
        for missed in &form.unreadable {
            // A sealed value this machine cannot open stays as it is here.
            if let Some(f) = local.fields(file).find(|f| missed.ends_with(&f.dotted())) {
                remove(&mut theirs, &f.keys);
            }
        }
        let display = ws.env.display(&live);
        let text = match std::fs::read(&live) {
            Ok(raw) => String::from_utf8_lossy(&raw).to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "{}\n".to_string(),
            Err(e) => return Err(crate::error::io(&live)(e).into()),
        };
        let mut doc = match kind {
            Kind::Yaml => format::parse_yaml(&display, &text, 0)?,
            _ => format::parse_json(&display, &text)?,
        };
        let set = local.copy(file, &theirs, &mut doc);
        if set.is_empty() {
            continue;
        }
        let bytes = format::render_doc(kind, &doc, &text);
        let mode = crate::fsx::mode_for(&live, false, true);
        if let Some(dir) = live.parent() {
            std::fs::create_dir_all(dir).map_err(crate::error::io(dir))?;
        }
        crate::fsx::replace(&live, &bytes, mode).map_err(crate::error::io(&live))?;
        out.files.push((display, set));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[&str]) -> LocalFields {
        let m = Manifest {
            local: Some(list.iter().map(|s| s.to_string()).collect()),
            ..Manifest::default()
        };
        LocalFields::of(&m)
    }

    #[test]
    fn entries_name_a_file_under_the_claude_home_and_a_dotted_field() {
        let f = LocalField::parse("settings.json:env.HTTP_PROXY");
        assert_eq!(
            f,
            Some(LocalField {
                file: "claude/settings.json".into(),
                keys: vec!["env".into(), "HTTP_PROXY".into()],
            })
        );
        let dotted = LocalField::parse(r"claude/settings.json:a\.b.c").map(|f| f.keys);
        assert_eq!(dotted, Some(vec!["a.b".to_string(), "c".to_string()]));
        for bad in [
            "settings.json",
            "CLAUDE.md:x",
            "../x.json:a",
            "settings.json:",
            "s.json:a..b",
        ] {
            assert_eq!(LocalField::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn strip_takes_the_fields_out_and_copy_puts_them_back() {
        let local = fields(&["settings.json:theme", "settings.json:env.HTTP_PROXY"]);
        let file = "claude/settings.json";
        let live: Value = serde_json::json!({
            "model": "opus", "theme": "dark", "env": {"HTTP_PROXY": "http://p:3128"}
        });
        let mut shared = live.clone();
        assert!(local.strip(file, &mut shared));
        assert_eq!(shared, serde_json::json!({"model": "opus"}));
        let layer = local.keep_only(file, &live);
        let want = serde_json::json!({"theme": "dark", "env": {"HTTP_PROXY": "http://p:3128"}});
        assert_eq!(layer.as_ref(), Some(&want));
        let set = local.copy(file, &want, &mut shared);
        assert_eq!(set, vec!["theme".to_string(), "env.HTTP_PROXY".to_string()]);
        assert_eq!(shared["theme"], "dark");
        assert_eq!(shared["env"]["HTTP_PROXY"], "http://p:3128");
        assert_eq!(
            local.keep_only(file, &serde_json::json!({"model": "x"})),
            None
        );
    }

    #[test]
    fn layer_paths_sit_in_the_machines_own_folder() {
        let p = layer_path("laptop", "claude/settings.json");
        assert_eq!(p, "machines/laptop/local/claude/settings.json");
        assert_eq!(layer_of(&p), Some(("laptop", "claude/settings.json")));
        assert_eq!(layer_of("machines/laptop.yaml"), None);
    }

    #[test]
    fn a_machine_exclude_names_paths_under_the_claude_home_or_store_paths() {
        let mut m = Manifest::default();
        m.machines.insert(
            "server".into(),
            crate::model::MachineConfig {
                exclude: vec!["skills/big".into(), "projects/p/memory".into()],
            },
        );
        assert!(excluded_on(&m, "server", "claude/skills/big/SKILL.md"));
        assert!(excluded_on(&m, "server", "projects/p/memory/MEMORY.md"));
        assert!(!excluded_on(&m, "server", "claude/skills/bigger/SKILL.md"));
        assert!(!excluded_on(&m, "laptop", "claude/skills/big/SKILL.md"));
    }
}
