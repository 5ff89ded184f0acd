//! A proptest strategy for `temporal` argvs built from tgate's command table: random commands,
//! flags in every pflag spelling, flags before subcommand names, tricky values and positionals.

use proptest::prelude::*;
use tgate::command::{CommandPath, FlagType};

/// Values that stress pflag: leading dashes, `=`, spaces, quotes, empties, unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        Just(String::new()),
        Just("-".to_owned()),
        Just("--".to_owned()),
        Just("--limit".to_owned()),
        Just("-n".to_owned()),
        Just("a=b".to_owned()),
        Just("WorkflowId = \"a;b|c\"".to_owned()),
        Just("it's".to_owned()),
        Just("help".to_owned()),
        Just("ünïcødé".to_owned()),
        "[ -~]{0,12}",
    ]
}

fn value_for(ty: FlagType, values: &'static [&'static str]) -> BoxedStrategy<String> {
    match ty {
        FlagType::Bool => prop_oneof![
            Just("true"),
            Just("false"),
            Just("1"),
            Just("F"),
            Just("yes")
        ]
        .prop_map(str::to_owned)
        .boxed(),
        FlagType::Int => prop_oneof![
            any::<i32>().prop_map(|i| i.to_string()),
            Just("0x1f".to_owned()),
            Just("1_000".to_owned()),
            Just("abc".to_owned())
        ]
        .boxed(),
        FlagType::Float => prop_oneof![
            any::<f32>().prop_map(|f| f.to_string()),
            Just("1e3".to_owned()),
            Just("inf".to_owned()),
            Just("x".to_owned())
        ]
        .boxed(),
        FlagType::Duration => prop_oneof![
            Just("5s"),
            Just("1.5d"),
            Just("1h30m"),
            Just("0"),
            Just("-2m"),
            Just("5"),
            Just("300ms")
        ]
        .prop_map(str::to_owned)
        .boxed(),
        FlagType::Timestamp => prop_oneof![
            Just("2024-01-01T00:00:00Z"),
            Just("2024-02-29T12:00:00.5+05:30"),
            Just("2024-01-01")
        ]
        .prop_map(str::to_owned)
        .boxed(),
        FlagType::Enum | FlagType::EnumArray => {
            let v: Vec<String> = values.iter().map(|s| (*s).to_owned()).collect();
            prop_oneof![
                proptest::sample::select(v.clone()),
                proptest::sample::select(v).prop_map(|s| s.to_uppercase()),
                Just("bogus".to_owned())
            ]
            .boxed()
        }
        FlagType::Str | FlagType::StrArray => tricky_string().boxed(),
    }
}

/// One flag occurrence in one of pflag's spellings.
fn occurrence(path: CommandPath) -> BoxedStrategy<Vec<String>> {
    let flags: Vec<_> = path.flags().collect();
    if flags.is_empty() {
        return Just(Vec::new()).boxed();
    }
    proptest::sample::select(flags)
        .prop_flat_map(|f| (Just(f), value_for(f.ty, f.values), 0..4u8))
        .prop_map(|(f, v, form)| match (form, f.short) {
            (_, _) if f.ty == FlagType::Bool && form < 2 => vec![format!("--{}", f.name)],
            (0, _) => vec![format!("--{}={v}", f.name)],
            (1, _) | (_, None) => vec![format!("--{}", f.name), v],
            (2, Some(c)) => vec![format!("-{c}"), v],
            (_, Some(c)) => vec![format!("-{c}{v}")],
        })
        .boxed()
}

pub fn argv() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::select(CommandPath::ALL.to_vec()).prop_flat_map(|path| {
        let words: Vec<String> = path
            .name()
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        (
            Just(words),
            proptest::collection::vec(occurrence(path), 0..6),
            proptest::collection::vec(tricky_string(), 0..2),
            any::<bool>(),
        )
            .prop_map(|(words, occ, positionals, flags_first)| {
                let mut argv = vec!["temporal".to_owned()];
                let flags: Vec<String> = occ.into_iter().flatten().collect();
                if flags_first {
                    // Flags before (and between) the subcommand names.
                    argv.extend(flags.iter().cloned());
                    argv.extend(words);
                } else {
                    argv.extend(words);
                    argv.extend(flags);
                }
                argv.extend(positionals);
                argv
            })
    })
}
