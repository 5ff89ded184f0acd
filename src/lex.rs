//! Lexing: turns what an agent sent (one string, or an argv) into the argv tgate will judge.
//!
//! A string is read with POSIX shell quoting (single quotes, double quotes, backslash escapes) and
//! nothing else: tgate never runs a shell, so anything a shell would *do* with the string (run a second
//! command, redirect, expand a variable, a glob or a `~`, drop a comment) is refused with the character
//! and its column, rather than passed on as data the agent did not mean. Inside single quotes every
//! character is data; inside double quotes a shell still expands `$` and backquotes, so those are
//! refused there too. Control characters (newline, NUL, tab, escape, ...) and Unicode bidirectional
//! controls are refused anywhere, quoted or not, in strings and in argv alike: they have no business in
//! a Temporal command line and would corrupt terminals and audit logs.
//!
//! The first word must be the program name `temporal` (or a path the configuration names). A wrapper
//! (`sh -c`, `env`, `sudo`), an environment assignment (`VAR=x temporal`) or another path to a binary is
//! refused: the command tgate judges must be the command that runs.

use std::fmt;

/// Why a command line was refused before parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LexError {
    /// The line was empty or only whitespace.
    #[error("empty command line")]
    Empty,
    /// A shell operator, expansion or glob outside quotes (or `$`/backquote inside double quotes).
    #[error("{what} `{found}` at column {column} is not allowed: tgate runs no shell{hint}")]
    ShellSyntax {
        /// Description of the construct, e.g. "command separator".
        what: &'static str,
        /// The offending text.
        found: String,
        /// 1-based column (in characters) in the input string.
        column: usize,
        /// Extra advice, starting with "; " or empty.
        hint: &'static str,
    },
    /// A control or bidirectional-control character.
    #[error("{name} (U+{code:04X}) at {place} is not allowed in a command line")]
    ControlChar {
        /// Readable name, e.g. "newline".
        name: &'static str,
        /// The code point.
        code: u32,
        /// "column N" or "argument N".
        place: Place,
    },
    /// Combining marks piled on one character beyond [`MAX_STACKED_MARKS`].
    #[error(
        "more than {MAX_STACKED_MARKS} combining marks in a row at {place} are not allowed in a command line"
    )]
    StackedMarks {
        /// "column N" or "argument N", of the first mark too many.
        place: Place,
    },
    /// A quote was opened and never closed.
    #[error("unbalanced {kind} quote opened at column {column}")]
    UnbalancedQuote {
        /// "single" or "double".
        kind: &'static str,
        /// 1-based column of the opening quote.
        column: usize,
    },
    /// A trailing backslash escapes nothing.
    #[error("trailing backslash at column {column} escapes nothing")]
    TrailingBackslash {
        /// 1-based column.
        column: usize,
    },
    /// The first word is not the temporal program.
    #[error("{0}")]
    NotTemporal(NotTemporal),
}

/// Where in the input something was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// 1-based character column of a string input.
    Column(usize),
    /// 0-based index into an argv input.
    Argument(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Column(c) => write!(f, "column {c}"),
            Place::Argument(i) => write!(f, "argument {i}"),
        }
    }
}

/// The first word was not the program tgate guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotTemporal {
    /// The first word as given.
    pub found: String,
    /// The program names accepted.
    pub accepted: Vec<String>,
}

impl fmt::Display for NotTemporal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = if self.found.contains('=') && !self.found.starts_with('-') {
            " (environment assignments are not allowed)"
        } else if WRAPPERS.contains(&self.found.rsplit('/').next().unwrap_or("")) {
            " (wrappers are not allowed)"
        } else if self.found.starts_with('-') {
            // A mistyped option of tgate's own (`--integraton prod`): clap hands the words from
            // the first one it does not know on as the command line.
            " (it is no option of tgate's either: see `--help`)"
        } else if self.found.contains('/') {
            " (a path to a binary is refused unless `tgate parse --program` names it: tgate runs its own pinned `temporal`)"
        } else {
            ""
        };
        write!(
            f,
            "command line must start with {}, not `{}`{}",
            self.accepted
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            self.found,
            why
        )
    }
}

const WRAPPERS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "env", "sudo", "exec", "nohup", "xargs", "timeout", "command",
];

/// Which program names the first word may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    names: Vec<String>,
}

