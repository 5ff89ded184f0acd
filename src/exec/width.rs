//! Display width as the pinned CLI measures a table cell: tablewriter's `DisplayWidth`, which
//! strips the escape sequences its pattern names (`ESC [ n;n… m|K`) and then measures with
//! go-runewidth's `StringWidth` outside an East Asian locale (the CLI executor's environment
//! names none). The text is cut into extended grapheme clusters (UAX #29); a cluster is as wide
//! as its first code point of non-zero width (none: zero). A control character takes no column.
//! Other code points' widths come from [`width_table`](self), read from the pinned binary by
//! `scripts/width_table.py`; `tests/width.rs` checks the table, the cluster rule, controls and
//! escape sequences against that binary.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation as _;

#[path = "width_table.rs"]
mod width_table;

/// The columns `s` takes in the CLI's tables.
pub fn display_width(s: &str) -> usize {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.len();
    }
    strip_escapes(s)
        .graphemes(true)
        .map(|g| g.chars().map(char_width).find(|&w| w > 0).unwrap_or(0))
        .sum()
}

/// `s` without the escape sequences tablewriter's `DisplayWidth` removes before measuring: the
/// matches, left to right, of `\x1b\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]` (sic: `|` is one of
/// the three final characters).
fn strip_escapes(s: &str) -> Cow<'_, str> {
    if !s.contains('\x1b') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut kept_from = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = escape_at(b, i) {
            out.push_str(&s[kept_from..i]);
            i = end;
            kept_from = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[kept_from..]);
    Cow::Owned(out)
}

/// The end of the sequence [`strip_escapes`] removes starting at `i`, if one does. The pattern
/// needs no backtracking: a run of digits is followed by `;` or the final character, so a run
/// longer than three digits matches no split of it.
fn escape_at(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i..i + 2)? != b"\x1b[" {
        return None;
    }
    let mut j = i + 2;
    let digits = |j: usize| b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
    let first = digits(j);
    if (1..=3).contains(&first) {
        j += first;
        while b.get(j) == Some(&b';') {
            let n = digits(j + 1);
            if !(1..=3).contains(&n) {
                return None;
            }
            j += 1 + n;
        }
    } else if first > 3 {
        return None;
    }
    matches!(b.get(j), Some(b'm' | b'|' | b'K')).then_some(j + 1)
}

/// One code point's width.
fn char_width(c: char) -> usize {
    if c.is_control() {
        return 0;
    }
    let c = u32::from(c);
    let within = |table: &[(u32, u32)]| {
        table
            .binary_search_by(|&(first, last)| {
                if last < c {
                    std::cmp::Ordering::Less
                } else if first > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    };
    if within(&width_table::ZERO) {
        0
    } else if within(&width_table::WIDE) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_latin_wide_zero_and_clusters() {
        assert_eq!(display_width("bench-1"), 7);
        assert_eq!(display_width("é-first"), 7);
        assert_eq!(display_width("中文"), 4);
        assert_eq!(
            display_width("e\u{301}"),
            1,
            "a combining mark joins its base"
        );
        assert_eq!(display_width("\u{301}"), 0, "a mark alone takes nothing");
        assert_eq!(display_width("👍🏽x"), 3, "a modifier joins its emoji");
        assert_eq!(display_width("\u{ad}"), 0);
    }

    #[test]
    fn controls_take_nothing_and_named_escapes_are_stripped() {
        assert_eq!(display_width("a\tb\nc\u{85}"), 3);
        assert_eq!(display_width("\x1b[31mred\x1b[0m"), 3);
        assert_eq!(display_width("\x1b[1;22;333Kx\x1b[|"), 1);
        assert_eq!(display_width("\x1b[m"), 0);
        // Not the pattern: the escape takes nothing, the rest is measured.
        assert_eq!(display_width("\x1b[1234m"), 6);
        assert_eq!(display_width("\x1b[1;m"), 4);
        assert_eq!(display_width("\x1b]0;t\x07"), 4);
    }

    #[test]
    fn the_tables_are_ordered_and_apart() {
        for table in [&width_table::ZERO[..], &width_table::WIDE[..]] {
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
            assert!(table.iter().all(|&(a, b)| a <= b));
        }
    }
}
