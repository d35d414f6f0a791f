//! Local-loop benchmark: on a generated home of 2,000+ files, a no-op `ctx commit` and `ctx status`
//! against `git status --porcelain` in a plain git checkout of the same files, in one run.
//! Run with `cargo bench --bench local`. Prints medians and ratios (Markdown).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SKILLS: usize = 200;
const FILES_PER_SKILL: usize = 10;
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
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "b")
            .env("GIT_AUTHOR_EMAIL", "b@b")
            .env("GIT_COMMITTER_NAME", "b")
            .env("GIT_COMMITTER_EMAIL", "b@b");
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

fn generate(claude: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-home");
    std::fs::create_dir_all(claude).expect("mkdir");
    std::fs::copy(fixtures.join("settings.json"), claude.join("settings.json")).expect("copy");
    std::fs::copy(fixtures.join("CLAUDE.md"), claude.join("CLAUDE.md")).expect("copy");
    for s in 0..SKILLS {
        let dir = claude.join(format!("skills/skill-{s:03}"));
        std::fs::create_dir_all(dir.join("references")).expect("mkdir");
        std::fs::write(
            dir.join("SKILL.md"),
            format!("---\nname: skill-{s:03}\ndescription: Generated skill {s}\n---\n\n# Skill {s}\n\nDo the thing.\n"),
        )
        .expect("write");
        for f in 1..FILES_PER_SKILL {
            std::fs::write(
                dir.join(format!("references/ref-{f}.md")),
                format!(
                    "# Reference {f} of skill {s}\n\n{}\n",
                    "Some guidance text. ".repeat(20)
                ),
            )
            .expect("write");
        }
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let dest: PathBuf = to.join(e.file_name());
        if e.path().is_dir() {
            copy(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
