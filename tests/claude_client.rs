//! The real Claude Code client, run offline against the fake Messages API of
//! `tests/common/claude.rs`: proves the harness sees what Claude is sent.
//!
//! Skips with a message where the client cannot be downloaded, unless `CTX_REQUIRE_CLAUDE=1`.

mod common;

use common::claude::{self, FakeApi, Reply};
use common::Machine;
use serde_json::json;

#[test]
fn print_sends_the_prompt_and_the_users_memory_and_prints_the_reply() {
    let Some(claude) = claude::client() else {
        return;
    };
    let m = Machine::seeded("a");
    let project = m.project("proj");
    let api = FakeApi::with_script(vec![Reply::text("scripted reply 4217")]);

    let run = claude.print(&m, &api, &project, "hello", &[]);

    assert_eq!(run.code, Some(0), "claude -p hello:\n{run}");
    assert_eq!(run.stdout.trim(), "scripted reply 4217", "{run}");
    assert_eq!(api.pending(), 0, "the scripted reply was not used");
    let first = &api.requests()[0];
    assert_eq!(first["stream"], json!(true), "{first:#}");
    let text = api.all_text();
    assert!(text.contains("hello"), "prompt not sent:\n{text}");
    // The memory file arrives in the first user message, not the system prompt.
    let memory = std::fs::read_to_string(m.claude_dir().join("CLAUDE.md")).unwrap();
    for line in ["# Alice's global preferences", "Never force-push to `main`"] {
        assert!(memory.contains(line), "fixture changed: {line}");
        assert!(
            text.contains(line),
            "~/.claude/CLAUDE.md not sent ({line}):\n{text}"
        );
    }
}

#[test]
fn a_scripted_tool_use_runs_and_its_result_comes_back() {
    let Some(claude) = claude::client() else {
        return;
    };
    let m = Machine::seeded("a");
    let project = m.project("proj");
    let api = FakeApi::with_script(vec![
        Reply::tool(
            "Bash",
            json!({"command": "echo hi-from-$((40 + 2))", "description": "Say hi"}),
        ),
        Reply::text("done"),
    ]);

    let run = claude.print(&m, &api, &project, "say hi", &["--allowedTools", "Bash"]);

    assert_eq!(run.code, Some(0), "claude -p:\n{run}");
    assert_eq!(run.stdout.trim(), "done", "{run}");
    let results = api.tool_results();
    assert_eq!(results.len(), 1, "{results:?}");
    // The shell ran the command: the arithmetic is not in the request that asked for it.
    assert!(results[0].1.contains("hi-from-42"), "{results:?}");
    assert_eq!(
        api.requests().len(),
        2,
        "one turn for the tool, one after it"
    );
}
