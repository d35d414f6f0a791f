//! `ctx mcp` under the real Claude Code client (offline, against the fake Messages API of
//! `tests/common/claude.rs`): the fake model asks for `mcp__ctx__ctx_status`, `ctx_log` and
//! `ctx_sessions`, Claude Code runs the server `ctx mcp install` registered, and the tool
//! results it sends back hold this machine's status, history and sessions. Skips where the client cannot be had, unless `CTX_REQUIRE_CLAUDE=1`.

mod common;

use std::path::Path;

use common::claude::{self, FakeApi, Reply};
use common::{Machine, FIXTURE_SECRETS};
use serde_json::json;

#[test]
fn claude_code_calls_ctx_status_and_gets_this_machines_status() {
    let Some(claude) = claude::client() else {
        return;
    };
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["mcp", "install"]);
    m.ok(&["commit"]);
    let project = m.project("proj");
    // Exactly the entry install wrote; only it (the fixture's other servers would try npx).
    let entry = common::json(&m.claude_json())["mcpServers"]["ctx"].clone();
    let config = json!({ "mcpServers": { "ctx": entry } }).to_string();
    let api = FakeApi::with_script(vec![
        Reply::tool("mcp__ctx__ctx_status", json!({})),
        Reply::tool("mcp__ctx__ctx_log", json!({"n": 3})),
        Reply::tool("mcp__ctx__ctx_sessions", json!({})),
        Reply::text("status read"),
    ]);

    let mut cmd = claude.command(&m, &api, &project, &["-p", "is my context in sync?"]);
    cmd.args(["--strict-mcp-config", "--mcp-config", &config])
        .args([
            "--allowedTools",
            "mcp__ctx__ctx_status,mcp__ctx__ctx_log,mcp__ctx__ctx_sessions",
        ]);
    // The entry runs `ctx` from PATH: put this build's first.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ctx"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = cmd
        .get_envs()
        .find(|(k, _)| *k == "PATH")
        .and_then(|(_, v)| v.map(|v| v.to_os_string()))
        .unwrap_or_default();
    let mut dirs = vec![bin_dir];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    let run = claude::run_with_timeout(&mut cmd, claude::TIMEOUT);

    assert_eq!(run.code, Some(0), "claude -p:\n{run}");
    assert_eq!(run.stdout.trim(), "status read", "{run}");
    let results = api.tool_results();
    assert_eq!(results.len(), 3, "{results:?}\n{run}");
    let result = &results[0].1;
    assert!(
        result.contains("\"machine\": \"m1\""),
        "not this machine's status: {result}"
    );
    assert!(result.contains("\"approved\": true"), "{result}");
    assert!(result.contains("\"clean\": true"), "{result}");
    assert!(
        results[1].1.contains("\"machine\": \"m1\""),
        "ctx_log: {}",
        results[1].1
    );
    assert!(
        results[2].1.contains("\"sessions\": ["),
        "ctx_sessions: {}",
        results[2].1
    );
    let sent = api.all_text();
    for s in FIXTURE_SECRETS {
        assert!(!sent.contains(s), "Claude was sent the secret {s}");
    }
    // The skill install wrote is among the skills Claude is told about.
    assert!(
        sent.contains("context-sync"),
        "the context-sync skill is not listed"
    );
}
