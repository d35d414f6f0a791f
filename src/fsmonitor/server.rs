//! The watch's side: a file watcher that records every event in a [`ChangeLog`], and a socket
//! that answers "what changed since this token" once the events up to the question are in.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::{client::path_bytes, cookie_dir, socket_path, ChangeLog, Token, HELLO};

/// How long the watch waits for its cookie's event before it answers "all".
const COOKIE_WAIT: Duration = Duration::from_secs(1);

/// What the event thread and the socket thread share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    cookie: Condvar,
}

#[derive(Default)]
struct State {
    log: ChangeLog,
    /// The highest cookie whose event came in.
    cookie_seen: u64,
    /// Whether the Claude home's recursive watch is in place (else every answer is "all").
    watching: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fsmonitor: dropped, it stops answering and removes its socket.
pub struct Server {
    watcher: notify::RecommendedWatcher,
    shared: Arc<Shared>,
    root: PathBuf,
    socket: PathBuf,
}

impl Server {
    /// Starts answering for `root` (the Claude home) on the socket in `state_dir`. `None` when
    /// another watch already answers there, or the socket or watcher cannot be set up: the
    /// watch then runs without it, and `status` reads everything as before. Nor does it answer
    /// for a Claude home on a network file system, where changes made by other hosts raise no
    /// event here (git's fsmonitor refuses those too).
    pub fn start(state_dir: &Path, root: &Path) -> Option<Server> {
        #[cfg(unix)]
        {
            if events_unreliable(root) {
                return None;
            }
            let socket = socket_path(state_dir);
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return None;
            }
            let _ = std::fs::remove_file(&socket);
            let cookies = cookie_dir(state_dir);
            std::fs::create_dir_all(&cookies).ok()?;
            let listener = std::os::unix::net::UnixListener::bind(&socket).ok()?;
            {
                use std::os::unix::fs::PermissionsExt;
                let private = std::fs::Permissions::from_mode(0o600);
                let _ = std::fs::set_permissions(&socket, private);
            }
            let shared = Arc::new(Shared::default());
            let events = Arc::clone(&shared);
            let cookie_at = cookies.clone();
            let mut watcher =
                notify::recommended_watcher(move |e| record(&events, &cookie_at, e)).ok()?;
            watcher.watch(&cookies, RecursiveMode::NonRecursive).ok()?;
            let mut server = Server {
                watcher,
                shared: Arc::clone(&shared),
                root: root.to_path_buf(),
                socket,
            };
            server.rewatch();
            let root = root.to_path_buf();
            std::thread::Builder::new()
                .name("fsmonitor".into())
                .spawn(move || {
                    let mut next = 0;
                    for conn in listener.incoming().flatten() {
                        let _ = answer(conn, &shared, &cookies, &root, &mut next);
                    }
                })
                .ok()?;
            Some(server)
        }
        #[cfg(not(unix))]
        {
            let _ = (state_dir, root);
            None
        }
    }

    /// (Re-)adds the Claude home's watch, after it was deleted and created again: whatever
    /// happened meanwhile was not seen, so the record starts again.
    pub fn rewatch(&mut self) {
        let _ = self.watcher.unwatch(&self.root);
        let ok = self.root.is_dir()
            && self
                .watcher
                .watch(&self.root, RecursiveMode::Recursive)
                .is_ok();
        let mut st = self.shared.lock();
        st.log.reset();
        st.watching = ok;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Whether `path` (or, missing, its folder) is on a file system whose changes other machines
/// can make: NFS, SMB/CIFS, FUSE, AFS, Ceph, 9p. Unknown counts as remote.
#[cfg(target_os = "linux")]
fn events_unreliable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const REMOTE: &[u32] = &[
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x6573_5546, // FUSE
        0x5346_414F, // AFS
        0x00C3_6400, // Ceph
        0x0102_1997, // 9p
    ];
    let at = if path.exists() {
        path
    } else {
        path.parent().unwrap_or(path)
    };
    let Ok(c) = std::ffi::CString::new(at.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: statfs only writes into the zeroed struct it is given; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return true;
    }
    REMOTE.contains(&(st.f_type as u32))
}

/// Elsewhere, only Linux's inotify has been checked to deliver events in order.
#[cfg(all(unix, not(target_os = "linux")))]
fn events_unreliable(_path: &Path) -> bool {
    true
}

/// One watcher event into the record. A cookie's event wakes the answer waiting for it; a lost
/// event (queue overflow, a watcher error) starts the record again.
fn record(shared: &Shared, cookies: &Path, event: notify::Result<notify::Event>) {
    let mut st = shared.lock();
    let event = match event {
        // Opening and reading a file (as every scan does) changes nothing.
        Ok(e) if !e.need_rescan() && !changes_nothing(&e.kind) => e,
        Ok(e) if !e.need_rescan() => return,
        _ => {
            st.log.reset();
            return;
        }
    };
    for p in &event.paths {
        match p.parent() == Some(cookies) {
            true => {
                let n = p.file_name().and_then(|n| n.to_str()?.parse::<u64>().ok());
                if let Some(n) = n.filter(|&n| n > st.cookie_seen) {
                    st.cookie_seen = n;
                    shared.cookie.notify_all();
                }
            }
            false => st.log.touch(p),
        }
    }
}

/// An event that reports only a look at a file: an open, a read, a close without a write.
fn changes_nothing(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    match kind {
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        notify::EventKind::Access(_) => true,
        _ => false,
    }
}

/// Answers one client: `ctx-fsmonitor 1 <token>|-` in, [`super::client`]'s reply out.
#[cfg(unix)]
fn answer(
    conn: std::os::unix::net::UnixStream,
    shared: &Shared,
    cookies: &Path,
    root: &Path,
    next: &mut u64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(COOKIE_WAIT))?;
    conn.set_write_timeout(Some(COOKIE_WAIT))?;
    let mut line = Vec::new();
    let mut reader = std::io::BufReader::new(&conn).take(256);
    reader.read_until(b'\n', &mut line)?;
    let since = std::str::from_utf8(&line)
        .ok()
        .and_then(|l| l.trim_end().strip_prefix(HELLO))
        .and_then(|rest| Token::parse(rest.trim()));
    *next += 1;
    let cookie = cookies.join(next.to_string());
    let synced = std::fs::File::create(&cookie).is_ok() && wait_for(shared, *next);
    let _ = std::fs::remove_file(&cookie);
    let st = shared.lock();
    let changed = match synced && st.watching {
        true => since.and_then(|t| st.log.since(t)),
        false => None,
    };
    let mut out = Vec::with_capacity(256);
    let kind = if changed.is_some() { "changed" } else { "all" };
    out.extend_from_slice(format!("{kind} {}\n", st.log.token().render()).as_bytes());
    out.extend_from_slice(path_bytes(root));
    out.push(0);
    for p in changed.into_iter().flatten() {
        out.extend_from_slice(path_bytes(p));
        out.push(0);
    }
    drop(st);
    (&conn).write_all(&out)
}

/// Waits until the event of cookie `n` came in: then every event before it is recorded.
fn wait_for(shared: &Shared, n: u64) -> bool {
    let deadline = Instant::now() + COOKIE_WAIT;
    let mut st = shared.lock();
    while st.cookie_seen < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        st = match shared.cookie.wait_timeout(st, left) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
    }
    true
}
