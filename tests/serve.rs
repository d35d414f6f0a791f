//! `ctx serve` over real HTTP on 127.0.0.1: every endpoint, the token, bad bodies, schema
//! failures, concurrent writers, the lock's 503, and secrets never returned in plaintext.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::http::{request as raw, serve, Resp, Server};
use common::{Machine, Remote, FIXTURE_SECRETS};
use serde_json::{json, Value};

/// A request over a plain TCP connection, as a workflow tool would send it.
fn call(
    s: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let auth = format!("Bearer {}", s.token);
    let mut all: Vec<(&str, &str)> = vec![("Authorization", &auth)];
    all.extend_from_slice(headers);
    let body = body.map(|b| b.to_string());
    raw(
        s.port,
        method,
        path,
        body.as_deref().map(str::as_bytes),
        &all,
    )
}

/// m1 with the fixture home, committed and pushed to a remote.
fn machine() -> (Remote, Machine) {
    let remote = Remote::new();
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m.ok(&["commit"]);
    m.ok(&["sync"]);
    (remote, m)
}

fn prefs() -> Value {
    json!({ "title": "How I work", "kind": "preferences", "items": ["small commits"] })
}

#[test]
fn every_read_endpoint_answers_json_and_needs_the_token() {
    let (_remote, m) = machine();
    let s = serve(&m, &[]);
    let status = call(&s, "GET", "/v1/status", None, &[]);
    assert_eq!(status.status, 200, "{}", status.raw);
    assert_eq!(status.body["machine"], "m1");
    assert_eq!(status.body["approved"], true);
    let log = call(&s, "GET", "/v1/log?n=1", None, &[]);
    assert_eq!(log.status, 200, "{}", log.raw);
    assert_eq!(log.body.as_array().map(Vec::len), Some(1), "{}", log.raw);
    let log = call(&s, "GET", "/v1/log?path=settings.json&n=5", None, &[]);
    assert!(log.body[0]["summary"].is_string(), "{}", log.raw);
    let machines = call(&s, "GET", "/v1/machines", None, &[]);
    assert_eq!(
        machines.body["machines"][0]["name"], "m1",
        "{}",
        machines.raw
    );
    assert_eq!(machines.body["machines"][0]["can_read_secrets"], true);
    let projects = call(&s, "GET", "/v1/projects", None, &[]);
    assert!(projects.body["projects"].is_array(), "{}", projects.raw);
    let sessions = call(&s, "GET", "/v1/sessions", None, &[]);
    assert!(sessions.body["sessions"].is_array(), "{}", sessions.raw);
    let review = call(&s, "GET", "/v1/review", None, &[]);
    assert_eq!(review.body["held"], json!([]), "{}", review.raw);
    let api = call(&s, "GET", "/v1/openapi.json", None, &[]);
    assert_eq!(api.body["openapi"], "3.1.0");

    // No token, a wrong one, another scheme: 401 everywhere, with what to do.
    for path in [
        "/v1/status",
        "/v1/files/ctx.yaml",
        "/v1/sync",
        "/v1/nothing",
    ] {
        let none = raw(s.port, "GET", path, None, &[]);
        assert_eq!(none.status, 401, "{path}: {}", none.raw);
        assert!(none.body["hint"].as_str().unwrap().contains("Bearer"));
        let wrong = raw(s.port, "GET", path, None, &[("Authorization", "Bearer 00")]);
        assert_eq!(wrong.status, 401, "{path}");
        let basic = format!("Basic {}", s.token);
        let other = raw(s.port, "GET", path, None, &[("Authorization", &basic)]);
        assert_eq!(other.status, 401, "{path}");
    }
    let unknown = call(&s, "GET", "/v1/nothing", None, &[]);
    assert_eq!(unknown.status, 404);
    let method = call(&s, "DELETE", "/v1/status", None, &[]);
    assert_eq!(method.status, 405);
    let bad_n = call(&s, "GET", "/v1/log?n=many", None, &[]);
    assert_eq!(
        (bad_n.status, bad_n.body["field"].as_str()),
        (400, Some("n"))
    );

    // A new token replaces the old one at once.
    let new = m.ok(&["serve", "--token", "new"]).trim().to_string();
    assert_eq!(call(&s, "GET", "/v1/status", None, &[]).status, 401);
    let mut s = s;
    s.token = new;
    assert_eq!(call(&s, "GET", "/v1/status", None, &[]).status, 200);
}

