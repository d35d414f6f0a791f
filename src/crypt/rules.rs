//! Which fields are secret by rule (the built-in rules and those of `ctx.yaml`), what ctx.yaml
//! marks as not secret, and the field-path vocabulary of locators (`FILE:a.b[2].c`).

use super::detect::Reason;
use crate::model::{NotSecret, SecretRule};

/// One step of a path into a JSON/YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Characters a key must escape in a locator: they would read as a path step otherwise
/// (`mcp.notion.com` is one server name, not three keys). A `/` needs none: a field path never
/// splits at one (only the file part of a locator has slashes, before the `:`).
const SPECIAL: &[char] = &['.', '[', ']', '\\', '*'];

/// A key as a locator writes it: special characters escaped with `\`. A key without any (almost
/// all) is written as it is, so existing locators and ciphertexts keep their form.
pub fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `a.b[2].c`: the form locators and messages use, keys escaped.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&escape_key(k));
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// One step of a field pattern: a path step or a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatSeg {
    /// This key.
    Key(String),
    /// Any key (`*`).
    AnyKey,
    /// This index.
    Index(usize),
    /// Any index (`[]` or `[*]`).
    AnyIndex,
}

/// Parses `a.b\.c[2].*[]` into steps; `None` if malformed (an open bracket, a trailing `\`).
pub fn parse_field(field: &str) -> Option<Vec<PatSeg>> {
    /// The key being read: its text, whether it has begun, whether it holds an escape (`\*` is
    /// a literal star, not the wildcard).
    #[derive(Default)]
    struct Key {
        text: String,
        open: bool,
        escaped: bool,
    }
    fn flush(key: &mut Key, out: &mut Vec<PatSeg>) {
        if key.open {
            let k = std::mem::take(&mut key.text);
            out.push(match (k.as_str(), key.escaped) {
                ("*", false) => PatSeg::AnyKey,
                _ => PatSeg::Key(k),
            });
        }
        *key = Key::default();
    }
    let mut out = Vec::new();
    let mut key = Key::default();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                key.text.push(chars.next()?);
                (key.open, key.escaped) = (true, true);
            }
            '.' => flush(&mut key, &mut out),
            '[' => {
                flush(&mut key, &mut out);
                let mut inner = String::new();
                loop {
                    match chars.next()? {
                        ']' => break,
                        d => inner.push(d),
                    }
                }
                // Not a number (a list element named by its identity, as the merge engine names
                // one): any index, as bindings blank them all.
                out.push(match inner.parse() {
                    Ok(n) => PatSeg::Index(n),
                    Err(_) => PatSeg::AnyIndex,
                });
            }
            _ => {
                key.text.push(c);
                key.open = true;
            }
        }
    }
    flush(&mut key, &mut out);
    Some(out)
}

/// A field path (no wildcards) from its dotted form.
pub fn parse_path(field: &str) -> Option<Vec<Seg>> {
    parse_field(field)?
        .into_iter()
        .map(|p| match p {
            PatSeg::Key(k) => Some(Seg::Key(k)),
            PatSeg::Index(i) => Some(Seg::Index(i)),
            _ => None,
        })
        .collect()
}

fn pattern_matches(pattern: &str, path: &[Seg]) -> bool {
    let Some(pat) = parse_field(pattern) else {
        return false;
    };
    pat.len() == path.len()
        && pat.iter().zip(path).all(|(p, s)| match (p, s) {
            (PatSeg::AnyKey, Seg::Key(_)) | (PatSeg::AnyIndex, Seg::Index(_)) => true,
            (PatSeg::Key(a), Seg::Key(b)) => a == b,
            (PatSeg::Index(a), Seg::Index(b)) => a == b,
            _ => false,
        })
}

/// The secret rules in force for a store, and what it marks as not secret.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    extra: Vec<SecretRule>,
    not_secret: Vec<NotSecret>,
}

impl Rules {
    /// The built-in rules plus `extra` from ctx.yaml.
    pub fn new(extra: &[SecretRule]) -> Rules {
        Rules {
            extra: extra.to_vec(),
            not_secret: Vec::new(),
        }
    }

    /// With ctx.yaml's `not_secret:` entries.
    pub fn with_not_secret(mut self, entries: &[NotSecret]) -> Rules {
        self.not_secret = entries.to_vec();
        self
    }

    /// ctx.yaml's `not_secret:` entries.
    pub fn not_secret(&self) -> &[NotSecret] {
        &self.not_secret
    }

    /// Whether ctx.yaml says a finding is not a secret: its file matches a `file:` glob, or the
    /// value's fingerprint is listed.
    pub fn allowed(&self, file: &str, value: &str) -> bool {
        let mut fp = None;
        self.not_secret.iter().any(|n| {
            n.file.as_deref().is_some_and(|g| glob(g, file))
                || n.fingerprint.as_deref().is_some_and(|f| {
                    f == fp
                        .get_or_insert_with(|| super::detect::fingerprint(value))
                        .as_str()
                })
        })
    }

