//! The real Claude Code CLI, run offline against a fake Anthropic Messages API, so a test can
//! see exactly what Claude is sent (system prompt, memory, tool results) from a sandboxed
//! [`Machine`].
//!
//! The client is the native binary that npm's `@anthropic-ai/claude-code` installs from its
//! per-platform optional dependency; it is downloaded once with curl into the cargo target dir,
//! checked against the registry's sha512 pinned here, and never run through node.
//! `CTX_CLAUDE_BIN` names another binary instead. Where the client cannot be had, [`client`]
//! says so loudly and returns `None`, so the test skips, unless `CTX_REQUIRE_CLAUDE=1`.
//!
//! Onboarding: with `-p`, Claude Code 2.1 asks nothing (no theme, trust or API-key dialog) even
//! on an empty home, so neither `hasCompletedOnboarding` in `~/.claude.json` nor a trusted
//! project entry is needed. It does write `~/.claude.json` on every run (`numStartups`,
//! `userID`, `machineID`, `pluginUsage`, the project's entry): a test that compares that file
//! before and after must expect it.
//!
//! Offline: besides the API, the client calls out for an OAuth refresh (when
//! `~/.claude/.credentials.json` exists, even with `ANTHROPIC_API_KEY` set), the MCP servers of
//! `~/.claude.json`, and a git clone plus `ssh -T git@github.com` for the plugin marketplace
//! that `enabledPlugins` names. [`configure`] routes all HTTP(S) through the fake API as a
//! proxy that refuses it ([`FakeApi::refused`] lists what was tried) and shadows `ssh` on the
//! client's PATH (so a Bash tool or hook cannot use ssh either); [`Claude::print`] passes
//! `--strict-mcp-config`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Machine, Run};

/// The pinned Claude Code version.
pub const CLAUDE_CODE_VERSION: &str = "2.1.332";

/// The registry's `dist.integrity` of each platform package of [`CLAUDE_CODE_VERSION`]; a
/// download that does not match is refused.
const PLATFORMS: &[(&str, &str)] = &[
    (
        "linux-x64",
        "sha512-f4JWhzwYutJIHScC7/dYOPX6s28tt7ZADhsOi8zwOHq5fFPEuUeChh2NMfinSg0GrUckYxaeebC4h0DqiKzLcw==",
    ),
    (
        "linux-arm64",
        "sha512-BlHNEtK38KBPWU31F4lUSS9sHclCyfWbThT1CErvxxH8+XcljYLZlQwdyXBkTD62rw1TgfE1u1a+quMWS0NSJg==",
    ),
    (
        "linux-x64-musl",
        "sha512-QoQzwipnqRAdBKDAJNJ2Qvl37G6x8nCugfOQa+nuMcGIRgGEOLeWoq3pTLMQRScL37estAQBGH9ygR3WFVbIfw==",
    ),
    (
        "linux-arm64-musl",
        "sha512-jdjkkJLfAQ9M1HbT05tZHQpGNZUEPUebYwW/xpiMypZddB0lNlHlB9mXfOVV/UUPO0JCghj1NSQjxhhJc4L4CA==",
    ),
    (
        "darwin-x64",
        "sha512-i0GV2ejBOeHMXs+XPCd1IaJj1GV3VdZl8hiQD6hLMR/N7f4Nt8q4Edj1GYJCKXPLJa/zsE9Uv6r9rZ/ldVFQPQ==",
    ),
    (
        "darwin-arm64",
        "sha512-L/F5mypyB7SK59cesiAqGv1bVNd+8xTn0LF5kV6EGL6UMhofVJMFlokhDRoxNzANNC5i/5JdzfJyDOKUbZObiA==",
    ),
];

