//! The detector's patterns: the context regexes, each compiled the first time a text can match
//! it, and the automata that decide which can (see `detect.rs` for what each finds).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use super::detect::PREFIXES;

/// One of the context patterns, compiled the first time a text needs it: most texts hold none
/// of the words a pattern needs, and compiling all of them costs more than a hook's whole work.
pub(super) struct Lazy {
    cell: OnceLock<Regex>,
    pattern: &'static str,
}

impl Lazy {
    const fn new(pattern: &'static str) -> Lazy {
        Lazy {
            cell: OnceLock::new(),
            pattern,
        }
    }

    pub(super) fn get(&self) -> &Regex {
        // Fixed patterns, checked by the tests: they compile. Bytes and ASCII classes: what
        // they look for is ASCII, and Unicode tables would only slow the compile down.
        self.cell.get_or_init(|| {
            RegexBuilder::new(self.pattern)
                .unicode(false)
                .build()
                .expect("a fixed pattern compiles")
        })
    }
}

pub(super) static JWT: Lazy =
    Lazy::new(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}");
pub(super) static USERINFO: Lazy =
    Lazy::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:'\x22]*:([^\s/@'\x22]+)@");
pub(super) static QUERY: Lazy = Lazy::new(r"[?&]([A-Za-z0-9_.\-\[\]]+)=([^&#\s'\x22<>\\]+)");
pub(super) static HEADER: Lazy = Lazy::new(
    r#"(?i)\b(authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|x-token)["']?[ \t]*:[ \t]*["']?(?:(?:bearer|token|basic|bot|digest)[ \t]+)?([^\s'"\\,;]+)"#,
);
pub(super) static ASSIGN: Lazy = Lazy::new(
    r#"(?m)(?:^|[\s;&|(,\x60])(?:(?:export|set|setenv|local|readonly|declare[ \t]+-x)[ \t]+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*(?:=|:=|:)[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'\x60#;,&|)}\]]+))"#,
);
pub(super) static FLAG: Lazy = Lazy::new(
    r#"(?:^|[\s"'\[,(])(--?[A-Za-z][A-Za-z0-9_-]*)(?:=|[ \t]+|["'][ \t]*,[ \t]*\n?[ \t]*["']?)(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'|;&)\]]+))"#,
);

/// Where a prefix of `detect::PREFIXES` (or `sk-`, `Bearer `) may start: one pass, not one per prefix.
pub(super) fn prefixes() -> &'static AhoCorasick {
    static P: OnceLock<AhoCorasick> = OnceLock::new();
    P.get_or_init(|| {
        let words = PREFIXES
            .iter()
            .map(|(p, _, _)| *p)
            .chain(["sk-", "Bearer "]);
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(words)
            .expect("fixed prefixes build")
    })
}

/// Words one of which (ASCII case aside) occurs in every text a header pattern matches.
const HEADER_WORDS: &[&str] = &["authorization", "api-key", "apikey", "-token"];
/// Words one of which occurs in every secret name (see `detect::secret_name` and its word list).
const NAME_WORDS: &[&str] = &[
    "token", "secret", "pass", "pwd", "auth", "cred", "private", "key",
];

/// Which of the pattern families a text can match, from one case-blind pass over it.
pub(super) struct Wanted {
    pub(super) header: bool,
    pub(super) name: bool,
}

pub(super) fn wanted(text: &[u8]) -> Wanted {
    static W: OnceLock<AhoCorasick> = OnceLock::new();
    let ac = W.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(HEADER_WORDS.iter().chain(NAME_WORDS))
            .expect("fixed words build")
    });
    let mut w = Wanted {
        header: false,
        name: false,
    };
    for m in ac.find_overlapping_iter(text) {
        match m.pattern().as_usize() < HEADER_WORDS.len() {
            true => w.header = true,
            false => w.name = true,
        }
        if w.header && w.name {
            break;
        }
    }
    w
}
