//! Merge-engine benchmark, in one run: speed on a generated ~1 MB settings-like JSON and a
//! 10,000-line Markdown file, and accuracy on the whole corpus (`tests/merge/`), for
//! `ctx merge-driver` (the binary, spawned as git spawns a merge driver), `git merge-file`, and
//! `mergiraf merge` when a `mergiraf` binary is on PATH or at `$MERGIRAF`.
//! Run with `cargo bench --bench merge`. Prints Markdown tables.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

const RUNS_JSON: usize = 15;
const RUNS_MD: usize = 21;

/// A merge tool, run on copies of the three files; the result lands in the copy of OURS.
#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Ctx,
    Git,
    Mergiraf,
}

struct Tools {
    ctx: PathBuf,
    mergiraf: Option<PathBuf>,
    home: PathBuf,
}

impl Tools {
    fn name(&self, t: Tool) -> &'static str {
        match t {
            Tool::Ctx => "ctx merge-driver",
            Tool::Git => "git merge-file",
            Tool::Mergiraf => "mergiraf merge",
        }
    }

    /// Runs one merge in `dir` (holding base/ours/theirs copies); `path` is the file's path in the
    /// repository. Returns (clean, merged bytes).
    fn run(&self, t: Tool, dir: &Path, path: &str) -> (bool, Vec<u8>) {
        let mut c = match t {
            Tool::Ctx => {
                let mut c = Command::new(&self.ctx);
                c.args(["merge-driver", "base", "ours", "theirs", path]);
                c
            }
            Tool::Git => {
                let mut c = Command::new("git");
                c.args(["merge-file", "-L", "ours", "-L", "base", "-L", "theirs"]);
                c.args(["ours", "base", "theirs"]);
                c
            }
            Tool::Mergiraf => {
                let mut c = Command::new(self.mergiraf.as_ref().expect("mergiraf"));
                c.args(["merge", "--git", "base", "ours", "theirs", "-p", path]);
                c
            }
        };
        c.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        let out = c.output().expect("spawn");
        let code = out.status.code().unwrap_or(-1);
        assert!(
            (0..=127).contains(&code),
            "{} failed ({code}): {}",
            self.name(t),
            String::from_utf8_lossy(&out.stderr)
        );
        let merged = std::fs::read(dir.join("ours")).expect("read result");
        let markers = String::from_utf8_lossy(&merged)
            .lines()
            .any(|l| l.starts_with("<<<<<<<") || l.starts_with(">>>>>>>"));
        (code == 0 && !markers, merged)
    }
}

