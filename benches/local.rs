//! Local-loop benchmark: on a generated home of 2,000+ files, a no-op `ctx commit` and `ctx status`
//! against `git status --porcelain` in a plain git checkout of the same files, in one run.
//! Run with `cargo bench --bench local`. Prints medians and ratios (Markdown).

mod common;

use common::{copy, count, generate, isolate, FILES_PER_SKILL, SKILLS};
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

    let time = |program: &str, args: &[&str], cwd: &Path| -> Duration {
        let mut v: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                run(program, args, cwd);
                t.elapsed()
            })
            .collect();
        v.sort();
        v[RUNS / 2]
    };
    // Interleave so that machine noise hits all three alike.
    let git = time("git", &["status", "--porcelain"], &checkout);
    let status = time(ctx, &["status"], &home);
    let commit = time(ctx, &["commit"], &home);
    let git2 = time("git", &["status", "--porcelain"], &checkout);
    let git = git.min(git2);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("## Local loop\n");
    println!("Generated home: {files} files ({SKILLS} skills x {FILES_PER_SKILL} files + settings). Median of {RUNS} runs, release build.\n");
    println!("| command | median | vs `git status --porcelain` |");
    println!("|---|---|---|");
    println!(
        "| `git status --porcelain` (plain checkout) | {:.1} ms | 1.00x |",
        ms(git)
    );
    println!(
        "| `ctx status` | {:.1} ms | {:.2}x |",
        ms(status),
        ms(status) / ms(git)
    );
    println!(
        "| `ctx commit` (no-op) | {:.1} ms | {:.2}x |",
        ms(commit),
        ms(commit) / ms(git)
    );
}
