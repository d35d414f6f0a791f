//! The binary's allocator: a bump arena in front of the system allocator.
//!
//! Most ctx processes live for a few milliseconds (`status`, the git hooks, a no-op `commit`)
//! and allocate a few megabytes of small, short-lived pieces: paths, names, cache entries.
//! Measured with callgrind on a 2,000-file home, glibc's `malloc` and `free` were 30% of a
//! no-op `status`, and first touches of fresh heap pages a third of its page faults (each
//! costs microseconds in a VM). The arena hands out memory by moving a pointer, frees by doing
//! nothing (the process is about to exit), grows the newest block in place, and past its first
//! megabyte maps its pages a megabyte at a time in one call rather than one fault per page. Its
//! memory asks for transparent huge pages, which the kernel zeroes and maps 2 MiB at a time.
//!
//! It is bounded: past [`LIMIT`] bytes, and in long-running commands (`ctx watch`, `ctx mcp`)
//! once they call [`stop`], allocations go to the system allocator and are freed as usual.
//! The arena never returns memory that is still in use, so it changes only speed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The most the arena hands out before every allocation goes to the system allocator.
pub const LIMIT: usize = 64 << 20;
/// Pages are mapped this much at a time (where huge pages are on, a chunk lies inside one).
const CHUNK: usize = 1 << 20;
/// The first pages are left to fault in as they are touched (one huge page, where they are on):
/// a hook or `--version` uses a few hundred kilobytes, and mapping a whole chunk of 4 KiB pages
/// for it cost more than the faults it saved.
const FAULTED: usize = 1 << 20;

/// The allocator; install with `#[global_allocator]`.
pub struct Arena;

static BASE: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// How far pages are mapped in.
static MAPPED: AtomicUsize = AtomicUsize::new(0);
static STOPPED: AtomicBool = AtomicBool::new(false);

/// Sends every later allocation to the system allocator: for commands that run for hours,
/// where memory freed must be reusable.
pub fn stop() {
    STOPPED.store(true, Ordering::Relaxed);
}

/// The size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
const HUGE: usize = 2 << 20;

/// The arena's start inside a mapping `HUGE` bytes longer than it, aligned to a huge page and
/// advised to use them: a megabyte of fresh 4 KiB pages cost a status ~0.7 ms in faults
/// (zeroing, memory-cgroup charge, page-table updates per page), one huge page a fraction.
/// Measured: a no-op status with `ctx watch` running 13.7 -> 10.2 ms, `--version` +0.2 ms,
/// a git commit's hooks the same. Where the kernel has no transparent huge pages (or they are
/// off) the advice is ignored.
fn huge_pages(p: usize) -> usize {
    let start = p.div_ceil(HUGE) * HUGE;
    // SAFETY: the range lies inside the mapping just made.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::madvise(start as *mut libc::c_void, LIMIT, libc::MADV_HUGEPAGE)
    };
    start
}

/// Whether freeing is a no-op in this process: the arena hands out its memory and was not
/// stopped. A big value tree may then be left for the process's exit instead of walked to be
/// freed.
pub fn frees_are_noops() -> bool {
    BASE.load(Ordering::Relaxed) > 1 && !STOPPED.load(Ordering::Relaxed)
}

/// Reserves the arena's address space once (no memory is committed until touched).
fn base() -> usize {
    let b = BASE.load(Ordering::Acquire);
    if b != 0 {
        return b;
    }
    // SAFETY: an anonymous private mapping with no fixed address; the result is checked.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            LIMIT + HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    let p = if raw == libc::MAP_FAILED {
        1
    } else {
        huge_pages(raw as usize)
    };
    match BASE.compare_exchange(0, p, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            NEXT.store(p, Ordering::Release);
            MAPPED.store(p + FAULTED, Ordering::Release);
            p
        }
        Err(other) => {
            if p > 1 {
                // SAFETY: the mapping made above, never handed out.
                unsafe { libc::munmap(raw, LIMIT + HUGE) };
            }
            other
        }
    }
}

