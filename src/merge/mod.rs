//! The semantic merge engine (SPEC §4): pure, no I/O. JSON, YAML and TOML merge as values
//! (`value.rs`, `merger.rs`, `arrays.rs`, `sequence.rs`, `moves.rs`) and are written by editing
//! ours' text (`patch/`); Markdown as YAML front matter plus a line-merged body (`markdown.rs`),
//! JSONL as a union of records (`jsonl.rs`), anything else line by line as git does
//! (`text.rs`). When unsure, it reports a conflict: a merge that exits clean with wrong data is
//! the worst outcome.

mod arrays;
mod equal;
mod jsonl;
mod markdown;
mod merger;
mod moves;
mod patch;
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

/// How conflict markers are written: git's `merge.conflictStyle` and marker size (`%L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Markers {
    /// `diff3`/`zdiff3`: the base's lines between `|||||||` and `=======`.
    pub base: bool,
    /// How many `<`, `|`, `=`, `>` a marker has (git's default: 7).
    pub size: usize,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            base: false,
            size: 7,
        }
    }
}

impl Markers {
    /// The markers for git's `merge.conflictStyle` value and marker size.
    pub fn from_git(conflict_style: Option<&str>, size: Option<usize>) -> Markers {
        Markers {
            base: matches!(conflict_style, Some("diff3" | "zdiff3")),
            size: size.filter(|&s| s > 0).unwrap_or(7),
        }
    }
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
    // One vectorised pass for the marker characters, which are rare in data files; each hit
    // is checked for a marker line (seven of them at a line start).
    let b = text.as_bytes();
    memchr::memchr3_iter(b'<', b'=', b'>', b).any(|i| {
        let c = b[i];
        let run = b.get(i..i + 7).is_some_and(|r| r.iter().all(|&x| x == c));
        let line_start = i == 0 || b[i - 1] == b'\n';
        let rest = &b[(i + 7).min(b.len())..];
        run && line_start
            && match c {
                b'=' => rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n"),
                _ => rest.starts_with(b" "),
            }
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
    merge_file_with_markers(path, base, ours, theirs, opts, Markers::default())
}

/// [`merge_file`], conflict markers written in the given style.
pub fn merge_file_with_markers(
    path: &str,
    base: Option<&[u8]>,
    ours: &[u8],
    theirs: &[u8],
    opts: &MergeOptions,
    markers: Markers,
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
            Format::Json | Format::Yaml | Format::Toml => value::merge_document(
                path,
                format_of_doc(path),
                base.map(|_| b),
                o,
                t,
                opts,
                markers,
            ),
            Format::Markdown => {
                markdown::merge_front_matter(path, base.map(|_| b), o, t, opts, markers)
            }
            Format::Jsonl => jsonl::merge(b, o, t),
            Format::Text => None,
        }
    };
    structured.unwrap_or_else(|| {
        let format = format_of(path);
        let union = format == Format::Markdown && markdown::is_memory(path);
        let mut out = text::merge_text(path, b, o, t, markers, union);
        // Markdown without front matter is text: its line merge is no fallback.
        out.line_fallback = !matches!(format, Format::Text | Format::Markdown);
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
