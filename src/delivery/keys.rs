//! Where delivered objects are, by key: the S3 prefixes that hold the objects of a time window
//! in either layout, the error type of an object under the error prefix, and which listed
//! objects a canary search reads, within a byte budget.
//!
//! Firehose names keys by the arrival time (UTC) of the oldest record in the object:
//! `<prefix>YYYY/MM/DD/HH/` (`Flat`) or `<prefix>dt=YYYY-MM-DD/hour=HH/` (`Hive`).

use crate::spec::Layout;

const HOUR_MS: i64 = 3_600_000;

/// A UTC calendar hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hour {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl Hour {
    /// The hour that holds `ms` (milliseconds since the Unix epoch).
    pub fn of(ms: i64) -> Hour {
        let hours = ms.div_euclid(HOUR_MS);
        let (year, month, day) = civil_from_days(hours.div_euclid(24));
        Hour {
            year,
            month,
            day,
            hour: hours.rem_euclid(24) as u32,
        }
    }

    /// The key prefix of this hour under `prefix` in `layout`.
    pub fn prefix(&self, prefix: &str, layout: Layout) -> String {
        let Hour {
            year,
            month,
            day,
            hour,
        } = self;
        match layout {
            Layout::Flat => format!("{prefix}{year:04}/{month:02}/{day:02}/{hour:02}/"),
            Layout::Hive => format!("{prefix}dt={year:04}-{month:02}-{day:02}/hour={hour:02}/"),
        }
    }
}

/// Year, month and day of the proleptic Gregorian calendar for a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The key prefixes under `prefix` that hold objects whose records arrived between `from_ms`
/// and `to_ms`, one per UTC hour, oldest first (none when the window is empty).
pub fn hour_prefixes(prefix: &str, layout: Layout, from_ms: i64, to_ms: i64) -> Vec<String> {
    if to_ms < from_ms {
        return Vec::new();
    }
    let (first, last) = (from_ms.div_euclid(HOUR_MS), to_ms.div_euclid(HOUR_MS));
    (first..=last)
        .map(|h| Hour::of(h * HOUR_MS).prefix(prefix, layout))
        .collect()
}

/// The error type of an object under the error prefix (`processing-failed`,
/// `decompression-failed`, …): the first path segment after `error_prefix` that names one, or
/// `unknown`; `None` when the key is not under `error_prefix`.
pub fn error_type<'k>(error_prefix: &str, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(error_prefix)?;
    // The folders only: the object's own name never names the type.
    let folders = rest.rsplit_once('/').map_or("", |(folders, _)| folders);
    let named = folders.split('/').find(|s| s.ends_with("-failed"));
    Some(named.unwrap_or("unknown"))
}

/// An object in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// When S3 stored it, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    pub size: u64,
}

/// The objects a search reads, and whether the byte budget cut it short.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keys to read, oldest first.
    pub keys: Vec<String>,
    /// Their bytes.
    pub bytes: u64,
    /// More objects were stored in the window than the budget allows: a search that finds
    /// nothing is inconclusive, not a failure.
    pub truncated: bool,
}

/// The objects stored since `since_ms` (an object holding a record sent then cannot be older),
/// oldest first, until `budget` bytes.
pub fn select(listed: &[Listed], since_ms: i64, budget: u64) -> Selection {
    let mut candidates: Vec<&Listed> = listed
        .iter()
        .filter(|o| o.last_modified_ms >= since_ms)
        .collect();
    candidates.sort_by(|a, b| (a.last_modified_ms, &a.key).cmp(&(b.last_modified_ms, &b.key)));
    let mut s = Selection::default();
    for o in candidates {
        if s.bytes + o.size > budget {
            s.truncated = true;
            break;
        }
        s.bytes += o.size;
        s.keys.push(o.key.clone());
    }
    s
}