/// Maps in the pages up to `end` a chunk at a time; a failure only means page faults later.
fn populate(end: usize) {
    let mapped = MAPPED.load(Ordering::Acquire);
    if end <= mapped {
        return;
    }
    let to = (end.div_ceil(CHUNK) * CHUNK).min(BASE.load(Ordering::Relaxed) + LIMIT);
    if MAPPED
        .compare_exchange(mapped, to, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        // SAFETY: the range lies inside the arena's own mapping.
        unsafe {
            libc::madvise(
                mapped as *mut libc::c_void,
                to - mapped,
                libc::MADV_POPULATE_WRITE,
            )
        };
    }
}

/// Takes `layout` off the arena, or `None` when it is stopped, full or unavailable.
fn bump(layout: Layout) -> Option<*mut u8> {
    if STOPPED.load(Ordering::Relaxed) {
        return None;
    }
    let base = base();
    if base == 1 {
        return None;
    }
    let mut next = NEXT.load(Ordering::Relaxed);
    loop {
        let start = next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let end = start.checked_add(layout.size())?;
        if end > base + LIMIT {
            return None;
        }
        match NEXT.compare_exchange_weak(next, end, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => {
                populate(end);
                return Some(start as *mut u8);
            }
            Err(now) => next = now,
        }
    }
}

fn in_arena(p: *mut u8) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    base > 1 && (p as usize) >= base && (p as usize) < base + LIMIT
}

// SAFETY: every block handed out is `layout.size()` bytes aligned to `layout.align()`, inside
// the arena's mapping (never reused while live) or from `System`; each is released by whoever
// handed it out.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            Some(p) => p,
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            // A block given back may be handed out again, so arena memory is not known zero.
            Some(p) => {
                // SAFETY: `p` is a fresh block of `layout.size()` bytes.
                unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
                p
            }
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if in_arena(p) {
            // The newest block is given back; any other waits for the process to end.
            let end = p as usize + layout.size();
            let _ = NEXT.compare_exchange(end, p as usize, Ordering::AcqRel, Ordering::Relaxed);
        } else {
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(p) {
            return unsafe { System.realloc(p, layout, new_size) };
        }
        // The newest block grows or shrinks where it is.
        let end = p as usize + layout.size();
        let base = BASE.load(Ordering::Relaxed);
        if let Some(new_end) = (p as usize).checked_add(new_size) {
            if new_end <= base + LIMIT
                && !STOPPED.load(Ordering::Relaxed)
                && NEXT
                    .compare_exchange(end, new_end, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                populate(new_end);
                return p;
            }
        }
        if new_size <= layout.size() {
            return p;
        }
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are at least `layout.size()` long and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(p, q, layout.size()) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_kept_grown_in_place_and_zeroed_when_asked_and_stop_hands_over() {
        let a = Arena;
        let l8 = Layout::from_size_align(24, 8).unwrap();
        let l64 = Layout::from_size_align(100, 64).unwrap();
        unsafe {
            let p = a.alloc(l8);
            let q = a.alloc(l64);
            assert!(in_arena(p) && in_arena(q));
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 24);
            std::ptr::write_bytes(p, 0xab, 24);
            std::ptr::write_bytes(q, 0xcd, 100);
            // The newest block grows where it is; an older one moves, its bytes with it.
            assert_eq!(a.realloc(q, l64, 5000), q);
            let l5000 = Layout::from_size_align(5000, 64).unwrap();
            let p2 = a.realloc(p, l8, 48);
            assert_ne!(p2, p);
            assert_eq!(std::slice::from_raw_parts(p2, 24), &[0xab; 24]);
            assert_eq!(*q.add(99), 0xcd);
            // A block given back is handed out again, and zeroed when asked.
            let l48 = Layout::from_size_align(48, 8).unwrap();
            std::ptr::write_bytes(p2, 0xff, 48);
            a.dealloc(p2, l48);
            let z = a.alloc_zeroed(l48);
            assert_eq!(z, p2);
            assert_eq!(std::slice::from_raw_parts(z, 48), &[0; 48]);
            a.dealloc(z, l48);
            a.dealloc(q, l5000);
            // Stopped: the system allocator serves, and frees, everything new.
            stop();
            let s = a.alloc(l8);
            assert!(!s.is_null() && !in_arena(s));
            a.dealloc(s, l8);
        }
    }
}
