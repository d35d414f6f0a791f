//! Local-loop benchmark: on a generated home of 2,000+ files, a no-op `ctx commit` and `ctx status`
//! against `git status --porcelain` in a plain git checkout of the same files, in one run; then
//! the same with `ctx watch` running, which answers them what changed (its fsmonitor).
//! Run with `cargo bench --bench local`. Prints the load average, medians and minimums, and the
//! ratios when the machine is quiet (`CTX_BENCH_ANYWAY=1` prints them anyway). Markdown.

mod common;

use common::{copy, count, generate, isolate, median, min, ms, ratio, FILES_PER_SKILL, SKILLS};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 21;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let home = root.join("home");
    let claude = home.join(".claude");
    generate(&claude);
    // A real home's files are older than the stat cache's 2-second safety window (a file changed
    // within it could change again unseen, so it is never cached); let the generated ones age.
    std::thread::sleep(Duration::from_millis(2500));
    let env = |c: &mut Command| {
        isolate(c, &home, root);
    };
    let ctx = env!("CARGO_BIN_EXE_ctx");
    let run = |program: &str, args: &[&str], cwd: &Path| {
        let mut c = Command::new(program);
        env(&mut c);
        let out = c.args(args).current_dir(cwd).output().expect("spawn");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(ctx, &["init", "--machine", "bench"], &home);
    run(ctx, &["commit"], &home);
    // The same files in a plain git checkout: what a git-managed dotfiles repo costs.
    let checkout = root.join("dotfiles");
    copy(&claude, &checkout.join(".claude"));
    run("git", &["init", "-q"], &checkout);
    run("git", &["add", "-A"], &checkout);
    run("git", &["commit", "-qm", "init"], &checkout);
    let files = count(&claude);
    // Warm the caches of both sides once.
    run(ctx, &["status"], &home);
    run("git", &["status", "--porcelain"], &checkout);

    let allowed = common::ratios_allowed();
    let timed = |program: &str, args: &[&str], cwd: &Path| -> Duration {
        let t = Instant::now();
        run(program, args, cwd);
        t.elapsed()
    };
    // Alternated run by run (git, status, commit, git, …), so machine noise hits all three alike.
    let t = common::alternate(
        RUNS,
        &mut [
            &mut || timed("git", &["status", "--porcelain"], &checkout),
            &mut || timed(ctx, &["status"], &home),
            &mut || timed(ctx, &["commit"], &home),
        ],
    );
    println!("## Local loop\n");
    println!("Generated home: {files} files ({SKILLS} skills x {FILES_PER_SKILL} files + settings). {RUNS} alternating rounds after one warm-up, release build.\n");
    println!("| command | median | min | vs `git status --porcelain` (medians) |");
    println!("|---|---|---|---|");
    table(&t, "", allowed);

    // With `ctx watch` running: status and commit take unchanged files on its word.
    let mut watch = Command::new(ctx);
    env(&mut watch);
    let mut watch = watch
        .arg("watch")
        .current_dir(&home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ctx watch");
    let start = Instant::now();
    loop {
        let out = run(ctx, &["status", "--json"], &home);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
        if v["watch_vouched"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "ctx watch never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let w = common::alternate(
        RUNS,
        &mut [
            &mut || timed("git", &["status", "--porcelain"], &checkout),
            &mut || timed(ctx, &["status"], &home),
            &mut || timed(ctx, &["commit"], &home),
        ],
    );
    let _ = Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status();
    let _ = watch.wait();
    println!();
    println!("With `ctx watch` running (same home, {RUNS} more alternating rounds):\n");
    println!("| command | median | min | vs `git status --porcelain` (medians) |");
    println!("|---|---|---|---|");
    table(&w, " (`ctx watch` running)", allowed);
}

/// One table's rows: git, then ctx status and commit, with ratios to git's median.
fn table(t: &[Vec<Duration>], suffix: &str, allowed: bool) {
    let git = median(t[0].clone());
    for (name, v) in [
        ("`git status --porcelain` (plain checkout)", &t[0]),
        ("`ctx status`", &t[1]),
        ("`ctx commit` (no-op)", &t[2]),
    ] {
        let m = median(v.clone());
        let name = if name.starts_with("`ctx") {
            format!("{name}{suffix}")
        } else {
            name.to_string()
        };
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {} |",
            ms(m),
            ms(min(v)),
            ratio(m, git, allowed)
        );
    }
}
