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

/// Replaces `home` with the token wherever it stands as a whole path prefix.
pub fn to_store(text: &str, home: &str) -> String {
    replace_bounded(text, home, HOME_TOKEN, true)
}

/// Replaces the token with `home`.
pub fn to_live(text: &str, home: &str) -> String {
    replace_bounded(text, HOME_TOKEN, home, false)
}

fn replace_bounded(text: &str, from: &str, to: &str, check_bounds: bool) -> String {
    if from.len() < 2 || !text.contains(from) {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(from) {
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
}
