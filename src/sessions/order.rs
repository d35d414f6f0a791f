//! A transcript as the union of every machine's lines: each line once (by its `uuid`, else by
//! its text), parents before children (`parentUuid`), otherwise by timestamp. Two machines that
//! appended to one session at once both keep their lines, as two branches of its tree.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

/// One machine's lines in the order it wrote them (a chunk's transcript part).
pub struct Stream<'a> {
    /// Orders streams whose lines carry equal times: (machine, seq).
    pub rank: (&'a str, u64),
    /// The bytes: complete lines.
    pub text: &'a [u8],
}

struct Line<'a> {
    text: &'a [u8],
    uuid: Option<String>,
    parent: Option<String>,
    time: i128,
    rank: (&'a str, u64, usize),
}

fn parse(text: &[u8]) -> (Option<String>, Option<String>, Option<i128>) {
    let Ok(v) = serde_json::from_slice::<Value>(text) else {
        return (None, None, None);
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let time = s("timestamp")
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_nanosecond());
    (s("uuid"), s("parentUuid"), time)
}

/// The union of `streams`' lines, ordered; each line ends in `\n`.
pub fn union(streams: &[Stream]) -> Vec<u8> {
    let mut lines: Vec<Line> = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    for s in streams {
        // A line without a time sorts where the line before it in its stream does.
        let mut time = 0i128;
        for (i, text) in s.text.split_inclusive(|b| *b == b'\n').enumerate() {
            let body = text.strip_suffix(b"\n").unwrap_or(text);
            if body.is_empty() {
                continue;
            }
            let (uuid, parent, t) = parse(body);
            let key = match &uuid {
                Some(u) => [b"u:", u.as_bytes()].concat(),
                None => [b"t:", body].concat(),
            };
            if !seen.insert(key) {
                continue;
            }
            time = t.unwrap_or(time);
            lines.push(Line {
                text: body,
                uuid,
                parent,
                time,
                rank: (s.rank.0, s.rank.1, i),
            });
        }
    }
    lines.sort_by(|a, b| (a.time, a.rank).cmp(&(b.time, b.rank)));
    emit(&lines)
}

/// Writes `lines` (sorted) out, holding back a line whose parent is still to come until it has
/// been written.
fn emit(lines: &[Line]) -> Vec<u8> {
    let present: HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.uuid.as_deref().map(|u| (u, i)))
        .collect();
    let mut waiting: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut done = vec![false; lines.len()];
    let mut out = Vec::new();
    for i in 0..lines.len() {
        let parent = lines[i].parent.as_deref();
        match parent.and_then(|p| present.get(p)) {
            Some(&p) if !done[p] && p != i => {
                waiting
                    .entry(parent.unwrap_or_default())
                    .or_default()
                    .push(i);
            }
            _ => write_with_children(i, lines, &mut waiting, &mut done, &mut out),
        }
    }
    // Only a cycle of parent links is left: written in time order.
    for (i, l) in lines.iter().enumerate() {
        if !done[i] {
            out.extend_from_slice(l.text);
            out.push(b'\n');
        }
    }
    out
}

fn write_with_children<'a>(
    first: usize,
    lines: &'a [Line],
    waiting: &mut BTreeMap<&'a str, Vec<usize>>,
    done: &mut [bool],
    out: &mut Vec<u8>,
) {
    let mut stack = vec![first];
    while let Some(i) = stack.pop() {
        if done[i] {
            continue;
        }
        done[i] = true;
        out.extend_from_slice(lines[i].text);
        out.push(b'\n');
        if let Some(kids) = lines[i].uuid.as_deref().and_then(|u| waiting.remove(u)) {
            // Reversed onto the stack, so the earliest child comes out first.
            stack.extend(kids.into_iter().rev());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(uuid: &str, parent: Option<&str>, t: u32) -> String {
        let parent = parent.map_or("null".into(), |p| format!("\"{p}\""));
        format!("{{\"parentUuid\":{parent},\"uuid\":\"{uuid}\",\"timestamp\":\"2026-01-01T00:00:{t:02}Z\"}}\n")
    }

    fn uuids(out: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["uuid"].as_str().map(String::from))
            .collect()
    }

    #[test]
    fn two_machines_appending_at_once_keep_both_branches_once() {
        let base = [line("a", None, 1), line("b", Some("a"), 2)].concat();
        let m1 = [base.clone(), line("c1", Some("b"), 5)].concat();
        let m2 = [line("c2", Some("b"), 4), line("d2", Some("c2"), 6)].concat();
        let out = union(&[
            Stream {
                rank: ("m1", 1),
                text: m1.as_bytes(),
            },
            Stream {
                rank: ("m2", 1),
                text: base.as_bytes(),
            },
            Stream {
                rank: ("m2", 2),
                text: m2.as_bytes(),
            },
        ]);
        assert_eq!(uuids(&out), ["a", "b", "c2", "c1", "d2"]);
    }

    #[test]
    fn a_child_never_precedes_its_parent_even_with_a_skewed_clock() {
        // m2's clock is behind: its reply is stamped before the prompt it answers.
        let m1 = line("p", None, 30);
        let m2 = line("r", Some("p"), 10);
        let out = union(&[
            Stream {
                rank: ("m2", 1),
                text: m2.as_bytes(),
            },
            Stream {
                rank: ("m1", 1),
                text: m1.as_bytes(),
            },
        ]);
        assert_eq!(uuids(&out), ["p", "r"]);
    }

    #[test]
    fn lines_without_uuid_are_kept_once_by_their_text() {
        let a = "{\"type\":\"summary\",\"summary\":\"x\"}\n".to_string() + &line("a", None, 1);
        let out = union(&[
            Stream {
                rank: ("m1", 1),
                text: a.as_bytes(),
            },
            Stream {
                rank: ("m2", 1),
                text: a.as_bytes(),
            },
        ]);
        assert_eq!(String::from_utf8_lossy(&out).lines().count(), 2);
    }
}
