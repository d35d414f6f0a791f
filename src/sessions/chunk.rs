//! A chunk: what one machine appended to one session since its last chunk, sealed whole. Its
//! plaintext is a JSON header line, then the parts' bytes one after the other (one zlib stream
//! when the header says `z`): for a transcript (`.jsonl`) the complete lines appended, for any
//! other file of the session its whole content. Compressed before sealing, since sealed bytes
//! never compress again: transcripts are prose and JSON, a quarter of their size in zlib.

use serde::{Deserialize, Serialize};

use super::SessionsError;
use crate::crypt::{Identity, Recipients};

/// How a part's bytes combine with other chunks' parts of the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Lines appended: the file is the union of every chunk's lines.
    Lines,
    /// The whole file: the newest chunk's wins.
    Whole,
}

/// One file's share of a chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Relative to the session's folder: `<id>.jsonl`, `<id>/subagents/agent-x.jsonl`.
    pub name: String,
    /// Lines or whole.
    pub kind: Kind,
    /// Its length in bytes.
    pub len: usize,
}

/// A chunk's header: enough for `ctx sessions ls` without reading the transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Format version: 1.
    pub v: u32,
    /// The machine that wrote it.
    pub machine: String,
    /// Its sequence number among that machine's chunks of the session.
    pub seq: u64,
    /// The session's working directory on that machine.
    pub cwd: String,
    /// The worktree of the project `cwd` lies in, on that machine.
    pub root: String,
    /// The first prompt, shortened, if this chunk holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// A title or summary line, if this chunk holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The newest line timestamp in the chunk (RFC 3339), else when it was written.
    pub last: String,
    /// Transcript lines it holds.
    pub lines: usize,
    /// Its parts, in the order of their bytes (lengths before compression).
    pub parts: Vec<Part>,
    /// The parts' bytes are one zlib stream (chunks written before are not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub z: bool,
}

/// A chunk's plaintext: the header line, then the parts' bytes, compressed.
pub fn encode(header: &Header, bodies: &[Vec<u8>]) -> Vec<u8> {
    use std::io::Write;
    let header = Header {
        z: true,
        ..header.clone()
    };
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::new(6));
    for b in bodies {
        // Writing to a Vec cannot fail.
        let _ = z.write_all(b);
    }
    z.finish().unwrap_or_default()
}

/// Splits a chunk's plaintext into its header and parts' bytes.
pub fn decode(path: &str, plain: &[u8]) -> Result<(Header, Vec<Vec<u8>>), SessionsError> {
    use std::io::Read;
    let bad = |why: &str| SessionsError::BadChunk {
        path: path.to_string(),
        why: why.to_string(),
    };
    let nl = memchr::memchr(b'\n', plain).ok_or_else(|| bad("no header"))?;
    let header: Header =
        serde_json::from_slice(&plain[..nl]).map_err(|e| bad(&format!("header: {e}")))?;
    let total: usize = header.parts.iter().map(|p| p.len).sum();
    let rest = match header.z {
        true => {
            let mut out = Vec::with_capacity(total.min(1 << 30));
            flate2::read::ZlibDecoder::new(&plain[nl + 1..])
                // One byte past the parts: more than the header says is damage too.
                .take(total as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(&format!("compressed parts: {e}")))?;
            std::borrow::Cow::Owned(out)
        }
        false => std::borrow::Cow::Borrowed(&plain[nl + 1..]),
    };
    if rest.len() != total {
        return Err(bad("truncated"));
    }
    let mut at = 0;
    let mut bodies = Vec::with_capacity(header.parts.len());
    for p in &header.parts {
        bodies.push(rest[at..at + p.len].to_vec());
        at += p.len;
    }
    Ok((header, bodies))
}

/// Seals a chunk for its store path to the recipients.
pub fn seal(path: &str, plain: &[u8], to: &Recipients) -> Result<Vec<u8>, SessionsError> {
    Ok(crate::crypt::blob::seal_file(path, plain, to)?)
}

/// Opens a chunk: its header and parts' bytes.
pub fn open(
    path: &str,
    sealed: &[u8],
    id: &Identity,
) -> Result<(Header, Vec<Vec<u8>>), SessionsError> {
    let plain = crate::crypt::blob::open_file(path, sealed, id)?;
    decode(path, &plain)
}

/// Opens only a chunk's header.
pub fn open_header(path: &str, sealed: &[u8], id: &Identity) -> Result<Header, SessionsError> {
    let line = crate::crypt::blob::open_first_line(path, sealed, id)?;
    serde_json::from_str(&line).map_err(|e| SessionsError::BadChunk {
        path: path.to_string(),
        why: format!("header: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_decodes_to_what_was_encoded() {
        let header = Header {
            v: 1,
            machine: "m1".into(),
            seq: 3,
            parts: vec![
                Part {
                    name: "s.jsonl".into(),
                    kind: Kind::Lines,
                    len: 4,
                },
                Part {
                    name: "s/tool-results/x.txt".into(),
                    kind: Kind::Whole,
                    len: 2,
                },
            ],
            ..Default::default()
        };
        let plain = encode(&header, &[b"a\nb\n".to_vec(), b"xy".to_vec()]);
        let (h, bodies) = decode("p", &plain).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            h,
            Header {
                z: true,
                ..header.clone()
            }
        );
        assert_eq!(bodies, vec![b"a\nb\n".to_vec(), b"xy".to_vec()]);
        assert!(decode("p", &plain[..plain.len() - 1]).is_err());
        // A chunk written before compression still opens.
        let mut old = serde_json::to_vec(&header).unwrap_or_default();
        old.extend_from_slice(b"\na\nb\nxy");
        let (h, bodies) = decode("p", &old).unwrap_or_else(|e| panic!("{e}"));
        assert!(!h.z);
        assert_eq!(bodies, vec![b"a\nb\n".to_vec(), b"xy".to_vec()]);
        assert!(decode("p", &old[..old.len() - 1]).is_err());
    }
}
