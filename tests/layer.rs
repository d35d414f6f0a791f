//! The per-machine layer between sandboxed machines and a bare remote: machine-local fields
//! (theme, proxies) that never conflict nor propagate, a new machine starting from another's,
//! `ctx config` editing the list, and what one machine leaves out (deleting nothing anywhere).

mod common;

use std::path::Path;

use common::{Machine, Remote};
use serde_json::Value;

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn settings(m: &Machine) -> Value {
    json(&m.claude_dir().join("settings.json"))
}

fn edit_settings(m: &Machine, f: impl FnOnce(&mut Value)) {
    let path = m.claude_dir().join("settings.json");
    let mut v = json(&path);
    f(&mut v);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
}

fn set_local(m: &Machine, theme: &str, proxy: &str) {
    edit_settings(m, |v| {
        v["theme"] = Value::from(theme);
        v["env"]["HTTPS_PROXY"] = Value::from(proxy);
        v["env"]["no_proxy"] = Value::from(format!("localhost,{theme}.internal"));
    });
}

/// `a` made the store with the fixture home; `b` (empty) joined and was approved.
fn two_machines() -> (Remote, Machine, Machine) {
    let remote = Remote::new();
    let a = Machine::seeded("a");
    a.ok(&["init", "--machine", "a", "--remote", &remote.url()]);
    a.ok(&["commit"]);
    a.ok(&["sync"]);
    let b = join(&remote, "b", &a);
    (remote, a, b)
}

fn join(remote: &Remote, name: &str, approver: &Machine) -> Machine {
    let m = Machine::empty(name);
    m.ok(&["init", "--machine", name, "--remote", &remote.url()]);
    m.ok(&["sync"]);
    approver.ok(&["sync"]);
    approver.ok(&["machine", "approve", name]);
    approver.ok(&["sync"]);
    m.ok(&["sync"]);
    m
}

fn tree(m: &Machine) -> String {
    m.git(&["ls-tree", "-r", "--name-only", "main"])
}

fn stored(m: &Machine, path: &str) -> String {
    m.git(&["show", &format!("main:{path}")])
}

