//! Absolute paths under the machine's home, stored machine-neutral as `${CTX_HOME}`.
//!
//! The mapping is textual, on structured files only, and boundary-aware: `/home/alice` matches in
//! `/home/alice/notes` and `//home/alice/x/**`, never in `/home/alicex`. Being textual, it changes
//! no byte other than the path itself, so a mapped file keeps its formatting.

/// The placeholder for the home directory in stored files.
pub const HOME_TOKEN: &str = "${CTX_HOME}";

/// Whether files at this store path get their home paths mapped.
pub fn maps(store_path: &str) -> bool {
    let lower = store_path.to_ascii_lowercase();
    [".json", ".jsonl", ".yaml", ".yml", ".toml"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

fn path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.'
}

/// Whether a home is a Windows path (`C:\Users\alice`, `\\server\share`): its file system
/// ignores case, and files spell it with either separator.
fn is_windows(home: &str) -> bool {
    crate::platform::is_absolute(crate::platform::Os::Windows, home)
}

/// Replaces `home` with the token wherever it stands as a whole path prefix. A Windows home is
/// found however a file spells it: `\`, `/` or JSON's `\\`, any case.
pub fn to_store(text: &str, home: &str) -> String {
    if !is_windows(home) {
        return replace_bounded(text, home, HOME_TOKEN, true, false);
    }
    let back = home.replace('/', "\\");
    let mut out = text.to_string();
    for spelling in [
        back.replace('\\', "\\\\"),
        back.clone(),
        back.replace('\\', "/"),
    ] {
        out = replace_bounded(&out, &spelling, HOME_TOKEN, true, true);
    }
    out
}

/// Replaces the token with `home`. A Windows home goes in with `/`: valid unescaped in JSON,
/// YAML and TOML alike, and a path Windows reads as the same.
pub fn to_live(text: &str, home: &str) -> String {
    match is_windows(home) {
        true => replace_bounded(text, HOME_TOKEN, &home.replace('\\', "/"), false, false),
        false => replace_bounded(text, HOME_TOKEN, home, false, false),
    }
}

fn replace_bounded(text: &str, from: &str, to: &str, check_bounds: bool, any_case: bool) -> String {
    if from.len() < 2 {
        return text.to_string();
    }
    // ASCII lower-casing keeps every byte where it was: offsets found in the copy hold.
    let (hay, needle) = match any_case {
        true => (text.to_ascii_lowercase(), from.to_ascii_lowercase()),
        false => (String::new(), String::new()),
    };
    let (hay, needle) = match any_case {
        true => (hay.as_str(), needle.as_str()),
        false => (text, from),
    };
    if !hay.contains(needle) {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in hay.match_indices(needle) {
        if i < last {
            continue;
        }
        let end = i + from.len();
        if check_bounds {
            let before_ok = i == 0 || !path_char(bytes[i - 1]);
            let after_ok = end == bytes.len() || !path_char(bytes[end]);
            if !before_ok || !after_ok {
                continue;
            }
        }
        out.push_str(&text[last..i]);
        out.push_str(to);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_only_whole_paths() {
        let home = "/home/alice";
        let s =
            r#"["/home/alice/notes", "Read(//home/alice/x/**)", "/home/alicex", "/home/alice"]"#;
        let m = to_store(s, home);
        assert_eq!(
            m,
            r#"["${CTX_HOME}/notes", "Read(/${CTX_HOME}/x/**)", "/home/alicex", "${CTX_HOME}"]"#
        );
        assert_eq!(to_live(&m, home), s);
        assert_eq!(
            to_live(&m, "/Users/al"),
            s.replace("/home/alice/", "/Users/al/")
                .replace("\"/home/alice\"", "\"/Users/al\"")
        );
    }

    #[test]
    fn a_windows_home_is_found_in_every_spelling_and_case() {
        let home = r"C:\Users\Alice";
        let json = r#"{"a": "C:\\Users\\Alice\\notes", "b": "c:/users/alice/x", "c": "C:\Users\alice", "d": "C:\\Users\\Alicex"}"#;
        let stored = to_store(json, home);
        assert_eq!(
            stored,
            r#"{"a": "${CTX_HOME}\\notes", "b": "${CTX_HOME}/x", "c": "${CTX_HOME}", "d": "C:\\Users\\Alicex"}"#
        );
        // In with forward slashes: still valid JSON, and the same path to Windows.
        let live = to_live(&stored, r"D:\Home\bob");
        assert!(
            serde_json::from_str::<serde_json::Value>(&live).is_ok(),
            "{live}"
        );
        assert!(live.contains(r#""D:/Home/bob\\notes""#), "{live}");
        // What went in maps back to the same stored text.
        assert_eq!(to_store(&live, r"D:\Home\bob"), stored);
    }

    #[test]
    fn a_macos_home_maps_like_a_linux_one() {
        let s = r#"{"cwd": "/Users/alice/code/w", "x": "/Users/alicex"}"#;
        let m = to_store(s, "/Users/alice");
        assert_eq!(m, r#"{"cwd": "${CTX_HOME}/code/w", "x": "/Users/alicex"}"#);
        assert_eq!(
            to_live(&m, "/home/bob"),
            r#"{"cwd": "/home/bob/code/w", "x": "/Users/alicex"}"#
        );
    }
}
