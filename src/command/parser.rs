//! The cobra v1.10 + pflag v1.0.10 reading of an argv, as the Temporal CLI 1.9.1 wires them.
//!
//! The CLI runs in two passes, and tgate reproduces both because their quirks decide what runs:
//!
//! 1. **Extension pre-pass.** A leading `help` is set aside; cobra's `Find` walks subcommand names
//!    (with no `-h` registered anywhere yet, so an `-h` before a name swallows it); `-h` is then
//!    registered on the command found. If positional words remain, unknown flags before the first
//!    one are parsed alone (which is why `schedule list -lq x` fails with "flag needs an argument").
//!    tgate never runs extensions, so a leftover word is then an unknown command, as it is for the
//!    CLI with nothing on PATH.
//! 2. **cobra.** `Find` again (now `-h` is known on the command the pre-pass found), pflag parses the
//!    remaining words against the merged flag set, then help/version, runnable, arity, the deprecated
//!    env-file check and required flags, in cobra's order.
//!
//! `Find` strips flags it does not know by assuming they take a value: `temporal --tls workflow
//! list` makes `workflow` the value of `--tls` and fails, exactly as the CLI does.

use std::collections::BTreeMap;

use super::Value;
use super::error::ParseError;
use super::flagset::{Extra, FlagSet};
use super::goparse;
use super::spec::{Arity, FlagSpec, FlagType};
use super::table::CommandPath;

/// Tokens whose presence makes the CLI exit 0 after printing help or version instead of running.
const ZERO_EXIT_TOKENS: &[&str] = &["--help", "-h", "--version", "-v", "help"];

/// The outcome of reading an argv: the command and the values of the flags that were set.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub path: CommandPath,
    pub flags: BTreeMap<&'static str, Value>,
    pub args: Vec<String>,
}

/// Reads `args` (the words after the program name).
pub(crate) fn parse(args: &[&str]) -> Result<Parsed, ParseError> {
    if let Some(&first) = args.first()
        && (first == "__complete" || first == "__completeNoDesc")
    {
        return Err(ParseError::Unsupported {
            what: "the hidden shell-completion hook",
            token: first.to_owned(),
        });
    }

    // Pass 1: the extension pre-pass.
    let rest = if args.first() == Some(&"help") {
        &args[1..]
    } else {
        args
    };
    let (found, remaining) = find(rest, None);
    pre_pass(found, &remaining)?;

    // Pass 2: cobra.
    let (path, flag_args) = find(args, Some(found));
    let extra = Extra {
        help: true,
        version: path == CommandPath::Root,
    };
    let (mut flags, positionals) = parse_flags(path, &flag_args, extra)?;
    let zero_exit = args.iter().any(|a| ZERO_EXIT_TOKENS.contains(a));

    let help = matches!(flags.get("help"), Some(Value::Bool(true)));
    let version = matches!(flags.get("version"), Some(Value::Bool(true)));
    if help || version {
        if !zero_exit {
            return Err(ParseError::HelpWithoutToken { path });
        }
        // cobra returns before validating positionals: they change nothing, so they are dropped.
        return Ok(Parsed {
            path,
            flags,
            args: Vec::new(),
        });
    }
    if !path.spec().runnable {
        if zero_exit {
            // The CLI prints this group's help and exits 0; say so explicitly.
            flags.insert("help", Value::Bool(true));
            return Ok(Parsed {
                path,
                flags,
                args: Vec::new(),
            });
        }
        return Err(match positionals.first() {
            Some(word) => ParseError::UnknownCommand {
                word: word.clone(),
                path,
            },
            None => ParseError::MissingSubcommand { path },
        });
    }
    check_arity(path, &positionals)?;
    check_env(path, args, &flags)?;
    check_required(path, &flags)?;
    Ok(Parsed {
        path,
        flags,
        args: positionals,
    })
}

/// The flag set cobra would consult for `path` during `Find`.
fn lookup_extra(path: CommandPath, help_on: Option<CommandPath>) -> Extra {
    Extra {
        help: help_on == Some(path),
        version: false,
    }
}

