//! `/v1/files/{store path}`. GET reads any store file at `main`, redacted as the MCP resources
//! are (a sealed value or anything credential-shaped reads `<secret>`). PUT, PATCH (a JSON
//! merge patch, RFC 7396) and DELETE change context documents only, `context/<name>.yaml`
//! (checked against schemas/context.schema.json) and Markdown under `context/`, never a file
//! that is applied to Claude's live files. A write is checked as every commit is, refused if it
//! holds a secret, committed with a field-level message naming the API, then synced. The ETag
//! is the file's blob id: `If-Match` makes a read-modify-write safe against a concurrent one.

use serde_json::{json, Value};

use super::error::ApiError;
use super::http::{Reply, Request};
use super::Shared;
use crate::mcp::resources::{self, Contents};
use crate::mcp::tools::to_json;
use crate::repo::Transaction;
use crate::workspace::Workspace;

/// What the commit's trailer says made it.
pub const VIA: &str = "Ctx-Via: api";

/// Answers `/v1/files/{path}`.
pub fn handle(shared: &Shared, r: &Request, path: &str) -> Result<Reply, ApiError> {
    if path.is_empty()
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(ApiError::bad(
            "path",
            format!("`{path}` is not a store path"),
            "name a file as the store has it, e.g. context/preferences.yaml",
        ));
    }
    match r.method.as_str() {
        "GET" => get(shared, path),
        "PUT" | "PATCH" | "DELETE" => write(shared, r, path),
        m => Err(ApiError::http(
            405,
            format!("/v1/files/… does not take {m}"),
            "GET reads a file; PUT, PATCH and DELETE change a context document",
        )),
    }
}

fn get(shared: &Shared, path: &str) -> Result<Reply, ApiError> {
    let ws = Workspace::open(shared.env.clone())?;
    let Some((_, contents)) = resources::read(&ws, path)? else {
        return Err(ApiError::http(
            404,
            format!("the store has no file {path}"),
            "GET /v1/log or ctx's README list what the store holds",
        ));
    };
    let etag = etag(&ws, path).unwrap_or_default();
    let mut body = json!({ "path": path, "etag": etag });
    match contents {
        Contents::Text(t) => {
            if let Some(doc) = parsed(path, &t) {
                body["doc"] = doc;
            }
            body["text"] = json!(t);
        }
        Contents::Blob(b) => body["base64"] = json!(b),
    }
    Ok(Reply::ok(body).with("ETag", &quoted(&etag)))
}

/// A YAML or JSON file's text as a JSON value (what a workflow edits).
fn parsed(path: &str, text: &str) -> Option<Value> {
    match crate::format::Kind::of(path) {
        crate::format::Kind::Yaml => serde_yaml::from_str(text).ok(),
        crate::format::Kind::Json => serde_json::from_str(text).ok(),
        _ => None,
    }
}

fn etag(ws: &Workspace, path: &str) -> Option<String> {
    ws.repo.files.get(path).map(|e| e.oid.to_string())
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// Which context documents the API writes: `context/<name>.yaml`, or Markdown under `context/`.
pub fn writable(path: &str) -> Option<Kind> {
    let rest = path.strip_prefix("context/")?;
    if !rest.contains('/') && rest.len() > ".yaml".len() && rest.ends_with(".yaml") {
        return Some(Kind::Yaml);
    }
    (rest.len() > ".md".len() && rest.ends_with(".md")).then_some(Kind::Markdown)
}

/// A writable document's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `context/<name>.yaml`, a [`crate::model::ContextDoc`].
    Yaml,
    /// Markdown under `context/`.
    Markdown,
}

/// The document `r` asks for, given the current bytes (`None`: absent); `None`: delete it.
fn wanted(
    r: &Request,
    path: &str,
    kind: Kind,
    old: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, ApiError> {
    match (r.method.as_str(), kind) {
        ("DELETE", _) => Ok(None),
        ("PUT", Kind::Yaml) => {
            let doc = r.json()?;
            typed(&doc)?;
            Ok(Some(render(&doc)?))
        }
        ("PUT", Kind::Markdown) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Text {
                text: String,
            }
            let t: Text = r.parse()?;
            Ok(Some(t.text.into_bytes()))
        }
        ("PATCH", Kind::Yaml) => {
            let patch = r.json()?;
            let mut doc: Value = match old {
                Some(b) => serde_yaml::from_slice(b).map_err(|e| {
                    ApiError::http(
                        409,
                        format!("{path} in the store does not parse: {e}"),
                        "PUT a whole document instead",
                    )
                })?,
                None => json!({}),
            };
            merge_patch(&mut doc, &patch);
            typed(&doc)?;
            Ok(Some(render(&doc)?))
        }
        _ => Err(ApiError::http(
            405,
            format!("PATCH edits the fields of a YAML document; {path} is Markdown"),
            "PUT its whole text as {\"text\": \"…\"}",
        )),
    }
}

