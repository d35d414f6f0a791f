//! `ctx merge-driver` under a real `git merge`, configured as a user would.
mod common;
use common::*;

fn repo(m: &Machine) -> std::path::PathBuf {
    let dir = m.root.join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |args: &[&str]| {
        let o = m
            .cmd("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o));
    };
    git(&["init", "-q", "-b", "main"]);
    let driver = format!("{} merge-driver %O %A %B %P", env!("CARGO_BIN_EXE_ctx"));
    git(&["config", "merge.ctx.driver", &driver]);
    std::fs::write(dir.join(".gitattributes"), "*.json merge=ctx\n").unwrap();
    std::fs::copy(
        fixtures().join("claude-home/settings.json"),
        dir.join("settings.json"),
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    dir
}

fn edit(m: &Machine, dir: &std::path::Path, branch: &str, f: impl Fn(&mut serde_json::Value)) {
    let git = |args: &[&str]| {
        let o = m.cmd("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o));
    };
    git(&["checkout", "-q", "-B", branch, "main"]);
    let p = dir.join("settings.json");
    let mut v = json(&p);
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    git(&["commit", "-qam", branch]);
}

#[test]
fn git_merge_keeps_both_machines_permissions() {
    let m = Machine::empty("m1");
    let dir = repo(&m);
    edit(&m, &dir, "a", |v| {
        v["permissions"]["allow"]
            .as_array_mut()
            .unwrap()
            .push("Bash(cargo test *)".into())
    });
    edit(&m, &dir, "b", |v| {
        v["permissions"]["allow"]
            .as_array_mut()
            .unwrap()
            .push("Bash(make *)".into())
    });
    let out = m
        .cmd("git")
        .arg("-C")
        .arg(&dir)
        .args(["merge", "-q", "--no-edit", "a"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&dir.join("settings.json"));
    let allow: Vec<&str> = v["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        allow.contains(&"Bash(cargo test *)") && allow.contains(&"Bash(make *)"),
        "{allow:?}"
    );
}

#[test]
fn git_merge_reports_a_real_conflict_with_markers() {
    let m = Machine::empty("m1");
    let dir = repo(&m);
    edit(&m, &dir, "a", |v| {
        v["permissions"]["allow"]
            .as_array_mut()
            .unwrap()
            .push("Bash(docker *)".into())
    });
    edit(&m, &dir, "b", |v| {
        v["permissions"]["deny"]
            .as_array_mut()
            .unwrap()
            .push("Bash(docker *)".into())
    });
    let out = m
        .cmd("git")
        .arg("-C")
        .arg(&dir)
        .args(["merge", "-q", "--no-edit", "a"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "allow-vs-deny merged cleanly: {}",
        text(&out)
    );
    let merged = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    assert!(
        merged.contains("<<<<<<< ours") && merged.contains(">>>>>>> theirs"),
        "{merged}"
    );
}

#[test]
fn git_merge_writes_diff3_markers_of_the_size_git_passes() {
    let m = Machine::empty("m1");
    let dir = repo(&m);
    let git = |args: &[&str]| {
        m.cmd("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap()
    };
    let driver = format!("{} merge-driver %O %A %B %P %L", env!("CARGO_BIN_EXE_ctx"));
    assert!(git(&["config", "merge.ctx.driver", &driver])
        .status
        .success());
    assert!(git(&["config", "merge.conflictStyle", "diff3"])
        .status
        .success());
    std::fs::write(
        dir.join(".gitattributes"),
        "*.json merge=ctx conflict-marker-size=9\n",
    )
    .unwrap();
    assert!(git(&["commit", "-qam", "marker size"]).status.success());
    edit(&m, &dir, "a", |v| v["model"] = "opus".into());
    edit(&m, &dir, "b", |v| v["model"] = "haiku".into());
    let out = git(&["merge", "-q", "--no-edit", "a"]);
    assert!(!out.status.success(), "merged cleanly: {}", text(&out));
    let merged = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    assert!(
        merged.contains("<<<<<<<<< ours\n")
            && merged.contains("||||||||| base\n")
            && merged.contains(">>>>>>>>> theirs\n"),
        "{merged}"
    );
}

#[test]
fn deeply_nested_yaml_is_a_conflict_before_any_parser_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("a: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let (b, o, t) = (
        dir.path().join("b"),
        dir.path().join("o"),
        dir.path().join("t"),
    );
    std::fs::write(&b, "a: 1\n").unwrap();
    std::fs::write(&o, &deep).unwrap();
    std::fs::write(&t, "a: 2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctx"))
        .args(["merge-driver"])
        .args([&b, &o, &t])
        .arg("x.yaml")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nested deeper"));
    assert_eq!(
        std::fs::read_to_string(&o).unwrap(),
        deep,
        "ours left as it was"
    );
}
