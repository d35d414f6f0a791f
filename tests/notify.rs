//! Webhooks (`ctx notify`, ctx.yaml `notify:`) against a local receiver: the URL sealed in the
//! store, events after sync, conflict, review and machine changes, the HMAC signature checked
//! here independently, and a failing receiver never failing a sync, its events delivered later.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

use common::{approved_pair, Machine, Remote};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// One delivery the receiver got.
#[derive(Debug)]
struct Got {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local HTTP receiver answering `status` (changeable) to every POST.
struct Receiver_ {
    port: u16,
    status: Arc<AtomicU16>,
    got: Receiver<Got>,
}

fn receiver() -> Receiver_ {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let status = Arc::new(AtomicU16::new(200));
    let (tx, rx) = channel();
    let answer = Arc::clone(&status);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            r.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                let l = l.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let code = answer.load(Ordering::SeqCst);
            let _ = write!(
                conn,
                "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = tx.send(Got {
                request_line,
                headers,
                body,
            });
        }
    });
    Receiver_ {
        port,
        status,
        got: rx,
    }
}

impl Receiver_ {
    /// Every delivery that arrived so far (they arrive before the ctx command that sent them
    /// exits).
    fn drain(&self) -> Vec<Got> {
        let mut out = Vec::new();
        while let Ok(g) = self.got.recv_timeout(Duration::from_millis(200)) {
            out.push(g);
        }
        out
    }
}

