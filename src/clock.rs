//! The clock: the system's, or the one `CTX_TIMESTAMP` pins so that tests get the same commit
//! times (and so the same commit ids) on every run.

/// The variable that pins the clock: seconds since the epoch, optionally followed by a UTC
/// offset, as git writes it in a commit (`1767225600` or `1767225600 +0100`; at most 14 hours,
/// in quarter hours). A value that is not of that form is ignored: the system clock is used.
pub const VAR: &str = "CTX_TIMESTAMP";

/// `CTX_TIMESTAMP`'s time and offset (seconds east of UTC), if it is set and well formed.
fn pinned() -> Option<(jiff::Timestamp, i32)> {
    parse(&std::env::var(VAR).ok()?)
}

/// Reads `SECONDS` or `SECONDS +HHMM` / `SECONDS -HHMM`.
fn parse(raw: &str) -> Option<(jiff::Timestamp, i32)> {
    let mut parts = raw.split_whitespace();
    let seconds: i64 = parts.next()?.parse().ok()?;
    let offset = match parts.next() {
        None => 0,
        Some(z) => {
            let (sign, digits) = match z.as_bytes().first()? {
                b'+' => (1, &z[1..]),
                b'-' => (-1, &z[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i32 = digits[..2].parse().ok()?;
            let minutes: i32 = digits[2..].parse().ok()?;
            // The offsets git's raw date format allows (and so gix reads back).
            if hours > 14 || ![0, 15, 30, 45].contains(&minutes) {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Some((jiff::Timestamp::from_second(seconds).ok()?, offset))
}

/// The current time: `CTX_TIMESTAMP` when it is set, else the system clock.
pub fn now() -> jiff::Timestamp {
    pinned().map_or_else(jiff::Timestamp::now, |(t, _)| t)
}

/// A time (seconds since the epoch) as people read it: the local zone (`TZ`), with its offset,
/// `2026-11-20 14:00 +0100`.
pub fn local(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M %z")
                .to_string()
        })
        .unwrap_or_default()
}

/// A time as JSON reports carry it: RFC 3339 in the local zone, `2026-11-20T14:00:00+01:00`.
pub fn local_rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// An RFC 3339 time (as records store it, often in UTC) shown in the local zone; a text that
/// does not parse is shown as it is.
pub fn local_of(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| local(t.as_second()))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// When `CTX_TIMESTAMP` is set, makes the commits of the repository whose config is being edited
/// carry that time as author and committer date (gix reads them from `gitoxide.commit.*`).
pub fn pin_commit_dates(cfg: &mut gix::config::SnapshotMut<'_>) -> gix::Result<()> {
    use gix::config::tree::gitoxide::Commit;
    let Some((t, offset)) = pinned() else {
        return Ok(());
    };
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    // `@` marks epoch seconds for gix's date parser, whatever their size.
    let date = format!(
        "@{} {sign}{:02}{:02}",
        t.as_second(),
        abs / 3600,
        abs % 3600 / 60
    );
    cfg.set_value(&Commit::COMMITTER_DATE, date.as_str())?;
    cfg.set_value(&Commit::AUTHOR_DATE, date.as_str())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_seconds_with_and_without_an_offset() {
        let (t, z) = parse("1767225600").unwrap();
        assert_eq!((t.as_second(), z), (1767225600, 0));
        let (t, z) = parse("1767225600 +0130").unwrap();
        assert_eq!((t.as_second(), z), (1767225600, 5400));
        let (_, z) = parse("1767225600 -0800").unwrap();
        assert_eq!(z, -8 * 3600);
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "soon",
            "2026-01-01",
            "1767225600 0100",
            "1767225600 +01",
            "1767225600 +1500",
            "1767225600 +0110",
            "1767225600 +0100 x",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
