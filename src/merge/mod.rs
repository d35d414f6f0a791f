//! The semantic merge engine (SPEC §4): pure, no I/O. JSON, YAML and TOML merge as values,
//! Markdown as YAML front matter plus a line-merged body, JSONL as a union of records, anything
//! else line by line as git does. When unsure, it reports a conflict: a merge that exits clean
//! with wrong data is the worst outcome.

mod arrays;
mod merger;
mod sequence;
mod text;
mod value;

use serde_json::Value;

pub use text::merge_lines;

/// What to do when both sides changed one value differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Leave conflict markers and report the conflicts.
    Stop,
    /// Keep ours.
    Ours,
    /// Keep theirs.
    Theirs,
    /// Keep the side of the newer commit (seconds since the epoch).
    Newest { ours_time: i64, theirs_time: i64 },
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop" => Ok(Policy::Stop),
            "ours" => Ok(Policy::Ours),
            "theirs" => Ok(Policy::Theirs),
            "newest" => Ok(Policy::Newest {
                ours_time: 0,
                theirs_time: 0,
            }),
            other => Err(format!(
                "unknown conflict policy `{other}` (stop, ours, theirs, newest)"
            )),
        }
    }
}

/// Opens an `ENC[age:…]` value; `locator` is `<file>:<dotted field path>`.
pub trait Decrypt {
    /// The plaintext, or `None` if this machine cannot open it.
    fn decrypt(&self, locator: &str, ciphertext: &str) -> Option<String>;
}

/// How to merge.
pub struct MergeOptions<'a> {
    /// The conflict policy.
    pub policy: Policy,
    /// Compares encrypted values by plaintext when present.
    pub decrypt: Option<&'a dyn Decrypt>,
}

/// One conflict: where, and the three values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The file.
    pub file: String,
    /// Dotted field path; `""` for the whole document, `line N` for text.
    pub field: String,
    /// The base value (absent: the field did not exist).
    pub base: Option<Value>,
    /// Ours.
    pub ours: Option<Value>,
    /// Theirs.
    pub theirs: Option<Value>,
}

/// A value a policy decided, for the merge commit's message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Overruled {
    /// Dotted field path.
    pub field: String,
    /// The value kept.
    pub kept: Option<Value>,
    /// The value that lost.
    pub lost: Option<Value>,
}

/// The result of a merge.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The merged file; with policy `stop` and conflicts, it holds git-style markers.
    pub content: Vec<u8>,
    /// Conflicts left for a person.
    pub conflicts: Vec<Conflict>,
    /// Values a policy decided.
    pub overruled: Vec<Overruled>,
    /// Whether the structured merge fell back to a line merge.
    pub line_fallback: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Toml,
    Markdown,
    Jsonl,
    Text,
}

fn format_of(path: &str) -> Format {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Format::Json
    } else if lower.ends_with(".jsonl") {
        Format::Jsonl
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Format::Yaml
    } else if lower.ends_with(".toml") {
        Format::Toml
    } else if lower.ends_with(".md") || lower.ends_with(".markdown") {
        Format::Markdown
    } else {
        Format::Text
    }
}

