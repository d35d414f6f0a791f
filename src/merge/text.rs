//! Line-by-line three-way merge, as git does it, for text and as the fallback; conflict markers.

use similar::{MergeResolution, TextMerge};

use super::{Conflict, Markers, MergeOutcome};

/// Merges lines; conflicts get `<<<<<<< ours` / `=======` / `>>>>>>> theirs` markers.
pub fn merge_lines(base: &str, ours: &str, theirs: &str) -> (String, usize) {
    let m = TextMerge::from_lines(base, ours, theirs);
    let (text, conflicts) = render(&m, Markers::default(), false);
    (text, conflicts.len())
}

/// A line merge of a file; with `union`, two pure insertions at one place (nothing deleted, no
/// line changed) merge as both, ours first, as memory files want.
pub(super) fn merge_text(
    path: &str,
    base: &str,
    ours: &str,
    theirs: &str,
    markers: Markers,
    union: bool,
) -> MergeOutcome {
    let m = TextMerge::from_lines(base, ours, theirs);
    let (content, regions) = render(&m, markers, union);
    let conflicts = regions
        .into_iter()
        .map(|(at, b, o, t)| Conflict {
            file: path.to_string(),
            field: format!("line {}", at + 1),
            base: Some(b.into()),
            ours: Some(o.into()),
            theirs: Some(t.into()),
        })
        .collect();
    MergeOutcome {
        content: content.into_bytes(),
        conflicts,
        overruled: Vec::new(),
        line_fallback: false,
    }
}

/// A conflicting region: ours' first line (0-based), then the base's, ours' and theirs' lines.
type Region = (usize, String, String, String);

fn render(m: &TextMerge<'_, '_, '_, str>, markers: Markers, union: bool) -> (String, Vec<Region>) {
    let mut out = Out::new(m.ours_len() * 40, markers);
    out.crlf =
        (0..m.ours_len().min(50)).any(|i| m.ours_line(i).is_some_and(|l| l.ends_with("\r\n")));
    let mut conflicts = Vec::new();
    let base = |r: std::ops::Range<usize>| r.filter_map(|i| m.base_line(i)).collect::<String>();
    let ours = |r: std::ops::Range<usize>| r.filter_map(|i| m.ours_line(i)).collect::<String>();
    let theirs = |r: std::ops::Range<usize>| r.filter_map(|i| m.theirs_line(i)).collect::<String>();
    for r in m.regions() {
        match r.resolution() {
            MergeResolution::Theirs => out.text(&theirs(r.theirs_range())),
            MergeResolution::Conflict => {
                let (b, o, t) = (
                    base(r.base_range()),
                    ours(r.ours_range()),
                    theirs(r.theirs_range()),
                );
                if union && r.base_range().is_empty() {
                    out.text(&o);
                    out.text(&without_lines_of(&t, &o));
                } else {
                    out.conflict(&o, &b, &t);
                    conflicts.push((r.ours_range().start, b, o, t));
                }
            }
            _ => out.text(&ours(r.ours_range())),
        }
    }
    (out.buf, conflicts)
}

/// `text` less the lines that `other` holds too (both sides added the same bullet or
/// heading). Blank lines and rules (`---`) stay, and inside code (a fence in either block)
/// nothing is dropped: repeated lines mean something there.
fn without_lines_of(text: &str, other: &str) -> String {
    let fence = |l: &str| {
        let t = l.trim_start();
        t.starts_with("```") || t.starts_with("~~~")
    };
    if text.lines().chain(other.lines()).any(fence) {
        return text.to_string();
    }
    let content = |l: &str| l.chars().any(char::is_alphanumeric);
    let have: std::collections::HashSet<&str> = other
        .lines()
        .map(str::trim_end)
        .filter(|l| content(l))
        .collect();
    // Blank lines before a dropped line go with it (a heading both added, with its spacing).
    let (mut out, mut blanks) = (String::new(), String::new());
    for l in text.split_inclusive('\n') {
        if l.trim().is_empty() {
            blanks.push_str(l);
        } else if have.contains(l.trim_end()) {
            blanks.clear();
        } else {
            out.push_str(&blanks);
            blanks.clear();
            out.push_str(l);
        }
    }
    out.push_str(&blanks);
    out
}

/// A merge result being written: text, and conflict markers in the configured style.
pub(super) struct Out {
    pub buf: String,
    markers: Markers,
    /// Marker lines end in CRLF where the file's lines do, as git writes them.
    pub crlf: bool,
}

impl Out {
    pub fn new(capacity: usize, markers: Markers) -> Out {
        Out {
            buf: String::with_capacity(capacity),
            markers,
            crlf: false,
        }
    }

