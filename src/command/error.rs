//! Why a command line does not parse. Each variant mirrors an error the Temporal CLI itself raises
//! (same kind, same wording where the CLI's is clear), or names a rule of tgate's that is stricter.

use super::goparse::quote;
use super::table::CommandPath;

fn full(path: &CommandPath) -> String {
    let n = path.name();
    if n.is_empty() {
        "temporal".to_owned()
    } else {
        format!("temporal {n}")
    }
}

/// A command line the CLI would refuse (or that tgate refuses as ambiguous).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// `---x`, `--=x`.
    #[error("bad flag syntax: {token}")]
    BadFlagSyntax {
        /// The word as given.
        token: String,
    },
    /// A long flag the command does not have.
    #[error("unknown flag: --{name}")]
    UnknownFlag {
        /// Name without dashes.
        name: String,
    },
    /// A shorthand letter the command does not have.
    #[error("unknown shorthand flag: '{letter}' in -{cluster}")]
    UnknownShorthand {
        /// The letter.
        letter: char,
        /// The rest of the cluster from that letter.
        cluster: String,
    },
    /// A value flag at the end of the line.
    #[error("flag needs an argument: {}", match short { Some(c) => format!("'{c}' in {flag}"), None => flag.clone() })]
    NeedsArgument {
        /// `--query` or `-w` (the cluster for shorthands).
        flag: String,
        /// The letter, for shorthands.
        short: Option<char>,
    },
    /// A value the flag's type refuses.
    #[error("invalid argument {} for {} flag: {reason}", quote(value), quote(flag))]
    InvalidValue {
        /// The value as given.
        value: String,
        /// `-o, --output` or `--limit`.
        flag: String,
        /// The type's own error.
        reason: String,
    },
    /// A word that is not a subcommand (or a positional to a command that takes none).
    #[error("unknown command {} for {}", quote(word), quote(&full(path)))]
    UnknownCommand {
        /// The word.
        word: String,
        /// The command that got it.
        path: CommandPath,
    },
    /// A group named without a subcommand.
    #[error("{} needs a subcommand ({}); the CLI prints help and exits 1 (unknown command)", quote(&full(path)), subcommands(path))]
    MissingSubcommand {
        /// The group.
        path: CommandPath,
    },
    /// Help or version asked for only through `-h=true`-style values: the CLI prints help but
    /// exits 1 because no `--help`/`-h`/`help` word is present.
    #[error("help for {} was requested without a `--help`, `-h` or `help` word; the CLI exits 1 (unknown command)", quote(&full(path)))]
    HelpWithoutToken {
        /// The command.
        path: CommandPath,
    },
    /// cobra.MaximumNArgs.
    #[error("{}: accepts at most {max} arg(s), received {got}", full(path))]
    TooManyArgs {
        /// The command.
        path: CommandPath,
        /// Limit.
        max: usize,
        /// Given.
        got: usize,
    },
    /// cobra.ExactArgs.
    #[error("{}: accepts {want} arg(s), received {got}", full(path))]
    WrongArgCount {
        /// The command.
        path: CommandPath,
        /// Wanted.
        want: usize,
        /// Given.
        got: usize,
    },
    /// cobra's required-flag check.
    #[error("required flag(s) {} not set", names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", "))]
    RequiredFlags {
        /// Missing flags, sorted.
        names: Vec<&'static str>,
    },
    /// `--env NAME`: the deprecated environment file has no such environment when tgate runs the CLI.
    #[error(
        "environment {} not found (tgate runs the CLI without environment files)",
        quote(name)
    )]
    EnvNotFound {
        /// The environment name.
        name: String,
    },
    /// A raw `--env-file PATH` word pair that is not the `--env-file` flag: the CLI would load
    /// PATH as its deprecated environment file anyway.
    #[error(
        "the words `--env-file {}` make the CLI load that file as an environment file, whose values \
         set the flags this line leaves unset: tgate does not read it, and refuses the line (write \
         a value that is `--env-file` joined to its flag: `-q=--env-file`)",
        file.escape_debug()
    )]
    EnvFileWords {
        /// The word after `--env-file`.
        file: String,
    },
    /// Something tgate does not pass through at all.
    #[error("{what} (`{token}`) is not supported")]
    Unsupported {
        /// What it is.
        what: &'static str,
        /// The word.
        token: String,
    },
    /// A combination the CLI's command code refuses before connecting.
    #[error("{message}")]
    Rejected {
        /// The CLI's own message for it.
        message: String,
    },
    /// A combination the CLI refuses once connected (before it changes anything); tgate refuses it
    /// before deciding, so the decision is never made on an ambiguous command.
    #[error("{message}")]
    Conflict {
        /// The CLI's own message for it.
        message: String,
    },
}

fn subcommands(path: &CommandPath) -> String {
    let names: Vec<&str> = path.spec().children.iter().map(|c| c.leaf_name()).collect();
    format!("one of {}", names.join(", "))
}
