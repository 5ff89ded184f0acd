//! Text output as the CLI's printer lays it out (FACTS §4.2): tables with centred headers, cards,
//! and the value-to-text rules (enum shorthand, Go durations, `--time-format relative|iso|raw`).
//!
//! Display width is the CLI's ([`display_width`]: escape sequences stripped as tablewriter
//! strips them, grapheme clusters, East Asian wide and zero-width code points, controls of no
//! width, as the pinned binary counts them).

use std::fmt::Write as _;

use super::width::display_width;

/// One table cell.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// Right-aligned (numeric columns of struct-derived tables).
    pub right: bool,
}

impl Cell {
    /// A left-aligned cell.
    pub fn left(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            right: false,
        }
    }

    /// A right-aligned (numeric) cell.
    pub fn right(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            right: true,
        }
    }
}

/// A table: each cell preceded by two spaces, columns as wide as their widest cell (header
/// included, even when it is not printed), header cells centred (left gets the smaller half of
/// the gap), data cells padded right (or left when numeric), trailing padding kept; widths as the
/// CLI measures them ([`display_width`]). `None` when a row has not one cell per header.
pub fn table(headers: &[&str], print_header: bool, rows: &[Vec<Cell>]) -> Option<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    let mut cells = Vec::with_capacity(rows.len());
    for row in rows {
        if row.len() != headers.len() {
            return None;
        }
        let mut measured = Vec::with_capacity(row.len());
        for (i, c) in row.iter().enumerate() {
            let w = display_width(&c.text);
            widths[i] = widths[i].max(w);
            measured.push(w);
        }
        cells.push(measured);
    }
    let mut out = String::new();
    if print_header {
        for (h, w) in headers.iter().zip(&widths) {
            let gap = w - h.len();
            let _ = write!(
                out,
                "  {}{h}{}",
                " ".repeat(gap / 2),
                " ".repeat(gap - gap / 2)
            );
        }
        out.push('\n');
    }
    for (row, measured) in rows.iter().zip(&cells) {
        for ((c, w), cw) in row.iter().zip(&widths).zip(measured) {
            let pad = " ".repeat(w - cw);
            if c.right {
                let _ = write!(out, "  {pad}{}", c.text);
            } else {
                let _ = write!(out, "  {}{pad}", c.text);
            }
        }
        out.push('\n');
    }
    Some(out)
}

/// A card: `"  " + name padded to the widest name + "  " + value padded to one column`, widths
/// as the CLI measures them ([`display_width`]): only a value of no width (empty, or only
/// escape sequences, controls and marks) is padded, to one space.
pub fn card(rows: &[(&str, String)]) -> String {
    let names: Vec<usize> = rows.iter().map(|(n, _)| display_width(n)).collect();
    let width = names.iter().copied().max().unwrap_or(0);
    let mut out = String::new();
    for ((name, value), w) in rows.iter().zip(names) {
        let pad = if display_width(value) > 0 { "" } else { " " };
        let _ = writeln!(out, "  {name}{}  {value}{pad}", " ".repeat(width - w));
    }
    out
}

/// A prost enum's proto name in shorthand: `shorthand("NAMESPACE_STATE_REGISTERED",
/// "NAMESPACE_STATE_")` → `Registered`.
pub fn shorthand(name: &str, prefix: &str) -> String {
    camel(name.strip_prefix(prefix).unwrap_or(name))
}

/// `CONTINUED_AS_NEW` → `ContinuedAsNew`.
fn camel(words: &str) -> String {
    words
        .split('_')
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase()
            })
        })
        .collect()
}

