//! No plaintext, ever: a home with secrets planted in every place they are known to sit, committed
//! and synced, leaves none of them in any object of the store or the remote; a clean home commits
//! with nothing refused and nothing sealed.

mod common;

use std::path::{Path, PathBuf};

use common::Machine;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v = common::json(path);
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
}

/// A JWT built at run time (a literal one would trip secret scanners on this repository).
fn jwt() -> String {
    let b64 = |s: &str| {
        use std::fmt::Write;
        // base64url without padding, by hand: the test crate has no base64 dependency.
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |n, b| (n << 8) | *b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                let _ = write!(out, "{}", A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    format!(
        "{}.{}.FAKEsignatureFAKEsignature0123",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(r#"{"sub":"FAKE-user","name":"FAKE"}"#)
    )
}

/// Plants secrets in every place of the issue on `m`; returns them. Each holds FAKE where its
/// shape allows, so nothing here is mistaken for a real credential by a scanner.
fn plant(m: &Machine, project: &Path) -> Vec<String> {
    let s: Vec<String> = [
        "a8f5f167f44f4964e6c998deFAKE110c",         // 0 args --token <hex>
        "FAKEa8f5f167f44f4964e6c998dee827",         // 1 ["--api-key", …]
        "FAKEqueryKey0123456789",                   // 2 url ?api_key=
        "",                                         // 3 JWT, below
        "FAKEb64/K7MDENGbPxRfiCYq+9zWJalrXUtnF0=",  // 4 a base64 secret, bare
        "FAKE/wJalrXUtnFEMIK7MDENGbPxRfiCYzz0q9x",  // 5 an AWS secret access key, bare
        "FAKEshellKey0123456789",                   // 6 sh -c "API_KEY=…"
        "99887766",                                 // 7 a numeric env value
        "FAKEdesktopToken0123456789",               // 8 Claude Desktop args
        "FAKEnotionBearer0123456789",               // 9 a server named with dots
        "FAKEnotionApiKey0123456789",               // 10
        "FAKE9f8e7d6c5b4a39281706f5e4d3c2b1a0",     // 11 settings env MY_VAR
        "FAKEauthValue12345",                       // 12 env AUTH
        "FAKEcustomHeader12345",                    // 13 ANTHROPIC_CUSTOM_HEADERS
        "B00000000/FAKEFAKEFAKEFAKEFAKE0000",       // 14 SLACK_WEBHOOK_URL
        "q8Xf1Z7kLm2Pw9Rt4Vb6Nc3FAKE",              // 15 apiKeyHelper
        "FAKEhookToken123456789",                   // 16 hook curl -H
        "FAKEpermKey0123456789",                    // 17 permission rule
        "FAKEwJalrXUtnFEMIK7MDENGbPxRfiCY01",       // 18 skill script export
        "FAKE-db-password-42",                      // 19 agent export DB_PASSWORD
        "FAKEcommandKey0123456789",                 // 20 command API_KEY = "…"
        "FAKEdotenv0123456789abc",                  // 21 skill .env
        "FAKEyamlKey0123456789",                    // 22 skill config.yaml
        "FAKEtomlToken0123456789",                  // 23 skill config.toml
        "FAKEstaging-pw-77",                        // 24 CLAUDE.md
        "FAKE9f8e7d6c5b4a39281706f5e4d3c2b1a1",     // 25 settings.local.json env
        "FAKEprojPermToken0123456789",              // 26 settings.local.json permission
        "FAKEprojHookToken0123456789",              // 27 settings.local.json hook
        "FAKEclaudeLocal0123456789",                // 28 CLAUDE.local.md
        "FAKEescapedPath0123456789",                // 29 JSON with "\/home/…"
        "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE7777", // 30 YAML flow list
        "FAKEdockerAuth0123456789",                 // 31 a project file linked to ~/.docker
        "FAKEbashHistoryToken0123456789",           // 32 a project file linked to ~/.bash_history
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut s = s;
    s[3] = jwt();
    let home = m.home.to_string_lossy().to_string();
    edit_json(&m.claude_json(), |v| {
        let servers = &mut v["mcpServers"];
        servers["hexed"] = serde_json::json!({"command": "tool", "args": ["--token", s[0]]});
        servers["keyed"] =
            serde_json::json!({"command": "tool", "args": ["serve", "--api-key", s[1]]});
        servers["queried"] = serde_json::json!({"type": "http", "url": format!("https://mcp.example.com/sse?api_key={}", s[2])});
        servers["bare"] = serde_json::json!({"command": "tool", "args": [s[3], s[4], s[5]]});
        servers["shelled"] = serde_json::json!({"command": "sh", "args": ["-c", format!("API_KEY={} exec my-server", s[6])]});
        servers["numeric"] = serde_json::json!({"command": "tool", "env": {"PIN": 99887766}});
        servers["mcp.notion.com"] = serde_json::json!({"type": "http", "url": "https://mcp.notion.com/mcp",
            "headers": {"Authorization": format!("Bearer {}", s[9]), "X-Api-Key": s[10]}});
    });
    edit_json(&m.desktop_config(), |v| {
        v["mcpServers"]["desktop-tool"] =
            serde_json::json!({"command": "tool", "args": ["--token", s[8]]});
    });
    edit_json(&m.claude_dir().join("settings.json"), |v| {
        let env = &mut v["env"];
        env["MY_VAR"] = s[11].clone().into();
        env["AUTH"] = s[12].clone().into();
        env["ANTHROPIC_CUSTOM_HEADERS"] = format!("X-Api-Key: {}", s[13]).into();
        env["SLACK_WEBHOOK_URL"] =
            format!("https://hooks.slack.com/services/T00000000/{}", s[14]).into();
        v["apiKeyHelper"] = format!("echo {}", s[15]).into();
        v["hooks"]["Stop"] = serde_json::json!([{"hooks": [{"type": "command",
            "command": format!("curl -s -H 'Authorization: token {}' https://api.example.com/ping", s[16])}]}]);
        v["permissions"]["allow"]
            .as_array_mut()
            .unwrap()
            .push(format!("Bash(curl -H 'X-Api-Key: {}' *)", s[17]).into());
    });
    let skill = m.claude_dir().join("skills/deploy");
    write(
        &skill.join("SKILL.md"),
        "---\nname: deploy\ndescription: deploys\n---\nRun scripts/deploy.sh\n",
    );
    write(
        &skill.join("scripts/deploy.sh"),
        &format!(
            "#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={}\naws s3 sync . s3://b\n",
            s[18]
        ),
    );
    write(&skill.join(".env"), &format!("OPENAI_KEY={}\n", s[21]));
    write(
        &skill.join("config.yaml"),
        &format!("endpoint: https://api.example.com\napi_key: {}\n", s[22]),
    );
    write(
        &skill.join("config.toml"),
        &format!("[service]\ntoken = \"{}\"\n", s[23]),
    );
    write(
        &skill.join("paths.json"),
        &format!(
            "{{\"bin\": \"\\/{}/bin\", \"api_key\": \"{}\"}}\n",
            home.trim_start_matches('/').replace('/', "\\/"),
            s[29]
        ),
    );
    write(
        &skill.join("tool.yaml"),
        &format!("command: [{home}/bin/tool, --token, {}]\n", s[30]),
    );
    write(
        &m.claude_dir().join("agents/db.md"),
        &format!(
            "---\nname: db\ndescription: db work\n---\nFirst `export DB_PASSWORD={}`.\n",
            s[19]
        ),
    );
    write(
        &m.claude_dir().join("commands/call.md"),
        &format!("Call it:\n\n```python\nAPI_KEY = \"{}\"\n```\n", s[20]),
    );
    let md = m.claude_dir().join("CLAUDE.md");
    let mut text = std::fs::read_to_string(&md).unwrap();
    text.push_str(&format!("\nStaging: `export STAGING_PASSWORD={}`\n", s[24]));
    std::fs::write(&md, text).unwrap();
    // The project's personal files, captured by the post-commit hook.
    write(&project.join(".claude/settings.local.json"), &serde_json::to_string_pretty(&serde_json::json!({
        "env": {"MY_SERVICE": s[25]},
        "permissions": {"allow": [format!("Bash(export GITHUB_TOKEN={} && gh pr list)", s[26])]},
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": format!("notify --token {}", s[27])}]}]}
    })).unwrap());
    write(
        &project.join("CLAUDE.local.md"),
        &format!("# local\n\ntoken: {}\n", s[28]),
    );
    s
}

/// The store's objects and the remote's, as one text.
fn every_object(m: &Machine, remote: &Path) -> String {
    let mut all = String::from_utf8_lossy(&m.all_objects()).to_string();
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
        .output()
        .unwrap();
    assert!(out.status.success());
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    all
}

fn remote_repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("remote.git");
    common::bare_repo(&path);
    (dir, path)
}

#[test]
fn no_planted_secret_reaches_any_object_of_the_store_or_the_remote() {
    let (_dir, remote) = remote_repo();
    let m = Machine::seeded("m1");
    m.ok(&[
        "init",
        "--machine",
        "m1",
        "--remote",
        &remote.to_string_lossy(),
    ]);
    let project = m.project("webapp");
    let out = m.run_in(&project, &["hooks", "install"]);
    assert_eq!(out.code, Some(0), "{out}");
    let planted = plant(&m, &project);
    // Linked personal files of a second project lead out of its worktree.
    let other = m.project("api");
    m.run_in(&other, &["hooks", "install"]);
    write(
        &m.home.join(".docker/config.json"),
        &format!(
            "{{\"auths\": {{\"r.example.com\": {{\"auth\": \"{}\"}}}}}}\n",
            planted[31]
        ),
    );
    write(
        &m.home.join(".bash_history"),
        &format!("deploy --password {}\n", planted[32]),
    );
    std::fs::create_dir_all(other.join(".claude")).unwrap();
    std::os::unix::fs::symlink(
        m.home.join(".docker/config.json"),
        other.join(".claude/settings.local.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(m.home.join(".bash_history"), other.join("CLAUDE.local.md"))
        .unwrap();
    // A cloned skill whose link leads to this machine's own key.
    let refs = m.claude_dir().join("skills/third-party/refs");
    write(
        &refs.parent().unwrap().join("SKILL.md"),
        "---\nname: third-party\ndescription: x\n---\nBody\n",
    );
    std::fs::create_dir_all(&refs).unwrap();
    std::os::unix::fs::symlink(m.identity(), refs.join("notes.txt")).unwrap();
    let key = std::fs::read_to_string(m.identity()).unwrap();
    let key = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();

    let out = m.run(&["commit"]);
    assert_eq!(out.code, Some(2), "files are held back:\n{out}");
    for p in [&project, &other] {
        std::fs::write(p.join("b.txt"), "b").unwrap();
        m.git_in(p, &["add", "b.txt"]);
        m.git_in(p, &["commit", "-qm", "second"]);
    }
    let out = m.run(&["sync"]);
    assert!(matches!(out.code, Some(0 | 2)), "{out}");
    assert_ne!(
        common::text(&m.ctx(&["log"])),
        "",
        "something was committed"
    );

    // Files whose text a home-path mapping would break are stored, mapped and sealed.
    for f in ["paths.json", "tool.yaml", "config.yaml"] {
        let stored = m.git(&["show", &format!("main:claude/skills/deploy/{f}")]);
        assert!(stored.contains("ENC[age:"), "{f}: {stored}");
    }
    let tool = m.git(&["show", "main:claude/skills/deploy/tool.yaml"]);
    assert!(tool.contains("${CTX_HOME}/bin/tool"), "{tool}");
    let all = every_object(&m, &remote);
    let leaked: Vec<(usize, &String)> = planted
        .iter()
        .enumerate()
        .filter(|(_, s)| all.contains(s.as_str()))
        .collect();
    assert_eq!(
        leaked,
        Vec::<(usize, &String)>::new(),
        "{} planted",
        planted.len()
    );
    assert!(!all.contains(&key), "this machine's age key left it");
    for fixture in common::FIXTURE_SECRETS {
        assert!(!all.contains(fixture), "{fixture}");
    }
}

/// A small deterministic generator: the clean corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| format!("{:x}", self.next() % 16)).collect()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c.iter().fold(0u32, |n, b| (n << 8) | *b as u32) << (8 * (3 - c.len()));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";

/// The clean corpus: identifiers, hashes and encoded assets where a person keeps them, and the
/// same kinds of strings in the places secrets are looked for. Returns how many files it wrote.
fn clean_corpus(m: &Machine) -> usize {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let uuid = |r: &mut Rng| {
        let h = r.hex(32);
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    };
    let skill = m.claude_dir().join("skills/assets");
    let mut files = 0;
    let mut put = |rel: &str, bytes: &[u8]| {
        let p = skill.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
        files += 1;
    };
    put(
        "SKILL.md",
        b"---\nname: assets\ndescription: icons and ids\n---\nSee references/.\n",
    );
    let ids: Vec<String> = (0..200).map(|_| uuid(&mut r)).collect();
    put(
        "references/ids.md",
        format!(
            "# Ids\n\n{}\n",
            ids.iter()
                .map(|u| format!("- `{u}`"))
                .collect::<Vec<_>>()
                .join("\n")
        )
        .as_bytes(),
    );
    let shas: Vec<String> = (0..200).map(|_| r.hex(40)).collect();
    put(
        "references/commits.txt",
        format!(
            "{}\n",
            shas.iter()
                .map(|s| format!("{s} fix: a change"))
                .collect::<Vec<_>>()
                .join("\n")
        )
        .as_bytes(),
    );
    for i in 0..3 {
        let blob = base64(&r.bytes(768));
        put(&format!("references/icon{i}.b64"), blob.as_bytes());
        put(
            &format!("references/icon{i}.md"),
            format!("![icon](data:image/png;base64,{blob})\n").as_bytes(),
        );
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(r.bytes(4096));
    put("icon.png", &png);
    put(
        "references/lorem.md",
        format!("# Notes\n\n{LOREM}\n\n{LOREM}\n").as_bytes(),
    );
    let sha = r.hex(40);
    let id = uuid(&mut r);
    edit_json(&m.claude_dir().join("settings.json"), |v| {
        let allow = v["permissions"]["allow"].as_array_mut().unwrap();
        allow.push(format!("Bash(git show {sha})").into());
        allow.push("Bash(docker pull ghcr.io/github/github-mcp-server:v0.12.3)".into());
        v["env"]["CLAUDE_CODE_SESSION_PROJECT"] = id.clone().into();
    });
    edit_json(&m.claude_json(), |v| {
        v["mcpServers"]["tracker"] = serde_json::json!({"command": "npx", "args": ["-y", "@acme/tracker-mcp@1.4.2", "--project-id", id, "--commit", sha, "--target", "x86_64-unknown-linux-gnu"]});
    });
    files
}

#[test]
fn a_clean_corpus_commits_with_nothing_refused_or_sealed() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    let sealed = |m: &Machine| m.ok(&["secret", "ls"]).lines().count();
    let before = sealed(&m);
    let files = clean_corpus(&m);
    let run = m.run(&["commit"]);
    assert_eq!(run.code, Some(0), "{files} files: {run}");
    assert_eq!(run.stderr, "", "nothing refused:\n{run}");
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    let stored = tree
        .lines()
        .filter(|l| l.starts_with("claude/skills/assets/"))
        .count();
    assert_eq!(stored, files, "{tree}");
    assert_eq!(
        sealed(&m),
        before,
        "no clean value sealed:\n{}",
        m.ok(&["secret", "ls"])
    );
}