/// How long one `claude -p` may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The Claude Code client, or `None` (after a loud message) where it cannot be had and
/// `CTX_REQUIRE_CLAUDE` is not `1`. Start a test that needs it with
/// `let Some(claude) = claude::client() else { return };`.
pub fn client() -> Option<Claude> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(locate) {
        Ok(bin) => Some(Claude { bin: bin.clone() }),
        Err(why) => {
            assert!(
                std::env::var("CTX_REQUIRE_CLAUDE").as_deref() != Ok("1"),
                "CTX_REQUIRE_CLAUDE=1 but the Claude Code client is not available: {why}"
            );
            eprintln!(
                "\n!!!!! SKIPPED: this test needs the Claude Code client {CLAUDE_CODE_VERSION}, \
                 which is not available: {why}\n!!!!! (set CTX_CLAUDE_BIN to a claude binary, \
                 or CTX_REQUIRE_CLAUDE=1 to make this a failure)\n"
            );
            None
        }
    }
}

fn locate() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("CTX_CLAUDE_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("CTX_CLAUDE_BIN={} is not a file", bin.display()))
        };
    }
    let platform = platform()?;
    let integrity = PLATFORMS
        .iter()
        .find(|(p, _)| *p == platform)
        .map(|(_, i)| *i)
        .ok_or_else(|| format!("no pinned package for platform {platform}"))?;
    // CARGO_TARGET_TMPDIR is <target>/tmp: the cache lives beside it, so `cargo clean` drops it
    // and nothing downloaded can land in the work tree.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .ok_or("CARGO_TARGET_TMPDIR has no parent")?;
    let dir = target.join("claude-code").join(CLAUDE_CODE_VERSION);
    let bin = dir.join(&platform).join("claude");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Test binaries (or nextest's processes) may race for the first download: one downloads,
    // the others wait for it and find the binary.
    let lock = std::fs::File::create(dir.join(".lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    if bin.is_file() {
        return Ok(bin);
    }
    download(&platform, integrity, &dir)?;
    Ok(bin)
}

/// npm's name for this machine's platform package suffix.
fn platform() -> Result<String, String> {
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "darwin",
        other => return Err(format!("no Claude Code package for OS {other}")),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => return Err(format!("no Claude Code package for CPU {other}")),
    };
    let musl = if cfg!(target_env = "musl") {
        "-musl"
    } else {
        ""
    };
    Ok(format!("{os}-{arch}{musl}"))
}

