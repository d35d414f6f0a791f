//! Live -> store: the allow-list walk, the snapshot of the live side in store form, its status
//! against `main`, and recording it in a commit.

mod allow;
mod caches;
mod record;
pub mod scan;
mod snapshot;
mod status;
mod walk;

pub use crate::codec::CaptureError;
pub use allow::capturable;
pub use record::{record, CommitInfo, CommitOutcome, HeldBack, HeldReason, RecordOptions};
pub use scan::{DIRS, FILES, NEVER};
pub use snapshot::{
    capture_one, captured_bytes, snapshot, snapshot_of, snapshot_unwatched, Captured, Problem,
    Snapshot,
};
pub use status::{status, still_matches, FileState, FileStatus};