impl Default for Program {
    fn default() -> Self {
        Program {
            names: vec!["temporal".to_owned()],
        }
    }
}

impl Program {
    /// Accept `temporal` and also each of `paths` (e.g. `/usr/local/bin/temporal`).
    pub fn with_paths<I: IntoIterator<Item = String>>(paths: I) -> Self {
        let mut p = Program::default();
        p.names.extend(paths);
        p
    }

    fn check(&self, first: &str) -> Result<(), LexError> {
        if self.names.iter().any(|n| n == first) {
            Ok(())
        } else {
            Err(LexError::NotTemporal(NotTemporal {
                found: first.to_owned(),
                accepted: self.names.clone(),
            }))
        }
    }
}

/// What kind of character `c` is, when tgate refuses it in command lines, caller ids and groups,
/// and escapes it in what it prints for people: control characters, Unicode bidirectional
/// controls, line and paragraph separators (which some viewers break lines at), characters that
/// show nothing (every `Default_Ignorable_Code_Point` of Unicode's DerivedCoreProperties.txt:
/// zero-width spaces and joiners, the byte-order mark, the soft hyphen, variation selectors,
/// Hangul fillers, tags; and the other format characters: Arabic number signs, interlinear
/// annotations, Egyptian hieroglyph format controls), and spaces other than the ASCII one (a
/// no-break space, the braille blank), any of which can make a name look like another in a log or
/// an approval prompt.
pub fn control_name(c: char) -> Option<&'static str> {
    // Printable ASCII, nearly every character of a command line, first.
    if (' '..='~').contains(&c) {
        return None;
    }
    Some(match c {
        '\n' => "newline",
        '\r' => "carriage return",
        '\0' => "NUL",
        '\t' => "tab",
        '\x1b' => "escape",
        '\x7f' => "delete",
        c if c.is_control() => "control character",
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => "bidirectional control",
        '\u{2028}' | '\u{2029}' => "line separator",
        // Default_Ignorable_Code_Point (less the bidi controls above), then the other Cf.
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{2065}'
        | '\u{206A}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}'
        | '\u{0600}'..='\u{0605}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1345F}'
        | '\u{FFF9}'..='\u{FFFB}' => "invisible format character",
        '\u{00A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\u{2800}' => "space other than the ASCII space",
        _ => return None,
    })
}

/// How many characters that take no cell of their own (combining marks of any script) may follow
/// one another, piled on the character before them: more than the scripts checked write on one
/// letter (Vietnamese two; pointed Hebrew with cantillation, Tibetan stacks up to four), too few
/// for the towers ("Zalgo" text) that spill over the lines above and below in a terminal, where
/// they could hide part of an approval prompt. (The one text found refused is a symbol: Tibetan's
/// Kalachakra monogram, nine in a row.)
pub const MAX_STACKED_MARKS: usize = 6;

/// Counts the characters of no width in a row (Unicode's combining marks, of every script) as
/// characters are fed to it.
#[derive(Default)]
struct MarkRun(usize);

impl MarkRun {
    /// Whether `c` makes the run too long.
    fn too_long_with(&mut self, c: char) -> bool {
        if !c.is_ascii() && unicode_width::UnicodeWidthChar::width(c) == Some(0) {
            self.0 += 1;
        } else {
            self.0 = 0;
        }
        self.0 > MAX_STACKED_MARKS
    }
}

/// `kind` (a [`control_name`]) with its indefinite article: `an escape`, `a newline`.
fn with_article(kind: &str) -> String {
    let article = match kind.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    };
    format!("{article} {kind}")
}

/// Why `text`, a name or note people will read (a caller id, a group, a justification, an
/// approval comment), is unacceptable, if it is: empty, longer than `max_chars` characters, or
/// holding a character [`control_name`] names or more than [`MAX_STACKED_MARKS`] combining marks
/// in a row. `what` names it in the message (`the justification is empty`).
pub fn check_readable(what: &str, text: &str, max_chars: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.chars().count() > max_chars {
        return Err(format!("the {what} is longer than {max_chars} characters"));
    }
    if let Some(kind) = text.chars().find_map(control_name) {
        return Err(format!("the {what} contains {}", with_article(kind)));
    }
    let mut marks = MarkRun::default();
    if text.chars().any(|c| marks.too_long_with(c)) {
        return Err(format!(
            "the {what} has more than {MAX_STACKED_MARKS} combining marks in a row"
        ));
    }
    Ok(())
}

