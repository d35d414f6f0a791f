//! Long runs: four machines making random non-conflicting edits and syncing in random order
//! must converge with no edit lost; `kill -9` at random points of a sync loop must leave a valid
//! store and whole live files, and the next sync must recover by itself.
//! `CTX_SOAK_ROUNDS` (default 100 per machine) and `CTX_SOAK_SEED` vary the run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::Machine;
use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic from the seed, so a failure can be replayed.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("CTX_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0ff_ee00_0001)
}

fn bare_remote(dir: &Path) -> String {
    let path = dir.join("remote.git");
    common::bare_repo(&path);
    path.to_string_lossy().to_string()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
}

/// What every machine must see at the end: the union of all machines' own edits.
#[derive(Default)]
struct Expected {
    allow: BTreeSet<String>,
    env: BTreeMap<String, String>,
    commands: BTreeMap<String, String>,
    servers: BTreeSet<String>,
}

fn sync(m: &Machine) {
    let out = m.ctx(&["sync"]);
    if !out.status.success() {
        eprintln!(
            "{}\nmerge bases: {}",
            m.git(&[
                "log",
                "--graph",
                "--format=%h %s",
                "-n",
                "30",
                "main",
                "refs/remotes/origin/main"
            ]),
            m.git(&["merge-base", "--all", "main", "refs/remotes/origin/main"])
        );
    }
    assert!(
        out.status.success(),
        "{} sync failed: {}{}",
        m.name,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One random edit by machine `i`, only to things it owns, so no two machines conflict.
fn edit(m: &Machine, i: usize, round: usize, rng: &mut Rng, exp: &mut Expected) {
    let settings = m.claude_dir().join("settings.json");
    match rng.below(5) {
        0 => {
            let rule = format!("Bash(m{i}-r{round})");
            let mut v = read_json(&settings);
            v["permissions"]["allow"]
                .as_array_mut()
                .unwrap()
                .push(Value::String(rule.clone()));
            write_json(&settings, &v);
            exp.allow.insert(rule);
        }
        1 => {
            let key = format!("M{i}_SETTING");
            let mut v = read_json(&settings);
            v["env"][&key] = Value::String(format!("r{round}"));
            write_json(&settings, &v);
            exp.env.insert(key, format!("r{round}"));
        }
        2 => {
            let name = format!("m{i}-cmd-{}.md", rng.below(4));
            let text = format!("---\ndescription: m{i} round {round}\n---\n\nDo step {round}.\n");
            std::fs::write(m.claude_dir().join("commands").join(&name), &text).unwrap();
            exp.commands.insert(name, text);
        }
        3 => {
            let own: Vec<String> = exp
                .commands
                .keys()
                .filter(|k| k.starts_with(&format!("m{i}-")))
                .cloned()
                .collect();
            if let Some(name) = own.first() {
                let path = m.claude_dir().join("commands").join(name);
                if path.exists() {
                    std::fs::remove_file(path).unwrap();
                    exp.commands.remove(name);
                }
            }
        }
        _ => {
            let name = format!("m{i}-srv-{}", rng.below(3));
            let mut doc = read_json(&m.claude_json());
            let servers = doc["mcpServers"].as_object_mut().unwrap();
            if servers.contains_key(&name) {
                servers.remove(&name);
                exp.servers.remove(&name);
            } else {
                servers.insert(
                    name.clone(),
                    serde_json::json!({"command": "npx", "args": ["-y", name.clone()]}),
                );
                exp.servers.insert(name);
            }
            write_json(&m.claude_json(), &doc);
        }
    }
}

fn machines(n: usize, remote: &str) -> Vec<Machine> {
    let first = Machine::seeded("m0");
    first.ok(&["init", "--machine", "m0", "--remote", remote]);
    first.ok(&["sync"]);
    let mut all = vec![first];
    for i in 1..n {
        let m = Machine::empty(&format!("m{i}"));
        m.ok(&["init", "--machine", &format!("m{i}"), "--remote", remote]);
        all[0].ok(&["sync"]);
        all[0].ok(&["machine", "approve", &format!("m{i}")]);
        all[0].ok(&["sync"]);
        m.ok(&["sync"]);
        all.push(m);
    }
    for m in &all {
        // Converging is the point here; the review gate has its own tests.
        m.review_off();
        sync(m);
    }
    all
}

fn assert_converged(all: &[Machine], exp: &Expected) {
    let heads: BTreeSet<String> = all.iter().map(|m| m.head()).collect();
    assert_eq!(heads.len(), 1, "every machine at the same commit");
    let reference = read_json(&all[0].claude_dir().join("settings.json"));
    for m in all {
        let s = read_json(&m.claude_dir().join("settings.json"));
        assert_eq!(
            s["permissions"]["allow"], reference["permissions"]["allow"],
            "{}: same rules in the same order",
            m.name
        );
        let allow: BTreeSet<String> = s["permissions"]["allow"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for rule in &exp.allow {
            assert!(allow.contains(rule), "{} lost {rule}", m.name);
        }
        for (k, v) in &exp.env {
            assert_eq!(s["env"][k], Value::String(v.clone()), "{} env {k}", m.name);
        }
        for (name, text) in &exp.commands {
            let got = std::fs::read_to_string(m.claude_dir().join("commands").join(name))
                .unwrap_or_else(|_| panic!("{} lost commands/{name}", m.name));
            assert_eq!(&got, text, "{} commands/{name}", m.name);
        }
        let present: BTreeSet<String> = std::fs::read_dir(m.claude_dir().join("commands"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('m') && n.contains("-cmd-"))
            .collect();
        let wanted: BTreeSet<String> = exp.commands.keys().cloned().collect();
        assert_eq!(present, wanted, "{}: deleted commands stay deleted", m.name);
        let doc = read_json(&m.claude_json());
        let servers: BTreeSet<String> = doc["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.contains("-srv-"))
            .cloned()
            .collect();
        assert_eq!(servers, exp.servers, "{} MCP servers", m.name);
        assert_eq!(
            doc["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
            common::FIXTURE_SECRETS[0],
            "{}: the secret survived every merge",
            m.name
        );
    }
}

#[test]
fn four_machines_random_edits_random_order_converge() {
    let rounds: usize = std::env::var("CTX_SOAK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path());
    let all = machines(4, &remote);
    let mut rng = Rng(seed());
    let mut exp = Expected::default();
    for round in 0..rounds {
        for _ in 0..all.len() {
            let i = rng.below(all.len() as u64) as usize;
            edit(&all[i], i, round, &mut rng, &mut exp);
            if rng.below(2) == 0 {
                sync(&all[i]);
            }
        }
    }
    for _ in 0..2 {
        for m in &all {
            sync(m);
        }
    }
    assert_converged(&all, &exp);
}

fn store_is_valid(m: &Machine) {
    // A git child of the killed ctx (fetch, push) may still run, holding ctx's lock as the
    // next command would see it: wait for the lock as that command does.
    let lock = m.store().join("ctx/lock");
    let waited = std::process::Command::new("flock")
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap();
    assert!(waited.success());
    let out = m
        .cmd("git")
        .arg("--git-dir")
        .arg(m.store())
        .args(["fsck", "--no-dangling", "--no-progress"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: git fsck: {}{}",
        m.name,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn live_files_whole(m: &Machine) {
    read_json(&m.claude_dir().join("settings.json"));
    read_json(&m.claude_json());
    for p in common::walk(&m.claude_dir().join("commands")) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".md") && !name.starts_with('.') {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with("---\n") || !name.contains("-cmd-"),
                "{}",
                p.display()
            );
        }
    }
}

#[test]
fn kill_9_during_sync_leaves_everything_valid_and_the_next_sync_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path());
    let all = machines(2, &remote);
    let mut rng = Rng(seed() ^ 0x9);
    let mut exp = Expected::default();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_ctx"));
    for round in 0..24 {
        let i = round % 2;
        let m = &all[i];
        edit(m, i, round, &mut rng, &mut exp);
        // The other machine also moves, so the killed sync has a merge to do.
        let j = 1 - i;
        edit(&all[j], j, round, &mut rng, &mut exp);
        sync(&all[j]);
        let mut child = m
            .cmd(bin.to_str().unwrap())
            .arg("sync")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(120)));
        let _ = child.kill();
        let _ = child.wait();
        store_is_valid(m);
        live_files_whole(m);
        sync(m);
    }
    for _ in 0..2 {
        for m in &all {
            sync(m);
        }
    }
    assert_converged(&all, &exp);
}
