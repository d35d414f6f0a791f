//! `ctx mcp` as an MCP client sees it: raw JSON-RPC lines over the child's stdin/stdout (what
//! Claude Code sends), on a sandboxed machine with a store and a remote. Every tool is listed
//! and called; bad arguments are MCP errors and the server lives on; no answer holds a fixture
//! secret. Then `ctx mcp install` / `uninstall`: idempotent, and removing exactly what was added.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use common::{Machine, FIXTURE_SECRETS};
use serde_json::{json, Value};

/// How long one answer may take (a sync runs git).
const ANSWER: Duration = Duration::from_secs(60);

/// `ctx mcp` running as a child, spoken to line by line.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next: u64,
    /// Every line the server wrote, for the no-secret check.
    seen: Vec<String>,
}

impl Client {
    /// Starts `ctx mcp` in `dir` and initialises the session as Claude Code does.
    fn start(m: &Machine, dir: &Path) -> Client {
        let mut child = m
            .cmd(env!("CARGO_BIN_EXE_ctx"))
            .arg("mcp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            lines,
            next: 0,
            seen: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "ctx-tests", "version": "0"}
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "ctx", "{init}");
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, msg: &Value) {
        writeln!(self.stdin, "{msg}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a raw line and returns the answer to `id`.
    fn raw(&mut self, line: &str, id: &Value) -> Value {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        self.answer(id)
    }

    fn answer(&mut self, id: &Value) -> Value {
        loop {
            let line = match self.lines.recv_timeout(ANSWER) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {id} in {ANSWER:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("ctx mcp exited before answering {id}")
                }
            };
            self.seen.push(line.clone());
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if msg.get("id") == Some(id) {
                return msg;
            }
        }
    }

    /// A request; the whole JSON-RPC answer.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = json!(self.next);
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(&id)
    }

    /// Calls a tool; the JSON-RPC answer.
    fn call(&mut self, tool: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": args}))
    }

    /// Calls a tool that must succeed; its result parsed from the text content.
    fn ok(&mut self, tool: &str, args: Value) -> Value {
        let a = self.call(tool, args.clone());
        let result = &a["result"];
        assert_eq!(result["isError"], false, "{tool} {args}: {a}");
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{a}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{tool}: {e}: {text}"))
    }

    /// Calls a tool that must fail as a tool error; its text.
    fn tool_error(&mut self, tool: &str, args: Value) -> String {
        let a = self.call(tool, args.clone());
        assert_eq!(a["result"]["isError"], true, "{tool} {args}: {a}");
        a["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare remote next to the machine.
fn remote(m: &Machine) -> PathBuf {
    let path = m.root.join("remote.git");
    common::bare_repo(&path);
    path
}

/// A seeded machine with a store on a remote, everything committed, and a project.
fn machine() -> (Machine, PathBuf) {
    let m = Machine::seeded("m1");
    let r = remote(&m);
    m.ok(&["init", "--machine", "m1", "--remote", &r.to_string_lossy()]);
    m.ok(&["commit"]);
    m.ok(&["sync"]);
    let p = m.project("webapp");
    m.ok(&["hooks", "install", "--worktree", &p.to_string_lossy()]);
    (m, p)
}

fn assert_no_secret(c: &Client) {
    for line in &c.seen {
        for s in FIXTURE_SECRETS {
            assert!(
                !line.contains(s),
                "an MCP answer holds the secret {s}: {line}"
            );
        }
    }
}

const TOOLS: &[&str] = &[
    "ctx_status",
    "ctx_sync",
    "ctx_log",
    "ctx_diff",
    "ctx_projects",
    "ctx_sessions",
    "ctx_memory",
    "ctx_rollback",
];

#[test]
fn every_tool_is_listed_with_a_schema_and_a_description() {
    let (m, p) = machine();
    let mut c = Client::start(&m, &p);
    let list = c.request("tools/list", json!({}));
    let tools = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names.len(), TOOLS.len(), "{names:?}");
    for t in TOOLS {
        let tool = tools
            .iter()
            .find(|x| x["name"] == *t)
            .unwrap_or_else(|| panic!("{t} missing: {names:?}"));
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 40),
            "{tool}"
        );
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    }
    let rollback = tools.iter().find(|x| x["name"] == "ctx_rollback").unwrap();
    assert!(
        rollback["inputSchema"]["properties"]["confirm"].is_object(),
        "{rollback}"
    );
}

