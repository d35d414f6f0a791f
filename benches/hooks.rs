//! Hook overhead: `git commit` in a project with ctx's hooks installed against the same commit in
//! a project without, and in one whose hook only runs `/bin/true` (what any hook costs), in one
//! run, interleaved. Run with `cargo bench --bench hooks`.
//! Prints the load average, medians and minimums, and (on a quiet machine, or with
//! `CTX_BENCH_ANYWAY=1`) the ratio and the milliseconds ctx adds. Markdown.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    // The floor: what any hook costs git (a shell started, a program run), here `/bin/true`.
    let floor = project("floor");
    let hook = floor.join(".git/hooks/post-commit");
    std::fs::write(&hook, "#!/bin/sh\n/bin/true\n").expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    run(ctx, &["hooks", "install"], &hooked);
    // A real project's files are older than the two seconds within which ctx trusts no stat
    // data (a file changed then could change again unseen); let the generated ones age, as
    // the local bench does.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // The first hooked commit records the project; later ones find nothing changed, which is
    // the common case this measures.
    let commit = |p: &Path| {
        let t = Instant::now();
        run("git", &["commit", "-q", "--allow-empty", "-m", "x"], p);
        t.elapsed()
    };
    let allowed = common::ratios_allowed();
    // Alternated run by run, one warm-up round first.
    let t = common::alternate(
        RUNS,
        &mut [&mut || commit(&plain), &mut || commit(&hooked), &mut || {
            commit(&floor)
        }],
    );
    let ms = common::ms;
    let (a, b) = (common::median(t[0].clone()), common::median(t[1].clone()));
    let log = root.join("config/ctx/hooks.log");
    assert!(
        !log.exists(),
        "the hooks failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    println!("## Hook overhead\n");
    println!(
        "`git commit --allow-empty` in a one-commit project, {RUNS} alternating rounds after one warm-up.\n"
    );
    println!("| project | median | min | ratio (medians) |");
    println!("|---|---|---|---|");
    println!(
        "| without ctx hooks | {:.1} ms | {:.1} ms | 1.00x |",
        ms(a),
        ms(common::min(&t[0]))
    );
    println!(
        "| with ctx hooks | {:.1} ms | {:.1} ms | {} |",
        ms(b),
        ms(common::min(&t[1])),
        common::ratio(b, a, allowed)
    );
    let f = common::median(t[2].clone());
    println!(
        "| with a hook running `/bin/true` | {:.1} ms | {:.1} ms | {} |",
        ms(f),
        ms(common::min(&t[2])),
        common::ratio(f, a, allowed)
    );
    match allowed {
        true => println!(
            "\nctx adds {:.1} ms per commit (medians; {:.1} ms between the minimums); any hook \
             adds {:.1} ms (`/bin/true`).",
            ms(b) - ms(a),
            ms(common::min(&t[1])) - ms(common::min(&t[0])),
            ms(f) - ms(a)
        ),
        false => println!("\nThe difference is not printed on a busy machine."),
    }
}
