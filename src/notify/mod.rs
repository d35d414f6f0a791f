//! Outgoing webhooks: ctx.yaml's `notify:` entries, each a sealed URL and HMAC key with the
//! events it wants. After a sync, a conflict, a review decision or a machine change ctx POSTs a
//! JSON event, signed, to each; a delivery that fails waits in a queue file and is tried again
//! after the next event. Nothing here fails or stalls the operation that fired it: every
//! delivery has a bounded timeout and every failure only lands in the log.

/// Adding, listing and removing `notify:` entries.
pub mod hooks;
/// One POST, over plain TCP or `curl` for https, signed with HMAC-SHA256.
pub mod deliver;
/// The events waiting for delivery, and the log.
pub mod queue;

use serde_json::{json, Value};

use crate::env::Env;
use crate::model::NotifyEvent;
use crate::store::ObjectId;
use crate::workspace::Workspace;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Ctx-Signature";
/// The header naming the event.
pub const EVENT_HEADER: &str = "X-Ctx-Event";

/// `main` now, to diff against once the operation is done (`None`: no store, or empty).
pub fn head(env: &Env) -> Option<ObjectId> {
    crate::store::Store::open(&env.store_dir, "ctx")
        .ok()?
        .head()
        .ok()
        .flatten()
}

/// Whether ctx.yaml at `main` has a `notify:` entry.
fn configured(env: &Env) -> bool {
    let Ok(store) = crate::store::Store::open(&env.store_dir, "ctx") else {
        return false;
    };
    let Ok(Some(bytes)) = store
        .head()
        .and_then(|h| store.read(h, crate::layout::MANIFEST))
    else {
        return false;
    };
    crate::model::parse_yaml::<crate::model::Manifest>(crate::layout::MANIFEST, &bytes)
        .is_ok_and(|m| !m.notify.is_empty())
}

/// After a sync: a `conflict` event when it stopped on conflicts, else a `sync` event when it
/// moved anything; a `machine` event for each join request it brought in.
pub fn after_sync(
    env: &Env,
    before: Option<ObjectId>,
    result: &Result<crate::sync::SyncReport, crate::sync::SyncError>,
) {
    let Ok(report) = result else { return };
    // Most stores have no webhooks: one blob read says so, before the workspace is opened.
    if !configured(env) {
        return;
    }
    let Ok(ws) = Workspace::open(env.clone()) else {
        return;
    };
    let mut events = Vec::new();
    let moved = ws.repo.head != before || report.pushed;
    let outcome = to_json(&report.outcome);
    if report.outcome == crate::sync::Outcome::Conflict {
        let conflicts: Vec<Value> = report
            .conflicts
            .iter()
            .map(|c| json!({ "path": c.path, "kind": to_json(&c.kind), "fields": to_json(&c.fields) }))
            .collect();
        let mut e = event(&ws, NotifyEvent::Conflict, before);
        e["conflicts"] = Value::Array(conflicts);
        e["next"] = json!("POST /v1/resolve {path, take: ours|theirs} on a machine running `ctx serve`, or `ctx resolve PATH`");
        events.push(e);
    } else if moved {
        let mut e = event(&ws, NotifyEvent::Sync, before);
        e["outcome"] = outcome;
        e["pushed"] = json!(report.pushed);
        e["applied"] = json!(report.applied);
        events.push(e);
    }
    for name in &report.join_requests {
        let mut e = event(&ws, NotifyEvent::Machine, before);
        e["action"] = json!("join-request");
        e["name"] = json!(name);
        events.push(e);
    }
    send(&ws, events);
}

/// After `ctx review --accept` or `--reject` (`action`).
pub fn after_review(ws: &Workspace, action: &str, files: &[String]) {
    if ws.repo.manifest.notify.is_empty() {
        return;
    }
    let mut e = event(ws, NotifyEvent::Review, ws.repo.head);
    e["action"] = json!(action);
    e["files"] = json!(files);
    send(ws, vec![e]);
}

/// After a machine was approved or revoked (`action`), with the commit it made.
pub fn after_machine(ws: &Workspace, action: &str, name: &str, before: Option<ObjectId>) {
    if ws.repo.manifest.notify.is_empty() {
        return;
    }
    let mut e = event(ws, NotifyEvent::Machine, before);
    e["action"] = json!(action);
    e["name"] = json!(name);
    send(ws, vec![e]);
}

/// The fields every event has: what, who, when, the commit and the files and fields that
/// changed since `before` (field names only, never values).
fn event(ws: &Workspace, what: NotifyEvent, before: Option<ObjectId>) -> Value {
    let changes = changes(ws, before).unwrap_or_default();
    json!({
        "event": to_json(&what),
        "id": deliver::random_hex(12),
        "time": crate::setup::now_rfc3339(),
        "machine": ws.machine(),
        "commit": ws.repo.head.map(|h| h.to_string()),
        "changes": changes,
    })
}

/// `{path, summary}` for each store file that differs between `before` and `main`.
fn changes(ws: &Workspace, before: Option<ObjectId>) -> crate::error::Result<Vec<Value>> {
    if before == ws.repo.head {
        return Ok(Vec::new());
    }
    let store = &ws.repo.store;
    let old = store.files(before)?;
    let new = &ws.repo.files;
    let mut out = Vec::new();
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for p in paths {
        let (a, b) = (old.get(p), new.get(p));
        if a == b {
            continue;
        }
        let blob = |e: Option<&crate::store::Entry>| e.and_then(|e| store.blob(e.oid).ok());
        let (a, b) = (blob(a), blob(b));
        out.push(json!({
            "path": p,
            "summary": crate::summary::describe(p, a.as_deref(), b.as_deref()),
        }));
    }
    Ok(out)
}

/// Queues `events` for each hook that wants them, then delivers the queue.
fn send(ws: &Workspace, events: Vec<Value>) {
    let hooks = hooks::opened(ws);
    let mut q = queue::Queue::load(ws);
    for e in &events {
        let what = e["event"].as_str().unwrap_or_default();
        for h in hooks.iter().filter(|h| h.wants(what, ws.machine())) {
            q.push(&h.id, e.clone());
        }
    }
    q.deliver(ws, &hooks);
}

/// A serialisable value as JSON (these types always serialise).
fn to_json(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}
