//! Asking a running watch what changed.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Token, Trust, HELLO};

/// How long a client waits for the watch's answer: a watch that is stopped (SIGSTOP) or busy
/// must not hold up a `status` for long; without an answer the status reads everything.
const WAIT: Duration = Duration::from_millis(500);

/// A watch's answer.
#[derive(Debug)]
pub enum Answer {
    /// The paths changed since the token asked about; `Trust` covers the watched root.
    Changed(Token, Trust),
    /// The watch cannot tell (another record, or the token was none): read everything, and
    /// write the caches with this token.
    All(Token),
}

impl Answer {
    /// Where the watch's record is now.
    pub fn token(&self) -> Token {
        match self {
            Answer::Changed(t, _) | Answer::All(t) => *t,
        }
    }
}

/// Asks the watch serving `state_dir` what changed under `root` since `since`. `None` when no
/// watch answers, or it watches another root.
pub fn query(state_dir: &Path, root: &Path, since: Option<Token>) -> Option<Answer> {
    #[cfg(unix)]
    {
        let mut s = std::os::unix::net::UnixStream::connect(super::socket_path(state_dir)).ok()?;
        s.set_read_timeout(Some(WAIT)).ok()?;
        s.set_write_timeout(Some(WAIT)).ok()?;
        let token = since.map(|t| t.render()).unwrap_or_else(|| "-".into());
        s.write_all(format!("{HELLO} {token}\n").as_bytes()).ok()?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).ok()?;
        parse(&reply, root)
    }
    #[cfg(not(unix))]
    {
        let _ = (state_dir, root, since);
        None
    }
}

/// `changed|all <epoch> <seq>\n<root>\0[<path>\0...]`
fn parse(reply: &[u8], root: &Path) -> Option<Answer> {
    let nl = reply.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&reply[..nl]).ok()?;
    let (kind, token) = head.split_once(' ')?;
    let token = Token::parse(token)?;
    let mut items = reply[nl + 1..].split(|&b| b == 0);
    let watched = path_of(items.next()?);
    if watched != root {
        return None;
    }
    match kind {
        "all" => Some(Answer::All(token)),
        "changed" => {
            // The reply ends with a NUL, which leaves one empty item.
            let dirty: BTreeSet<PathBuf> = items.filter(|i| !i.is_empty()).map(path_of).collect();
            Some(Answer::Changed(token, Trust::new(watched, dirty)))
        }
        _ => None,
    }
}

#[cfg(unix)]
fn path_of(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// A path as the reply carries it.
pub(super) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_and_a_reply_for_another_root_is_no_answer() {
        let reply = b"changed 7 42\n/h/.claude\0/h/.claude/a\0/h/.claude/b c\0";
        let Some(Answer::Changed(t, trust)) = parse(reply, Path::new("/h/.claude")) else {
            panic!("not parsed");
        };
        assert_eq!(t, Token { epoch: 7, seq: 42 });
        assert!(!trust.file(Path::new("/h/.claude/b c"), super::super::Mode::Check));
        assert!(trust.file(Path::new("/h/.claude/d"), super::super::Mode::Check));
        assert!(matches!(
            parse(b"all 7 42\n/h/.claude\0", Path::new("/h/.claude")),
            Some(Answer::All(_))
        ));
        assert!(parse(reply, Path::new("/other/.claude")).is_none());
        assert!(parse(b"changed 7\n/h/.claude\0", Path::new("/h/.claude")).is_none());
        assert!(parse(b"", Path::new("/h/.claude")).is_none());
    }
}