#[test]
fn the_read_tools_answer_from_the_store() {
    let (m, p) = machine();
    let mut c = Client::start(&m, &p);
    let status = c.ok("ctx_status", json!({}));
    assert_eq!(status["machine"], "m1", "{status}");
    assert_eq!(status["approved"], true, "{status}");
    assert_eq!(status["clean"], true, "{status}");

    let log = c.ok("ctx_log", json!({"n": 5}));
    let entries = log.as_array().unwrap();
    assert!(!entries.is_empty() && entries.len() <= 5, "{log}");
    assert_eq!(entries[0]["machine"], "m1", "{log}");
    let only = c.ok("ctx_log", json!({"path": "settings.json"}));
    assert!(only.as_array().is_some_and(|a| !a.is_empty()), "{only}");

    let projects = c.ok("ctx_projects", json!({}));
    let list = projects["projects"].as_array().unwrap();
    let webapp = list
        .iter()
        .find(|x| x["name"] == "webapp")
        .unwrap_or_else(|| panic!("{projects}"));
    let here = p.canonicalize().unwrap().to_string_lossy().to_string();
    assert_eq!(webapp["worktrees"]["m1"], json!([here]), "{projects}");

    let sessions = c.ok("ctx_sessions", json!({}));
    assert_eq!(sessions["machine"], "m1", "{sessions}");
    assert!(sessions["sessions"].is_array(), "{sessions}");
    let unknown = c.tool_error("ctx_sessions", json!({"id": "no-such-session"}));
    assert!(unknown.contains("hint: `ctx sessions ls`"), "{unknown}");

    // A change not committed yet, then the store's change between two commits.
    let settings = m.claude_dir().join("settings.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    v["model"] = json!("opus-from-the-test");
    std::fs::write(&settings, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let diff = c.ok("ctx_diff", json!({}));
    let text = diff["files"][0]["diff"]
        .as_str()
        .unwrap_or_else(|| panic!("{diff}"));
    assert!(
        text.contains("+  \"model\": \"opus-from-the-test\""),
        "{text}"
    );
    let first = entries.last().unwrap()["id"].as_str().unwrap().to_string();
    let between = c.ok("ctx_diff", json!({"from": first, "paths": ["projects"]}));
    assert!(
        between["files"].as_array().is_some_and(|f| !f.is_empty()),
        "{between}"
    );

    // Every secret the fixtures hold is sealed in the store: the diff of the whole history
    // names them (`<secret changed>`, new since the root) and shows no ciphertext.
    let root = m
        .git(&["rev-list", "--max-parents=0", "main"])
        .trim()
        .to_string();
    let all = c.ok("ctx_diff", json!({"from": root}));
    let all = all.to_string();
    assert!(
        all.contains("<secret changed>") && !all.contains("ENC[age:"),
        "{all}"
    );
    assert_no_secret(&c);
}

#[test]
fn sync_memory_and_rollback_write_only_when_asked() {
    let (m, p) = machine();
    let mut c = Client::start(&m, &p);
    let sync = c.ok("ctx_sync", json!({}));
    assert!(sync["remote"].is_string(), "{sync}");

    let empty = c.ok("ctx_memory", json!({}));
    assert_eq!(empty["text"], "", "{empty}");
    let after = c.ok(
        "ctx_memory",
        json!({"append": "- run the tests with `make check`"}),
    );
    assert_eq!(
        after["text"], "- run the tests with `make check`\n",
        "{after}"
    );
    assert_eq!(after["sync"]["synced"], true, "{after}");
    assert_eq!(
        std::fs::read_to_string(p.join("CLAUDE.local.md")).unwrap(),
        "- run the tests with `make check`\n"
    );
    let stored = m.git(&[
        "show",
        &format!("main:{}", after["store_path"].as_str().unwrap()),
    ]);
    assert_eq!(stored, "- run the tests with `make check`\n");
    let remote_head = m
        .cmd("git")
        .args(["--git-dir"])
        .arg(m.root.join("remote.git"))
        .args(["rev-parse", "main"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&remote_head.stdout).trim(),
        m.head(),
        "the memory commit is pushed"
    );

    // A secret is never taken as an argument.
    let refused = c.tool_error(
        "ctx_memory",
        json!({"append": "token ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE1111"}),
    );
    assert!(
        refused.contains("error: refusing to remember a secret") && refused.contains("hint: "),
        "{refused}"
    );

    // Rollback previews by default and changes nothing.
    let head = m.head();
    let preview = c.ok(
        "ctx_rollback",
        json!({"rev": "HEAD~1", "paths": ["projects"]}),
    );
    assert_eq!(preview["dry_run"], true, "{preview}");
    assert_eq!(m.head(), head, "a preview commits nothing");
    let done = c.ok(
        "ctx_rollback",
        json!({"rev": "HEAD~1", "paths": ["projects"], "confirm": true}),
    );
    assert_eq!(done["dry_run"], false, "{done}");
    assert_ne!(m.head(), head, "confirm: true makes the commit");
    assert_no_secret(&c);
}

#[test]
fn bad_arguments_are_mcp_errors_and_the_server_lives_on() {
    let (m, p) = machine();
    let mut c = Client::start(&m, &p);
    // Wrong types and unknown fields: a tool error naming the argument (the SDK reports input
    // validation in the result, as the 2025-11-25 spec asks, so the model can correct itself).
    for (tool, args) in [
        ("ctx_log", json!({"n": "many"})),
        ("ctx_log", json!({"n": -1})),
        ("ctx_diff", json!({"paths": "settings.json"})),
        ("ctx_rollback", json!({"confirm": "yes"})),
        ("ctx_memory", json!({"append": 42})),
        ("ctx_sync", json!({"secret": "x"})),
    ] {
        let text = c.tool_error(tool, args.clone());
        assert!(
            text.contains("failed to deserialize parameters"),
            "{tool} {args}: {text}"
        );
    }
    let unknown = c.call("ctx_nothing", json!({}));
    assert!(unknown["error"]["code"].is_i64(), "{unknown}");
    // Arguments of the right shape that ctx refuses: a tool error with the CLI's cause and hint.
    let bad_rev = c.tool_error("ctx_diff", json!({"from": "no-such-rev"}));
    assert!(
        bad_rev.starts_with("error: ")
            && bad_rev.contains("\nhint: use a commit id from `ctx log`"),
        "{bad_rev}"
    );
    let bad_path = c.tool_error("ctx_log", json!({"path": "/nowhere/at/all"}));
    assert!(bad_path.contains("hint: "), "{bad_path}");
    let no_rev = c.tool_error("ctx_rollback", json!({}));
    assert!(no_rev.contains("no revision given"), "{no_rev}");
    let to_only = c.tool_error("ctx_diff", json!({"to": "HEAD"}));
    assert!(to_only.contains("`to` needs `from`"), "{to_only}");
    let outside = c.tool_error(
        "ctx_memory",
        json!({"project_dir": m.root.to_string_lossy()}),
    );
    assert!(outside.contains("not inside a git worktree"), "{outside}");
    // Garbage on the wire does not kill it either.
    let pong = c.raw(
        "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}",
        &json!("p"),
    );
    assert!(pong.get("result").is_some(), "{pong}");
    let status = c.ok("ctx_status", json!({}));
    assert_eq!(status["machine"], "m1");
    assert_no_secret(&c);
}

#[test]
fn resources_are_the_store_files_redacted() {
    let (m, p) = machine();
    let mut c = Client::start(&m, &p);
    let list = c.request("resources/list", json!({}));
    let items = list["result"]["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let uris: Vec<&str> = items.iter().filter_map(|r| r["uri"].as_str()).collect();
    assert!(
        uris.contains(&"ctx://store/claude/settings.json"),
        "{uris:?}"
    );
    let mut sealed = 0;
    for uri in &uris {
        let read = c.request("resources/read", json!({"uri": uri}));
        let contents = &read["result"]["contents"][0];
        assert_eq!(contents["uri"], *uri, "{read}");
        if let Some(t) = contents["text"].as_str() {
            assert!(!t.contains("ENC[age:"), "{uri} shows a ciphertext");
            sealed += t.matches("<secret>").count();
        }
    }
    assert!(sealed > 0, "the fixtures' secrets read as <secret>");
    let missing = c.request("resources/read", json!({"uri": "ctx://store/nothing/here"}));
    assert!(missing["error"]["code"].is_i64(), "{missing}");
    assert_no_secret(&c);
}

#[test]
fn install_is_idempotent_and_uninstall_removes_exactly_what_it_added() {
    let m = Machine::seeded("m1");
    let before = std::fs::read_to_string(m.claude_json()).unwrap();
    let skill = m.claude_dir().join("skills/context-sync");

    let out = m.ok(&["mcp", "install"]);
    assert!(out.contains("registered the ctx MCP server"), "{out}");
    let doc = common::json(&m.claude_json());
    assert_eq!(
        doc["mcpServers"]["ctx"],
        json!({"type": "stdio", "command": "ctx", "args": ["mcp"]})
    );
    let skill_md = std::fs::read_to_string(skill.join("SKILL.md")).unwrap();
    assert!(
        skill_md.starts_with("---\nname: context-sync\ndescription: "),
        "{skill_md}"
    );
    for r in ["store", "sync", "history", "sessions", "memory"] {
        assert!(skill.join(format!("reference/{r}.md")).is_file(), "{r}");
    }
    let once = std::fs::read_to_string(m.claude_json()).unwrap();
    let again: Value = serde_json::from_str(&m.ok(&["mcp", "install", "--json"])).unwrap();
    assert_eq!(again["server"], "unchanged", "{again}");
    assert!(
        again["skill"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s[1] == "unchanged"),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(m.claude_json()).unwrap(),
        once,
        "a second install writes nothing"
    );

    // Everything outside mcpServers.ctx is as it was, to the byte outside mcpServers.
    let mut doc = doc;
    doc["mcpServers"].as_object_mut().unwrap().remove("ctx");
    let old: Value = serde_json::from_str(&before).unwrap();
    assert_eq!(doc, old);

    m.ok(&["mcp", "uninstall"]);
    assert_eq!(
        std::fs::read_to_string(m.claude_json()).unwrap(),
        before,
        "uninstall puts the file back"
    );
    assert!(!skill.exists(), "the skill's folder is gone");
    let twice: Value = serde_json::from_str(&m.ok(&["mcp", "uninstall", "--json"])).unwrap();
    assert_eq!(twice["server"], "absent", "{twice}");
}

#[test]
fn uninstall_leaves_what_a_person_changed() {
    let m = Machine::seeded("m1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(m.claude_json(), std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    m.ok(&["mcp", "install"]);
    let skill = m.claude_dir().join("skills/context-sync");
    std::fs::write(skill.join("reference/memory.md"), "my own notes\n").unwrap();
    let text = std::fs::read_to_string(m.claude_json()).unwrap();
    std::fs::write(
        m.claude_json(),
        text.replace(
            "\"args\": [\n        \"mcp\"\n      ]",
            "\"args\": [\"mcp\", \"-v\"]",
        ),
    )
    .unwrap();
    let changed = common::json(&m.claude_json());
    assert_eq!(changed["mcpServers"]["ctx"]["args"], json!(["mcp", "-v"]));

    let run = m.run(&["mcp", "uninstall"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("left mcpServers.ctx"), "{run}");
    assert!(run.stderr.contains("reference/memory.md"), "{run}");
    assert_eq!(
        common::json(&m.claude_json())["mcpServers"]["ctx"]["args"],
        json!(["mcp", "-v"])
    );
    assert_eq!(
        std::fs::read_to_string(skill.join("reference/memory.md")).unwrap(),
        "my own notes\n"
    );
    assert!(
        !skill.join("SKILL.md").exists(),
        "unchanged files are removed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(m.claude_json())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640, "the file's mode is kept");
    }
    // A changed entry is not overwritten by install either, unless forced.
    let kept: Value = serde_json::from_str(&m.ok(&["mcp", "install", "--json"])).unwrap();
    assert_eq!(kept["server"], "kept", "{kept}");
    let forced: Value =
        serde_json::from_str(&m.ok(&["mcp", "install", "--force", "--json"])).unwrap();
    assert_eq!(forced["server"], "replaced", "{forced}");
}

#[test]
fn the_skill_is_kept_in_the_store_like_any_other() {
    let (m, _) = machine();
    m.ok(&["mcp", "install"]);
    m.ok(&["commit"]);
    let files = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        files.contains("claude/skills/context-sync/SKILL.md"),
        "{files}"
    );
    assert!(
        files.contains("claude/skills/context-sync/reference/sessions.md"),
        "{files}"
    );
    let mcp = m.git(&["show", "main:claude/mcp.json"]);
    assert!(mcp.contains("\"ctx\""), "the server entry is stored: {mcp}");
}