#[test]
fn a_context_document_is_created_patched_and_deleted_with_field_level_commits() {
    let (remote, m) = machine();
    let s = serve(&m, &[]);
    let put = call(
        &s,
        "PUT",
        "/v1/files/context/prefs.yaml",
        Some(&prefs()),
        &[],
    );
    assert_eq!(put.status, 200, "{}", put.raw);
    assert_eq!(put.body["sync"]["pushed"], true, "{}", put.raw);
    assert_eq!(remote.head(), Some(m.head()), "pushed");
    let subject = m.git(&["log", "-1", "--format=%B", "main"]);
    assert!(
        subject.starts_with("m1 via ctx serve: +context/prefs.yaml"),
        "{subject}"
    );
    assert!(subject.contains("Ctx-Via: api"), "{subject}");

    let got = call(&s, "GET", "/v1/files/context/prefs.yaml", None, &[]);
    assert_eq!(got.status, 200, "{}", got.raw);
    assert_eq!(got.body["doc"]["items"], json!(["small commits"]));
    let etag = got.body["etag"].as_str().unwrap().to_string();
    assert_eq!(got.header("etag"), Some(format!("\"{etag}\"").as_str()));

    let patch = json!({ "items": ["small commits", "tests first"], "tags": ["work"] });
    let patched = call(
        &s,
        "PATCH",
        "/v1/files/context/prefs.yaml",
        Some(&patch),
        &[("If-Match", &etag)],
    );
    assert_eq!(patched.status, 200, "{}", patched.raw);
    let message = m.git(&["log", "-1", "--format=%s", "main"]);
    assert!(
        message.contains("context/prefs.yaml items +1, +tags"),
        "{message}"
    );
    // The old ETag is stale now: a write based on it is refused, nothing committed.
    let head = m.head();
    let stale = call(
        &s,
        "PATCH",
        "/v1/files/context/prefs.yaml",
        Some(&json!({"title": "x"})),
        &[("If-Match", &etag)],
    );
    assert_eq!(stale.status, 412, "{}", stale.raw);
    assert_eq!(m.head(), head);
    // Same content again: no commit.
    let same = call(
        &s,
        "PATCH",
        "/v1/files/context/prefs.yaml",
        Some(&patch),
        &[],
    );
    assert_eq!(
        (same.status, &same.body["commit"]),
        (200, &Value::Null),
        "{}",
        same.raw
    );
    // `null` removes a key.
    let removed = call(
        &s,
        "PATCH",
        "/v1/files/context/prefs.yaml",
        Some(&json!({"tags": null})),
        &[],
    );
    assert_eq!(removed.status, 200, "{}", removed.raw);
    let text = m.git(&["show", "main:context/prefs.yaml"]);
    assert!(
        !text.contains("tags") && text.contains("tests first"),
        "{text}"
    );

    let md = call(
        &s,
        "PUT",
        "/v1/files/context/notes/ideas.md",
        Some(&json!({"text": "# Ideas\n"})),
        &[],
    );
    assert_eq!(md.status, 200, "{}", md.raw);
    assert_eq!(m.git(&["show", "main:context/notes/ideas.md"]), "# Ideas\n");
    let md_patch = call(
        &s,
        "PATCH",
        "/v1/files/context/notes/ideas.md",
        Some(&json!({"x": 1})),
        &[],
    );
    assert_eq!(md_patch.status, 405, "{}", md_patch.raw);

    let del = call(&s, "DELETE", "/v1/files/context/prefs.yaml", None, &[]);
    assert_eq!(del.status, 200, "{}", del.raw);
    assert!(m
        .git(&["log", "-1", "--format=%s", "main"])
        .contains("-context/prefs.yaml"));
    assert_eq!(
        call(&s, "GET", "/v1/files/context/prefs.yaml", None, &[]).status,
        404
    );
    assert_eq!(
        call(&s, "DELETE", "/v1/files/context/prefs.yaml", None, &[]).status,
        404
    );
    assert_eq!(remote.head(), Some(m.head()), "every write pushed");
}

