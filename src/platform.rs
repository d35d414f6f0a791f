//! What differs between Linux, macOS and Windows, as pure functions of the system and the
//! variables: where ctx, its store and Claude Desktop keep their files. Pure so that every
//! system's answer is unit-tested on any one of them.

use std::path::PathBuf;

/// The systems ctx knows the conventions of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux and the other Unixes: the XDG base directories.
    Linux,
    /// macOS: ctx's own files XDG-style, as chezmoi's; Claude Desktop's in `~/Library`.
    MacOs,
    /// Windows: `%APPDATA%`.
    Windows,
}

impl Os {
    /// The system this binary runs on.
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }

    fn sep(self) -> char {
        match self {
            Os::Windows => '\\',
            _ => '/',
        }
    }
}

/// The variables the defaults depend on; `None` when unset, empty or relative (the XDG spec
/// says to ignore a relative one).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// `HOME` (`USERPROFILE` on Windows).
    pub home: String,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config: Option<String>,
    /// `XDG_DATA_HOME`.
    pub xdg_data: Option<String>,
    /// `APPDATA` (Windows' roaming application data).
    pub appdata: Option<String>,
}

/// `base` and `parts` joined with the system's separator, whatever system runs the code.
fn join(os: Os, base: &str, parts: &[&str]) -> String {
    let sep = os.sep();
    let mut out = base.trim_end_matches(['/', '\\']).to_string();
    for p in parts {
        out.push(sep);
        out.push_str(p);
    }
    out
}

/// Whether `p` is absolute on `os` (`/x`; `C:\x`, `C:/x` or `\\server\x` on Windows).
pub fn is_absolute(os: Os, p: &str) -> bool {
    match os {
        Os::Windows => {
            let b = p.as_bytes();
            p.starts_with("\\\\")
                || (b.len() >= 3
                    && b[0].is_ascii_alphabetic()
                    && b[1] == b':'
                    && (b[2] == b'\\' || b[2] == b'/'))
        }
        _ => p.starts_with('/'),
    }
}

fn absolute(os: Os, v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|p| is_absolute(os, p))
}

fn appdata(os: Os, v: &Vars) -> String {
    absolute(os, &v.appdata)
        .map(str::to_string)
        .unwrap_or_else(|| join(os, &v.home, &["AppData", "Roaming"]))
}

/// ctx's config folder when `CTX_CONFIG_DIR` is unset: `~/.config/ctx` (XDG) on Linux and
/// macOS, `%APPDATA%\ctx\config` on Windows.
pub fn config_dir(os: Os, v: &Vars) -> PathBuf {
    PathBuf::from(match os {
        Os::Windows => join(os, &appdata(os, v), &["ctx", "config"]),
        _ => match absolute(os, &v.xdg_config) {
            Some(x) => join(os, x, &["ctx"]),
            None => join(os, &v.home, &[".config", "ctx"]),
        },
    })
}

/// The store when neither `--store` nor `CTX_STORE` is given: `~/.local/share/ctx/store` (XDG)
/// on Linux and macOS, `%APPDATA%\ctx\data\store` on Windows.
pub fn store_dir(os: Os, v: &Vars) -> PathBuf {
    PathBuf::from(match os {
        Os::Windows => join(os, &appdata(os, v), &["ctx", "data", "store"]),
        _ => match absolute(os, &v.xdg_data) {
            Some(x) => join(os, x, &["ctx", "store"]),
            None => join(os, &v.home, &[".local", "share", "ctx", "store"]),
        },
    })
}

/// Claude Desktop's config file: `~/Library/Application Support/Claude/…` on macOS,
/// `%APPDATA%\Claude\…` on Windows, `~/.config/Claude/…` (XDG) elsewhere.
pub fn desktop_config(os: Os, v: &Vars) -> PathBuf {
    const FILE: &str = "claude_desktop_config.json";
    PathBuf::from(match os {
        Os::MacOs => join(
            os,
            &v.home,
            &["Library", "Application Support", "Claude", FILE],
        ),
        Os::Windows => join(os, &appdata(os, v), &["Claude", FILE]),
        Os::Linux => match absolute(os, &v.xdg_config) {
            Some(x) => join(os, x, &["Claude", FILE]),
            None => join(os, &v.home, &[".config", "Claude", FILE]),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(home: &str) -> Vars {
        Vars {
            home: home.into(),
            ..Default::default()
        }
    }

    fn s(p: PathBuf) -> String {
        p.to_string_lossy().to_string()
    }

    #[test]
    fn linux_follows_xdg_and_ignores_a_relative_xdg_variable() {
        let mut v = vars("/home/alice");
        assert_eq!(s(config_dir(Os::Linux, &v)), "/home/alice/.config/ctx");
        assert_eq!(
            s(store_dir(Os::Linux, &v)),
            "/home/alice/.local/share/ctx/store"
        );
        assert_eq!(
            s(desktop_config(Os::Linux, &v)),
            "/home/alice/.config/Claude/claude_desktop_config.json"
        );
        v.xdg_config = Some("/x/conf/".into());
        v.xdg_data = Some("relative/data".into());
        assert_eq!(s(config_dir(Os::Linux, &v)), "/x/conf/ctx");
        assert_eq!(
            s(store_dir(Os::Linux, &v)),
            "/home/alice/.local/share/ctx/store"
        );
    }

    #[test]
    fn macos_keeps_ctx_xdg_style_and_desktop_in_library() {
        let v = vars("/Users/alice");
        assert_eq!(s(config_dir(Os::MacOs, &v)), "/Users/alice/.config/ctx");
        assert_eq!(
            s(store_dir(Os::MacOs, &v)),
            "/Users/alice/.local/share/ctx/store"
        );
        assert_eq!(
            s(desktop_config(Os::MacOs, &v)),
            "/Users/alice/Library/Application Support/Claude/claude_desktop_config.json"
        );
    }

    #[test]
    fn windows_uses_appdata_with_backslashes_and_drive_letters() {
        let mut v = vars(r"C:\Users\alice");
        assert_eq!(
            s(config_dir(Os::Windows, &v)),
            r"C:\Users\alice\AppData\Roaming\ctx\config"
        );
        v.appdata = Some(r"D:\Profiles\alice\AppData\Roaming".into());
        assert_eq!(
            s(store_dir(Os::Windows, &v)),
            r"D:\Profiles\alice\AppData\Roaming\ctx\data\store"
        );
        assert_eq!(
            s(desktop_config(Os::Windows, &v)),
            r"D:\Profiles\alice\AppData\Roaming\Claude\claude_desktop_config.json"
        );
        assert!(is_absolute(Os::Windows, "c:/x"));
        assert!(is_absolute(Os::Windows, r"\\server\share"));
        assert!(!is_absolute(Os::Windows, "/x"));
        assert!(!is_absolute(Os::Linux, r"C:\x"));
    }
}