    /// Appends text, ending an unterminated last line first.
    pub fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.terminate();
        self.buf.push_str(s);
    }

    fn terminate(&mut self) {
        if !self.buf.is_empty() && !self.buf.ends_with('\n') {
            self.buf.push_str(if self.crlf { "\r\n" } else { "\n" });
        }
    }

    fn marker(&mut self, c: char, label: &str) {
        self.terminate();
        self.buf.extend(std::iter::repeat_n(c, self.markers.size));
        if !label.is_empty() {
            self.buf.push(' ');
            self.buf.push_str(label);
        }
        self.buf.push_str(if self.crlf { "\r\n" } else { "\n" });
    }

    /// Writes one conflict: ours, the base (diff3 style only), theirs.
    pub fn conflict(&mut self, ours: &str, base: &str, theirs: &str) {
        self.marker('<', "ours");
        self.text(ours);
        if self.markers.base {
            self.marker('|', "base");
            self.text(base);
        }
        self.marker('=', "");
        self.text(theirs);
        self.marker('>', "theirs");
    }
}

/// A clean three-way line merge of three strings, or `None` on a conflict.
pub(super) fn merge_string(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let m = TextMerge::from_lines(base, ours, theirs);
    if m.is_conflicted() {
        None
    } else {
        Some(m.to_string())
    }
}

/// A line merge where both sides inserting at one place keeps ours' lines then theirs' (git's
/// `merge=union` for insertions only); `None` if a side changed or removed lines the other
/// changed too.
pub(super) fn merge_union(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let m = TextMerge::from_lines(base, ours, theirs);
    if m.conflicts().any(|r| !r.base_range().is_empty()) {
        return None;
    }
    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    let mut push = |line: Option<&str>| {
        if let Some(l) = line {
            out.push_str(l);
            if !l.ends_with('\n') {
                out.push('\n');
            }
        }
    };
    for r in m.regions() {
        match r.resolution() {
            MergeResolution::Theirs => r.theirs_range().for_each(|i| push(m.theirs_line(i))),
            MergeResolution::Conflict => {
                r.ours_range().for_each(|i| push(m.ours_line(i)));
                r.theirs_range().for_each(|i| push(m.theirs_line(i)));
            }
            _ => r.ours_range().for_each(|i| push(m.ours_line(i))),
        }
    }
    Some(out)
}

/// Conflict markers around the lines where `ours` and `theirs` (one merge, resolved each way)
/// differ; with diff3 markers, the base section is `base`'s lines between the same unchanged
/// neighbours.
pub(super) fn two_way_markers(ours: &str, theirs: &str, base: &str, markers: Markers) -> String {
    let (o_lines, t_lines, b_lines) = (lines(ours), lines(theirs), lines(base));
    let diff =
        |a: &[&str], b: &[&str]| similar::capture_diff_slices(similar::Algorithm::Myers, a, b);
    // For each line of ours, the base line it is (diff3 only).
    let mut in_base: Vec<Option<usize>> = vec![None; o_lines.len()];
    if markers.base {
        for op in diff(&o_lines, &b_lines) {
            if let (similar::DiffTag::Equal, o, b) = op.as_tag_tuple() {
                for (i, j) in o.zip(b) {
                    in_base[i] = Some(j);
                }
            }
        }
    }
    let mut out = Out::new(ours.len() + 64, markers);
    out.crlf = ours.contains("\r\n");
    let mut pending: Option<(std::ops::Range<usize>, std::ops::Range<usize>)> = None;
    let flush = |out: &mut Out,
                 p: &mut Option<(std::ops::Range<usize>, std::ops::Range<usize>)>| {
        if let Some((o, t)) = p.take() {
            let from = in_base[..o.start]
                .iter()
                .rev()
                .find_map(|x| *x)
                .map_or(0, |j| j + 1);
            let to = in_base[o.end..]
                .iter()
                .find_map(|x| *x)
                .unwrap_or(b_lines.len());
            let b: String = b_lines[from..to.max(from)].concat();
            out.conflict(&o_lines[o].concat(), &b, &t_lines[t].concat());
        }
    };
    for op in diff(&o_lines, &t_lines) {
        let (tag, o, t) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            flush(&mut out, &mut pending);
            out.text(&o_lines[o].concat());
        } else {
            pending = Some(match pending.take() {
                Some((po, pt)) => (po.start..o.end, pt.start..t.end),
                None => (o, t),
            });
        }
    }
    flush(&mut out, &mut pending);
    out.buf
}

fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}
