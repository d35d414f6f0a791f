//! Sync benchmark, in one run against the git CLI doing the same work:
//! 1. a one-file `ctx sync` (commit, fetch, merge with the other machine's change, apply, push)
//!    against a local bare remote vs `git add; git commit; git fetch; git merge; git push` in a
//!    plain clone of the same 2,000 files;
//! 2. a new machine's full restore, `ctx init --remote URL --apply` (one command: the join, the
//!    apply, and the push of the machine's record beside it), vs `git clone`.
//!
//! Run with `cargo bench --bench sync`. Prints the load average, medians and minimums, and the
//! ratios when the machine is quiet (`CTX_BENCH_ANYWAY=1` prints them anyway). Markdown.

mod common;

use common::{copy, count, generate, isolate, median, min, ms, ratio, SKILLS};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROUNDS: usize = 15;
const RESTORES: usize = 7;

struct Machine {
    root: PathBuf,
}

impl Machine {
    fn new(base: &Path, name: &str) -> Machine {
        let root = base.join(name);
        for d in ["home", "config", "data"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        Machine { root }
    }
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        isolate(&mut c, &self.home(), &self.root).current_dir(self.home());
        c
    }
    fn run(&self, program: &str, args: &[&str], cwd: Option<&Path>) {
        let mut c = self.cmd(program);
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        let out = c.args(args).output().expect("spawn");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let ctx = env!("CARGO_BIN_EXE_ctx");
    let bare = |name: &str| -> String {
        let p = base.join(name);
        let out = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&p)
            .output()
            .expect("git");
        assert!(out.status.success());
        p.to_string_lossy().to_string()
    };

    // ctx: machine A with a generated home, machine B joined; both on one bare remote.
    let remote = bare("ctx-remote.git");
    let a = Machine::new(base, "a");
    generate(&a.home().join(".claude"));
    a.run(ctx, &["init", "--machine", "a", "--remote", &remote], None);
    a.run(ctx, &["sync"], None);
    let b = Machine::new(base, "b");
    b.run(ctx, &["init", "--machine", "b", "--remote", &remote], None);
    b.run(ctx, &["sync"], None);
    a.run(ctx, &["sync"], None);
    // Trusted both ways, as two machines of one person are: b's own commits are then accepted.
    a.run(ctx, &["machine", "approve", "b"], None);
    a.run(ctx, &["sync"], None);
    b.run(ctx, &["sync"], None);

    // git: the same files in two clones of a plain repository.
    let git_remote = bare("git-remote.git");
    let ga = Machine::new(base, "ga");
    let ga_dir = ga.home().join("dotfiles");
    copy(&a.home().join(".claude"), &ga_dir.join(".claude"));
    ga.run("git", &["init", "-q", "-b", "main"], Some(&ga_dir));
    ga.run("git", &["add", "-A"], Some(&ga_dir));
    ga.run("git", &["commit", "-qm", "init"], Some(&ga_dir));
    ga.run(
        "git",
        &["remote", "add", "origin", &git_remote],
        Some(&ga_dir),
    );
    ga.run("git", &["push", "-q", "origin", "main"], Some(&ga_dir));
    let gb = Machine::new(base, "gb");
    let gb_dir = gb.home().join("dotfiles");
    gb.run(
        "git",
        &["clone", "-q", &git_remote, gb_dir.to_str().unwrap()],
        None,
    );
    let files = count(&a.home().join(".claude"));
    let allowed = common::ratios_allowed();

