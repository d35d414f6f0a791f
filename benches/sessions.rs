//! Sessions benchmark, in one run against the git CLI doing the same work on plain files:
//! 1. a store holding SESSIONS transcripts (500 of ~400 KiB: ~200 MB), one session grows by 50
//!    lines, `ctx sync` vs `git add -A; commit; fetch; merge; push` of the same transcripts as
//!    plain files, alternating which runs first;
//! 2. store growth over those SYNCS syncs (remote size before and after), against the lines
//!    appended: ctx stores immutable sealed chunks, so it grows with what was appended;
//! 3. a new machine writing every session (its first `ctx sync` once approved) vs `git clone`.
//!
//! Run with `cargo bench --bench sessions`; `CTX_BENCH_SESSIONS`, `CTX_BENCH_SESSION_KB` and
//! `CTX_BENCH_SYNCS` scale it down. Prints Markdown.

mod common;

use common::{isolate, median, ms};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ORIGIN: &str = "git@github.com:acme/webapp.git";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Machine {
    root: PathBuf,
}

impl Machine {
    fn new(base: &Path, name: &str) -> Machine {
        let root = base.join(name);
        for d in ["home/.claude", "config", "data"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        Machine { root }
    }
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    fn run(&self, program: &str, args: &[&str], cwd: Option<&Path>) -> String {
        let mut c = Command::new(program);
        isolate(&mut c, &self.home(), &self.root).current_dir(cwd.unwrap_or(&self.home()));
        let out = c.args(args).output().expect("spawn");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }
    /// The project checkout `~/code/webapp` (origin ORIGIN), recorded by ctx's hooks.
    fn checkout(&self, ctx: &str) -> PathBuf {
        let dir = self.home().join("code/webapp");
        std::fs::create_dir_all(&dir).expect("mkdir");
        self.run("git", &["init", "-q", "-b", "main"], Some(&dir));
        self.run("git", &["remote", "add", "origin", ORIGIN], Some(&dir));
        std::fs::write(dir.join("README.md"), "# webapp\n").expect("write");
        self.run("git", &["add", "README.md"], Some(&dir));
        self.run("git", &["commit", "-qm", "first"], Some(&dir));
        self.run(ctx, &["hooks", "install"], Some(&dir));
        std::fs::canonicalize(&dir).expect("canonicalize")
    }
}

/// Claude Code's folder name for an ASCII path.
fn enc(p: &Path) -> String {
    p.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn sid(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-000000000000")
}

/// One transcript line of about 1 KiB: words that compress as prose does, not random bytes.
fn line(session: usize, n: usize, cwd: &Path) -> String {
    const WORDS: &[&str] = &[
        "the",
        "form",
        "login",
        "test",
        "refactor",
        "function",
        "returns",
        "error",
        "value",
        "component",
        "state",
        "render",
        "update",
        "file",
        "line",
        "change",
        "fix",
        "build",
    ];
    let mut text = String::new();
    let mut x = (session * 7919 + n * 104_729) as u64;
    while text.len() < 800 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        text.push_str(WORDS[(x >> 33) as usize % WORDS.len()]);
        text.push(' ');
    }
    let v = serde_json::json!({
        "parentUuid": if n == 0 { None } else { Some(format!("{session}-{}", n - 1)) },
        "uuid": format!("{session}-{n}"), "sessionId": sid(session), "cwd": cwd,
        "type": if n.is_multiple_of(2) { "user" } else { "assistant" },
        "message": {"role": "user", "content": text},
        "timestamp": format!("2026-11-{:02}T{:02}:{:02}:00.000Z", 1 + session % 28, (n / 60) % 24, n % 60),
    });
    format!("{v}\n")
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("write");
}

/// Bytes under a folder.
fn size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => size(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let sessions = knob("CTX_BENCH_SESSIONS", 500);
    let lines_each = knob("CTX_BENCH_SESSION_KB", 400);
    let syncs = knob("CTX_BENCH_SYNCS", 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let ctx = env!("CARGO_BIN_EXE_ctx");
    let bare = |name: &str| -> PathBuf {
        let p = base.join(name);
        let out = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&p)
            .output()
            .expect("git");
        assert!(out.status.success());
        p
    };

    // ctx: machine a with the project and its sessions.
    let remote = bare("ctx-remote.git");
    let url = remote.to_string_lossy().to_string();
    let a = Machine::new(base, "a");
    a.run(ctx, &["init", "--machine", "a", "--remote", &url], None);
    let pa = a.checkout(ctx);
    a.run(ctx, &["sessions", "enable"], None);
    let folder = a.home().join(".claude/projects").join(enc(&pa));
    std::fs::create_dir_all(&folder).expect("mkdir");
    for s in 0..sessions {
        let text: String = (0..lines_each).map(|n| line(s, n, &pa)).collect();
        std::fs::write(folder.join(format!("{}.jsonl", sid(s))), text).expect("write");
    }
    let transcripts = size(&folder);
    let t = Instant::now();
    a.run(ctx, &["sync"], None);
    let first = t.elapsed();

    // git: the same transcripts as plain files in a clone of a plain repository.
    let git_remote = bare("git-remote.git");
    let g = Machine::new(base, "g");
    let g_dir = g.home().join("store");
    common::copy(&folder, &g_dir.join("sessions"));
    g.run("git", &["init", "-q", "-b", "main"], Some(&g_dir));
    g.run("git", &["add", "-A"], Some(&g_dir));
    g.run("git", &["commit", "-qm", "init"], Some(&g_dir));
    let git_url = git_remote.to_string_lossy().to_string();
    g.run("git", &["remote", "add", "origin", &git_url], Some(&g_dir));
    g.run("git", &["push", "-q", "origin", "main"], Some(&g_dir));

    let (ctx_before, git_before) = (size(&remote), size(&git_remote));
    let (mut ctx_times, mut git_times) = (Vec::new(), Vec::new());
    let mut appended = 0u64;
    for round in 0..syncs {
        let s = round % sessions;
        let grow: String = (0..50)
            .map(|n| line(s, lines_each + round * 50 + n, &pa))
            .collect();
        appended += grow.len() as u64;
        let name = format!("{}.jsonl", sid(s));
        append(&folder.join(&name), &grow);
        append(&g_dir.join("sessions").join(&name), &grow);
        let time_ctx = |v: &mut Vec<Duration>| {
            let t = Instant::now();
            a.run(ctx, &["sync"], None);
            v.push(t.elapsed());
        };
        let time_git = |v: &mut Vec<Duration>| {
            let t = Instant::now();
            g.run("git", &["add", "-A"], Some(&g_dir));
            g.run("git", &["commit", "-qm", "grow"], Some(&g_dir));
            g.run("git", &["fetch", "-q", "origin"], Some(&g_dir));
            g.run(
                "git",
                &["merge", "-q", "--no-edit", "origin/main"],
                Some(&g_dir),
            );
            g.run("git", &["push", "-q", "origin", "HEAD:main"], Some(&g_dir));
            v.push(t.elapsed());
        };
        // Alternate which goes first: neither gets the warmer caches every round.
        if round.is_multiple_of(2) {
            time_ctx(&mut ctx_times);
            time_git(&mut git_times);
        } else {
            time_git(&mut git_times);
            time_ctx(&mut ctx_times);
        }
    }
    let (ctx_after, git_after) = (size(&remote), size(&git_remote));

    // A new machine with the project: joins, is approved, then its first sync writes them all.
    let c = Machine::new(base, "c");
    c.run(ctx, &["init", "--machine", "c", "--remote", &url], None);
    a.run(ctx, &["sync"], None);
    let before_approve = size(&remote);
    a.run(ctx, &["machine", "approve", "c"], None);
    a.run(ctx, &["sync"], None);
    let reseal = size(&remote) - before_approve;
    c.checkout(ctx);
    let t = Instant::now();
    let out = c.run(ctx, &["sync"], None);
    let restore = t.elapsed();
    let written = c.home().join(".claude/projects");
    assert!(
        size(&written) >= transcripts,
        "the new machine wrote {} of {} bytes: {out}",
        size(&written),
        transcripts
    );
    let t = Instant::now();
    let h = Machine::new(base, "h");
    h.run(
        "git",
        &["clone", "-q", "--no-local", &git_url, "store"],
        None,
    );
    let clone = t.elapsed();

    let (cs, gs) = (median(ctx_times.clone()), median(git_times.clone()));
    println!("## Sessions\n");
    println!(
        "{sessions} sessions, {:.0} MiB of transcripts; {syncs} rounds, each appending 50 lines (~{:.0} KiB) to one session; local bare remotes; release build. First capture of all of it: {:.1} s.\n",
        mib(transcripts),
        appended as f64 / syncs.max(1) as f64 / 1024.0,
        first.as_secs_f64()
    );
    println!("| work | ctx | git CLI | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| sync after one session grew by 50 lines (median) | {:.1} ms | {:.1} ms | {:.2}x |",
        ms(cs),
        ms(gs),
        ms(cs) / ms(gs)
    );
    println!(
        "| the same, minimum | {:.1} ms | {:.1} ms | |",
        ms(ctx_times.iter().copied().min().unwrap_or_default()),
        ms(git_times.iter().copied().min().unwrap_or_default())
    );
    println!(
        "| remote growth over {syncs} syncs ({:.2} MiB appended) | {:.2} MiB | {:.2} MiB | {:.2}x |",
        mib(appended),
        mib(ctx_after - ctx_before),
        mib(git_after - git_before),
        (ctx_after - ctx_before) as f64 / (git_after - git_before).max(1) as f64
    );
    println!(
        "| new machine writes every session (first sync once approved / git clone --no-local) | {:.0} ms | {:.0} ms | {:.2}x |",
        ms(restore),
        ms(clone),
        ms(restore) / ms(clone)
    );
    println!(
        "\nApproving the new machine sealed every chunk again to it: the remote grew by {:.1} MiB ({:.2}x the transcripts).",
        mib(reseal),
        reseal as f64 / transcripts.max(1) as f64
    );
}