fn has_markers(text: &str) -> bool {
    // Substring search first (fast on megabytes), then the line-start check.
    let at_line_start = |i: usize| i == 0 || text.as_bytes()[i - 1] == b'\n';
    let opening = |pat: &str| text.match_indices(pat).any(|(i, _)| at_line_start(i));
    opening("<<<<<<< ")
        || opening(">>>>>>> ")
        || text.match_indices("=======").any(|(i, _)| {
            let rest = &text[i + 7..];
            at_line_start(i)
                && (rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n"))
        })
}

/// Merges three versions of `path`. `base` is `None` when both sides added the file.
pub fn merge_file(
    path: &str,
    base: Option<&[u8]>,
    ours: &[u8],
    theirs: &[u8],
    opts: &MergeOptions,
) -> MergeOutcome {
    let base_bytes = base.unwrap_or_default();
    // Identical sides, or one side unchanged: no need to parse anything.
    if ours == theirs || base == Some(theirs) {
        return clean(ours.to_vec());
    }
    if base == Some(ours) {
        return clean(theirs.to_vec());
    }
    let texts = (
        std::str::from_utf8(base_bytes),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    );
    let (Ok(b), Ok(o), Ok(t)) = texts else {
        // Binary: no line merge is meaningful.
        return MergeOutcome {
            content: ours.to_vec(),
            conflicts: vec![whole(path)],
            overruled: Vec::new(),
            line_fallback: true,
        };
    };
    let structured = if [b, o, t].iter().any(|s| has_markers(s)) {
        None
    } else {
        match format_of(path) {
            Format::Json | Format::Yaml | Format::Toml => {
                value::merge_document(path, format_of_doc(path), base.map(|_| b), o, t, opts)
            }
            Format::Markdown => markdown(path, base.map(|_| b), o, t, opts),
            Format::Jsonl => jsonl(b, o, t),
            Format::Text => None,
        }
    };
    structured.unwrap_or_else(|| {
        let mut out = text::merge_text(path, b, o, t);
        out.line_fallback = format_of(path) != Format::Text;
        out
    })
}

fn format_of_doc(path: &str) -> value::Doc {
    match format_of(path) {
        Format::Yaml => value::Doc::Yaml,
        Format::Toml => value::Doc::Toml,
        _ => value::Doc::Json,
    }
}

fn clean(content: Vec<u8>) -> MergeOutcome {
    MergeOutcome {
        content,
        conflicts: Vec::new(),
        overruled: Vec::new(),
        line_fallback: false,
    }
}

fn whole(path: &str) -> Conflict {
    Conflict {
        file: path.to_string(),
        field: String::new(),
        base: None,
        ours: None,
        theirs: None,
    }
}

/// Front matter merges as YAML, the body line by line.
fn markdown(
    path: &str,
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    opts: &MergeOptions,
) -> Option<MergeOutcome> {
    let split = |s: &str| -> Option<(String, String)> {
        let rest = s.strip_prefix("---\n")?;
        let end = rest.find("\n---\n").map(|i| (i + 1, i + 5)).or_else(|| {
            rest.strip_suffix("\n---")
                .map(|r| (r.len() + 1, rest.len()))
        })?;
        Some((rest[..end.0].to_string(), rest[end.1..].to_string()))
    };
    let (o_fm, o_body) = split(ours)?;
    let (t_fm, t_body) = split(theirs)?;
    let (b_fm, b_body) = match base {
        Some(b) => {
            // A base without front matter: both sides added theirs.
            match split(b) {
                Some((f, body)) => (Some(f), body),
                None => (None, b.to_string()),
            }
        }
        None => (None, String::new()),
    };
    let fm = if o_fm == t_fm {
        clean(o_fm.clone().into_bytes())
    } else {
        value::merge_document(path, value::Doc::Yaml, b_fm.as_deref(), &o_fm, &t_fm, opts)?
    };
    let body = text::merge_text(path, &b_body, &o_body, &t_body);
    let mut content = b"---\n".to_vec();
    content.extend_from_slice(&fm.content);
    if !content.ends_with(b"\n") {
        content.push(b'\n');
    }
    content.extend_from_slice(b"---\n");
    content.extend_from_slice(&body.content);
    let mut conflicts = fm.conflicts;
    conflicts.extend(body.conflicts);
    let mut overruled = fm.overruled;
    overruled.extend(body.overruled);
    Some(MergeOutcome {
        content,
        conflicts,
        overruled,
        line_fallback: false,
    })
}

/// JSONL: the union of records by `uuid` (else by whole line), base order, then ours' new
/// records, then theirs'. Transcripts are append-only, so a union loses nothing.
fn jsonl(base: &str, ours: &str, theirs: &str) -> Option<MergeOutcome> {
    let key = |line: &str| -> Option<String> {
        let v: Value = serde_json::from_str(line).ok()?;
        Some(match v.get("uuid").and_then(|u| u.as_str()) {
            Some(u) => format!("uuid:{u}"),
            None => format!("line:{line}"),
        })
    };
    let base_lines: std::collections::HashSet<&str> = base.lines().collect();
    let mut seen = std::collections::HashMap::new();
    let mut out: Vec<&str> = Vec::new();
    for side in [base, ours, theirs] {
        for line in side.lines().filter(|l| !l.trim().is_empty()) {
            let k = key(line)?;
            match seen.get(&k) {
                None => {
                    seen.insert(k, out.len());
                    out.push(line);
                }
                Some(&i) if out[i] != line => {
                    // A record one side changed: the change wins over the base's version; two
                    // different changes are a conflict for the line merge to show.
                    if base_lines.contains(out[i]) {
                        out[i] = line;
                    } else if !base_lines.contains(line) {
                        return None;
                    }
                }
                Some(_) => {}
            }
        }
    }
    // A line merge (insertions at one place: ours, then theirs) holding exactly the union's
    // records keeps where each side put its lines (a summary written at the top stays there).
    if let Some(text) = text::merge_union(base, ours, theirs) {
        let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut union = out.clone();
        lines.sort_unstable();
        union.sort_unstable();
        if lines == union {
            return Some(clean(text.into_bytes()));
        }
    }
    let mut content = out.join("\n");
    content.push('\n');
    Some(clean(content.into_bytes()))
}
