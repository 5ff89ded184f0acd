//! Golden tests: the JSON of `tgate parse` for each line of `tests/data/golden.txt`, or the error
//! it gives, pinned as insta snapshots (tests/snapshots/). Review changes with `cargo insta review`.

use tgate::cli::read_command;
use tgate::lex::Program;

fn slug(line: &str) -> String {
    let s: String = line
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut out = String::new();
    for part in s.split('_').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(part);
    }
    out.chars().take(70).collect()
}

#[test]
fn parse_outputs_are_pinned() {
    let lines: Vec<&str> = include_str!("data/golden.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert!(lines.len() >= 50);
    let mut seen = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let name = format!("{i:02}_{}", slug(line));
        assert!(seen.insert(name.clone()));
        let value = match read_command(&[(*line).to_owned()], &Program::default()) {
            Ok(cmd) => serde_json::to_value(&cmd).expect("json"),
            Err(e) => serde_json::json!({ "error": e }),
        };
        insta::with_settings!({ description => *line, omit_expression => true }, {
            insta::assert_json_snapshot!(name, value);
        });
    }
}
