//! What the benchmarks share: a generated Claude home and a sandboxed environment.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Skills in the generated home.
pub const SKILLS: usize = 200;
/// Files per skill (SKILL.md and references).
pub const FILES_PER_SKILL: usize = 10;

/// Points `c` at a sandboxed machine: its own HOME and XDG folders, no user git config.
pub fn isolate<'c>(c: &'c mut Command, home: &Path, root: &Path) -> &'c mut Command {
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_DATA_HOME", root.join("data"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "b")
        .env("GIT_AUTHOR_EMAIL", "b@b")
        .env("GIT_COMMITTER_NAME", "b")
        .env("GIT_COMMITTER_EMAIL", "b@b")
}

/// The median of some timings.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The fastest of some timings.
pub fn min(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

/// Above this 1-minute load average the machine is busy: other work's threads compete with the
/// benchmark's, which favours whichever side waits more, so a ratio would not be what a user sees.
pub const BUSY_LOAD: f64 = 1.5;

/// The 1-minute load average, where the OS tells it (`/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Prints the load average at the start and decides whether ratios may be printed: only on a
/// quiet machine (load at most [`BUSY_LOAD`]), or when `CTX_BENCH_ANYWAY=1` asks for them anyway.
pub fn ratios_allowed() -> bool {
    let anyway = std::env::var("CTX_BENCH_ANYWAY").is_ok_and(|v| v == "1");
    let load = load_average();
    let shown = load.map_or("unknown".to_string(), |l| format!("{l:.2}"));
    println!("Load average (1 min) at start: {shown}.\n");
    let busy = load.is_none_or(|l| l > BUSY_LOAD);
    if busy && !anyway {
        println!(
            "The machine is busy (load above {BUSY_LOAD}): timings are printed, ratios are not. \
             Run again on a quiet machine, or set CTX_BENCH_ANYWAY=1 to print them anyway.\n"
        );
    } else if busy {
        println!("CTX_BENCH_ANYWAY=1: ratios printed although the machine is busy; they are not figures of record.\n");
    }
    !busy || anyway
}

/// `a / b` as a ratio, or a dash when ratios are withheld.
pub fn ratio(a: Duration, b: Duration, allowed: bool) -> String {
    match allowed {
        true => format!("{:.2}x", ms(a) / ms(b)),
        false => "-".to_string(),
    }
}

/// Runs each of `runs` once per round, in turn (A, B, A, B, …), for `rounds` rounds after one
/// warm-up round, so that machine noise hits every side alike. Returns each side's timings.
pub fn alternate(rounds: usize, runs: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Vec<Duration>> {
    let mut out = vec![Vec::with_capacity(rounds); runs.len()];
    for round in 0..=rounds {
        for (i, run) in runs.iter_mut().enumerate() {
            let took = run();
            if round > 0 {
                out[i].push(took);
            }
        }
    }
    out
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A Claude home of 2,000+ files: the fixture settings and CLAUDE.md, SKILLS × FILES_PER_SKILL.
pub fn generate(claude: &Path) {
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

/// Copies a folder tree.
pub fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Files under a folder.
pub fn count(dir: &Path) -> usize {
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
