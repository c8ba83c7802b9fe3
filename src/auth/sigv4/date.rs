//! The dates SigV4 signs with: `X-Amz-Date` (ISO 8601 basic) and the HTTP `Date` header.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// ISO 8601 basic, as SigV4 signs it: `yyyymmddThhmmssZ`.
const AMZ_DATE: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// IMF-fixdate after its `Weekday, ` (which is not checked): `06 Nov 1994 08:49:37 GMT`.
const IMF_FIXDATE: &[BorrowedFormatItem<'_>] =
    format_description!("[day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

/// Parses `s` with `format` as a UTC time from 1970 to 9999 into seconds since the Unix epoch.
/// `time` reads a signed year (`+2015`); neither format has one, so a sign is refused first.
fn parse_utc(s: &str, format: &[BorrowedFormatItem<'_>]) -> Option<u64> {
    if s.contains(['+', '-']) {
        return None;
    }
    let t = PrimitiveDateTime::parse(s, format).ok()?.assume_utc();
    u64::try_from(t.unix_timestamp()).ok()
}

/// Parses ISO 8601 basic `yyyymmddThhmmssZ` into seconds since the Unix epoch.
pub fn parse_amz_date(s: &str) -> Option<u64> {
    parse_utc(s, AMZ_DATE)
}

/// Parses a `Date` header: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) or ISO 8601 basic.
pub fn parse_http_date(s: &str) -> Option<u64> {
    if let Some(t) = parse_amz_date(s) {
        return Some(t);
    }
    let (_weekday, rest) = s.split_once(", ")?;
    parse_utc(rest, IMF_FIXDATE)
}

/// Seconds since the Unix epoch → `yyyymmddThhmmssZ`; past year 9999, the last second of 9999.
pub fn format_amz_date(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    // Formatting a UTC time with this description cannot fail.
    t.format(AMZ_DATE).unwrap_or_default()
}