/// The document checked as JSON against the context schema: YAML would take `1` for the
/// string `"1"`, a client's JSON number is a mistake to name.
fn typed(doc: &Value) -> Result<(), ApiError> {
    if !doc.is_object() {
        return Err(ApiError::bad(
            "body",
            "a context document is a JSON object",
            "send {\"title\": …, \"items\": […]}",
        ));
    }
    serde_path_to_error::deserialize::<_, crate::model::ContextDoc>(doc.clone())
        .map(|_| ())
        .map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { "body".to_string() } else { field };
            ApiError::bad(&field, e.into_inner().to_string(), "fix the document to match schemas/context.schema.json (GET /v1/openapi.json shows it)")
        })
}

fn render(doc: &Value) -> Result<Vec<u8>, ApiError> {
    if !doc.is_object() {
        return Err(ApiError::bad(
            "body",
            "a context document is a JSON object",
            "send {\"title\": …, \"items\": […]}",
        ));
    }
    serde_yaml::to_string(doc)
        .map(String::into_bytes)
        .map_err(|e| ApiError::bad("body", e.to_string(), "send plain JSON values"))
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Checks the new document as a commit would: its schema, and no secret in it.
fn check(path: &str, bytes: &[u8]) -> Result<(), ApiError> {
    if let Err(e) = crate::model::validate(path, bytes) {
        let field = if e.field == "." {
            "body".to_string()
        } else {
            e.field.clone()
        };
        return Err(ApiError::bad(
            &field,
            e.message,
            "fix the document to match schemas/context.schema.json (GET /v1/openapi.json shows it)",
        ));
    }
    let text = String::from_utf8_lossy(bytes);
    if let Some(f) = crate::crypt::detect::scan_text(&text, path).first() {
        return Err(ApiError::bad(
            "body",
            format!("refusing to store a secret: line {} {}", f.line, f.what()),
            "context documents sync in plain text; leave the value out (name where it is kept instead)",
        ));
    }
    Ok(())
}

fn write(shared: &Shared, r: &Request, path: &str) -> Result<Reply, ApiError> {
    let Some(kind) = writable(path) else {
        return Err(ApiError::http(
            403,
            format!("{path} is not a context document; the API changes only context/*.yaml and Markdown under context/"),
            "change Claude's own files on a machine, where ctx captures them",
        ));
    };
    let _lock = super::routes::lock(shared, "files")?;
    let mut ws = Workspace::open(shared.env.clone())?;
    let current = etag(&ws, path);
    if let Some(want) = r.header("if-match") {
        let want = want.trim().trim_matches('"');
        let ok = match &current {
            Some(c) => want == "*" || want == c,
            None => false,
        };
        if !ok {
            return Err(ApiError::http(
                412,
                format!("{path} changed since it was read (If-Match {want})"),
                "GET it again, apply the change to what it holds now, and send it with the new ETag",
            ));
        }
    }
    let old = ws.repo.read(path)?;
    if r.method == "DELETE" && old.is_none()
        || r.method == "PATCH" && old.is_none() && kind == Kind::Markdown
    {
        return Err(ApiError::http(
            404,
            format!("the store has no file {path}"),
            "PUT creates a document",
        ));
    }
    let new = wanted(r, path, kind, old.as_deref())?;
    if let Some(b) = &new {
        check(path, b)?;
    }
    if new == old {
        let body = json!({ "path": path, "etag": current, "commit": null, "change": null });
        return Ok(Reply::ok(body));
    }
    let (commit, change) = commit(&mut ws, path, old.as_deref(), new)?;
    let etag = etag(&ws, path);
    let mut body = json!({ "path": path, "etag": etag, "commit": commit, "change": change });
    body["sync"] = push(&shared.env);
    let reply = Reply::ok(body);
    Ok(match etag {
        Some(e) => reply.with("ETag", &quoted(&e)),
        None => reply,
    })
}

/// Commits `new` at `path` (`None`: deletes it) with the field-level change as the message.
fn commit(
    ws: &mut Workspace,
    path: &str,
    old: Option<&[u8]>,
    new: Option<Vec<u8>>,
) -> Result<(String, String), ApiError> {
    let change = crate::summary::describe(path, old, new.as_deref());
    let mut tx = Transaction::new();
    match new {
        Some(b) => tx.write(path, b, false),
        None => tx.set(path, crate::store::Change::Delete),
    }
    let machine = ws.machine().to_string();
    let subject = format!("{machine} via ctx serve: {change}");
    let mut msg = crate::summary::message(&machine, std::slice::from_ref(&change), Some(&subject));
    msg.push_str(VIA);
    msg.push('\n');
    let id = tx.commit(&mut ws.repo, &msg)?;
    Ok((id.to_string(), change))
}

/// Syncs what was just committed (no capture of live files: the request did not ask for it);
/// a store without a remote, or an unreachable one, keeps the commit for the next sync.
pub fn push(env: &crate::env::Env) -> Value {
    let opts = crate::sync::SyncOptions {
        commit: false,
        ..Default::default()
    };
    match crate::sync::sync(env, opts) {
        Ok(report) => {
            json!({ "synced": true, "pushed": report.pushed, "report": to_json(&report) })
        }
        Err(e) => json!({
            "synced": false,
            "pushed": false,
            "why": e.to_string(),
            "next": "the change is committed in this machine's store; the next sync carries it",
        }),
    }
}