    /// Whether the value at `path` in store file `file` must be encrypted, by rule (not by shape).
    pub fn is_secret_field(&self, file: &str, path: &[Seg]) -> bool {
        self.rule(file, path).is_some()
    }

    /// The rule that makes the value at `path` of `file` secret, if one does.
    pub fn rule(&self, file: &str, path: &[Seg]) -> Option<Reason> {
        let name = file.rsplit('/').next().unwrap_or(file);
        let key = |i: usize| match path.get(i) {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        // MCP servers: everything under a server's env and headers.
        if is_mcp_file(file) && path.len() >= 3 && matches!(key(1), Some("env" | "headers")) {
            return Some(Reason::Rule(format!("MCP server {}", key(1).unwrap_or(""))));
        }
        // Webhooks: a URL usually carries a token, and the key signs what ctx sends.
        if file == crate::layout::MANIFEST
            && path.len() == 3
            && key(0) == Some("notify")
            && matches!(key(2), Some("url" | "secret"))
        {
            return Some(Reason::Rule("ctx.yaml notify".into()));
        }
        // Settings: env values whose name says it is a key, token, secret, password or credential.
        if (name == "settings.json" || name == "settings.local.json")
            && path.len() == 2
            && key(0) == Some("env")
            && key(1).is_some_and(is_secret_name)
        {
            return Some(Reason::Rule("secret-named settings env".into()));
        }
        self.extra
            .iter()
            .find(|r| glob(&r.file, file) && pattern_matches(&r.field, path))
            .map(|r| Reason::Rule(format!("ctx.yaml secrets: {}:{}", r.file, r.field)))
    }
}

/// Store files whose root is a map of MCP servers.
pub fn is_mcp_file(file: &str) -> bool {
    crate::layout::is_mcp_file(file)
}

/// An env variable name that says it holds a secret. Word by word, so `MAX_OUTPUT_TOKENS` (a
/// count) is not one, while `GITHUB_TOKEN`, `OPENAI_API_KEY`, `DB_PASSWORD` and `AUTH` are; in
/// an env a bare `KEY` word counts too (`SSH_KEY`), and so do headers and webhooks.
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "KEY",
        "APIKEY",
        "TOKEN",
        "AUTHTOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "CREDENTIAL",
        "CREDENTIALS",
        "PAT",
        "AUTH",
        "HEADERS",
        "WEBHOOK",
    ];
    name.to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| WORDS.contains(&w))
        || super::detect::secret_name(name)
}

/// Path glob: `*` within one segment, `**` across any number of segments.
pub fn glob(pattern: &str, path: &str) -> bool {
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segs(&p[1..], s) || (!s.is_empty() && segs(p, &s[1..])),
            (Some(pp), Some(ss)) => seg(pp.as_bytes(), ss.as_bytes()) && segs(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn seg(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg(&p[1..], s) || (!s.is_empty() && seg(p, &s[1..])),
            (Some(a), Some(b)) => a == b && seg(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    segs(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_env_names_are_word_based() {
        assert!(is_secret_name("GITHUB_TOKEN"));
        assert!(is_secret_name("OPENAI_API_KEY"));
        assert!(is_secret_name("AUTH"));
        assert!(is_secret_name("ANTHROPIC_CUSTOM_HEADERS"));
        assert!(!is_secret_name("CLAUDE_CODE_MAX_OUTPUT_TOKENS"));
        assert!(!is_secret_name("BASH_DEFAULT_TIMEOUT_MS"));
    }

    #[test]
    fn globs() {
        assert!(glob("claude/**/*.json", "claude/a/b/c.json"));
        assert!(glob("claude/*.json", "claude/x.json"));
        assert!(!glob("claude/*.json", "claude/a/x.json"));
    }

    #[test]
    fn keys_with_dots_are_escaped_and_read_back() {
        let k = |s: &str| Seg::Key(s.into());
        let path = vec![k("mcp.notion.com"), k("headers"), k("a/b"), Seg::Index(2)];
        let d = dotted(&path);
        assert_eq!(d, "mcp\\.notion\\.com.headers.a/b[2]");
        assert_eq!(parse_path(&d), Some(path));
        assert_eq!(dotted(&[k("github"), k("env"), k("X")]), "github.env.X");
    }

    #[test]
    fn rules() {
        let r = Rules::new(&[
            SecretRule {
                file: "claude/settings.json".into(),
                field: "statusLine.command".into(),
            },
            SecretRule {
                file: "claude/mcp.json".into(),
                field: "*.args[]".into(),
            },
        ]);
        let k = |s: &str| Seg::Key(s.into());
        assert!(r.is_secret_field("claude/mcp.json", &[k("github"), k("env"), k("X")]));
        assert!(r.is_secret_field("claude/mcp.json", &[k("a.b"), k("env"), k("X")]));
        assert!(r.is_secret_field("claude/settings.json", &[k("statusLine"), k("command")]));
        assert!(r.is_secret_field("claude/mcp.json", &[k("s"), k("args"), Seg::Index(3)]));
        assert!(!r.is_secret_field("claude/settings.json", &[k("env"), k("DEBUG")]));
    }
}
