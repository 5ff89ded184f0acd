//! The native executor's display width (`tgate::exec::width`) against the pinned `temporal`
//! binary's own: every code point alone, then grapheme clusters (emoji sequences, flags, Hangul,
//! Indic conjuncts, marks, ...) and random mixtures of them.
//!
//! The binary's width of a text is read from `temporal env get`, which prints an environment's
//! properties as a table through the printer every other table goes through: with a reference
//! value of `R` columns, a value padded with `p` spaces is `R - p` columns wide. No server needed.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use tgate::exec::width::display_width;

/// Wider than any text measured here.
const R: usize = 300;

/// The binary's width of each text, in chunks of one process each, two processes at a time.
fn cli_widths(texts: &[String]) -> Vec<usize> {
    let chunks: Vec<&[String]> = texts.chunks(16_000).collect();
    let mut out = Vec::with_capacity(texts.len());
    for pair in chunks.chunks(2) {
        let got: Vec<Vec<usize>> = std::thread::scope(|s| {
            let handles: Vec<_> = pair.iter().map(|c| s.spawn(|| chunk(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        out.extend(got.into_iter().flatten());
    }
    out
}

fn chunk(texts: &[String]) -> Vec<usize> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.yaml");
    let mut yaml = format!("env:\n  w:\n    zzzzzzzz: \"{}\"\n", "x".repeat(R));
    for (i, t) in texts.iter().enumerate() {
        let _ = write!(yaml, "    k{i:07}: \"");
        for c in t.chars() {
            let _ = write!(yaml, "\\U{:08x}", u32::from(c));
        }
        yaml.push_str("\"\n");
    }
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(common::temporal_bin())
        .args(["env", "get", "--env", "w", "--env-file"])
        .arg(&file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Each row is "  " + its key (8 columns, as wide as the header "Property") + "  " + the
    // value, padded; a value may hold a newline, so rows are found by key and value, in order.
    let mut widths = Vec::with_capacity(texts.len());
    let mut at = 0;
    for (i, t) in texts.iter().enumerate() {
        let row = format!("\n  k{i:07}  {t}");
        let found = stdout[at..]
            .find(&row)
            .unwrap_or_else(|| panic!("no row {i} showing {t:?}"));
        let pad_from = at + found + row.len();
        let pad = stdout[pad_from..]
            .bytes()
            .take_while(|&b| b == b' ')
            .count();
        assert_eq!(
            stdout.as_bytes().get(pad_from + pad),
            Some(&b'\n'),
            "row {i} {t:?}"
        );
        widths.push(R - pad);
        at = pad_from + pad;
    }
    widths
}

/// Fails naming (by code point) the first texts whose width differs between tgate and the binary.
fn assert_as_wide_as_the_binary_counts(texts: &[String]) {
    let wrong = differences(texts);
    assert!(
        wrong.is_empty(),
        "{} differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
}

/// Texts whose width differs between tgate and the binary, shown with their code points.
fn differences(texts: &[String]) -> Vec<String> {
    let cli = cli_widths(texts);
    texts
        .iter()
        .zip(cli)
        .filter(|(t, w)| display_width(t) != *w)
        .map(|(t, w)| {
            let cps: Vec<String> = t
                .chars()
                .map(|c| format!("U+{:04X}", u32::from(c)))
                .collect();
            format!("{} cli {w} tgate {}", cps.join(" "), display_width(t))
        })
        .collect()
}

#[test]
fn every_code_point_alone_is_as_wide_as_the_binary_counts_it() {
    // Planes 4 to 13 hold no assigned character: every 61st code point and each plane's ends.
    // Controls too (a NUL aside, which YAML does not carry), each between two letters.
    let mut texts: Vec<String> = (0x20..=0x10ffff_u32)
        .filter(|&c| !(0x40000..0xe0000).contains(&c) || c % 61 == 0 || c & 0xffff >= 0xfffe)
        .filter_map(char::from_u32)
        .filter(|c| !c.is_control())
        .map(String::from)
        .collect();
    texts.extend(
        (1..0x20_u32)
            .chain(0x7f..0xa0)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b")),
    );
    assert!(texts.len() > 450_000, "{}", texts.len());
    assert_as_wide_as_the_binary_counts(&texts);
}

/// Code points that make or break grapheme clusters, or are wide or of no width.
const POOL: &[u32] = &[
    0x61, 0x20, 0x2d, 0x23, 0x31, 0xe9, 0x3b1, 0x436, // ASCII, Latin, Greek, Cyrillic
    0x300, 0x301, 0x36f, 0x483, 0x489, 0x1ab0, 0x20d0, 0x20e3, 0xfe20, // combining marks
    0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0xad, 0x180e, // zero width, ZWJ, format
    0xfe0e, 0xfe0f, 0xe0100, // variation selectors
    0x1f600, 0x1f44d, 0x1f3fb, 0x1f3ff, 0x2764, 0x263a, 0x1f468, 0x1f469, 0x1f467, 0x1f3f4,
    0xe0067, 0xe0062, 0xe007f, 0x1f1e6, 0x1f1ff, 0x1f1fa, 0x1f1f8, 0xa9, 0x203c, 0x2b50, 0x1100,
    0x115f, 0x1160, 0x11a8, 0xac00, 0xac01, 0xd7b0, 0xd7cb, // Hangul
    0x915, 0x924, 0x94d, 0x93c, 0x93e, 0x940, 0x903, 0x9cd, 0x995, // Devanagari, Bengali
    0x600, 0x605, 0x6dd, 0x70f, 0x110bd, 0xd4e, 0x111c2, // prepend
    0xe33, 0xe01, 0xeb3, 0x1b44, 0xa8b4, // Thai, Lao, spacing marks
    0x4e00, 0x3042, 0x30a2, 0xff01, 0xff61, 0x3000, 0x3099, 0x20000, 0x30000, // CJK
    0x2028, 0x2029, 0xfff9, 0xfffc, 0xfffd, 0xe000, 0xf0000, 0x10ffff, // odd ones
    0x1f9d1, 0x1f91d, 0x1faf1, 0x1faf2, 0x1fae9, 0x1fa8f, 0x16d40, 0x10d40,
    0x1ae0, // newer ones
    0x9, 0xa, 0xd, 0x1b, 0x5b, 0x3b, 0x6d, 0x4b, 0x7c, 0x7f, 0x85, 0x9b, // controls, escapes
];

#[test]
fn clusters_are_as_wide_as_the_binary_counts_them() {
    let mut texts: Vec<String> = [
        "👍🏽x",
        "👨\u{200d}👩\u{200d}👧",
        "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
        "🇺🇸🇫",
        "#\u{fe0f}\u{20e3}",
        "❤\u{fe0f}",
        "☺\u{fe0e}",
        "e\u{301}\u{302}",
        "\u{301}e",
        "क\u{94d}ष",
        "क\u{94d}\u{200d}ष",
        "\u{1100}\u{1161}\u{11a8}",
        "\u{600}1",
        "a\u{200d}b",
        "\u{200d}",
        "🧑\u{200d}🤝\u{200d}🧑",
        "\u{ff9e}",
        "中\u{300}文",
        "\x1b[31mred\x1b[0m",
        "\x1b[1;22;333K|\x1b[|",
        "\x1b[1234m",
        "\x1b[1;m",
        "\x1b[;m",
        "\x1b[m",
        "\x1b]0;title\x07",
        "\x1b\x1b[2m",
        "a\r\nb",
        "\n",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..30_000 {
        // (The pool's `ESC`, `[`, digits, `;`, `m`, `K` and `|` make escape sequences, whole and
        // broken, now and then.)
        let len = 1 + next() % 8;
        let text = (0..len)
            .map(|_| char::from_u32(POOL[(next() % POOL.len() as u64) as usize]).unwrap())
            .collect();
        texts.push(text);
    }
    // Escape sequences, whole and broken: ESC [, digit runs of 0 to 4 separated by `;`, a final
    // character or another, around text.
    for _ in 0..3_000 {
        let mut t = String::from(["x", "日", "", "\u{301}"][(next() % 4) as usize]);
        t.push_str("\x1b[");
        for g in 0..next() % 3 {
            if g > 0 {
                t.push(';');
            }
            for _ in 0..next() % 5 {
                t.push(char::from(b'0' + (next() % 10) as u8));
            }
        }
        t.push(['m', 'K', '|', 'J', ';', 'x'][(next() % 6) as usize]);
        t.push_str(["", "y", "中"][(next() % 3) as usize]);
        texts.push(t);
    }
    assert_as_wide_as_the_binary_counts(&texts);
}
