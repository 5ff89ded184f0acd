//! Conformance of tgate's command table with the installed Temporal CLI 1.9.1, both directions:
//! every command path, and every flag's long name, short letter and type, as `--help` of the real
//! binary shows them; `temporal options` for the global and connection flags (hidden from
//! per-command help); and a type probe of every flag a command declares (`--flag=@@@ --help`: the
//! parse error, or its absence, tells the type; `--help` guarantees nothing runs).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{par_map, run_temporal};
use regex::Regex;
use tgate::command::{CommandPath, FlagType};

struct Help {
    subcommands: Vec<String>,
    /// long name → (short letter, type word)
    flags: BTreeMap<String, (Option<char>, String)>,
}

fn help_of(words: &[&str]) -> Help {
    let mut args: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    args.push("--help".to_owned());
    let out = run_temporal(&args);
    assert!(out.status.success(), "temporal {args:?}: {out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8 help");
    let flag_re = Regex::new(r"^  (?:-(.), |    )--([a-z0-9-]+)(?: (\S+))?(?:\s{2,}|$)").unwrap();
    let cmd_re = Regex::new(r"^  (\S+)").unwrap();
    let mut section = "";
    let mut help = Help {
        subcommands: Vec::new(),
        flags: BTreeMap::new(),
    };
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            section = match line {
                "Available Commands:" => "commands",
                "Flags:" => "flags",
                _ => "",
            };
            continue;
        }
        match section {
            "commands" => {
                if let Some(c) = cmd_re.captures(line) {
                    help.subcommands.push(c[1].to_owned());
                }
            }
            "flags" => {
                if let Some(c) = flag_re.captures(line) {
                    let short = c.get(1).and_then(|m| m.as_str().chars().next());
                    let ty = c.get(3).map_or("", |m| m.as_str()).to_owned();
                    help.flags.insert(c[2].to_owned(), (short, ty));
                }
            }
            _ => {}
        }
    }
    help
}

/// Every command path of the real binary, by walking `Available Commands`.
fn walk(words: Vec<String>, out: &mut BTreeMap<String, Help>) {
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let help = help_of(&refs);
    for sub in &help.subcommands {
        let mut next = words.clone();
        next.push(sub.clone());
        walk(next, out);
    }
    out.insert(words.join(" "), help);
}

/// The flags tgate's table says `--help` shows for a command: its own and its own persistent
/// flags, not hidden, plus `-h`.
fn expected_visible(
    path: CommandPath,
) -> BTreeMap<String, (Option<char>, &'static tgate::command::FlagSpec)> {
    let spec = path.spec();
    let mut m = BTreeMap::new();
    if path == CommandPath::Root {
        // The CLI lists the root's (global) flags, and even its -h, only in `temporal options`.
        return m;
    }
    for set in spec.local.iter().chain(spec.persistent.iter()) {
        for f in set.iter() {
            if !f.hidden {
                m.entry(f.name.to_owned()).or_insert((f.short, f));
            }
        }
    }
    m.insert("help".to_owned(), (Some('h'), &tgate::command::HELP_FLAG));
    m
}

