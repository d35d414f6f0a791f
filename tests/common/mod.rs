//! A sandboxed machine for integration tests: its own HOME, XDG dirs, ctx store and config
//! dirs, git config, Claude home seeded from the shared fixtures, and a clock. Nothing here
//! reads or writes the real user's files.
#![allow(dead_code)]

pub mod claude;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where the sandbox's clock starts: 2026-01-01T00:00:00Z.
pub const CLOCK_START: i64 = 1_767_225_600;

thread_local! {
    /// The clock of the test running on this thread (libtest gives each test its own thread):
    /// every machine a test makes shares it, so times on different machines are ordered as the
    /// commands ran, and a test sees the same times on every run.
    static CLOCK: Arc<AtomicI64> = Arc::new(AtomicI64::new(CLOCK_START));
}

/// The fixtures shipped with the project (a copy lives in tests/fixtures).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every secret value in the fixtures; none may ever reach a git object.
pub const FIXTURE_SECRETS: &[&str] = &[
    "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000",
    "lin_api_FAKE0000000000000000000000000000000000FAKE",
    "BSA_FAKE_FAKE_FAKE_0000000000000000",
    "sk-ant-oat01-FAKE",
    "sk-ant-ort01-FAKE",
    "FAKE_DB_PASSWORD",
];

/// One sandboxed machine.
pub struct Machine {
    pub name: String,
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub config: PathBuf,
    pub data: PathBuf,
    clock: Arc<AtomicI64>,
}

/// What one run printed, each stream on its own, and how it exited.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }
}

impl std::fmt::Display for Run {
    /// Both streams, labelled, for assertion messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => writeln!(f, "exit {code}")?,
            None => writeln!(f, "killed by a signal")?,
        }
        write!(f, "--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            let mut perm = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).unwrap();
        }
    }
}