fn signature(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn two_machines() -> (Remote, Machine, Machine) {
    approved_pair("m1", "m2")
}

fn edit_settings(m: &Machine, f: impl FnOnce(&mut Value)) {
    let p = m.claude_dir().join("settings.json");
    let mut v = common::json(&p);
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Checks every delivery's signature with `key` and returns the events.
fn verified(got: Vec<Got>, key: &str) -> Vec<Value> {
    got.iter()
        .map(|g| {
            assert!(
                g.request_line.starts_with("POST /hook/abc?token="),
                "{}",
                g.request_line
            );
            let sig = g.header("x-ctx-signature").unwrap_or_default();
            assert_eq!(
                sig,
                signature(key, &g.body),
                "signature of {}",
                String::from_utf8_lossy(&g.body)
            );
            let v = g.json();
            assert_eq!(g.header("x-ctx-event"), v["event"].as_str());
            assert_eq!(g.header("content-type"), Some("application/json"));
            v
        })
        .collect()
}

#[test]
fn events_are_signed_sealed_in_the_store_and_survive_a_dead_receiver() {
    let (_remote, m1, m2) = two_machines();
    let rx = receiver();
    let url = format!(
        "http://127.0.0.1:{}/hook/abc?token=hook-token-4f9a2c",
        rx.port
    );
    let added: Value = serde_json::from_str(&m1.ok(&["notify", "add", &url, "--json"])).unwrap();
    let key = added["secret"].as_str().unwrap().to_string();
    assert_eq!(added["number"], 1);
    // The URL and the key are sealed in ctx.yaml: no git object holds either.
    let objects = String::from_utf8_lossy(&m1.all_objects()).to_string();
    assert!(
        !objects.contains("hook-token-4f9a2c"),
        "the webhook URL is in the store in plaintext"
    );
    assert!(
        !objects.contains(&key),
        "the signing key is in the store in plaintext"
    );
    let manifest = m1.git(&["show", "main:ctx.yaml"]);
    assert!(
        manifest.contains("notify:") && manifest.contains("ENC[age:"),
        "{manifest}"
    );
    let listed = m1.ok(&["notify", "ls"]);
    assert!(
        listed.contains(&format!("http://127.0.0.1:{}/…", rx.port)),
        "{listed}"
    );
    assert!(!listed.contains("token"), "{listed}");

    // A sync that moves something: a `sync` event, naming the machine, the commit, the fields.
    edit_settings(&m1, |v| v["model"] = "opus".into());
    m1.ok(&["sync"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        (e["event"].as_str(), e["machine"].as_str()),
        (Some("sync"), Some("m1"))
    );
    assert_eq!(e["commit"].as_str(), Some(m1.head().as_str()));
    let changes = e["changes"].to_string();
    assert!(changes.contains("settings.json model"), "{e}");
    assert!(
        !changes.contains("ctx.yaml"),
        "only what this sync changed: {e}"
    );

    // Another machine sends it too, once it synced the entry; an up-to-date sync sends nothing.
    m2.ok(&["sync"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["machine"], "m2");
    m2.ok(&["sync"]);
    assert_eq!(rx.drain().len(), 0);

    // A conflict: the event names the file and field with both sides.
    edit_settings(&m1, |v| v["model"] = "sonnet".into());
    m1.ok(&["sync"]);
    rx.drain();
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    assert_eq!(m2.run(&["sync"]).code, Some(1));
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    let c = &events[0];
    assert_eq!(c["event"], "conflict");
    assert_eq!(c["conflicts"][0]["path"], "claude/settings.json");
    assert_eq!(c["conflicts"][0]["fields"][0]["field"], "model");
    assert_eq!(c["conflicts"][0]["fields"][0]["ours"], "haiku");
    assert_eq!(c["conflicts"][0]["fields"][0]["theirs"], "sonnet");
    m2.ok(&["resolve", "settings.json", "--theirs"]);

    // The receiver fails: the sync succeeds anyway, the event waits in the queue and goes out,
    // first, with the next event.
    rx.status.store(500, Ordering::SeqCst);
    edit_settings(&m1, |v| v["model"] = "opus".into());
    let run = m1.run(&["sync"]);
    assert_eq!(run.code, Some(0), "{run}");
    let first = verified(rx.drain(), &key);
    assert_eq!(first.len(), 1);
    let queue = m1.store().join("ctx/notify-queue.json");
    assert!(queue.exists(), "the failed event is kept");
    let log = std::fs::read_to_string(m1.store().join("ctx/notify.log")).unwrap();
    assert!(
        log.contains("failed (the receiver answered 500); kept for the next event"),
        "{log}"
    );
    assert!(
        !log.contains("hook-token"),
        "the log never holds the URL: {log}"
    );
    rx.status.store(200, Ordering::SeqCst);
    edit_settings(&m1, |v| v["model"] = "sonnet".into());
    m1.ok(&["sync"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[0]["id"], first[0]["id"],
        "the queued event, again, first"
    );
    assert!(!queue.exists(), "the queue is empty");
    assert!(m1
        .run(&["notify", "rm", "7"])
        .stderr
        .contains("ctx notify ls"));
}

#[test]
fn machine_and_review_events_and_a_receiver_that_is_not_there() {
    let (remote, m1, m2) = two_machines();
    let rx = receiver();
    let url = format!("http://127.0.0.1:{}/hook/abc?token=t", rx.port);
    let added: Value = serde_json::from_str(&m1.ok(&[
        "notify",
        "add",
        &url,
        "--events",
        "machine,review",
        "--json",
    ]))
    .unwrap();
    let key = added["secret"].as_str().unwrap().to_string();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert_eq!(rx.drain().len(), 0, "sync events are not asked for");

    // A machine asks to join, and is approved.
    let m3 = Machine::empty("m3");
    m3.ok(&["init", "--machine", "m3", "--remote", &remote.url()]);
    m1.ok(&["sync"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            events[0]["event"].as_str(),
            events[0]["action"].as_str(),
            events[0]["name"].as_str()
        ),
        (Some("machine"), Some("join-request"), Some("m3"))
    );
    m1.ok(&["machine", "approve", "m3"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["action"], "approve");
    assert!(
        events[0]["changes"].to_string().contains("ctx.yaml"),
        "{}",
        events[0]
    );
    m1.ok(&["sync"]);
    // m3, approved after the webhook was added, can open it: its URL was sealed again for it.
    m3.ok(&["sync"]);
    let listed = m3.ok(&["notify", "ls"]);
    assert!(
        listed.contains(&format!("127.0.0.1:{}", rx.port)),
        "{listed}"
    );
    rx.drain();

    // A held change rejected on m2: a review event.
    edit_settings(&m1, |v| {
        v["hooks"]["Stop"] = json!([{"hooks": [{"type": "command", "command": "echo m1"}]}])
    });
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    rx.drain();
    m2.ok(&["review", "--reject"]);
    let events = verified(rx.drain(), &key);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["event"].as_str(), events[0]["action"].as_str()),
        (Some("review"), Some("reject"))
    );
    assert_eq!(events[0]["files"], json!(["claude/settings.json"]));

    // Nothing listening at all: the command still succeeds, quickly failing to connect.
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://127.0.0.1:{}/x", gone.local_addr().unwrap().port());
    drop(gone);
    m1.ok(&["notify", "add", &dead]);
    // https goes through curl, the URL handed over on its stdin.
    let dead_tls = dead.replace("http://", "https://");
    m1.ok(&["notify", "add", &dead_tls]);
    edit_settings(&m1, |v| v["model"] = "opus".into());
    let run = m1.run(&["sync"]);
    assert_eq!(run.code, Some(0), "{run}");
    let log = std::fs::read_to_string(m1.store().join("ctx/notify.log")).unwrap();
    assert!(log.contains("failed"), "{log}");
    assert!(log.contains("failed (curl: "), "{log}");
    let bad = m1.run(&["notify", "add", "ftp://x/y"]);
    assert_eq!(bad.code, Some(2), "{bad}");
}