/// pflag `hasNoOptDefVal` / `shortHasNoOptDefVal`: is this a known bool flag at `path`?
fn is_known_bool(path: CommandPath, token: &str, extra: Extra) -> bool {
    let set = FlagSet::of(path);
    let flag = if let Some(name) = token.strip_prefix("--") {
        set.long(name, extra)
    } else {
        token[1..].chars().next().and_then(|c| set.short(c, extra))
    };
    flag.is_some_and(FlagSpec::takes_no_value)
}

/// Whether cobra's flag-stripping treats `s` as a flag that takes the next word as its value.
fn strips_next(path: CommandPath, s: &str, extra: Extra) -> bool {
    (s.starts_with("--") && !s.contains('=') && !is_known_bool(path, s, extra))
        || (s.starts_with('-')
            && !s.contains('=')
            && s.len() == 2
            && !is_known_bool(path, s, extra))
}

/// cobra `stripFlags`, first result: the first word that looks like a subcommand name.
fn first_name<'a>(args: &[&'a str], path: CommandPath, extra: Extra) -> Option<&'a str> {
    let mut i = 0;
    while i < args.len() {
        let s = args[i];
        i += 1;
        if s == "--" {
            break;
        }
        if strips_next(path, s, extra) {
            // '--flag arg' / '-f arg': skip the value, or stop if it is the last word.
            if args.len() - i <= 1 {
                break;
            }
            i += 1;
            continue;
        }
        if !s.is_empty() && !s.starts_with('-') {
            return Some(s);
        }
    }
    None
}

/// cobra `argsMinusFirstX`: `args` without the first occurrence of the name `x`.
fn args_minus_first<'a>(
    args: &[&'a str],
    x: &str,
    path: CommandPath,
    extra: Extra,
) -> Vec<&'a str> {
    let mut pos = 0;
    while pos < args.len() {
        let s = args[pos];
        if s == "--" {
            break;
        }
        if strips_next(path, s, extra) {
            pos += 2;
            continue;
        }
        if !s.starts_with('-') && s == x {
            let mut out = Vec::with_capacity(args.len() - 1);
            out.extend_from_slice(&args[..pos]);
            out.extend_from_slice(&args[pos + 1..]);
            return out;
        }
        pos += 1;
    }
    args.to_vec()
}

/// cobra `Find`: the deepest command named by the words, and the words left for flag parsing.
fn find<'a>(args: &[&'a str], help_on: Option<CommandPath>) -> (CommandPath, Vec<&'a str>) {
    let mut path = CommandPath::Root;
    let mut cur = args.to_vec();
    loop {
        if cur.is_empty() {
            return (path, cur);
        }
        let extra = lookup_extra(path, help_on);
        let Some(next) = first_name(&cur, path, extra) else {
            return (path, cur);
        };
        match path.child(next) {
            Some(child) => {
                cur = args_minus_first(&cur, next, path, extra);
                path = child;
            }
            None => return (path, cur),
        }
    }
}

/// The extension pre-pass after `Find`: with positional words present, the unknown flags before the
/// first of them are parsed on their own, and their error is the CLI's error.
fn pre_pass(found: CommandPath, remaining: &[&str]) -> Result<(), ParseError> {
    let extra = Extra {
        help: true,
        version: false,
    };
    let set = FlagSet::of(found);
    let mut to_parse: Vec<&str> = Vec::new();
    let mut seen_pos = false;
    let mut ext_has_pos = false;
    let mut i = 0;
    while i < remaining.len() {
        let arg = remaining[i];
        i += 1;
        if !arg.starts_with('-') {
            seen_pos = true;
            ext_has_pos = true;
            continue;
        }
        let trimmed = arg.trim_start_matches('-');
        let (name, inline) = match trimmed.split_once('=') {
            Some((n, _)) => (n, true),
            None => (trimmed, false),
        };
        let mut flag = set.long(name, extra);
        if flag.is_none() && name.len() == 1 {
            flag = name.chars().next().and_then(|c| set.short(c, extra));
        }
        match flag {
            Some(f) => {
                if f.name == "help" && seen_pos {
                    continue;
                }
                let parse_it = f.name == "command-timeout";
                if parse_it {
                    to_parse.push(arg);
                }
                if !f.takes_no_value() && !inline && i < remaining.len() {
                    if parse_it {
                        to_parse.push(remaining[i]);
                    }
                    i += 1;
                }
            }
            None if !seen_pos => to_parse.push(arg),
            None => {}
        }
    }
    if ext_has_pos && !to_parse.is_empty() {
        parse_flags(found, &to_parse, extra)?;
    }
    Ok(())
}