fn stage(dir: &Path, base: &[u8], ours: &[u8], theirs: &[u8]) {
    std::fs::write(dir.join("base"), base).expect("write");
    std::fs::write(dir.join("ours"), ours).expect("write");
    std::fs::write(dir.join("theirs"), theirs).expect("write");
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mergiraf = std::env::var_os("MERGIRAF")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| which("mergiraf"));
    let tools = Tools {
        // CTX_MERGE_BENCH_CTX=<binary> measures another build (an earlier engine) instead.
        ctx: std::env::var_os("CTX_MERGE_BENCH_CTX")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ctx"))),
        mergiraf,
        home: tmp.path().join("home"),
    };
    std::fs::create_dir_all(&tools.home).expect("mkdir");
    let mut list = vec![Tool::Ctx, Tool::Git];
    match &tools.mergiraf {
        Some(p) => {
            let v = Command::new(p).arg("--version").output().expect("mergiraf");
            println!(
                "mergiraf: {} ({})\n",
                String::from_utf8_lossy(&v.stdout).trim(),
                p.display()
            );
            list.push(Tool::Mergiraf);
        }
        None => println!("mergiraf: not installed\n"),
    }

    let (jb, jo, jt) = settings_json();
    let (mb, mo, mt) = markdown();
    // CTX_MERGE_BENCH_DUMP=<dir> keeps the generated inputs, for profiling one tool by hand.
    if let Some(d) = std::env::var_os("CTX_MERGE_BENCH_DUMP").map(PathBuf::from) {
        std::fs::create_dir_all(&d).expect("mkdir");
        for (name, text) in [
            ("json.base", &jb),
            ("json.ours", &jo),
            ("json.theirs", &jt),
            ("md.base", &mb),
            ("md.ours", &mo),
            ("md.theirs", &mt),
        ] {
            std::fs::write(d.join(name), text).expect("write");
        }
    }
    let allowed = common::ratios_allowed();
    println!("## Merge speed\n");
    println!(
        "{RUNS_JSON} rounds (JSON) and {RUNS_MD} rounds (Markdown) after one warm-up, the tools \
         alternating run by run, one process per merge, release build; each tool merges fresh \
         copies of the three files into OURS.\n"
    );
    println!("| input | tool | result | median | min | vs `git merge-file` (medians) |");
    println!("|---|---|---|---|---|---|");
    for (label, path, runs, b, o, t) in [
        (
            format!("settings-like JSON, {} KB", jb.len() / 1024),
            "settings.json",
            RUNS_JSON,
            &jb,
            &jo,
            &jt,
        ),
        (
            format!("Markdown, {} lines", mb.lines().count()),
            "CLAUDE.md",
            RUNS_MD,
            &mb,
            &mo,
            &mt,
        ),
    ] {
        let dir = tmp.path().join("speed");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut medians: Vec<(Tool, Duration, Duration, bool)> = Vec::new();
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); list.len()];
        let mut clean = vec![true; list.len()];
        // Interleave the tools so that machine noise hits all alike; one warm-up round first.
        for round in 0..=runs {
            for (i, &tool) in list.iter().enumerate() {
                stage(&dir, b.as_bytes(), o.as_bytes(), t.as_bytes());
                let start = Instant::now();
                let (ok, _) = tools.run(tool, &dir, path);
                let took = start.elapsed();
                if round > 0 {
                    samples[i].push(took);
                }
                clean[i] = ok;
            }
        }
        for (i, &tool) in list.iter().enumerate() {
            samples[i].sort();
            let (median, fastest) = (samples[i][samples[i].len() / 2], samples[i][0]);
            medians.push((tool, median, fastest, clean[i]));
        }
        let git = medians
            .iter()
            .find(|m| m.0 == Tool::Git)
            .map(|m| m.1)
            .expect("git");
        for (tool, d, fastest, ok) in medians {
            println!(
                "| {label} | `{}` | {} | {:.1} ms | {:.1} ms | {} |",
                tools.name(tool),
                if ok { "clean" } else { "conflict" },
                ms(d),
                ms(fastest),
                common::ratio(d, git, allowed)
            );
        }
    }

    println!("\n## Merge accuracy\n");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/merge");
    let cases = corpus(&root);
    let clean_expected = cases.iter().filter(|c| c.expected.is_some()).count();
    println!(
        "Corpus: {} cases in `tests/merge/` ({} expected conflicts). Correct = a clean merge \
         equal to the expected data (parsed for JSON/YAML/TOML, text otherwise), or a conflict \
         where one is expected; silent wrong = a clean merge with other data, or where a conflict \
         is expected; byte-identical = a clean merge equal to the expected file byte for byte \
         (of the {clean_expected} cases that expect a clean merge).\n",
        cases.len(),
        cases.len() - clean_expected,
    );
    println!(
        "| tool | correct | silent wrong | missed (conflict, clean expected) | byte-identical |"
    );
    println!("|---|---|---|---|---|");
    let mut details = String::new();
    for &tool in &list {
        let (mut correct, mut wrong, mut missed, mut exact) = (0, 0, 0, 0);
        for case in &cases {
            let dir = tmp.path().join("acc");
            std::fs::create_dir_all(&dir).expect("mkdir");
            stage(&dir, &case.base, &case.ours, &case.theirs);
            let (ok, merged) = tools.run(tool, &dir, &case.path);
            let verdict = match (&case.expected, ok) {
                (None, false) => "ok",
                (None, true) => "silent wrong",
                (Some(_), false) => "missed",
                (Some(e), true) => {
                    exact += usize::from(*e == merged);
                    if same_data(&case.ext, e, &merged) {
                        "ok"
                    } else {
                        "silent wrong"
                    }
                }
            };
            match verdict {
                "ok" => correct += 1,
                "missed" => missed += 1,
                _ => wrong += 1,
            }
            if verdict != "ok" {
                let _ = writeln!(details, "- {}: {} — {verdict}", tools.name(tool), case.name);
            }
        }
        println!(
            "| `{}` | {correct}/{} | {wrong} | {missed} | {exact}/{clean_expected} |",
            tools.name(tool),
            cases.len()
        );
    }
    if !details.is_empty() {
        println!("\nCases not handled correctly:\n\n{details}");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

struct Case {
    name: String,
    ext: String,
    /// The file's path in the repository (`path` in the case folder, else `file.<ext>`).
    path: String,
    base: Vec<u8>,
    ours: Vec<u8>,
    theirs: Vec<u8>,
    /// `None`: a conflict is expected.
    expected: Option<Vec<u8>>,
}

fn corpus(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let mut formats: Vec<_> = std::fs::read_dir(root).expect("corpus").flatten().collect();
    formats.sort_by_key(|e| e.file_name());
    for format in formats {
        let mut cases: Vec<_> = std::fs::read_dir(format.path())
            .expect("corpus")
            .flatten()
            .collect();
        cases.sort_by_key(|e| e.file_name());
        for case in cases {
            let dir = case.path();
            let find = |stem: &str| {
                std::fs::read_dir(&dir)
                    .expect("case")
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.file_stem().is_some_and(|s| s == stem) && p.extension().is_some())
            };
            let base = find("base").expect("base");
            let ext = base
                .extension()
                .map(|e| e.to_string_lossy().to_string())
                .unwrap_or_default();
            let read = |p: PathBuf| std::fs::read(p).expect("read");
            let path = std::fs::read_to_string(dir.join("path"))
                .map(|p| p.trim().to_string())
                .unwrap_or_else(|_| format!("file.{ext}"));
            out.push(Case {
                name: format!(
                    "{}/{}",
                    format.file_name().to_string_lossy(),
                    case.file_name().to_string_lossy()
                ),
                ext,
                path,
                base: read(base),
                ours: read(find("ours").expect("ours")),
                theirs: read(find("theirs").expect("theirs")),
                expected: find("expected").map(read),
            });
        }
    }
    out
}

