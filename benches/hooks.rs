//! Hook overhead: `git commit` in a project with ctx's hooks installed against the same commit in
//! a project without, in one run, interleaved. Run with `cargo bench --bench hooks`.
//! Prints medians, the ratio and the milliseconds ctx adds (Markdown).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 31;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let home = root.join("home");
    std::fs::create_dir_all(home.join(".claude")).expect("mkdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-home");
    std::fs::copy(
        fixtures.join("settings.json"),
        home.join(".claude/settings.json"),
    )
    .expect("copy");
    let env = |c: &mut Command| {
        common::isolate(c, &home, root);
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
    };
    run(ctx, &["init", "--machine", "bench"], &home);
    run(ctx, &["commit"], &home);
    let project = |name: &str| {
        let p = home.join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        run("git", &["init", "-q", "-b", "main"], &p);
        std::fs::write(p.join("CLAUDE.local.md"), "personal notes\n").expect("write");
        run("git", &["commit", "-q", "--allow-empty", "-m", "first"], &p);
        p
    };
    let plain = project("plain");
    let hooked = project("hooked");
    run(ctx, &["hooks", "install"], &hooked);
    // The first hooked commit records the project; later ones find nothing changed, which is
    // the common case this measures.
    let commit = |p: &Path| {
        let t = Instant::now();
        run("git", &["commit", "-q", "--allow-empty", "-m", "x"], p);
        t.elapsed()
    };
    commit(&plain);
    commit(&hooked);
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..RUNS {
        a.push(commit(&plain));
        b.push(commit(&hooked));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (a, b) = (median(&mut a), median(&mut b));
    let log = root.join("config/ctx/hooks.log");
    assert!(
        !log.exists(),
        "the hooks failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    println!("## Hook overhead\n");
    println!(
        "`git commit --allow-empty` in a one-commit project, median of {RUNS} interleaved runs.\n"
    );
    println!("| project | median | ratio |");
    println!("|---|---|---|");
    println!("| without ctx hooks | {:.1} ms | 1.00x |", ms(a));
    println!(
        "| with ctx hooks | {:.1} ms | {:.2}x |",
        ms(b),
        ms(b) / ms(a)
    );
    println!("\nctx adds {:.1} ms per commit.", ms(b) - ms(a));
}