#[test]
fn bad_bodies_name_the_field_and_commit_nothing() {
    let (_remote, m) = machine();
    let s = serve(&m, &[]);
    let head = m.head();
    let path = "/v1/files/context/prefs.yaml";
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "kind": "preferences" }), "missing field `title`"),
        (json!({ "title": "t", "kind": "wishes" }), "kind"),
        (json!({ "title": "t", "items": [1] }), "items[0]"),
        (json!({ "title": "t", "colour": "blue" }), "colour"),
        (json!(["not", "an", "object"]), "body"),
    ];
    for (body, named) in cases {
        let r = call(&s, "PUT", path, Some(&body), &[]);
        assert_eq!(r.status, 400, "{body}: {}", r.raw);
        let said = format!("{} {}", r.body["field"], r.body["error"]);
        assert!(said.contains(named), "{body}: {said}");
        assert!(r.body["hint"].is_string());
    }
    let not_json = raw(
        s.port,
        "PUT",
        path,
        Some(b"{title: "),
        &[("Authorization", &format!("Bearer {}", s.token))],
    );
    assert_eq!(
        (not_json.status, not_json.body["field"].as_str()),
        (400, Some("body"))
    );
    // A patch that breaks the schema is refused the same way.
    assert_eq!(call(&s, "PUT", path, Some(&prefs()), &[]).status, 200);
    let head_after_put = m.head();
    let r = call(&s, "PATCH", path, Some(&json!({ "title": null })), &[]);
    assert_eq!(r.status, 400, "{}", r.raw);
    assert_eq!(m.head(), head_after_put, "nothing committed");
    assert_ne!(head, head_after_put);
    // Bodies of the other endpoints.
    let review = call(
        &s,
        "POST",
        "/v1/review",
        Some(&json!({ "action": "maybe" })),
        &[],
    );
    assert_eq!(
        (review.status, review.body["field"].as_str()),
        (400, Some("action")),
        "{}",
        review.raw
    );
    let sync = call(&s, "POST", "/v1/sync", Some(&json!({ "push": "yes" })), &[]);
    assert_eq!(
        (sync.status, sync.body["field"].as_str()),
        (400, Some("push")),
        "{}",
        sync.raw
    );
    let resolve = call(
        &s,
        "POST",
        "/v1/resolve",
        Some(&json!({ "path": "settings.json" })),
        &[],
    );
    assert!(
        resolve.body["error"].as_str().unwrap().contains("take"),
        "{}",
        resolve.raw
    );
    // Too large.
    let big = json!({ "title": "x".repeat(2 * 1024 * 1024) });
    assert_eq!(call(&s, "PUT", path, Some(&big), &[]).status, 413);
    // Not a context document: Claude's own files are never written through the API.
    for p in [
        "claude/settings.json",
        "ctx.yaml",
        "machines/m1.yaml",
        "context/../ctx.yaml",
        "context/a/b.yaml",
    ] {
        let r = call(&s, "PUT", &format!("/v1/files/{p}"), Some(&prefs()), &[]);
        assert!(r.status == 403 || r.status == 400, "{p}: {}", r.raw);
    }
    assert_eq!(m.head(), head_after_put, "nothing committed");
}

#[test]
fn secrets_are_never_returned_or_stored_in_plaintext() {
    let (_remote, m) = machine();
    let s = serve(&m, &[]);
    let mut seen = String::new();
    for p in [
        "claude/mcp.json",
        "claude/settings.json",
        "desktop/mcp.json",
    ] {
        let r = call(&s, "GET", &format!("/v1/files/{p}"), None, &[]);
        assert_eq!(r.status, 200, "{p}: {}", r.raw);
        if p.ends_with("mcp.json") {
            assert!(r.raw.contains("<secret>"), "{p}: {}", r.raw);
        }
        seen.push_str(&r.raw);
    }
    seen.push_str(&call(&s, "GET", "/v1/status", None, &[]).raw);
    seen.push_str(&call(&s, "GET", "/v1/log?n=50", None, &[]).raw);
    for secret in FIXTURE_SECRETS {
        assert!(!seen.contains(secret), "the API returned {secret}");
    }
    let head = m.head();
    let leaky = json!({ "title": "t", "items": [format!("token {}", FIXTURE_SECRETS[0])] });
    let r = call(&s, "PUT", "/v1/files/context/leak.yaml", Some(&leaky), &[]);
    assert_eq!(r.status, 400, "{}", r.raw);
    assert!(
        r.body["error"].as_str().unwrap().contains("secret"),
        "{}",
        r.raw
    );
    assert!(!r.raw.contains(FIXTURE_SECRETS[0]));
    assert_eq!(m.head(), head);
}