fn download(platform: &str, integrity: &str, dir: &Path) -> Result<(), String> {
    use base64::Engine;
    use sha2::Digest;
    let url = format!(
        "https://registry.npmjs.org/@anthropic-ai/claude-code-{platform}/-/claude-code-{platform}-{CLAUDE_CODE_VERSION}.tgz"
    );
    let tgz = dir.join(format!("{platform}.tgz.part"));
    let started = Instant::now();
    eprintln!("downloading {url} (about 190 MB, once)");
    let out = Command::new("curl")
        .args([
            "-fsSL",
            "--retry",
            "2",
            "--connect-timeout",
            "20",
            "-m",
            "600",
            "-o",
        ])
        .arg(&tgz)
        .arg(&url)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tgz);
        return Err(format!(
            "curl {url} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut hasher = sha2::Sha512::new();
    std::fs::File::open(&tgz)
        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
        .map_err(|e| format!("{}: {e}", tgz.display()))?;
    let got = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
    );
    if got != integrity {
        let _ = std::fs::remove_file(&tgz);
        return Err(format!(
            "{url} has integrity {got}, but {integrity} is pinned"
        ));
    }
    // Unpacked beside the final folder and renamed into place, so an interrupted unpack never
    // leaves a half-written binary that a later run would take.
    let staging = dir.join(format!("{platform}.staging"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&staging)
        .args(["--strip-components=1", "package/claude"])
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let _ = std::fs::remove_file(&tgz);
    if !out.status.success() || !staging.join("claude").is_file() {
        return Err(format!(
            "unpacking {url} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::rename(&staging, dir.join(platform)).map_err(|e| e.to_string())?;
    eprintln!(
        "Claude Code {CLAUDE_CODE_VERSION} ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One scripted answer of the fake API.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message with this text; the turn ends.
    Text(String),
    /// An assistant message calling tool `name` with `input`; the client runs it and sends the
    /// result in its next request.
    ToolUse { name: String, input: Value },
}

impl Reply {
    /// A text reply.
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_string())
    }
    /// A `tool_use` reply.
    pub fn tool(name: &str, input: Value) -> Reply {
        Reply::ToolUse {
            name: name.to_string(),
            input,
        }
    }
}

/// One HTTP request the client made to the fake API.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Request {
    /// Whether this is a `POST /v1/messages` (not `count_tokens`).
    pub fn is_messages(&self) -> bool {
        self.method == "POST" && self.path.split('?').next() == Some("/v1/messages")
    }

    /// Whether this is a turn of the conversation (it offers tools), as opposed to a side
    /// request the client makes on its own (a title, a quota probe).
    pub fn is_turn(&self) -> bool {
        self.is_messages()
            && self.body["tools"]
                .as_array()
                .is_some_and(|tools| !tools.is_empty())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
}

/// A fake Anthropic Messages API on 127.0.0.1, answering from a script.
pub struct FakeApi {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// The text the fake API answers with when its script is empty.
pub const DEFAULT_REPLY: &str = "(fake API: script is empty)";

impl FakeApi {
    /// Starts a server with an empty script.
    pub fn start() -> FakeApi {
        FakeApi::with_script(Vec::new())
    }

    /// Starts a server that answers the conversation's turns with `script`, in order, then
    /// with [`DEFAULT_REPLY`].
    pub fn with_script(script: Vec<Reply>) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            script: script.into(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                // The client keeps connections alive and opens several at once.
                std::thread::spawn(move || serve(conn, &st, DEFAULT_REPLY));
            }
        });
        FakeApi { port, state, stop }
    }

    /// The base URL to give the client as `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds `reply` to the end of the script.
    pub fn push(&self, reply: Reply) {
        self.lock().script.push_back(reply);
    }

    /// How many scripted replies are not used yet.
    pub fn pending(&self) -> usize {
        self.lock().script.len()
    }

    /// Every HTTP request so far, side requests and probes included.
    pub fn all_requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// The hosts (`host:port`) the client tried to reach other than the fake API, through
    /// the proxy that refused them.
    pub fn refused(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == "CONNECT" || r.path.starts_with("http://"))
            .map(|r| r.path.clone())
            .collect()
    }

    /// The bodies of the conversation's turns (`POST /v1/messages` offering tools), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_turn())
            .map(|r| r.body.clone())
            .collect()
    }

    /// The body of the last turn; panics if there was none.
    pub fn last_request(&self) -> Value {
        self.requests()
            .pop()
            .expect("the client sent no /v1/messages turn to the fake API")
    }

    /// All text the client sent in the conversation's turns: system prompt, message text and
    /// tool results, one piece a line.
    pub fn all_text(&self) -> String {
        let mut out = Vec::new();
        for body in self.requests() {
            collect_text(&body["system"], &mut out);
            for m in body["messages"].as_array().into_iter().flatten() {
                collect_text(&m["content"], &mut out);
            }
        }
        out.join("\n")
    }

    /// The `tool_result` blocks the client sent, as (tool_use_id, text of the content), once
    /// each even though every later turn repeats them.
    pub fn tool_results(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for body in self.requests() {
            for m in body["messages"].as_array().into_iter().flatten() {
                for block in m["content"].as_array().into_iter().flatten() {
                    if block["type"] != "tool_result" {
                        continue;
                    }
                    let id = block["tool_use_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let mut text = Vec::new();
                    collect_text(&block["content"], &mut text);
                    if !out.iter().any(|(i, _)| *i == id) {
                        out.push((id, text.join("\n")));
                    }
                }
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Text in a `system` or `content` value: a string, or blocks with `text` or nested `content`.
fn collect_text(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(o) => {
            if let Some(Value::String(t)) = o.get("text") {
                out.push(t.clone());
            }
            if let Some(c) = o.get("content") {
                collect_text(c, out);
            }
            if o.get("type").and_then(Value::as_str) == Some("tool_use") {
                out.push(o.get("input").map(Value::to_string).unwrap_or_default());
            }
        }
        _ => {}
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve(conn: TcpStream, state: &Mutex<State>, default_reply: &str) {
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    while let Some(req) = read_request(&mut reader) {
        let connect = req.method == "CONNECT";
        let (status, content_type, body) = if connect {
            // The client's proxy: every HTTPS call to anywhere but the fake API lands here and
            // is refused, so nothing leaves the machine and the test can see what was tried.
            (
                "403 Forbidden".to_string(),
                "text/plain".to_string(),
                String::new(),
            )
        } else {
            respond(&req, state, default_reply)
        };
        state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .requests
            .push(req.clone());
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             request-id: req_fake\r\nconnection: keep-alive\r\n\r\n",
            body.len()
        );
        let body = if req.method == "HEAD" { "" } else { &body };
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(body.as_bytes()))
            .and_then(|_| writer.flush())
            .is_err()
            || connect
        {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

static IDS: AtomicU64 = AtomicU64::new(1);

/// Status line, content type and body for `req`.
fn respond(req: &Request, state: &Mutex<State>, default_reply: &str) -> (String, String, String) {
    let path = req.path.split('?').next().unwrap_or_default();
    let ok = "200 OK".to_string();
    let json_type = "application/json".to_string();
    if req.method == "POST" && path == "/v1/messages/count_tokens" {
        let approx = req.body.to_string().len() / 4;
        return (ok, json_type, json!({ "input_tokens": approx }).to_string());
    }
    if req.path.starts_with("http://") {
        // A plain-HTTP request sent to the proxy, for some other host.
        return ("403 Forbidden".to_string(), json_type, "{}".to_string());
    }
    if !req.is_messages() {
        // Probes and anything else the client asks for: an empty success.
        return (ok, json_type, "{}".to_string());
    }
    let reply = if req.is_turn() {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.script.pop_front()
    } else {
        None
    }
    .unwrap_or_else(|| Reply::Text(default_reply.to_string()));
    let n = IDS.fetch_add(1, Ordering::SeqCst);
    let model = req.body["model"]
        .as_str()
        .unwrap_or("claude-fake")
        .to_string();
    let (block, stop_reason) = match &reply {
        Reply::Text(t) => (json!({"type": "text", "text": t}), "end_turn"),
        Reply::ToolUse { name, input } => (
            json!({"type": "tool_use", "id": format!("toolu_fake{n:04}"), "name": name, "input": input}),
            "tool_use",
        ),
    };
    let usage = json!({
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    });
    let id = format!("msg_fake{n:04}");
    if req.body["stream"] != Value::Bool(true) {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop_reason, "stop_sequence": null,
            "usage": usage,
        });
        return (ok, json_type, message.to_string());
    }
    let mut start_block = block.clone();
    let delta = match &reply {
        Reply::Text(t) => {
            start_block["text"] = json!("");
            json!({"type": "text_delta", "text": t})
        }
        Reply::ToolUse { input, .. } => {
            start_block["input"] = json!({});
            json!({"type": "input_json_delta", "partial_json": input.to_string()})
        }
    };
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            }}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                   "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let sse: String = events
        .iter()
        .map(|(event, data)| format!("event: {event}\ndata: {data}\n\n"))
        .collect();
    (ok, "text/event-stream".to_string(), sse)
}

/// A Claude Code binary to run.
#[derive(Debug, Clone)]
pub struct Claude {
    pub bin: PathBuf,
}

impl Claude {
    /// `claude <args>` as `m`'s user in `cwd`, pointed at `api` and at nothing else, stdin
    /// closed; for runs other than [`Claude::print`] (`--resume`, `mcp`, ...).
    pub fn command(&self, m: &Machine, api: &FakeApi, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = m.cmd(&self.bin.to_string_lossy());
        cmd.args(args).current_dir(cwd);
        configure(&mut cmd, m, api);
        cmd
    }

    /// Runs `claude -p <prompt> --strict-mcp-config <args>` as `m`'s user in `cwd`, talking
    /// only to `api`; kills it (and whatever it started) after [`TIMEOUT`].
    ///
    /// `--strict-mcp-config` keeps the MCP servers of `~/.claude.json` (the fixture's `npx`
    /// and remote ones) from starting; pass `--mcp-config` to give it servers, or use
    /// [`Claude::command`] to run the user's own.
    pub fn print(
        &self,
        m: &Machine,
        api: &FakeApi,
        cwd: &Path,
        prompt: &str,
        args: &[&str],
    ) -> Run {
        let mut cmd = self.command(m, api, cwd, &["-p", prompt, "--strict-mcp-config"]);
        cmd.args(args);
        run_with_timeout(&mut cmd, TIMEOUT)
    }
}

/// Sets on `cmd` the environment that points the client at `api` and keeps it off the network.
pub fn configure(cmd: &mut Command, m: &Machine, api: &FakeApi) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![shims(m)];
    dirs.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(dirs).expect("PATH entries without separators");
    cmd.env("ANTHROPIC_BASE_URL", api.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-api03-fake-test-key")
        // One switch for the autoupdater, telemetry, error reporting and release-note fetches;
        // the specific ones too, as older and newer clients honour different sets.
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("DISABLE_BUG_COMMAND", "1")
        .env("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1")
        .env("CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY", "1")
        .env("CLAUDE_CODE_DISABLE_TERMINAL_TITLE", "1")
        .env("CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL", "1")
        // The rest still calls out (an OAuth refresh when `.credentials.json` exists, a git
        // clone of the plugin marketplace when `enabledPlugins` names it): through this proxy
        // each is refused at once and recorded, instead of waiting on DNS or leaving the machine.
        .env("HTTPS_PROXY", api.url())
        .env("HTTP_PROXY", api.url())
        .env("https_proxy", api.url())
        .env("http_proxy", api.url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PATH", path)
        // Bash tool calls must not inherit the test runner's shell.
        .env("SHELL", "/bin/bash")
        .env("TERM", "dumb")
        .stdin(Stdio::null());
}

/// A folder put first on the client's PATH whose `ssh` refuses to connect: the client probes
/// `ssh -T git@github.com` for the plugin marketplace, which no proxy variable stops.
fn shims(m: &Machine) -> PathBuf {
    let dir = m.root.join("claude-shims");
    let ssh = dir.join("ssh");
    if !ssh.exists() {
        std::fs::create_dir_all(&dir).expect("create the shims folder");
        std::fs::write(
            &ssh,
            "#!/bin/sh\necho \"ssh is blocked in the Claude Code test harness: $*\" >&2\nexit 255\n",
        )
        .expect("write the ssh shim");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755))
                .expect("make the ssh shim executable");
        }
    }
    dir
}

/// Runs `cmd` in its own process group, killing the group after `timeout`.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Run {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the Claude Code client");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).to_string()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(&mut child);
            break child.wait().expect("wait for the killed client");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever the client left running (a Bash tool's children) holds the pipes open.
    kill_group(&mut child);
    let mut stderr = err.join().unwrap_or_default();
    if timed_out {
        stderr.push_str(&format!("\n[harness: killed after {timeout:?}]\n"));
    }
    Run {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr,
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) with a negative pid signals the group the child leads; no memory
            // is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
    }
}