impl Machine {
    /// Commits `text` as `path` on the store's main, as a person editing the store with git
    /// would (no ctx involved; signed with the machine's key, as the store's config makes
    /// `git commit` do).
    pub fn commit_to_store(&self, path: &str, text: &str, message: &str) {
        let index = self.root.join("edit-index");
        let git = |args: &[&str], input: Option<&str>| -> String {
            use std::io::Write;
            let mut child = self
                .cmd("git")
                .arg("--git-dir")
                .arg(self.store())
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            if let Some(i) = input {
                child.stdin.take().unwrap().write_all(i.as_bytes()).unwrap();
            }
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "git {args:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["read-tree", "main"], None);
        let blob = git(&["hash-object", "-w", "--stdin"], Some(text));
        let info = format!("100644,{blob},{path}");
        git(&["update-index", "--add", "--cacheinfo", &info], None);
        let tree = git(&["write-tree"], None);
        // `-S`: `git commit` signs by the store's `commit.gpgsign`, which plumbing ignores.
        let commit = git(
            &["commit-tree", "-S", &tree, "-p", "main", "-m", message],
            None,
        );
        git(&["update-ref", "refs/heads/main", &commit], None);
    }

    /// Turns the review gate off on this machine (`review: false` in its own config), for tests
    /// about convergence rather than review.
    pub fn review_off(&self) {
        let path = self.ctx_config().join("config.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("review: true\n", "");
        std::fs::write(&path, format!("{text}review: false\n")).unwrap();
    }

    /// A machine with an empty home.
    pub fn empty(name: &str) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        let config = root.join("config");
        let data = root.join("data");
        for d in [
            &home,
            &config,
            &data,
            &root.join("cache"),
            &root.join("tmp"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            root.join("gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        Machine {
            name: name.to_string(),
            _dir: dir,
            root,
            home,
            config,
            data,
            clock: CLOCK.with(Arc::clone),
        }
    }

    /// A machine whose home holds the fixture Claude files, with `/home/alice` rewritten to this home.
    pub fn seeded(name: &str) -> Machine {
        let m = Machine::empty(name);
        let f = fixtures();
        copy_dir(&f.join("claude-home"), &m.claude_dir());
        std::fs::copy(f.join("claude.json"), m.claude_json()).unwrap();
        std::fs::create_dir_all(m.desktop_config().parent().unwrap()).unwrap();
        std::fs::copy(f.join("claude_desktop_config.json"), m.desktop_config()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let script = m
                .claude_dir()
                .join("skills/pr-summary/scripts/collect_diff.sh");
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        m.rewrite_home("/home/alice");
        m
    }

    fn rewrite_home(&self, from: &str) {
        let home = self.home.to_string_lossy().to_string();
        for p in walk(&self.home).into_iter().chain([self.desktop_config()]) {
            let name = p.to_string_lossy();
            if name.ends_with(".json") || name.ends_with(".jsonl") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains(from) {
                    std::fs::write(&p, text.replace(from, &home)).unwrap();
                }
            }
        }
    }

    pub fn claude_dir(&self) -> PathBuf {
        self.home.join(".claude")
    }
    pub fn claude_json(&self) -> PathBuf {
        self.home.join(".claude.json")
    }
    pub fn desktop_config(&self) -> PathBuf {
        self.config.join("Claude/claude_desktop_config.json")
    }
    /// The store (`CTX_STORE`).
    pub fn store(&self) -> PathBuf {
        self.data.join("ctx/store")
    }
    /// ctx's config dir (`CTX_CONFIG_DIR`): identity, machine name, hook log.
    pub fn ctx_config(&self) -> PathBuf {
        self.config.join("ctx")
    }
    pub fn identity(&self) -> PathBuf {
        self.ctx_config().join("identity.txt")
    }

    /// The time (seconds since the epoch) the last command of this test ran at.
    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Moves the clock `seconds` ahead, as if that long passed before the next command.
    pub fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    /// A command with this machine's environment and nothing else. Every command runs one
    /// second after the one before it: ctx gets the time as `CTX_TIMESTAMP`, git as
    /// `GIT_AUTHOR_DATE`/`GIT_COMMITTER_DATE`, so commits and recorded times are the same on
    /// every run.
    pub fn cmd(&self, program: &str) -> Command {
        let now = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        let date = format!("{now} +0000");
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_DATA_HOME", &self.data)
            .env("XDG_CACHE_HOME", self.root.join("cache"))
            .env("XDG_STATE_HOME", self.root.join("cache"))
            .env("TMPDIR", self.root.join("tmp"))
            // ctx's own locations, pinned rather than derived from the XDG dirs.
            .env("CTX_STORE", self.store())
            .env("CTX_CONFIG_DIR", self.ctx_config())
            .env("CTX_TIMESTAMP", &date)
            .env("GIT_CONFIG_GLOBAL", self.root.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .current_dir(&self.home);
        c
    }

    /// Runs ctx with `args`.
    pub fn ctx(&self, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_ctx"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs ctx with `args` and `input` on stdin.
    pub fn ctx_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(env!("CARGO_BIN_EXE_ctx"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs ctx with `args`; both streams apart.
    pub fn run(&self, args: &[&str]) -> Run {
        self.ctx(args).into()
    }

    /// Runs ctx with `args` and `input` on stdin; both streams apart.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        self.ctx_stdin(args, input).into()
    }

    /// Runs ctx with `args` in `dir`; both streams apart.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.ctx_in(dir, args).into()
    }

    /// Runs ctx and asserts it exits with `code`; returns both streams.
    pub fn fails(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, Some(code), "ctx {args:?}:\n{run}");
        run
    }

    /// Runs ctx, asserts success and that nothing went to stderr; returns stdout.
    pub fn quiet_ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "ctx {args:?}:\n{run}");
        assert_eq!(run.stderr, "", "ctx {args:?} wrote to stderr:\n{run}");
        run.stdout
    }

    /// Runs ctx and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ctx(args);
        assert!(
            out.status.success(),
            "ctx {args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// `git --git-dir <store> args`, asserting success; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self
            .cmd("git")
            .arg("--git-dir")
            .arg(self.store())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The store's `main` commit id.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "refs/heads/main"])
            .trim()
            .to_string()
    }

    /// The content of every object in the store, concatenated.
    pub fn all_objects(&self) -> Vec<u8> {
        let out = self
            .cmd("git")
            .arg("--git-dir")
            .arg(self.store())
            .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// Copies this machine's store and identity to `other` (a second machine before sync exists).
    pub fn clone_store_to(&self, other: &Machine) {
        copy_dir(&self.data.join("ctx"), &other.data.join("ctx"));
        let _ = std::fs::remove_dir_all(other.store().join("ctx"));
        copy_dir(&self.ctx_config(), &other.ctx_config());
    }

    /// A run as the user saw it (exit code, stdout, stderr), redacted, for a snapshot.
    pub fn show(&self, run: &Run) -> String {
        self.redact(&run.to_string())
    }

    /// `text` with what differs from run to run replaced, for snapshots: this machine's folders
    /// (`[HOME]`, `[ROOT]` for the sandbox around it) and the ids of the store's commits
    /// (`[ID]`, full or abbreviated).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text
            .replace(&*self.home.to_string_lossy(), "[HOME]")
            .replace(&*self.root.to_string_lossy(), "[ROOT]");
        if self.store().join("HEAD").exists() {
            let ids = self.git(&["rev-list", "--all", "--reflog"]);
            for id in ids.lines().filter(|l| !l.is_empty()) {
                out = out.replace(id, "[ID]");
                out = out.replace(&id[..10], "[ID]");
            }
        }
        out
    }
}

/// Two machines of one store on a new bare remote: `a` made it with the fixture home and
/// committed it, `b` (an empty home) joined and was approved; both synced after.
pub fn approved_pair(a: &str, b: &str) -> (Remote, Machine, Machine) {
    let remote = Remote::new();
    let ma = Machine::seeded(a);
    ma.ok(&["init", "--machine", a, "--remote", &remote.url()]);
    ma.ok(&["commit"]);
    ma.ok(&["sync"]);
    let mb = Machine::empty(b);
    mb.ok(&["init", "--machine", b, "--remote", &remote.url()]);
    mb.ok(&["sync"]);
    ma.ok(&["sync"]);
    ma.ok(&["machine", "approve", b]);
    ma.ok(&["sync"]);
    mb.ok(&["sync"]);
    (remote, ma, mb)
}

/// A bare repository in a temp folder: the remote the machines of a test sync through.
pub struct Remote {
    dir: tempfile::TempDir,
    /// The repository.
    pub path: PathBuf,
}

impl Remote {
    /// An empty bare repository with `main` as its default branch.
    pub fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.git");
        bare_repo(&path);
        Remote { dir, path }
    }

    /// Its URL (a path).
    pub fn url(&self) -> String {
        self.path.to_string_lossy().to_string()
    }

    /// The temp folder holding it, for other files of the test (an attacker's clone).
    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// Its `main`, if it has one.
    pub fn head(&self) -> Option<String> {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&self.path)
            .args(["rev-parse", "--verify", "--quiet", "refs/heads/main"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Every object it holds, contents included (to check that no plaintext reached it).
    pub fn all_objects(&self) -> Vec<u8> {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&self.path)
            .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }
}

pub fn bare_repo(path: &Path) {
    let out = Command::new("git")
        .args(["init", "--quiet", "--bare"])
        .arg(path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git init --bare {}", path.display());
}

/// Every file under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// stdout+stderr of an output, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parses a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

impl Machine {
    /// `git args` run in `dir` with this machine's environment; asserts success, returns stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .cmd("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs ctx with `args` in `dir`.
    pub fn ctx_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_ctx"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A git repository with one commit at `~/<name>`.
    pub fn project(&self, name: &str) -> PathBuf {
        let dir = self.home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        self.git_in(&dir, &["init", "-q"]);
        std::fs::write(dir.join("README.md"), format!("# {name}\n")).unwrap();
        self.git_in(&dir, &["add", "README.md"]);
        self.git_in(&dir, &["commit", "-qm", "first"]);
        dir
    }

    /// The hook log's text ("" when there is none).
    pub fn hook_log(&self) -> String {
        std::fs::read_to_string(self.ctx_config().join("hooks.log")).unwrap_or_default()
    }
}

/// Sends SIGTERM to a running ctx (`ctx watch`) and waits at most 30 s for it to stop.
#[cfg(unix)]
pub fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "ctx did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