#[test]
fn command_paths_and_flags_match_help() {
    let mut real = BTreeMap::new();
    walk(Vec::new(), &mut real);

    let ours: BTreeSet<String> = CommandPath::ALL
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    let theirs: BTreeSet<String> = real.keys().cloned().collect();
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "commands in tgate's table that the binary does not have"
    );
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "commands of the binary missing from tgate's table"
    );
    assert!(real.len() >= 150, "walked only {} commands", real.len());
    println!("conformance: {} command paths, both directions", real.len());

    let mut problems = Vec::new();
    let mut usage_words = 0;
    let mut typed = 0;
    for path in CommandPath::ALL {
        let help = &real[path.name()];
        let want = expected_visible(*path);
        for (name, (short, ty)) in &help.flags {
            match want.get(name) {
                None => problems.push(format!("`{}`: --{name} in help, not in table", path.name())),
                Some((s, spec)) => {
                    if s != short {
                        problems.push(format!(
                            "`{}` --{name}: short {short:?} in help, {s:?} in table",
                            path.name()
                        ));
                    }
                    let expect = spec.metavar.unwrap_or(spec.ty.help_word());
                    if ty == expect {
                        typed += 1;
                    } else {
                        // pflag shows the first back-quoted word of the description instead of
                        // the type; the type probe below checks those flags' types.
                        let known_type_word = [
                            "",
                            "string",
                            "int",
                            "float32",
                            "stringArray",
                            "duration",
                            "timestamp",
                        ]
                        .contains(&ty.as_str());
                        if known_type_word || spec.metavar.is_some() {
                            problems.push(format!(
                                "`{}` --{name}: type `{ty}` in help, `{expect}` in table",
                                path.name()
                            ));
                        } else {
                            usage_words += 1;
                        }
                    }
                }
            }
        }
        for name in want.keys() {
            if !help.flags.contains_key(name) {
                problems.push(format!("`{}`: --{name} in table, not in help", path.name()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    println!(
        "conformance: {typed} flag type words and {usage_words} meta-variables compared with --help"
    );
    // Help shows a meta-variable (the first back-quoted word of a description, e.g. QUERY) for
    // some flags; the type probe checks those. The rest show pflag's own type word, compared above.
    assert!(
        typed > 300 && usage_words < 150,
        "{typed} type words compared, {usage_words} meta-variables"
    );
}

#[test]
fn global_and_connection_flags_match_options() {
    let out = run_temporal(&["options".to_owned()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let re = Regex::new(r"^  --([a-z0-9-]+)(?:, -(.))?(?: (string\[\]|\S+))?\s{2,}").unwrap();
    let mut theirs = BTreeMap::new();
    for line in text.lines() {
        if let Some(c) = re.captures(line) {
            let short = c.get(2).and_then(|m| m.as_str().chars().next());
            let ty = c.get(3).map_or("", |m| m.as_str());
            // The options table shows env var names in the next column; a bool has no type word.
            let ty = if ty.starts_with("TEMPORAL_") { "" } else { ty };
            theirs.insert(c[1].to_owned(), (short, ty.to_owned()));
        }
    }
    let mut ours = BTreeMap::new();
    for p in [CommandPath::Root, CommandPath::Workflow] {
        for set in p.spec().persistent {
            for f in set.iter() {
                let word = match f.ty {
                    FlagType::StrArray => "string[]",
                    FlagType::Bool => "",
                    FlagType::Int => "int",
                    FlagType::Duration => "duration",
                    _ => "string",
                };
                ours.insert(f.name.to_owned(), (f.short, word.to_owned()));
            }
        }
    }
    assert_eq!(ours, theirs);
    assert_eq!(theirs.len(), 32, "14 global and 18 connection flags");
}

/// What `--flag=@@@ --help` tells about a flag's type.
fn probe(words: &[&str], flag: &str) -> Result<(), String> {
    let mut args: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    args.push(format!("--{flag}=@@@"));
    args.push("--help".to_owned());
    let out = run_temporal(&args);
    if out.status.success() {
        return Ok(());
    }
    Err(String::from_utf8_lossy(&out.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned())
}

#[test]
fn every_declared_flag_exists_with_its_type() {
    // Each command's own flags (hidden and deprecated ones too), plus the inherited sets once, on
    // `workflow list` (global, connection) and `task-queue versioning get-rules` (group-persistent).
    let mut jobs: Vec<(CommandPath, &'static tgate::command::FlagSpec)> = Vec::new();
    for path in CommandPath::ALL {
        let spec = path.spec();
        for set in spec.local.iter().chain(spec.persistent.iter()) {
            for f in set.iter() {
                // Inherited sets are probed once below.
                let shared = matches!(path, CommandPath::Root)
                    || path.spec().parent == Some(CommandPath::Root)
                        && path.connects()
                        && path.is_group();
                if !shared {
                    jobs.push((*path, f));
                }
            }
        }
    }
    for path in [CommandPath::WorkflowList] {
        for anc in [CommandPath::Root, CommandPath::Workflow] {
            for set in anc.spec().persistent {
                for f in set.iter() {
                    jobs.push((path, f));
                }
            }
        }
    }
    assert!(jobs.len() > 450, "only {} flags to probe", jobs.len());
    println!(
        "conformance: {} declared flags probed for existence and type",
        jobs.len()
    );

    let problems: Vec<String> = par_map(&jobs, |(path, f)| {
        let words: Vec<&str> = path.name().split(' ').filter(|w| !w.is_empty()).collect();
        let got = probe(&words, f.name);
        let ok = match (f.ty, &got) {
            (FlagType::Str | FlagType::StrArray, Ok(())) => true,
            (FlagType::Bool, Err(e)) => e.contains("strconv.ParseBool"),
            (FlagType::Int, Err(e)) => e.contains("strconv.ParseInt"),
            (FlagType::Float, Err(e)) => e.contains("strconv.ParseFloat"),
            (FlagType::Duration, Err(e)) => e.contains("time: invalid duration"),
            (FlagType::Timestamp, Err(e)) => e.contains("parsing time"),
            (FlagType::Enum, Err(e)) => {
                // The CLI lists the hidden legacy values in this error too.
                let allowed: Vec<&str> = f.values.iter().chain(f.legacy_values).copied().collect();
                e.ends_with(&format!(
                    "is not one of required values of {}",
                    allowed.join(", ")
                ))
            }
            (FlagType::EnumArray, Err(e)) => {
                // Listed in Go map order, which varies: compare as sets.
                let listed: BTreeSet<&str> = e
                    .rsplit("allowed values are: ")
                    .next()
                    .unwrap_or("")
                    .split(", ")
                    .collect();
                listed == f.values.iter().copied().collect()
            }
            _ => false,
        };
        (!ok).then(|| {
            format!(
                "`{}` --{} ({}): {got:?}",
                path.name(),
                f.name,
                f.ty.as_str()
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "{} flags differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
