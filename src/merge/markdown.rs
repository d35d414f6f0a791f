//! Markdown: YAML front matter merged as data, the body line by line; memory and rule files
//! (CLAUDE.md, MEMORY.md, `memory/`, `rules/`) take both sides' insertions at one place.

use super::{clean, text, value, Markers, MergeOptions, MergeOutcome};

/// Whether a Markdown file is one Claude (or a person) appends to from several machines:
/// CLAUDE.md, CLAUDE.local.md, MEMORY.md, and anything in a `memory/` or `rules/` folder.
pub(super) fn is_memory(path: &str) -> bool {
    let mut parts = path.rsplit(['/', '\\']);
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    matches!(name.as_str(), "claude.md" | "claude.local.md" | "memory.md")
        || parts.any(|d| d == "memory" || d == "rules")
}

/// Front matter merges as YAML, the body line by line; `None` when a side has no front matter
/// (the caller merges the whole file by lines).
pub(super) fn merge_front_matter(
    path: &str,
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    opts: &MergeOptions,
    markers: Markers,
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
        value::merge_document(
            path,
            value::Doc::Yaml,
            b_fm.as_deref(),
            &o_fm,
            &t_fm,
            opts,
            markers,
        )?
    };
    let body = text::merge_text(path, &b_body, &o_body, &t_body, markers, is_memory(path));
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
