//! Which fields are secret: the built-in rules, the rules from `ctx.yaml`, and the
//! recognisers for well-known token shapes.

use crate::model::SecretRule;

/// One step of a path into a JSON/YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// `a.b[2].c`: the form locators and messages use.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The secret rules in force for a store.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    extra: Vec<SecretRule>,
}

impl Rules {
    /// The built-in rules plus `extra` from ctx.yaml.
    pub fn new(extra: &[SecretRule]) -> Rules {
        Rules {
            extra: extra.to_vec(),
        }
    }

    /// Whether the value at `path` in store file `file` must be encrypted, by rule (not by shape).
    pub fn is_secret_field(&self, file: &str, path: &[Seg]) -> bool {
        let name = file.rsplit('/').next().unwrap_or(file);
        let keys: Vec<&str> = path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => k.as_str(),
                Seg::Index(_) => "[]",
            })
            .collect();
        // MCP servers: everything under a server's env and headers.
        if is_mcp_file(file) && keys.len() >= 3 && (keys[1] == "env" || keys[1] == "headers") {
            return true;
        }
        // Settings: env values whose name says it is a key, token, secret, password or credential.
        if (name == "settings.json" || name == "settings.local.json")
            && keys.len() == 2
            && keys[0] == "env"
            && is_secret_name(keys[1])
        {
            return true;
        }
        self.extra
            .iter()
            .any(|r| glob(&r.file, file) && field_matches(&r.field, &keys))
    }
}

/// Store files whose root is a map of MCP servers.
pub fn is_mcp_file(file: &str) -> bool {
    file == "claude/mcp.json"
        || file == "desktop/mcp.json"
        || file.ends_with("/.mcp.json")
        || file == ".mcp.json"
}

/// An env variable name that says it holds a secret. Word by word, so `MAX_OUTPUT_TOKENS` (a
/// count) is not one, while `GITHUB_TOKEN`, `OPENAI_API_KEY` and `DB_PASSWORD` are.
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
    ];
    name.to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| WORDS.contains(&w))
}

fn field_matches(pattern: &str, keys: &[&str]) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() == keys.len() && pat.iter().zip(keys).all(|(p, k)| *p == "*" || p == k)
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

/// Prefixes of well-known credentials, with the shortest credible tail after them.
const PREFIXES: &[(&str, usize, &str)] = &[
    ("github_pat_", 20, "GitHub token"),
    ("ghp_", 30, "GitHub token"),
    ("gho_", 30, "GitHub token"),
    ("ghu_", 30, "GitHub token"),
    ("ghs_", 30, "GitHub token"),
    ("ghr_", 30, "GitHub token"),
    ("sk-ant-", 20, "Anthropic API key"),
    ("sk-proj-", 20, "OpenAI API key"),
    ("sk-svcacct-", 20, "OpenAI API key"),
    ("xoxb-", 10, "Slack token"),
    ("xoxp-", 10, "Slack token"),
    ("xoxa-", 10, "Slack token"),
    ("xoxs-", 10, "Slack token"),
    ("xoxe-", 10, "Slack token"),
    ("xapp-", 10, "Slack token"),
    ("lin_api_", 20, "Linear API key"),
    ("glpat-", 20, "GitLab token"),
    ("npm_", 36, "npm token"),
    ("AIza", 35, "Google API key"),
    ("sk_live_", 16, "Stripe key"),
    ("rk_live_", 16, "Stripe key"),
    ("hf_", 30, "Hugging Face token"),
    ("BSA", 20, "Brave Search API key"),
    ("AKIA", 16, "AWS access key"),
    ("ASIA", 16, "AWS access key"),
];

fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// What kind of credential `text` contains, if it contains one.
pub fn token_kind(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
        return Some("private key");
    }
    for (i, _) in text.char_indices() {
        if i > 0 && token_char(bytes[i - 1]) {
            continue;
        }
        let rest = &text[i..];
        for (prefix, min, kind) in PREFIXES {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let run = tail.bytes().take_while(|b| token_char(*b)).count();
                if run >= *min {
                    return Some(kind);
                }
            }
        }
        if let Some(tail) = rest.strip_prefix("sk-") {
            let run = tail
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if run >= 32 {
                return Some("OpenAI API key");
            }
        }
        if let Some(tail) = rest.strip_prefix("Bearer ") {
            let run = tail
                .bytes()
                .take_while(|b| token_char(*b) || *b == b'.')
                .count();
            if run >= 20 && !tail.starts_with("${") {
                return Some("bearer token");
            }
        }
    }
    if url_password(text) {
        return Some("password in a URL");
    }
    None
}

/// `scheme://user:password@host` with a literal password (not a `${VAR}` reference).
fn url_password(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        let authority = &after[..end];
        if let Some((userinfo, _host)) = authority.rsplit_once('@') {
            if let Some((_user, pass)) = userinfo.split_once(':') {
                if !pass.is_empty() && !pass.starts_with('$') {
                    return true;
                }
            }
        }
        rest = after;
    }
    false
}

/// The first line of `text` holding a credential, 1-based, and its kind.
pub fn find_token_line(text: &str) -> Option<(usize, &'static str)> {
    text.lines()
        .enumerate()
        .find_map(|(n, line)| token_kind(line).map(|k| (n + 1, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_fixture_tokens() {
        assert_eq!(
            token_kind("ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000"),
            Some("GitHub token")
        );
        assert!(token_kind("Bearer lin_api_FAKE0000000000000000000000000000000000FAKE").is_some());
        assert!(token_kind("postgresql://alice:FAKE_DB_PASSWORD@localhost:5432/x").is_some());
        assert_eq!(token_kind("Bash(git diff *)"), None);
        assert_eq!(token_kind("https://mcp.linear.app/mcp"), None);
        assert_eq!(token_kind("Authorization:${AUTH_HEADER}"), None);
        assert_eq!(token_kind("postgresql://${USER}:${PASS}@db/x"), None);
        assert_eq!(token_kind("mask-ant-thing"), None);
    }

    #[test]
    fn secret_env_names_are_word_based() {
        assert!(is_secret_name("GITHUB_TOKEN"));
        assert!(is_secret_name("OPENAI_API_KEY"));
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
    fn rules() {
        let r = Rules::new(&[SecretRule {
            file: "claude/settings.json".into(),
            field: "statusLine.command".into(),
        }]);
        let k = |s: &str| Seg::Key(s.into());
        assert!(r.is_secret_field("claude/mcp.json", &[k("github"), k("env"), k("X")]));
        assert!(r.is_secret_field("claude/settings.json", &[k("statusLine"), k("command")]));
        assert!(!r.is_secret_field("claude/settings.json", &[k("env"), k("DEBUG")]));
    }
}
