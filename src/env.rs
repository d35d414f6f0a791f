//! Where things are: read once from the process environment, then passed down.

use std::path::{Path, PathBuf};

/// Every location ctx reads or writes, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Env {
    /// The user's home directory (`HOME`).
    pub home: PathBuf,
    /// ctx's own config dir: the machine identity and settings live here, never in the store.
    pub config_dir: PathBuf,
    /// The store: a bare git repository.
    pub store_dir: PathBuf,
    /// Claude Code's home, `~/.claude` or `CLAUDE_CONFIG_DIR`.
    pub claude_dir: PathBuf,
    /// Claude Code's state file, `~/.claude.json` (inside `CLAUDE_CONFIG_DIR` when set).
    pub claude_json: PathBuf,
    /// Claude Desktop's config file.
    pub desktop_config: PathBuf,
    /// The host name, the default machine name.
    pub hostname: String,
    /// Where this machine has each project checked out, from the store's project records: not
    /// the process environment, so empty until a workspace opens the store.
    pub projects: crate::projdir::Roots,
}

impl Env {
    /// Reads the environment of this process; `store` is the `--store` flag.
    pub fn from_process(store: Option<PathBuf>) -> Env {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = directories::BaseDirs::new();
        let home = var("HOME")
            .or_else(|| base.as_ref().map(|b| b.home_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("/"));
        let text = |p: Option<PathBuf>| p.map(|p| p.to_string_lossy().to_string());
        let vars = crate::platform::Vars {
            home: home.to_string_lossy().to_string(),
            xdg_config: text(var("XDG_CONFIG_HOME")),
            xdg_data: text(var("XDG_DATA_HOME")),
            // Windows' roaming folder as the system reports it (directories asks the shell).
            appdata: text(var("APPDATA"))
                .or_else(|| text(base.as_ref().map(|b| b.config_dir().to_path_buf()))),
        };
        let os = crate::platform::Os::current();
        let config_dir =
            var("CTX_CONFIG_DIR").unwrap_or_else(|| crate::platform::config_dir(os, &vars));
        let store_dir = store
            .or_else(|| var("CTX_STORE"))
            .unwrap_or_else(|| crate::platform::store_dir(os, &vars));
        let claude_config = var("CLAUDE_CONFIG_DIR");
        let claude_dir = claude_config
            .clone()
            .unwrap_or_else(|| home.join(".claude"));
        let claude_json = match &claude_config {
            Some(dir) => dir.join(".claude.json"),
            None => home.join(".claude.json"),
        };
        let desktop_config = crate::platform::desktop_config(os, &vars);
        Env {
            home,
            config_dir,
            store_dir,
            claude_dir,
            claude_json,
            desktop_config,
            hostname: hostname(),
            projects: Default::default(),
        }
    }

    /// The machine's age identity file.
    pub fn identity_path(&self) -> PathBuf {
        self.config_dir.join("identity.txt")
    }

    /// The machine's SSH signing key: every commit it makes is signed with it.
    pub fn signing_key_path(&self) -> PathBuf {
        self.config_dir.join("signing_key")
    }

    /// The machines this one trusts and their signing keys, pinned here, never read from the
    /// remote.
    pub fn trust_path(&self) -> PathBuf {
        self.config_dir.join("trust.yaml")
    }

    /// The machine's own settings (its name), kept outside the store.
    pub fn machine_config_path(&self) -> PathBuf {
        self.config_dir.join("config.yaml")
    }

    /// ctx's private working files inside the store's git dir (caches, what was applied).
    pub fn state_dir(&self) -> PathBuf {
        self.store_dir.join("ctx")
    }

    /// The log the git hooks write to when they fail open.
    pub fn hook_log_path(&self) -> PathBuf {
        self.config_dir.join("hooks.log")
    }

    /// `path` with the home directory shown as `~`, for messages.
    pub fn display(&self, path: &Path) -> String {
        // Bytes, not components: an apply names thousands of files, and `Path::strip_prefix`
        // parses both paths each time.
        let home = self.home.as_os_str().as_encoded_bytes();
        let home = home.strip_suffix(b"/").unwrap_or(home);
        let rest = path
            .as_os_str()
            .as_encoded_bytes()
            .strip_prefix(home)
            .and_then(|r| r.strip_prefix(b"/"));
        match rest {
            Some(rest) if !home.is_empty() => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                format!("~/{}", String::from_utf8_lossy(rest))
            }
            None if !home.is_empty() && path.as_os_str().as_encoded_bytes() == home => "~/".into(),
            _ => path.display().to_string(),
        }
    }
}

fn hostname() -> String {
    let raw = system_hostname()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let name = sanitize_machine_name(raw.trim().split('.').next().unwrap_or(""));
    if name.is_empty() {
        "machine".to_string()
    } else {
        name
    }
}

/// The host name from the system (macOS has neither /proc nor /etc/hostname).
#[cfg(unix)]
fn system_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer it is given.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).to_string()).filter(|s| !s.is_empty())
}

#[cfg(not(unix))]
fn system_hostname() -> Option<String> {
    None
}

/// Lower-cases a name and keeps only what is safe in a file name and a git trailer.
pub fn sanitize_machine_name(raw: &str) -> String {
    raw.chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &str) -> Env {
        let mut e = Env::from_process(None);
        e.home = PathBuf::from(home);
        e
    }

    #[test]
    fn paths_under_home_are_shown_with_a_tilde_and_others_as_they_are() {
        let e = env("/home/ann");
        assert_eq!(
            e.display(Path::new("/home/ann/.claude/x.md")),
            "~/.claude/x.md"
        );
        assert_eq!(e.display(Path::new("/home/ann")), "~/");
        assert_eq!(e.display(Path::new("/home/anna/x")), "/home/anna/x");
        assert_eq!(e.display(Path::new("/etc/x")), "/etc/x");
        assert_eq!(env("/home/ann/").display(Path::new("/home/ann/a")), "~/a");
        assert_eq!(env("/").display(Path::new("/a")), "/a");
    }
}
