//! `ctx sync` over a real network transport: an `sshd` started on 127.0.0.1 with a throwaway
//! host key and authorized key, and the store's remote an `ssh://` URL.
//!
//! Needs OpenSSH's server (`.ci/run` installs it). Where it is missing the test says so and
//! passes, unless `CTX_REQUIRE_SSHD=1` (set by `.ci/run`) or `CI` demands it.
#![cfg(unix)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Machine;

struct Sshd {
    child: Child,
    port: u16,
    key: PathBuf,
    _dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd_binary() -> Option<PathBuf> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Option<Sshd> {
    let Some(bin) = sshd_binary() else {
        // CI must run it: .ci/run sets CTX_REQUIRE_SSHD=1, and any CI sets CI.
        assert!(
            std::env::var("CTX_REQUIRE_SSHD").as_deref() != Ok("1")
                && std::env::var_os("CI").is_none(),
            "sshd is not installed (apt-get install openssh-server)"
        );
        eprintln!("SKIPPED: sshd is not installed; set up by .ci/run (openssh-server)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("host_key"));
    keygen(&d.join("user_key"));
    std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
    // Privilege separation needs this folder; a package install makes it only when the service
    // starts.
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
         PidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin yes\n\
         LogLevel ERROR\n",
        host = d.join("host_key").display(),
        auth = d.join("authorized_keys").display(),
        pid = d.join("sshd.pid").display(),
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    let child = Command::new(bin)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let repo = d.join("remote.git");
    common::bare_repo(&repo);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sshd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Sshd {
        child,
        port,
        key: d.join("user_key"),
        _dir: dir,
        repo,
    })
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs ctx on `m` with ssh set up to reach the test server.
fn ctx(m: &Machine, s: &Sshd, args: &[&str]) -> std::process::Output {
    let ssh = format!(
        "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        s.key.display()
    );
    m.cmd(env!("CARGO_BIN_EXE_ctx"))
        .args(args)
        .env("GIT_SSH_COMMAND", ssh)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(m: &Machine, s: &Sshd, args: &[&str]) -> String {
    let out = ctx(m, s, args);
    assert!(
        out.status.success(),
        "ctx {args:?} on {}: {}{}",
        m.name,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn model(m: &Machine) -> serde_json::Value {
    let text = std::fs::read_to_string(m.claude_dir().join("settings.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v
}

#[test]
fn two_machines_sync_over_ssh() {
    let Some(s) = start() else { return };
    let url = format!("ssh://{}@127.0.0.1:{}{}", user(), s.port, s.repo.display());
    let m1 = Machine::seeded("m1");
    ok(&m1, &s, &["init", "--machine", "m1", "--remote", &url]);
    ok(&m1, &s, &["sync"]);
    let m2 = Machine::empty("m2");
    let out = ok(&m2, &s, &["init", "--machine", "m2", "--remote", &url]);
    assert!(out.contains("joined"), "{out}");
    ok(&m2, &s, &["sync"]);
    ok(&m1, &s, &["sync"]);
    ok(&m1, &s, &["machine", "approve", "m2"]);
    ok(&m1, &s, &["sync"]);
    ok(&m2, &s, &["sync"]);
    assert_eq!(model(&m2)["model"], model(&m1)["model"]);

    // Different fields on each side, merged over the network.
    let edit = |m: &Machine, key: &str, value: &str| {
        let path = m.claude_dir().join("settings.json");
        let mut v = model(m);
        v["env"][key] = value.into();
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    };
    edit(&m1, "FROM_M1", "1");
    edit(&m2, "FROM_M2", "2");
    ok(&m1, &s, &["sync"]);
    ok(&m2, &s, &["sync"]);
    ok(&m1, &s, &["sync"]);
    for m in [&m1, &m2] {
        let v = model(m);
        assert_eq!(v["env"]["FROM_M1"], "1", "{}", m.name);
        assert_eq!(v["env"]["FROM_M2"], "2", "{}", m.name);
    }
    let claude_json = std::fs::read_to_string(m2.claude_json()).unwrap();
    assert!(
        claude_json.contains(common::FIXTURE_SECRETS[0]),
        "m2 reads the secrets once approved"
    );
    assert_eq!(m1.head(), m2.head());

    // A wrong port: unreachable, exit 2, the local commit kept.
    edit(&m1, "OFFLINE", "yes");
    let bad = format!(
        "ssh://{}@127.0.0.1:{}{}",
        user(),
        free_port(),
        s.repo.display()
    );
    m1.git(&["config", "remote.origin.url", &bad]);
    let out = ctx(&m1, &s, &["sync"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
    m1.git(&["config", "remote.origin.url", &url]);
    ok(&m1, &s, &["sync"]);
    ok(&m2, &s, &["sync"]);
    assert_eq!(model(&m2)["env"]["OFFLINE"], "yes");
}
