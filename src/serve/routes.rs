//! The endpoints under `/v1/`: each one library call, the same the CLI's `--json` and the MCP
//! tools make. [`ROUTES`] lists them; the OpenAPI document is tested against it.

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::http::{Reply, Request};
use super::Shared;
use crate::lock::Lock;
use crate::mcp::tools::{self, to_json, LogArgs, SessionsArgs};
use crate::workspace::Workspace;

/// Every (method, path) the API answers; `{path}` is a store path.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/status"),
    ("GET", "/v1/log"),
    ("GET", "/v1/machines"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/sessions"),
    ("GET", "/v1/review"),
    ("POST", "/v1/review"),
    ("POST", "/v1/sync"),
    ("POST", "/v1/resolve"),
    ("GET", "/v1/files/{path}"),
    ("PUT", "/v1/files/{path}"),
    ("PATCH", "/v1/files/{path}"),
    ("DELETE", "/v1/files/{path}"),
    ("GET", "/v1/openapi.json"),
];

/// The store's lock for a writing request, waiting at most the configured time; `None` before
/// the store exists (opening the workspace then reports it).
pub fn lock(shared: &Shared, what: &str) -> Result<Option<Lock>, ApiError> {
    let env = &shared.env;
    if !env.store_dir.join("HEAD").exists() {
        return Ok(None);
    }
    let what = format!("serve {what}");
    Ok(Some(Lock::acquire(
        &env.state_dir(),
        &what,
        shared.opts.lock_wait,
    )?))
}

/// Answers one authenticated request.
pub fn route(shared: &Shared, r: &Request) -> Result<Reply, ApiError> {
    let env = &shared.env;
    if let Some(path) = r.path.strip_prefix("/v1/files/") {
        return super::files::handle(shared, r, path);
    }
    let known = ROUTES.iter().any(|(_, p)| *p == r.path);
    let body = match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/status") => tools::status(env)?,
        ("GET", "/v1/log") => log(shared, r)?,
        ("GET", "/v1/machines") => machines(shared)?,
        ("GET", "/v1/projects") => tools::projects(env)?,
        ("GET", "/v1/sessions") => tools::sessions(env, SessionsArgs::default())?,
        ("GET", "/v1/review") => pending(shared)?,
        ("POST", "/v1/review") => review(shared, r)?,
        ("POST", "/v1/sync") => sync(shared, r)?,
        ("POST", "/v1/resolve") => resolve(shared, r)?,
        ("GET", "/v1/openapi.json") => serde_json::from_str(super::OPENAPI).unwrap_or(Value::Null),
        _ if known => {
            return Err(ApiError::http(
                405,
                format!("{} does not take {}", r.path, r.method),
                "GET /v1/openapi.json lists each endpoint's methods",
            ))
        }
        _ => return Err(ApiError::not_found(&r.path)),
    };
    Ok(Reply::ok(body))
}

fn log(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let n = match r.param("n") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            ApiError::bad(
                "n",
                format!("`{v}` is not a count"),
                "give how many commits, e.g. n=20",
            )
        })?),
    };
    let args = LogArgs {
        path: r.param("path").filter(|p| !p.is_empty()).map(String::from),
        n,
    };
    Ok(tools::log(&shared.env, args)?)
}

fn machines(shared: &Shared) -> Result<Value, ApiError> {
    let ws = Workspace::open(shared.env.clone())?;
    let list = crate::machines::list(&ws)?;
    Ok(json!({ "machine": ws.machine(), "machines": to_json(&list) }))
}

fn pending(shared: &Shared) -> Result<Value, ApiError> {
    let ws = Workspace::open(shared.env.clone())?;
    let list = crate::review::pending(&ws);
    Ok(json!({ "held": to_json(&list) }))
}

/// The body of `POST /v1/review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    /// `accept` or `reject`.
    action: ReviewAction,
    /// The held files (store or live paths); empty: every pending one.
    #[serde(default)]
    paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ReviewAction {
    Accept,
    Reject,
}

fn review(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let b: ReviewBody = r.parse()?;
    let _lock = lock(shared, "review")?;
    let ws = Workspace::open(shared.env.clone())?;
    let done = match b.action {
        ReviewAction::Accept => crate::review::accept(&ws, &b.paths)?,
        ReviewAction::Reject => crate::review::reject(&ws, &b.paths)?,
    };
    Ok(to_json(&done))
}

/// The body of `POST /v1/sync`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    /// Push the result (default true).
    push: Option<bool>,
}

fn sync(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let b: SyncBody = r.parse()?;
    let _lock = lock(shared, "sync")?;
    let opts = crate::sync::SyncOptions {
        push: b.push.unwrap_or(true),
        ..Default::default()
    };
    Ok(to_json(&crate::sync::sync(&shared.env, opts)?))
}

/// The body of `POST /v1/resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// The file in conflict, as the `conflict` event names it.
    path: String,
    /// Whose version to keep.
    take: Take,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Take {
    Ours,
    Theirs,
}

/// Settles a conflict with one side, then syncs so the other machines get the result.
fn resolve(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let b: ResolveBody = r.parse()?;
    let _lock = lock(shared, "resolve")?;
    let mut ws = Workspace::open(shared.env.clone())?;
    let how = match b.take {
        Take::Ours => crate::sync::Resolution::Ours,
        Take::Theirs => crate::sync::Resolution::Theirs,
    };
    let report = crate::sync::resolve(&mut ws, &b.path, how)?;
    let mut out = json!({ "resolve": to_json(&report) });
    if report.remaining.is_empty() {
        out["sync"] = super::files::push(&shared.env);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openapi() -> Value {
        serde_json::from_str(crate::serve::OPENAPI).unwrap_or(Value::Null)
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc = openapi();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "put", "post", "patch", "delete"] {
                if item.get(method).is_some() {
                    documented.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        documented.sort();
        routes.sort();
        assert_eq!(documented, routes);
    }

    #[test]
    fn the_openapi_context_document_is_the_stores_schema() {
        let doc = openapi();
        let schemas = &doc["components"]["schemas"];
        let mut want: Value = serde_json::to_value(schemars::schema_for!(crate::model::ContextDoc))
            .unwrap_or(Value::Null);
        let kind = want["$defs"]["ContextKind"].clone();
        if let Some(o) = want.as_object_mut() {
            for k in ["$defs", "$schema", "title"] {
                o.remove(k);
            }
        }
        want["properties"]["kind"]["$ref"] = "#/components/schemas/ContextKind".into();
        assert_eq!(schemas["ContextDoc"], want);
        assert_eq!(schemas["ContextKind"], kind);
    }

    #[test]
    fn every_documented_ref_resolves() {
        let text = crate::serve::OPENAPI;
        let doc = openapi();
        for part in text.split("\"$ref\": \"#/").skip(1) {
            let pointer = part.split('"').next().unwrap_or_default();
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "unresolved $ref #/{pointer}"
            );
        }
    }
}