/// A `google.protobuf.Duration` as Go's `time.Duration.String()` prints it: `24h0m0s`,
/// `1m30s`, `1.5s`, `0s`, `250ms`.
pub fn go_duration(seconds: i64, nanos: i32) -> String {
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    if total == 0 {
        return "0s".to_owned();
    }
    let sign = if total < 0 { "-" } else { "" };
    let mut u = total.unsigned_abs();
    if u < 1_000_000_000 {
        // Sub-second: the largest unit of ns, µs, ms with a decimal fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", decimal(u, scale));
    }
    let frac_secs = decimal(u % 60_000_000_000, 1_000_000_000);
    u /= 60_000_000_000;
    let mut out = String::from(sign);
    if u > 0 {
        let (h, m) = (u / 60, u % 60);
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        let _ = write!(out, "{m}m");
    }
    out.push_str(&frac_secs);
    out.push('s');
    out
}

/// The CLI's `formatDuration` (task queue backlog age, schedule intervals): Go's
/// `time.Duration.String()` with whole days split out of 24 hours or more and a space after each
/// unit letter: `2m 7.636755928s`, `3d 1h 0m 0s`, and (faithfully) `500m s` for 500ms.
pub fn format_duration(seconds: i64, nanos: i32) -> String {
    let go = go_duration(seconds, nanos);
    // `\d+h` → `Nd Mh` when N ≥ 24; only the hours field can match (it is the only `h`).
    let go = match go.split_once('h') {
        Some((hours, rest)) => {
            let digits = hours.trim_start_matches('-');
            match digits.parse::<u64>() {
                Ok(h) if h >= 24 => {
                    format!(
                        "{}{}d{}h{rest}",
                        &hours[..hours.len() - digits.len()],
                        h / 24,
                        h % 24
                    )
                }
                _ => go.clone(),
            }
        }
        None => go.clone(),
    };
    let mut out = String::with_capacity(go.len() + 4);
    for c in go.chars() {
        out.push(c);
        if c.is_ascii_lowercase() {
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

/// A float as Go's `fmt` prints it with `%v` (table cells): the shortest digits that round-trip
/// at the value's own size, `e` notation when the exponent is below -4 or from 6 up
/// (`1e+06`, `1.5e-05`).
pub fn go_v_float(v: f64, is32: bool) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sci = if is32 {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.unsigned_abs());
    }
    if is32 {
        format!("{}", v as f32)
    } else {
        format!("{v}")
    }
}

/// A timestamp as Go's `time.Time` marshals to JSON (RFC 3339 with nanoseconds, trailing zeros
/// dropped, UTC as `Z`).
pub fn rfc3339_nano(seconds: i64, nanos: i32) -> String {
    utc(seconds, nanos, 'T', true) + "Z"
}

/// A time as Go's `Format(time.RFC3339)` writes a UTC time: whole seconds, `Z`.
pub fn rfc3339(seconds: i64) -> String {
    utc(seconds, 0, 'T', false) + "Z"
}

/// `YYYY-MM-DD<sep>hh:mm:ss` in UTC, then, with `fraction`, the nanoseconds as `.123` with their
/// trailing zeros dropped (nothing when whole).
fn utc(seconds: i64, nanos: i32, sep: char, fraction: bool) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (y, m, d) = super::protojson::civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if fraction && nanos > 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out
}