#[test]
fn concurrent_writers_lose_no_update() {
    let (_remote, m) = machine();
    let s = serve(&m, &["--lock-wait", "60"]);
    let path = "/v1/files/context/log.yaml";
    assert_eq!(
        call(&s, "PUT", path, Some(&json!({"title": "log"})), &[]).status,
        200
    );
    // Read-modify-write with If-Match, retried on 412: every writer's item lands.
    std::thread::scope(|scope| {
        for w in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..3 {
                    let item = format!("w{w}-{i}");
                    loop {
                        let got = call(s, "GET", path, None, &[]);
                        let etag = got.body["etag"].as_str().unwrap().to_string();
                        let mut items = got.body["doc"]["items"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        items.push(json!(item));
                        let r = call(
                            s,
                            "PATCH",
                            path,
                            Some(&json!({ "items": items })),
                            &[("If-Match", &etag)],
                        );
                        match r.status {
                            200 => break,
                            412 => continue,
                            other => panic!("{other}: {}", r.raw),
                        }
                    }
                }
            });
        }
        // Field patches without If-Match, each to its own field, also all land.
        let s = &s;
        scope.spawn(move || {
            let r = call(s, "PATCH", path, Some(&json!({ "body": "written" })), &[]);
            assert_eq!(r.status, 200, "{}", r.raw);
        });
        scope.spawn(move || {
            let r = call(s, "PATCH", path, Some(&json!({ "tags": ["t"] })), &[]);
            assert_eq!(r.status, 200, "{}", r.raw);
        });
    });
    let got = call(&s, "GET", path, None, &[]);
    let items = got.body["doc"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 12, "{}", got.raw);
    for w in 0..4 {
        for i in 0..3 {
            assert!(
                items.contains(&json!(format!("w{w}-{i}"))),
                "w{w}-{i} lost: {}",
                got.raw
            );
        }
    }
    assert_eq!(got.body["doc"]["body"], "written");
    assert_eq!(got.body["doc"]["tags"], json!(["t"]));
}