fn same_data(ext: &str, a: &[u8], b: &[u8]) -> bool {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return a == b;
    };
    let parsed = |s: &str| -> Option<Value> {
        match ext {
            "json" => serde_json::from_str(s).ok(),
            "yaml" | "yml" => serde_yaml::from_str(s).ok(),
            "toml" => toml::from_str::<toml::Value>(s).ok().map(|v| toml_data(&v)),
            _ => None,
        }
    };
    match ext {
        "json" | "yaml" | "yml" | "toml" => match (parsed(a), parsed(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        _ => a == b,
    }
}

/// TOML as data, datetimes kept apart from tables and strings.
fn toml_data(v: &toml::Value) -> Value {
    match v {
        toml::Value::Datetime(d) => json!({ "datetime": d.to_string() }),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_data).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_data(v))).collect())
        }
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

/// A settings-like JSON of about 1 MB: thousands of permission rules, hooks, env, MCP servers.
/// Ours and theirs change different parts (rules, env keys, hooks, servers), as two machines do.
fn settings_json() -> (String, String, String) {
    let mut allow = Vec::new();
    let mut deny = Vec::new();
    let mut ask = Vec::new();
    for i in 0..9000 {
        allow.push(json!(format!("Bash(tool-{i} run --target build/{i} *)")));
    }
    for i in 0..1500 {
        deny.push(json!(format!("Read(./secrets/area-{i}/**)")));
    }
    for i in 0..500 {
        ask.push(json!(format!("Bash(deploy-{i} *)")));
    }
    let mut env = Map::new();
    for i in 0..800 {
        env.insert(format!("PROJECT_VAR_{i}"), json!(format!("value-{i}")));
    }
    let mut hooks = Map::new();
    for e in 0..30 {
        let groups: Vec<Value> = (0..20)
            .map(|g| {
                json!({
                    "matcher": format!("Tool{g}|Other{g}"),
                    "hooks": (0..3).map(|h| json!({
                        "type": "command",
                        "command": format!("~/.claude/hooks/event{e}-group{g}-{h}.sh --flag {h}"),
                        "timeout": 10 + h
                    })).collect::<Vec<_>>()
                })
            })
            .collect();
        hooks.insert(format!("Event{e}"), Value::Array(groups));
    }
    let mut servers = Map::new();
    for s in 0..500 {
        servers.insert(
            format!("server-{s}"),
            json!({
                "type": "stdio",
                "command": "npx",
                "args": ["-y", format!("@acme/mcp-server-{s}@1.{s}.0"), "--port", format!("{}", 9000 + s)],
                "env": {"LOG_LEVEL": "warn", "API_URL": format!("https://api-{s}.example.com/v1")}
            }),
        );
    }
    let base = json!({
        "$schema": "https://json.schemastore.org/claude-code-settings.json",
        "model": "sonnet",
        "permissions": {"allow": allow, "ask": ask, "deny": deny, "defaultMode": "acceptEdits"},
        "env": env,
        "hooks": hooks,
        "mcpServers": servers,
        "enabledPlugins": {"commit-commands@claude-plugins-official": true},
    });
    let mut ours = base.clone();
    let mut theirs = base.clone();
    {
        let allow = ours["permissions"]["allow"].as_array_mut().expect("allow");
        allow.retain(|r| !r.as_str().is_some_and(|s| s.contains("build/10")));
        for i in 0..50 {
            allow.push(json!(format!("Bash(ours-new-{i} *)")));
        }
        for i in 0..40 {
            ours["env"][format!("PROJECT_VAR_{}", i * 7)] = json!(format!("ours-{i}"));
        }
        for e in 0..10 {
            ours["hooks"][format!("Event{e}")][3]["hooks"][1]["timeout"] = json!(99);
        }
        ours["hooks"]["Event5"][0]["hooks"]
            .as_array_mut()
            .expect("hooks")
            .push(json!({"type": "command", "command": "~/.claude/hooks/ours.sh"}));
        ours["model"] = json!("opus");
        for s in 0..20 {
            ours["mcpServers"][format!("server-{}", s * 3)]["env"]["LOG_LEVEL"] = json!("debug");
        }
    }
    {
        let deny = theirs["permissions"]["deny"].as_array_mut().expect("deny");
        for i in 0..30 {
            deny.push(json!(format!("Bash(theirs-forbidden-{i} *)")));
        }
        for i in 0..40 {
            theirs["env"][format!("PROJECT_VAR_{}", i * 7 + 3)] = json!(format!("theirs-{i}"));
        }
        for e in 15..25 {
            theirs["hooks"][format!("Event{e}")][7]["hooks"][0]["command"] =
                json!(format!("~/.claude/hooks/theirs-{e}.sh"));
        }
        for s in 0..20 {
            theirs["mcpServers"][format!("server-{}", s * 5 + 1)]["args"][1] =
                json!(format!("@acme/mcp-server-{}@2.0.0", s * 5 + 1));
        }
        theirs["mcpServers"]["server-new"] =
            json!({"type": "http", "url": "https://new.example.com/mcp"});
        theirs["enabledPlugins"]["pr-review-toolkit@claude-plugins-official"] = json!(true);
    }
    let s = |v: &Value| serde_json::to_string_pretty(v).expect("json") + "\n";
    (s(&base), s(&ours), s(&theirs))
}

/// A 10,000-line Markdown file; ours edits lines in the first half, theirs in the second, and
/// both add a section in different places.
fn markdown() -> (String, String, String) {
    let mut lines = Vec::new();
    let mut section = 0;
    while lines.len() < 10_000 {
        section += 1;
        lines.push(format!("## Section {section}"));
        lines.push(String::new());
        for p in 0..6 {
            lines.push(format!(
                "- Rule {section}.{p}: prefer the documented command for task {section} and explain why in one line."
            ));
        }
        lines.push(String::new());
    }
    lines.truncate(10_000);
    let join = |v: &[String]| v.join("\n") + "\n";
    let mut ours = lines.clone();
    let mut theirs = lines.clone();
    for k in 0..25 {
        let i = 100 + k * 180 + 2;
        ours[i] = format!("{} (ours {k})", ours[i]);
        let j = 5_200 + k * 180 + 3;
        theirs[j] = format!("{} (theirs {k})", theirs[j]);
    }
    ours.insert(3_000, "- A new rule added on the laptop.".to_string());
    theirs.insert(8_000, "- A new rule added on the desktop.".to_string());
    (join(&lines), join(&ours), join(&theirs))
}
