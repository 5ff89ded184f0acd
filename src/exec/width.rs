//! Display width as the pinned CLI measures a table cell: tablewriter's `DisplayWidth`, which is
//! go-runewidth's `StringWidth` outside an East Asian locale (the CLI executor's environment
//! names none). The text is cut into extended grapheme clusters (UAX #29); a cluster is as wide
//! as its first code point of non-zero width (none: zero). A code point's width comes from
//! [`width_table`](self), read from the pinned binary by `scripts/width_table.py`;
//! `tests/width.rs` checks the table and the cluster rule against that binary.

use unicode_segmentation::UnicodeSegmentation as _;

#[path = "width_table.rs"]
mod width_table;

/// The columns `s` takes in the CLI's tables, or `None` when it holds a control character (C0,
/// DEL or C1; an escape sequence, which the CLI's width leaves out, starts with one): text the
/// native executor leaves to the CLI.
pub fn display_width(s: &str) -> Option<usize> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Some(s.len());
    }
    if s.chars().any(char::is_control) {
        return None;
    }
    Some(
        s.graphemes(true)
            .map(|g| g.chars().map(char_width).find(|&w| w > 0).unwrap_or(0))
            .sum(),
    )
}

/// One code point's width (not a control).
fn char_width(c: char) -> usize {
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
        assert_eq!(display_width("bench-1"), Some(7));
        assert_eq!(display_width("é-first"), Some(7));
        assert_eq!(display_width("中文"), Some(4));
        assert_eq!(
            display_width("e\u{301}"),
            Some(1),
            "a combining mark joins its base"
        );
        assert_eq!(
            display_width("\u{301}"),
            Some(0),
            "a mark alone takes nothing"
        );
        assert_eq!(display_width("👍🏽x"), Some(3), "a modifier joins its emoji");
        assert_eq!(display_width("\u{ad}"), Some(0));
        assert_eq!(display_width("a\x1b[31mb"), None);
        assert_eq!(display_width("a\u{85}"), None);
        assert_eq!(display_width("a\tb"), None);
    }

    #[test]
    fn the_tables_are_ordered_and_apart() {
        for table in [&width_table::ZERO[..], &width_table::WIDE[..]] {
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
            assert!(table.iter().all(|&(a, b)| a <= b));
        }
    }
}