/// `v / scale` with the fraction's trailing zeros dropped.
fn decimal(v: u128, scale: u128) -> String {
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let f = format!("{frac:0digits$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// `--time-format`: how the CLI's text output prints a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// go-humanize's `Time`: `5 minutes ago`, `9 hours from now` (the default).
    Relative,
    /// RFC 3339 in UTC, whole seconds.
    Iso,
    /// Go's `Time.String()`: `2026-11-22 02:46:18.807106 +0000 UTC`.
    Raw,
}

impl TimeFormat {
    /// The format a `--time-format` value names (`None` for another value).
    pub fn parse(value: Option<&str>) -> Option<TimeFormat> {
        match value.unwrap_or("relative") {
            "relative" => Some(TimeFormat::Relative),
            "iso" => Some(TimeFormat::Iso),
            "raw" => Some(TimeFormat::Raw),
            _ => None,
        }
    }
}

/// Times printed in one format, relative ones against one moment (the CLI reads its clock as it
/// prints each value; tgate once, when it starts printing).
#[derive(Clone, Copy, Debug)]
pub struct Times {
    format: TimeFormat,
    /// Now, in nanoseconds since the Unix epoch.
    now: i128,
}

impl Times {
    /// `format`, against the current time.
    pub fn now(format: TimeFormat) -> Times {
        let now = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Times { format, now }
    }

    /// `format` against a given moment (seconds and nanoseconds since the epoch).
    pub fn at(format: TimeFormat, seconds: i64, nanos: i32) -> Times {
        Times {
            format,
            now: i128::from(seconds) * 1_000_000_000 + i128::from(nanos),
        }
    }

    /// An optional protobuf timestamp, as [`Times::format`]; absent prints as "".
    pub fn timestamp(&self, t: Option<&prost_wkt_types::Timestamp>) -> String {
        t.map(|t| self.format(t.seconds, t.nanos))
            .unwrap_or_default()
    }

    /// A `google.protobuf.Timestamp` as the CLI prints it; Go's zero time prints as nothing.
    pub fn format(&self, seconds: i64, nanos: i32) -> String {
        if seconds == ZERO_TIME && nanos == 0 {
            return String::new();
        }
        match self.format {
            TimeFormat::Iso => iso_time(seconds, nanos),
            TimeFormat::Raw => raw_time(seconds, nanos),
            TimeFormat::Relative => {
                let then = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
                relative_time(then, self.now)
            }
        }
    }
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in seconds since the Unix epoch.
pub(crate) const ZERO_TIME: i64 = -62_135_596_800;

/// 9999-12-31T23:59:59Z in seconds since the Unix epoch: the last second protobuf's `Timestamp`
/// (and Go's four-digit years) allow.
pub(crate) const LAST_TIME: i64 = 253_402_300_799;

/// go-humanize's `RelTime(then, now, "ago", "from now")` with its default magnitudes: the first
/// row whose bound exceeds the distance (Go's `time.Sub`, saturating at ~292 years) decides.
fn relative_time(then: i128, now: i128) -> String {
    const S: i64 = 1_000_000_000;
    const MIN: i64 = 60 * S;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    const WEEK: i64 = 7 * DAY;
    const MONTH: i64 = 30 * DAY;
    const YEAR: i64 = 12 * MONTH;
    const LONG_TIME: i64 = 37 * YEAR;
    // (bound, text before the number, divisor: 0 for a fixed text)
    const MAGNITUDES: &[(i64, &str, i64)] = &[
        (S, "now", 0),
        (2 * S, "1 second", 0),
        (MIN, "seconds", S),
        (2 * MIN, "1 minute", 0),
        (HOUR, "minutes", MIN),
        (2 * HOUR, "1 hour", 0),
        (DAY, "hours", HOUR),
        (2 * DAY, "1 day", 0),
        (WEEK, "days", DAY),
        (2 * WEEK, "1 week", 0),
        (MONTH, "weeks", WEEK),
        (2 * MONTH, "1 month", 0),
        (YEAR, "months", MONTH),
        (18 * MONTH, "1 year", 0),
        (2 * YEAR, "2 years", 0),
        (LONG_TIME, "years", YEAR),
        (i64::MAX, "a long while", 0),
    ];
    let (label, diff) = if then > now {
        ("from now", then - now)
    } else {
        ("ago", now - then)
    };
    let diff = i64::try_from(diff).unwrap_or(i64::MAX);
    let i = MAGNITUDES.partition_point(|(bound, _, _)| *bound <= diff);
    let (_, text, div) = MAGNITUDES[i.min(MAGNITUDES.len() - 1)];
    match (text, div) {
        ("now", _) => "now".to_owned(),
        (_, 0) => format!("{text} {label}"),
        _ => format!("{} {text} {label}", diff / div),
    }
}

/// Go's `Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 -0700 MST` (the fraction's
/// trailing zeros dropped, none when whole).
fn raw_time(seconds: i64, nanos: i32) -> String {
    utc(seconds, nanos, ' ', true) + " +0000 UTC"
}

/// A `google.protobuf.Timestamp` with `--time-format iso`: RFC 3339 in UTC, whole seconds; the
/// zero time prints as nothing.
pub fn iso_time(seconds: i64, nanos: i32) -> String {
    if seconds == ZERO_TIME && nanos == 0 {
        return String::new();
    }
    utc(seconds, nanos, 'T', false) + "Z"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_centre_headers_and_pad_rows() {
        let t = table(
            &["Name", "Type"],
            true,
            &[
                vec![Cell::left("BatcherNamespace"), Cell::left("Keyword")],
                vec![Cell::left("BuildIds"), Cell::left("KeywordList")],
            ],
        )
        .unwrap();
        assert_eq!(
            t,
            "        Name           Type    \n  BatcherNamespace  Keyword    \n  BuildIds          KeywordList\n"
        );
        // Without its header the widths still count it.
        assert_eq!(
            table(
                &["N", "Name"],
                false,
                &[
                    vec![Cell::right("7"), Cell::left("x")],
                    vec![Cell::right("10"), Cell::left("yy")]
                ]
            )
            .unwrap(),
            "   7  x   \n  10  yy  \n"
        );
        // Widths as the CLI counts them: wide characters two columns, a combining mark none,
        // an emoji with its modifier two; a control character sends the table to the CLI.
        assert_eq!(
            table(
                &["A"],
                true,
                &[
                    vec![Cell::left("éλж")],
                    vec![Cell::left("日本")],
                    vec![Cell::left("e\u{301}")],
                    vec![Cell::right("👍🏽")]
                ]
            )
            .unwrap(),
            "   A  \n  éλж \n  日本\n  e\u{301}   \n    👍🏽\n"
        );
        // Escape sequences the CLI strips, and controls, take no column.
        assert_eq!(
            table(
                &["A"],
                true,
                &[
                    vec![Cell::left("\x1b[31mred\x1b[0m")],
                    vec![Cell::left("a\tb")]
                ]
            )
            .unwrap(),
            "   A \n  \x1b[31mred\x1b[0m\n  a\tb \n"
        );
    }

    #[test]
    fn cards_pad_names_and_empty_values() {
        assert_eq!(
            card(&[
                ("Name", "default".to_owned()),
                ("Description", String::new())
            ]),
            "  Name         default\n  Description   \n"
        );
        // Values are not measured: multi-line and non-ASCII text print as they are.
        assert_eq!(
            card(&[
                ("Status", "FAILED".to_owned()),
                ("Failure", "\n    Message: carte refusée".to_owned())
            ]),
            "  Status   FAILED\n  Failure  \n    Message: carte refusée\n"
        );
        // Names are padded by their width; a value of no width to one space, an escape
        // sequence alone included.
        assert_eq!(
            card(&[("日本", "é".to_owned()), ("A", "\u{301}".to_owned())]),
            "  日本  é\n  A     \u{301} \n"
        );
        assert_eq!(card(&[("A", "\x1b[31m".to_owned())]), "  A  \x1b[31m \n");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(86_400, 0), "24h0m0s");
        assert_eq!(go_duration(604_800, 0), "168h0m0s");
        assert_eq!(go_duration(90, 0), "1m30s");
        assert_eq!(go_duration(1, 500_000_000), "1.5s");
        assert_eq!(go_duration(0, 0), "0s");
        assert_eq!(go_duration(0, 250_000_000), "250ms");
        assert_eq!(go_duration(0, 1_500), "1.5µs");
        assert_eq!(go_duration(3_600, 0), "1h0m0s");
        assert_eq!(go_duration(-90, 0), "-1m30s");
    }

    #[test]
    fn cli_format_duration() {
        assert_eq!(format_duration(127, 636_755_928), "2m 7.636755928s");
        assert_eq!(format_duration(0, 0), "0s");
        assert_eq!(format_duration(5, 0), "5s");
        assert_eq!(format_duration(3600, 0), "1h 0m 0s");
        assert_eq!(format_duration(73 * 3600 + 61, 0), "3d 1h 1m 1s");
        assert_eq!(format_duration(24 * 3600, 0), "1d 0h 0m 0s");
        assert_eq!(format_duration(0, 500_000_000), "500m s");
        assert_eq!(format_duration(0, 1_500), "1.5µs");
    }

    #[test]
    fn go_v_floats() {
        assert_eq!(go_v_float(0.0, true), "0");
        assert_eq!(go_v_float(f64::from(1.0f32 / 30.0), true), "0.033333335");
        assert_eq!(go_v_float(0.1, false), "0.1");
        assert_eq!(go_v_float(123_456.0, false), "123456");
        assert_eq!(go_v_float(1_000_000.0, false), "1e+06");
        assert_eq!(go_v_float(1_234_567.0, false), "1.234567e+06");
        assert_eq!(go_v_float(0.0001, false), "0.0001");
        assert_eq!(go_v_float(0.000_015, false), "1.5e-05");
        assert_eq!(go_v_float(-2.5, false), "-2.5");
    }

    #[test]
    fn rfc3339_nanos() {
        assert_eq!(rfc3339_nano(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(1, 120_000_000), "1970-01-01T00:00:01.12Z");
        assert_eq!(rfc3339_nano(-62_135_596_800, 0), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn raw_times() {
        let raw = Times::at(TimeFormat::Raw, 0, 0);
        assert_eq!(
            raw.format(1_795_834_978, 807_106_000),
            "2026-11-28 03:02:58.807106 +0000 UTC"
        );
        assert_eq!(
            raw.format(1_795_834_978, 0),
            "2026-11-28 03:02:58 +0000 UTC"
        );
        assert_eq!(
            raw.format(1_795_834_978, 1),
            "2026-11-28 03:02:58.000000001 +0000 UTC"
        );
        assert_eq!(raw.format(ZERO_TIME, 0), "");
    }

    #[test]
    fn relative_times_follow_go_humanize() {
        let now = 1_795_834_978;
        let rel = Times::at(TimeFormat::Relative, now, 500_000_000);
        let ago = |secs: i64| rel.format(now - secs, 500_000_000);
        let ahead = |secs: i64| rel.format(now + secs, 500_000_000);
        let (hour, day) = (3600, 86_400);
        for (secs, want) in [
            (0, "now"),
            (1, "1 second ago"),
            (59, "59 seconds ago"),
            (60, "1 minute ago"),
            (119, "1 minute ago"),
            (120, "2 minutes ago"),
            (hour - 1, "59 minutes ago"),
            (hour, "1 hour ago"),
            (2 * hour, "2 hours ago"),
            (day - 1, "23 hours ago"),
            (day, "1 day ago"),
            (2 * day, "2 days ago"),
            (7 * day, "1 week ago"),
            (14 * day, "2 weeks ago"),
            (29 * day, "4 weeks ago"),
            (30 * day, "1 month ago"),
            (60 * day, "2 months ago"),
            (359 * day, "11 months ago"),
            (360 * day, "1 year ago"),
            (540 * day, "2 years ago"),
            (720 * day, "2 years ago"),
            (1080 * day, "3 years ago"),
            (37 * 360 * day, "a long while ago"),
            (300 * 365 * day, "a long while ago"),
        ] {
            assert_eq!(ago(secs), want, "{secs} s");
        }
        assert_eq!(ahead(9 * hour + 5), "9 hours from now");
        assert_eq!(ahead(1), "1 second from now");
        // Under a second either way is "now"; the zero time prints as nothing.
        assert_eq!(rel.format(now, 900_000_000), "now");
        assert_eq!(rel.format(now, 0), "now");
        assert_eq!(rel.format(ZERO_TIME, 0), "");
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(1_795_834_978, 807_106_584), "2026-11-28T03:02:58Z");
        assert_eq!(iso_time(-62_135_596_800, 0), "");
    }
}
