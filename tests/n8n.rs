//! The n8n workflows of examples/n8n/ against a real n8n, on request only: `CTX_N8N=1` and an
//! `n8n` on PATH (or `N8N_BIN`), with Node 24 first on PATH (n8n starts its task runner with
//! it). Without them the test says why it skipped. examples/n8n/README.md says how to install.
//!
//! n8n runs on 127.0.0.1 with its own user folder. It imports and publishes both workflows,
//! then drives a read-modify-write of a context document and a sync through `ctx serve`, and
//! settles a sync conflict after an approval step, from ctx's signed `conflict` event.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::http::{request, serve};
use common::{Machine, Remote};
use serde_json::{json, Value};

fn n8n_bin() -> Option<PathBuf> {
    if std::env::var("CTX_N8N").ok().as_deref() != Some("1") {
        return None;
    }
    if let Some(b) = std::env::var_os("N8N_BIN") {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("n8n"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// n8n, killed when dropped.
struct N8n {
    child: Child,
}

impl Drop for N8n {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn n8n_cmd(bin: &Path, folder: &Path, port: u16, vars: &[(&str, String)]) -> Command {
    let mut c = Command::new(bin);
    c.env("N8N_USER_FOLDER", folder)
        .env("HOME", folder)
        .env("N8N_PORT", port.to_string())
        .env("N8N_LISTEN_ADDRESS", "127.0.0.1")
        .env("N8N_HOST", "127.0.0.1")
        .env("N8N_WEBHOOK_URL", format!("http://127.0.0.1:{port}/"))
        .env("N8N_DISABLED_MODULES", "mcp-registry")
        .env("N8N_RUNNERS_BROKER_PORT", free_port().to_string())
        .env("N8N_BLOCK_ENV_ACCESS_IN_NODE", "false")
        .env("NODE_FUNCTION_ALLOW_BUILTIN", "crypto")
        .env("N8N_DIAGNOSTICS_ENABLED", "false")
        .env("N8N_VERSION_NOTIFICATIONS_ENABLED", "false")
        .env("N8N_TEMPLATES_ENABLED", "false")
        .stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

fn n8n_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "n8n {what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Imports and publishes both example workflows, then starts n8n and waits until it is ready.
fn start(bin: &Path, folder: &Path, port: u16, vars: &[(&str, String)]) -> N8n {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/n8n");
    for (file, id) in [
        ("context-sync-api.json", "ctxContextSyncApi"),
        ("conflict-resolution.json", "ctxConflictResolution"),
    ] {
        let input = format!("--input={}", examples.join(file).display());
        let mut c = n8n_cmd(bin, folder, port, vars);
        c.args(["import:workflow", &input]);
        n8n_ok(c, &format!("import:workflow {file}"));
        let mut c = n8n_cmd(bin, folder, port, vars);
        c.args(["publish:workflow", &format!("--id={id}")]);
        n8n_ok(c, &format!("publish:workflow {id}"));
    }
    let log = std::fs::File::create(folder.join("n8n.log")).unwrap();
    let mut c = n8n_cmd(bin, folder, port, vars);
    c.arg("start").stdout(log.try_clone().unwrap()).stderr(log);
    let n8n = N8n {
        child: c.spawn().unwrap(),
    };
    let start = Instant::now();
    while request_ok(port, "/healthz/readiness").is_none() {
        let log = std::fs::read_to_string(folder.join("n8n.log")).unwrap_or_default();
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "n8n never got ready:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    n8n
}

fn request_ok(port: u16, path: &str) -> Option<()> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    (request(port, "GET", path, None, &[]).status == 200).then_some(())
}

/// A receiver for the approval request the conflict workflow sends: its JSON bodies.
fn approvals() -> (u16, std::sync::mpsc::Receiver<Value>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
        }
    });
    (port, rx)
}

#[test]
fn the_example_workflows_drive_ctx_serve_in_a_real_n8n() {
    let Some(bin) = n8n_bin() else {
        eprintln!("skipped: set CTX_N8N=1 with n8n (and Node 24) on PATH to run it; examples/n8n/README.md says how to install them");
        return;
    };
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
    m2.ok(&["sync"]);
    m1.review_off();
    let api = serve(&m1, &[]);
    let doc = json!({ "title": "How I work", "items": ["small commits"] });
    let auth = format!("Bearer {}", api.token);
    let put = request(
        api.port,
        "PUT",
        "/v1/files/context/prefs.yaml",
        Some(doc.to_string().as_bytes()),
        &[("Authorization", &auth)],
    );
    assert_eq!(put.status, 200, "{}", put.raw);

    // n8n's port is chosen before ctx learns its webhook, so the key can be in n8n's env.
    let folder = tempfile::tempdir().unwrap();
    let n8n_port = free_port();
    let hook = format!("http://127.0.0.1:{n8n_port}/webhook/ctx-events");
    let added: Value =
        serde_json::from_str(&m1.ok(&["notify", "add", &hook, "--events", "conflict", "--json"]))
            .unwrap();
    let (approval_port, approvals) = approvals();
    let vars = [
        ("CTX_URL", format!("http://127.0.0.1:{}", api.port)),
        ("CTX_TOKEN", api.token.clone()),
        (
            "CTX_WEBHOOK_KEY",
            added["secret"].as_str().unwrap().to_string(),
        ),
        (
            "CTX_APPROVAL_URL",
            format!("http://127.0.0.1:{approval_port}/approve"),
        ),
    ];
    let n8n = start(&bin, folder.path(), n8n_port, &vars);

    // Read-modify-write of a context document, then a sync, through the first workflow.
    let body = json!({ "doc": "prefs", "item": "from n8n" }).to_string();
    let _running = &n8n;
    let n8n_log = || std::fs::read_to_string(folder.path().join("n8n.log")).unwrap_or_default();
    // Ready is not yet listening on the published workflows' webhooks: n8n registers them
    // just after.
    let start = Instant::now();
    let r = loop {
        let r = request(
            n8n_port,
            "POST",
            "/webhook/ctx-context",
            Some(body.as_bytes()),
            &[],
        );
        if r.status != 404 || start.elapsed() > Duration::from_secs(60) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(r.status, 200, "{}\n{}", r.raw, n8n_log());
    assert!(r.body["commit"].is_string(), "{}", r.raw);
    let text = m1.git(&["show", "main:context/prefs.yaml"]);
    assert!(
        text.contains("from n8n") && text.contains("small commits"),
        "{text}"
    );
    assert_eq!(remote.head(), Some(m1.head()), "pushed");

    // A conflict on m1: ctx sends the signed event, n8n asks for approval, the approver keeps
    // theirs, n8n posts the resolution back.
    let edit = |m: &Machine, model: &str| {
        let p = m.claude_dir().join("settings.json");
        let mut v = common::json(&p);
        v["model"] = model.into();
        std::fs::write(&p, v.to_string()).unwrap();
    };
    edit(&m2, "opus");
    m2.ok(&["sync"]);
    edit(&m1, "haiku");
    assert_eq!(m1.run(&["sync"]).code, Some(1));
    let ask = approvals
        .recv_timeout(Duration::from_secs(60))
        .expect("n8n asked for approval");
    assert_eq!(ask["conflicts"][0]["path"], "claude/settings.json", "{ask}");
    let theirs = ask["keep_theirs"].as_str().unwrap();
    let path = theirs
        .split_once(&format!("127.0.0.1:{n8n_port}"))
        .map(|(_, p)| p)
        .unwrap();
    // The approval request goes out just before the Wait node parks the execution; until it
    // has, n8n answers 409 (a person clicking is never that fast).
    let start = Instant::now();
    let resumed = loop {
        let r = request(n8n_port, "GET", path, None, &[]);
        if r.status != 409 || start.elapsed() > Duration::from_secs(30) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(resumed.status, 200, "{}\n{}", resumed.raw, n8n_log());
    let start = Instant::now();
    loop {
        let status: Value = serde_json::from_slice(&m1.ctx(&["status", "--json"]).stdout).unwrap();
        // Settled, and the sync after it pushed the merge.
        if status["conflicts"] == json!([]) && remote.head() == Some(m1.head()) {
            break;
        }
        let log = std::fs::read_to_string(folder.path().join("n8n.log")).unwrap_or_default();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never resolved: {status}\n{log}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        common::json(&m1.claude_dir().join("settings.json"))["model"],
        "opus"
    );
    assert_eq!(remote.head(), Some(m1.head()), "the resolution was pushed");
}