#[test]
fn a_busy_store_answers_503_with_retry_after() {
    let (_remote, m) = machine();
    let s = serve(&m, &["--lock-wait", "0.2"]);
    // Another process (a hook, `ctx watch`) holds the store's lock: flock(1) takes the same
    // advisory lock ctx does, in a process of its own (a lock taken in this test process would
    // leak into every child the other tests start).
    let lock = m.store().join("ctx/lock");
    let mut held = std::process::Command::new("flock")
        .arg("-x")
        .arg(&lock)
        .args(["-c", "echo locked; read _"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock (util-linux) is installed");
    let mut line = String::new();
    BufReader::new(held.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let head = m.head();
    let r = call(
        &s,
        "PUT",
        "/v1/files/context/prefs.yaml",
        Some(&prefs()),
        &[],
    );
    assert_eq!(r.status, 503, "{}", r.raw);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("another ctx process"),
        "{}",
        r.raw
    );
    assert_eq!(call(&s, "POST", "/v1/sync", None, &[]).status, 503);
    // Reads do not wait for the lock.
    assert_eq!(call(&s, "GET", "/v1/status", None, &[]).status, 200);
    assert_eq!(m.head(), head);
    drop(held.stdin.take());
    held.wait().unwrap();
    assert_eq!(
        call(
            &s,
            "PUT",
            "/v1/files/context/prefs.yaml",
            Some(&prefs()),
            &[]
        )
        .status,
        200
    );
}

#[test]
fn sync_review_and_resolve_through_the_api() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["commit"]);
    m1.ok(&["sync"]);
    let m2 = Machine::empty("m2");
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    m1.ok(&["machine", "approve", "m2"]);
    m1.ok(&["sync"]);
    let s = serve(&m2, &[]);
    let synced = call(&s, "POST", "/v1/sync", Some(&json!({})), &[]);
    assert_eq!(synced.status, 200, "{}", synced.raw);
    assert!(synced.body["outcome"].is_string(), "{}", synced.raw);

    // m1 adds a hook: m2's sync through the API holds it; the API lists and accepts it.
    let settings = |m: &Machine| common::json(&m.claude_dir().join("settings.json"));
    let mut v = settings(&m1);
    v["hooks"]["Stop"] = json!([{"hooks": [{"type": "command", "command": "echo from-m1"}]}]);
    std::fs::write(m1.claude_dir().join("settings.json"), v.to_string()).unwrap();
    m1.ok(&["sync"]);
    let synced = call(&s, "POST", "/v1/sync", None, &[]);
    assert_eq!(synced.status, 200, "{}", synced.raw);
    assert_eq!(
        synced.body["held_for_review"][0]["path"], "claude/settings.json",
        "{}",
        synced.raw
    );
    let held = call(&s, "GET", "/v1/review", None, &[]);
    assert_eq!(
        held.body["held"][0]["path"], "claude/settings.json",
        "{}",
        held.raw
    );
    let none = call(
        &s,
        "POST",
        "/v1/review",
        Some(&json!({"action": "accept", "paths": ["CLAUDE.md"]})),
        &[],
    );
    assert_eq!(none.status, 404, "{}", none.raw);
    let ok = call(
        &s,
        "POST",
        "/v1/review",
        Some(&json!({"action": "accept", "paths": ["settings.json"]})),
        &[],
    );
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert!(settings(&m2)["hooks"].to_string().contains("echo from-m1"));

    // A conflict: the API's sync reports it, resolve settles it and pushes.
    let mut a = settings(&m1);
    a["model"] = "opus".into();
    std::fs::write(m1.claude_dir().join("settings.json"), a.to_string()).unwrap();
    m1.ok(&["sync"]);
    let mut b = settings(&m2);
    b["model"] = "haiku".into();
    std::fs::write(m2.claude_dir().join("settings.json"), b.to_string()).unwrap();
    let conflict = call(&s, "POST", "/v1/sync", None, &[]);
    assert_eq!(conflict.status, 200, "{}", conflict.raw);
    assert_eq!(conflict.body["outcome"], "conflict", "{}", conflict.raw);
    assert_eq!(conflict.body["conflicts"][0]["fields"][0]["field"], "model");
    let nothing = call(
        &s,
        "POST",
        "/v1/resolve",
        Some(&json!({"path": "CLAUDE.md", "take": "ours"})),
        &[],
    );
    assert_eq!(nothing.status, 404, "{}", nothing.raw);
    let resolved = call(
        &s,
        "POST",
        "/v1/resolve",
        Some(&json!({"path": "settings.json", "take": "theirs"})),
        &[],
    );
    assert_eq!(resolved.status, 200, "{}", resolved.raw);
    assert_eq!(resolved.body["sync"]["pushed"], true, "{}", resolved.raw);
    assert_eq!(settings(&m2)["model"], "opus");
    assert_eq!(remote.head(), Some(m2.head()));
}

#[test]
fn a_non_loopback_address_needs_public_and_no_token_is_explained() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let r = m.fails(&["serve", "--listen", "0.0.0.0:0"], 2);
    assert!(r.stderr.contains("--public"), "{r}");
    let r = m.fails(&["serve", "--listen", "127.0.0.1:0"], 2);
    assert!(r.stderr.contains("ctx serve --token new"), "{r}");
    m.ok(&["serve", "--token", "new"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(m.ctx_config().join("serve-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let objects = String::from_utf8_lossy(&m.all_objects()).to_string();
    let token = std::fs::read_to_string(m.ctx_config().join("serve-token")).unwrap();
    assert!(
        !objects.contains(token.trim()),
        "the token is never in the store"
    );
}