/// pflag `FlagSet.Parse` (interspersed): flag values by canonical name, and positional words.
fn parse_flags(
    path: CommandPath,
    args: &[&str],
    extra: Extra,
) -> Result<(BTreeMap<&'static str, Value>, Vec<String>), ParseError> {
    let set = FlagSet::of(path);
    let mut flags: BTreeMap<&'static str, Value> = BTreeMap::new();
    let mut positionals = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = args[i];
        i += 1;
        if s.len() < 2 || !s.starts_with('-') {
            positionals.push(s.to_owned());
            continue;
        }
        if let Some(name) = s.strip_prefix("--") {
            if name.is_empty() {
                positionals.extend(args[i..].iter().map(|a| (*a).to_owned()));
                break;
            }
            if name.starts_with('-') || name.starts_with('=') {
                return Err(ParseError::BadFlagSyntax {
                    token: s.to_owned(),
                });
            }
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (name, None),
            };
            let Some(flag) = set.long(name, extra) else {
                return Err(ParseError::UnknownFlag {
                    name: name.to_owned(),
                });
            };
            let value = match inline {
                Some(v) => v,
                None if flag.takes_no_value() => "true",
                None if i < args.len() => {
                    i += 1;
                    args[i - 1]
                }
                None => {
                    return Err(ParseError::NeedsArgument {
                        flag: s.to_owned(),
                        short: None,
                    });
                }
            };
            set_value(&mut flags, flag, value)?;
        } else {
            // A cluster of shorthands: -abc, -n value, -nvalue, -n=value.
            let mut shorts = &s[1..];
            while !shorts.is_empty() {
                // pflag drops the rest of a cluster from `test.` on (`go test` inserts flags
                // like `-test.v`): `-test.v` and the `test.x` of `-ftest.x` are ignored, where a
                // plain reading would take `-t est.x`. Ignored here too: the canonical argv
                // leaves them out.
                if shorts.starts_with("test.") {
                    break;
                }
                let c = shorts.chars().next().unwrap_or_default();
                let after = &shorts[c.len_utf8()..];
                let Some(flag) = set.short(c, extra) else {
                    return Err(ParseError::UnknownShorthand {
                        letter: c,
                        cluster: shorts.to_owned(),
                    });
                };
                let value;
                if after.len() > 1 && after.starts_with('=') {
                    value = &after[1..];
                    shorts = "";
                } else if flag.takes_no_value() {
                    value = "true";
                    shorts = after;
                } else if !after.is_empty() {
                    value = after;
                    shorts = "";
                } else if i < args.len() {
                    value = args[i];
                    i += 1;
                    shorts = "";
                } else {
                    return Err(ParseError::NeedsArgument {
                        flag: format!("-{shorts}"),
                        short: Some(c),
                    });
                }
                set_value(&mut flags, flag, value)?;
            }
        }
    }
    Ok((flags, positionals))
}

/// `Value.Set` for each flag type, with pflag's error wrapping.
fn set_value(
    flags: &mut BTreeMap<&'static str, Value>,
    flag: &'static FlagSpec,
    raw: &str,
) -> Result<(), ParseError> {
    let invalid = |reason: String| ParseError::InvalidValue {
        value: raw.to_owned(),
        flag: flag_display(flag),
        reason,
    };
    let value = match flag.ty {
        FlagType::Bool => Value::Bool(goparse::parse_bool(raw).map_err(invalid)?),
        FlagType::Int => Value::Int(goparse::parse_int(raw).map_err(invalid)?),
        FlagType::Float => Value::Float(goparse::parse_float32(raw).map_err(invalid)?.into()),
        FlagType::Str => Value::Str(raw.to_owned()),
        FlagType::StrArray => {
            push(flags, flag.name, raw.to_owned());
            return Ok(());
        }
        FlagType::Enum => {
            let found = flag
                .values
                .iter()
                .chain(flag.legacy_values)
                .find(|v| **v == raw)
                .ok_or_else(|| {
                    let allowed: Vec<&str> = flag
                        .values
                        .iter()
                        .chain(flag.legacy_values)
                        .copied()
                        .collect();
                    invalid(format!(
                        "{raw} is not one of required values of {}",
                        allowed.join(", ")
                    ))
                })?;
            Value::Enum(found)
        }
        FlagType::EnumArray => {
            let found = flag
                .values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(raw))
                .ok_or_else(|| {
                    invalid(format!(
                        "invalid value: {raw}, allowed values are: {}",
                        flag.values.join(", ")
                    ))
                })?;
            match flags
                .entry(flag.name)
                .or_insert_with(|| Value::EnumArray(Vec::new()))
            {
                Value::EnumArray(v) => v.push(found),
                other => *other = Value::EnumArray(vec![found]),
            }
            return Ok(());
        }
        FlagType::Duration => {
            Value::Duration(goparse::parse_duration(raw).map_err(invalid)?.into())
        }
        FlagType::Timestamp => {
            goparse::parse_timestamp(raw).map_err(invalid)?;
            Value::Timestamp(raw.to_owned())
        }
    };
    flags.insert(flag.name, value);
    Ok(())
}