    let mut ctx_times = Vec::new();
    let mut git_times = Vec::new();
    for round in 0..ROUNDS {
        // The other machine changes one file and publishes it (not timed).
        append(&b.home().join(".claude/CLAUDE.md"), round);
        b.run(ctx, &["sync"], None);
        gb.run(
            "git",
            &["pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
            Some(&gb_dir),
        );
        append(&gb_dir.join(".claude/CLAUDE.md"), round);
        gb.run("git", &["commit", "-qam", "b"], Some(&gb_dir));
        gb.run("git", &["push", "-q", "origin", "main"], Some(&gb_dir));
        // This machine changes another file and syncs (timed).
        let skill = format!(".claude/skills/skill-{:03}/SKILL.md", round % SKILLS);
        append(&a.home().join(&skill), round);
        let t = Instant::now();
        a.run(ctx, &["sync"], None);
        ctx_times.push(t.elapsed());
        append(&ga_dir.join(&skill), round);
        let t = Instant::now();
        ga.run("git", &["add", "-A"], Some(&ga_dir));
        ga.run("git", &["commit", "-qm", "a"], Some(&ga_dir));
        ga.run("git", &["fetch", "-q", "origin"], Some(&ga_dir));
        ga.run(
            "git",
            &["merge", "-q", "--no-edit", "origin/main"],
            Some(&ga_dir),
        );
        ga.run("git", &["push", "-q", "origin", "HEAD:main"], Some(&ga_dir));
        git_times.push(t.elapsed());
    }
    let (ctx_sync, git_sync) = (median(ctx_times.clone()), median(git_times.clone()));

    let mut restore = Vec::new();
    let mut clone = Vec::new();
    let mut clone_local = Vec::new();
    for i in 0..RESTORES {
        let c = Machine::new(base, &format!("c{i}"));
        let t = Instant::now();
        let name = format!("c{i}");
        c.run(
            ctx,
            &["init", "--machine", &name, "--remote", &remote, "--apply"],
            None,
        );
        restore.push(t.elapsed());
        assert!(c.home().join(".claude/skills/skill-199/SKILL.md").exists());
        // `--no-local`: the pack transport any real (network) remote uses, as ctx's fetch does.
        let g = Machine::new(base, &format!("g{i}"));
        let t = Instant::now();
        g.run(
            "git",
            &["clone", "-q", "--no-local", &git_remote, "dotfiles"],
            None,
        );
        clone.push(t.elapsed());
        // A plain clone of a local path hardlinks the object files instead: shown for reference.
        let h = Machine::new(base, &format!("h{i}"));
        let t = Instant::now();
        h.run("git", &["clone", "-q", &git_remote, "dotfiles"], None);
        clone_local.push(t.elapsed());
    }
    let mins = [&ctx_times, &git_times, &restore, &clone, &clone_local].map(|v| ms(min(v)));
    let (restore, clone, clone_local) = (
        median(restore.clone()),
        median(clone.clone()),
        median(clone_local.clone()),
    );

    println!("## Sync\n");
    println!(
        "Generated home: {files} files. Local bare remotes; another machine pushes a one-file change before each round. {ROUNDS} rounds (sync) and {RESTORES} runs (restore), ctx and git alternating, release build. Medians, minimums in brackets.\n"
    );
    println!("| work | ctx | git CLI | ratio (medians) |");
    println!("|---|---|---|---|");
    println!(
        "| one-file sync (ctx sync / add+commit+fetch+merge+push) | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {} |",
        ms(ctx_sync),
        mins[0],
        ms(git_sync),
        mins[1],
        ratio(ctx_sync, git_sync, allowed)
    );
    println!(
        "| new machine restore (ctx init --remote --apply / git clone --no-local) | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {} |",
        ms(restore),
        mins[2],
        ms(clone),
        mins[3],
        ratio(restore, clone, allowed)
    );
    println!(
        "| (reference: git clone of a local path, objects hardlinked) | | {:.1} ms ({:.1}) | {} |",
        ms(clone_local),
        mins[4],
        ratio(restore, clone_local, allowed)
    );
}

fn append(path: &Path, round: usize) {
    let mut text = std::fs::read_to_string(path).expect("read");
    text.push_str(&format!("\nRound {round}.\n"));
    std::fs::write(path, text).expect("write");
}