/// Why a name (a rule id, a namespace, a namespace or caller pattern) could not be matched,
/// listed or typed as it looks.
#[derive(Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// What [`check_readable`] refuses, in its words.
    Unreadable(String),
    /// Spaces (or other white space) around it.
    Padded,
}

/// [`check_readable`], and no white space around `text`: each caller words the two its own way.
pub fn check_name(what: &str, text: &str, max_chars: usize) -> Result<(), NameProblem> {
    check_readable(what, text, max_chars).map_err(NameProblem::Unreadable)?;
    if text.trim() != text {
        return Err(NameProblem::Padded);
    }
    Ok(())
}

/// `s` with each character [`control_name`] names, and each combining mark beyond
/// [`MAX_STACKED_MARKS`] in a row, written as a `\u{...}` escape, for text shown to people (audit
/// views, approval listings). A backslash that starts `u{` is escaped too (`\u{005c}u{202e}`), so
/// every `\u{...}` seen is one of these escapes, never the text itself.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    if escape_for_people(s, false, false, &mut out) {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// [`escape_controls`], and every other character past ASCII written `\u{...}` too: for a line
/// where a look-alike of a quote (`ꞌ`, U+A78C) must not close a quoted value to the eye
/// (`audit tail`).
pub fn escape_to_ascii(s: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    if escape_for_people(s, false, true, &mut out) {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// `s` in double quotes for a message: `"` and `\` escaped with a backslash, and what
/// [`escape_controls`] escapes written as `\u{...}`.
pub fn quote_for_people(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_for_people(s, true, false, &mut out);
    out.push('"');
    out
}

/// The one escaping rule of [`escape_controls`], [`escape_to_ascii`] and [`quote_for_people`]:
/// `s` onto `out`, each character [`control_name`] names, each mark too many and, `ascii`, each
/// character past ASCII as `\u{...}`; `quoted`, `"` and `\` get a backslash (so no `\u{` of the
/// text survives), else a backslash that starts `u{` is escaped. Whether anything was escaped.
fn escape_for_people(s: &str, quoted: bool, ascii: bool, out: &mut String) -> bool {
    let mut marks = MarkRun::default();
    let mut changed = false;
    for (i, c) in s.char_indices() {
        // (The run is fed every character, so that it counts.)
        let pile = marks.too_long_with(c);
        if quoted && matches!(c, '"' | '\\') {
            out.push('\\');
            out.push(c);
            changed = true;
        } else if pile
            || control_name(c).is_some()
            || (ascii && !c.is_ascii())
            || (!quoted && s[i..].starts_with("\\u{"))
        {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            changed = true;
        } else {
            out.push(c);
        }
    }
    changed
}

fn check_controls(s: &str, place: impl Fn(usize) -> Place) -> Result<(), LexError> {
    let mut marks = MarkRun::default();
    for (i, c) in s.chars().enumerate() {
        if let Some(name) = control_name(c) {
            return Err(LexError::ControlChar {
                name,
                code: c as u32,
                place: place(i),
            });
        }
        if marks.too_long_with(c) {
            return Err(LexError::StackedMarks { place: place(i) });
        }
    }
    Ok(())
}

/// Splits a command line the way a POSIX shell reads quotes, refusing everything else a shell would
/// interpret. Returns the words with the program name first.
pub fn lex_str(line: &str, program: &Program) -> Result<Vec<String>, LexError> {
    check_controls(line, |i| Place::Column(i + 1))?;
    let words = split(line)?;
    let first = words.first().ok_or(LexError::Empty)?;
    program.check(first)?;
    Ok(words)
}

/// Checks an argv the agent sent as separate arguments. No shell rules apply (each argument is data),
/// but the program name and the control-character rule do.
pub fn lex_argv<S: AsRef<str>>(argv: &[S], program: &Program) -> Result<Vec<String>, LexError> {
    let first = argv.first().ok_or(LexError::Empty)?;
    for (i, a) in argv.iter().enumerate() {
        check_controls(a.as_ref(), |_| Place::Argument(i))?;
    }
    program.check(first.as_ref())?;
    Ok(argv.iter().map(|a| a.as_ref().to_owned()).collect())
}

fn shell_syntax(what: &'static str, found: &str, column: usize, hint: &'static str) -> LexError {
    LexError::ShellSyntax {
        what,
        found: found.to_owned(),
        column,
        hint,
    }
}

const QUOTE_HINT: &str = "; quote it to pass it as data";

/// The quote-aware scanner. It both refuses shell syntax (with positions) and builds the words, so
/// the refusal and the split can never disagree about what is quoted.
fn split(line: &str) -> Result<Vec<String>, LexError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            ' ' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(LexError::UnbalancedQuote {
                                kind: "single",
                                column: start + 1,
                            });
                        }
                        Some('\'') => break,
                        Some(&d) => word.push(d),
                    }
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(LexError::UnbalancedQuote {
                                kind: "double",
                                column: start + 1,
                            });
                        }
                        Some('"') => break,
                        Some('\\') => match chars.get(i + 1) {
                            // POSIX: inside double quotes a backslash escapes only these.
                            Some(&e @ ('$' | '`' | '"' | '\\')) => {
                                word.push(e);
                                i += 1;
                            }
                            Some(_) => word.push('\\'),
                            None => {
                                return Err(LexError::UnbalancedQuote {
                                    kind: "double",
                                    column: start + 1,
                                });
                            }
                        },
                        Some('$') => {
                            return Err(shell_syntax(
                                "expansion",
                                &dollar_text(&chars, i),
                                i + 1,
                                "; a shell expands `$` inside double quotes: use single quotes to pass it as data",
                            ));
                        }
                        Some('`') => {
                            return Err(shell_syntax(
                                "command substitution",
                                "`",
                                i + 1,
                                "; a shell runs backquotes inside double quotes: use single quotes to pass it as data",
                            ));
                        }
                        Some(&d) => word.push(d),
                    }
                    i += 1;
                }
            }
            '\\' => match chars.get(i + 1) {
                Some(&e) => {
                    in_word = true;
                    word.push(e);
                    i += 1;
                }
                None => return Err(LexError::TrailingBackslash { column: col }),
            },
            ';' => return Err(shell_syntax("command separator", ";", col, QUOTE_HINT)),
            '|' => {
                let found = if chars.get(i + 1) == Some(&'|') {
                    "||"
                } else {
                    "|"
                };
                return Err(shell_syntax("shell operator", found, col, QUOTE_HINT));
            }
            '&' => {
                let found = if chars.get(i + 1) == Some(&'&') {
                    "&&"
                } else {
                    "&"
                };
                return Err(shell_syntax("shell operator", found, col, QUOTE_HINT));
            }
            '>' | '<' => {
                return Err(shell_syntax("redirection", &c.to_string(), col, QUOTE_HINT));
            }
            '`' => return Err(shell_syntax("command substitution", "`", col, QUOTE_HINT)),
            '$' => {
                return Err(shell_syntax(
                    "expansion",
                    &dollar_text(&chars, i),
                    col,
                    QUOTE_HINT,
                ));
            }
            '*' | '?' | '[' => {
                return Err(shell_syntax("glob", &c.to_string(), col, QUOTE_HINT));
            }
            '{' | '}' => {
                return Err(shell_syntax(
                    "brace expansion",
                    &c.to_string(),
                    col,
                    QUOTE_HINT,
                ));
            }
            '(' | ')' => return Err(shell_syntax("subshell", &c.to_string(), col, QUOTE_HINT)),
            '~' => return Err(shell_syntax("home expansion", "~", col, QUOTE_HINT)),
            '!' => return Err(shell_syntax("history expansion", "!", col, QUOTE_HINT)),
            '#' if !in_word => return Err(shell_syntax("comment", "#", col, QUOTE_HINT)),
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The `$...` construct starting at `i`, for error messages: `$(`, `${`, `$NAME` or `$`.
fn dollar_text(chars: &[char], i: usize) -> String {
    match chars.get(i + 1) {
        Some('(') => "$(".to_owned(),
        Some('{') => "${".to_owned(),
        Some(c) if c.is_ascii_alphanumeric() || *c == '_' => {
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .collect();
            format!("${name}")
        }
        Some(c) if "?#@*!$-".contains(*c) => format!("${c}"),
        _ => "$".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Result<Vec<String>, LexError> {
        lex_str(s, &Program::default())
    }

    fn words(s: &str) -> Vec<String> {
        lex(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn quotes_make_metacharacters_data() {
        assert_eq!(
            words(r#"temporal workflow list --query 'WorkflowId = "a;b|c"'"#),
            [
                "temporal",
                "workflow",
                "list",
                "--query",
                r#"WorkflowId = "a;b|c""#
            ]
        );
        assert_eq!(
            words(r#"temporal x "a b" 'c d'e"#),
            ["temporal", "x", "a b", "c de"]
        );
        assert_eq!(words(r"temporal a\;b a\ b"), ["temporal", "a;b", "a b"]);
        assert_eq!(words(r#"temporal "a\"b\\c\d""#), ["temporal", r#"a"b\c\d"#]);
        assert_eq!(words("temporal '' \"\""), ["temporal", "", ""]);
        assert_eq!(words("temporal a#b"), ["temporal", "a#b"]);
        assert_eq!(words("  temporal   x  "), ["temporal", "x"]);
        assert_eq!(
            words("temporal '$HOME' '`id`' '*'"),
            ["temporal", "$HOME", "`id`", "*"]
        );
    }

    #[test]
    fn shell_syntax_is_refused_with_column() {
        let cases: &[(&str, &str, usize)] = &[
            ("temporal workflow list; rm -rf /", ";", 23),
            ("temporal workflow list | sh", "|", 24),
            ("temporal workflow list || sh", "||", 24),
            ("temporal workflow list & sh", "&", 24),
            ("temporal workflow list && sh", "&&", 24),
            ("temporal workflow list > f", ">", 24),
            ("temporal workflow list < f", "<", 24),
            ("temporal workflow list `id`", "`", 24),
            ("temporal workflow list $(id)", "$(", 24),
            ("temporal workflow list ${X}", "${", 24),
            ("temporal workflow list -n $NS", "$NS", 27),
            ("temporal workflow list -q *", "*", 27),
            ("temporal workflow list -q a?", "?", 28),
            ("temporal workflow list -n ~", "~", 27),
            ("temporal workflow list # x", "#", 24),
            ("temporal workflow list -n \"$NS\"", "$NS", 28),
            ("temporal workflow list -n \"`id`\"", "`", 28),
        ];
        for (line, found, column) in cases {
            match lex(line) {
                Err(LexError::ShellSyntax {
                    found: f,
                    column: c,
                    ..
                }) => assert_eq!((f.as_str(), c), (*found, *column), "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn controls_refused_even_quoted() {
        for (line, code) in [
            ("temporal workflow list\nrm x", 0x0a),
            ("temporal 'a\nb'", 0x0a),
            ("temporal a\0b", 0),
            ("temporal\tworkflow", 9),
            ("temporal '\x1b[31m'", 0x1b),
            ("temporal 'a\u{202E}b'", 0x202e),
            ("temporal 'a\u{061C}b'", 0x061c),
            ("temporal 'a\u{2028}b'", 0x2028),
            ("temporal 'a\u{200B}b'", 0x200b),
            ("temporal 'a\u{FEFF}b'", 0xfeff),
            ("temporal 'a\u{E0041}b'", 0xe0041),
            ("temporal 'a\u{3164}b'", 0x3164),
            ("temporal 'a\u{FE0F}b'", 0xfe0f),
            ("temporal 'a\u{FFF9}b'", 0xfff9),
            ("temporal 'a\u{034F}b'", 0x034f),
            ("temporal 'a\u{00A0}b'", 0xa0),
            ("temporal 'a\u{2800}b'", 0x2800),
            ("temporal 'a\u{13430}b'", 0x13430),
        ] {
            match lex(line) {
                Err(LexError::ControlChar { code: c, .. }) => assert_eq!(c, code, "{line:?}"),
                other => panic!("{line:?}: {other:?}"),
            }
        }
        assert!(matches!(
            lex_argv(&["temporal", "workflow", "a\nb"], &Program::default()),
            Err(LexError::ControlChar {
                place: Place::Argument(2),
                ..
            })
        ));
    }

    /// Diacritics as languages use them pass; a tower of combining marks does not, in a command
    /// line or in a name or note people read.
    #[test]
    fn towers_of_combining_marks_are_refused() {
        let six = "e\u{0301}\u{0302}\u{0303}\u{0304}\u{0591}\u{0E49}";
        for ok in [
            "temporal workflow list --query 'Name = \"Nguyễn ệ\"'".to_owned(),
            format!("temporal workflow list --reason '{six}'"),
            format!("temporal workflow list --reason '{six} {six}'"),
            "temporal workflow list --reason 'בְּרֵאשִׁ֖ית བསྒྲུབས'".to_owned(),
        ] {
            assert!(lex(&ok).is_ok(), "{ok}");
        }
        // Marks of other scripts count too: the run is of characters with no width.
        let line = format!("temporal workflow list --reason '{six}\u{064B}'");
        match lex(&line) {
            Err(e @ LexError::StackedMarks { .. }) => assert_eq!(
                e.to_string(),
                "more than 6 combining marks in a row at column 41 are not allowed in a command line"
            ),
            other => panic!("{other:?}"),
        }
        let zalgo = format!("INC-1234 h{}", "\u{0363}\u{0489}".repeat(30));
        assert_eq!(
            check_readable("justification", &zalgo, 500),
            Err("the justification has more than 6 combining marks in a row".to_owned())
        );
        assert_eq!(check_readable("justification", "Nguyễn", 500), Ok(()));
        assert_eq!(
            check_readable("--caller", "a\u{1b}", 200),
            Err("the --caller contains an escape".to_owned())
        );
        assert_eq!(
            check_readable("--caller", "a\n", 200),
            Err("the --caller contains a newline".to_owned())
        );
    }

    /// In what tgate prints for people, `\u{...}` is always an escape of its own: a backslash the
    /// text holds before `u{` is escaped too.
    #[test]
    fn escapes_cannot_be_imitated() {
        // A pile of marks of several scripts (the run does not restart at a change of script):
        // shown as escapes beyond the sixth; refused in a command line.
        let pile = format!("a{}", "\u{0300}\u{0301}\u{0302}\u{0303}\u{0591}".repeat(10));
        assert!(matches!(
            lex(&format!("temporal workflow list --reason '{pile}'")),
            Err(LexError::StackedMarks { .. })
        ));
        let shown = escape_controls(&pile);
        assert!(
            shown
                .starts_with("a\u{0300}\u{0301}\u{0302}\u{0303}\u{0591}\u{0300}\\u{0301}\\u{0302}"),
            "{shown}"
        );
        assert_eq!(shown.matches("\\u{").count(), 44, "{shown}");
        assert_eq!(
            quote_for_people("a\"b\u{1b}c\\"),
            "\"a\\\"b\\u{001b}c\\\\\""
        );
        assert_eq!(escape_controls("C:\\dir u{x}"), "C:\\dir u{x}");
        assert_eq!(
            escape_controls("dana\\u{202e} \u{202e}"),
            "dana\\u{005c}u{202e} \\u{202e}"
        );
    }

    #[test]
    fn unbalanced_quotes() {
        assert_eq!(
            lex("temporal workflow list -q 'abc"),
            Err(LexError::UnbalancedQuote {
                kind: "single",
                column: 27
            })
        );
        assert_eq!(
            lex("temporal \"abc"),
            Err(LexError::UnbalancedQuote {
                kind: "double",
                column: 10
            })
        );
        assert_eq!(
            lex("temporal abc\\"),
            Err(LexError::TrailingBackslash { column: 13 })
        );
    }

    #[test]
    fn first_word_must_be_temporal() {
        for line in [
            "sh -c 'temporal workflow list'",
            "env temporal workflow list",
            "VAR=x temporal workflow list",
            "/usr/bin/temporal workflow list",
            "Temporal workflow list",
            "tctl workflow list",
        ] {
            assert!(matches!(lex(line), Err(LexError::NotTemporal(_))), "{line}");
        }
        let msg = lex("VAR=x temporal workflow list").unwrap_err().to_string();
        assert!(msg.contains("environment assignments"), "{msg}");
        assert_eq!(lex("   "), Err(LexError::Empty));
        let p = Program::with_paths(["/usr/bin/temporal".to_owned()]);
        assert_eq!(
            lex_str("/usr/bin/temporal workflow list", &p).unwrap()[0],
            "/usr/bin/temporal"
        );
    }
}