#[test]
fn two_machines_with_different_themes_and_proxies_sync_without_a_conflict() {
    let (_remote, a, b) = two_machines();
    set_local(&a, "dark", "http://proxy.office.example:3128");
    a.ok(&["sync"]);
    assert!(
        b.claude_dir().join("settings.json").is_file(),
        "b got the settings"
    );
    set_local(&b, "light", "http://proxy.home.example:8080");
    // Both change their own values again, and a shared one, before either syncs.
    set_local(&a, "dark-daltonized", "http://proxy.office.example:3129");
    edit_settings(&a, |v| v["model"] = Value::from("opus"));
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let (sa, sb) = (settings(&a), settings(&b));
    assert_eq!(sa["theme"], "dark-daltonized", "{sa}");
    assert_eq!(sa["env"]["HTTPS_PROXY"], "http://proxy.office.example:3129");
    assert_eq!(sa["env"]["no_proxy"], "localhost,dark-daltonized.internal");
    assert_eq!(sb["theme"], "light", "{sb}");
    assert_eq!(sb["env"]["HTTPS_PROXY"], "http://proxy.home.example:8080");
    // The shared fields still travel, and the rest of env with them.
    assert_eq!(sb["model"], "opus", "{sb}");
    assert_eq!(sb["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], "16000", "{sb}");
    for m in [&a, &b] {
        let status = m.ok(&["status"]);
        assert!(!status.contains("conflict"), "{status}");
        assert!(status.contains("Live files match the store."), "{status}");
    }
    // The shared file holds none of them; each machine's layer holds its own.
    let shared = stored(&a, "claude/settings.json");
    assert!(
        !shared.contains("theme") && !shared.contains("PROXY"),
        "{shared}"
    );
    assert!(!shared.contains("no_proxy"), "{shared}");
    let layer_a = stored(&a, "machines/a/local/claude/settings.json");
    assert!(layer_a.contains("dark-daltonized"), "{layer_a}");
    let layer_b = stored(&a, "machines/b/local/claude/settings.json");
    assert!(
        layer_b.contains("light") && !layer_b.contains("dark"),
        "{layer_b}"
    );
}

#[test]
fn a_new_machine_starts_from_another_machines_local_values_when_asked() {
    let (remote, a, _b) = two_machines();
    set_local(&a, "dark", "http://proxy.office.example:3128");
    a.ok(&["sync"]);
    let c = join(&remote, "c", &a);
    // Not asked: c has the shared settings but none of a's values.
    let plain = settings(&c);
    assert!(plain.get("theme").is_none(), "{plain}");
    assert_eq!(plain["model"], "sonnet");
    let out = c.ok(&["apply", "--local-from", "a"]);
    assert!(out.contains("took theme"), "{out}");
    let sc = settings(&c);
    assert_eq!(sc["theme"], "dark", "{sc}");
    assert_eq!(sc["env"]["HTTPS_PROXY"], "http://proxy.office.example:3128");
    c.ok(&["commit"]);
    assert!(
        tree(&c).contains("machines/c/local/claude/settings.json"),
        "{}",
        tree(&c)
    );
    // From then on they are c's own: changing them on c leaves a alone.
    edit_settings(&c, |v| v["theme"] = Value::from("light"));
    c.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(settings(&a)["theme"], "dark");
    // A machine without a layer is named.
    let none = c.fails(&["apply", "--local-from", "nobody"], 2);
    assert!(none.stderr.contains("nobody"), "{none}");
}

#[test]
fn config_edits_the_local_list_starting_from_the_built_in_one() {
    let (_remote, a, b) = two_machines();
    let listed = a.ok(&["config", "get", "local"]);
    assert!(listed.contains("settings.json:theme"), "{listed}");
    a.ok(&["config", "add", "local", "settings.json:model"]);
    let listed = a.ok(&["config", "get", "local"]);
    assert!(
        listed.contains("settings.json:model") && listed.contains("settings.json:env.HTTP_PROXY"),
        "{listed}"
    );
    let bad = a.fails(&["config", "add", "local", "CLAUDE.md:x"], 2);
    assert!(bad.stderr.contains("FILE:FIELD"), "{bad}");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    edit_settings(&a, |v| v["model"] = Value::from("opus"));
    edit_settings(&b, |v| v["model"] = Value::from("haiku"));
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(settings(&a)["model"], "opus");
    assert_eq!(settings(&b)["model"], "haiku");
    a.ok(&["config", "remove", "local", "settings.json:model"]);
    let listed = a.ok(&["config", "get", "local"]);
    assert!(!listed.contains("settings.json:model"), "{listed}");
}

#[test]
fn a_machine_exclude_leaves_paths_out_there_and_deletes_nothing_anywhere() {
    let (_remote, a, b) = two_machines();
    let skill = |m: &Machine| m.claude_dir().join("skills/pr-summary/SKILL.md");
    assert!(skill(&b).is_file());
    a.ok(&["config", "add", "machines.b.exclude", "skills/pr-summary"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // b leaves it out: its live copy stays, the store keeps it, nothing is deleted.
    assert!(skill(&b).is_file(), "not deleted on b");
    std::fs::write(
        skill(&b),
        "---\nname: pr-summary\ndescription: b's own\n---\nb only\n",
    )
    .unwrap();
    let status = b.ok(&["status"]);
    assert!(!status.contains("pr-summary"), "{status}");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert!(tree(&a).contains("claude/skills/pr-summary/SKILL.md"));
    assert!(!std::fs::read_to_string(skill(&a))
        .unwrap()
        .contains("b only"));
    // a still syncs it, and b is not written.
    let a_text = "---\nname: pr-summary\ndescription: a's edit\n---\na's edit\n";
    std::fs::write(skill(&a), a_text).unwrap();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(std::fs::read_to_string(skill(&b))
        .unwrap()
        .contains("b only"));
    // Deleting it on b is not a deletion in the store.
    std::fs::remove_dir_all(b.claude_dir().join("skills/pr-summary")).unwrap();
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert!(tree(&a).contains("claude/skills/pr-summary/SKILL.md"));
    assert_eq!(std::fs::read_to_string(skill(&a)).unwrap(), a_text);
}