fn push(flags: &mut BTreeMap<&'static str, Value>, name: &'static str, v: String) {
    match flags
        .entry(name)
        .or_insert_with(|| Value::StrArray(Vec::new()))
    {
        Value::StrArray(items) => items.push(v),
        other => *other = Value::StrArray(vec![v]),
    }
}

/// How pflag names a flag in value errors: `-o, --output` or `--limit`.
fn flag_display(flag: &FlagSpec) -> String {
    match flag.short {
        Some(c) => format!("-{c}, --{}", flag.name),
        None => format!("--{}", flag.name),
    }
}

fn check_arity(path: CommandPath, positionals: &[String]) -> Result<(), ParseError> {
    let n = positionals.len();
    match path.spec().arity {
        Arity::Any => Ok(()),
        Arity::None => match positionals.first() {
            Some(word) => Err(ParseError::UnknownCommand {
                word: word.clone(),
                path,
            }),
            None => Ok(()),
        },
        Arity::Max(max) if n > max => Err(ParseError::TooManyArgs { path, max, got: n }),
        Arity::Exact(want) if n != want => Err(ParseError::WrongArgCount { path, want, got: n }),
        Arity::Max(_) | Arity::Exact(_) => Ok(()),
    }
}

/// The CLI's deprecated environment file: a raw `--env NAME` word pair names an environment, and
/// one other than `default` must exist in `~/.config/temporalio/temporal.yaml`. tgate runs the CLI
/// with an empty private HOME, so no such environment ever exists there. A raw `--env-file PATH`
/// word pair, wherever it stands, makes the CLI load PATH as that file, whose values set the
/// flags the line leaves unset: when the words are not the flag tgate reads (`-q --env-file
/// --limit=1` sets `--query`, and the CLI would also load `./--limit=1`, found by QA), the line
/// means what a file tgate does not read says, and is refused. Set as a flag, `--env-file` is
/// tgate's to refuse by policy (`tgate:connection-flag`).
fn check_env(
    path: CommandPath,
    args: &[&str],
    flags: &BTreeMap<&'static str, Value>,
) -> Result<(), ParseError> {
    if matches!(path, CommandPath::EnvList | CommandPath::EnvSet) {
        return Ok(());
    }
    if !flags.contains_key("env-file")
        && let Some(file) = args.windows(2).find(|w| w[0] == "--env-file").map(|w| w[1])
    {
        return Err(ParseError::EnvFileWords {
            file: file.to_owned(),
        });
    }
    let name = args
        .windows(2)
        .filter(|w| w[0] == "--env")
        .map(|w| w[1])
        .next_back();
    match name {
        Some(n) if n != "default" => Err(ParseError::EnvNotFound { name: n.to_owned() }),
        _ => Ok(()),
    }
}

fn check_required(
    path: CommandPath,
    flags: &BTreeMap<&'static str, Value>,
) -> Result<(), ParseError> {
    let mut missing: Vec<&'static str> = FlagSet::of(path)
        .iter()
        .filter(|f| f.required && !flags.contains_key(f.name))
        .map(|f| f.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    Err(ParseError::RequiredFlags { names: missing })
}
