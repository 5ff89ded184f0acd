//! The shape of tgate's command table: what a command and a flag are, as cobra and pflag see them.
//!
//! The table itself (`table.rs`) is generated from the CLI's spec and checked against the real binary;
//! this module holds the types and the lookups the parser needs. Lookups follow cobra: a command's
//! flags are its local flags, then its own persistent flags, then every ancestor's persistent flags,
//! then cobra's `-h/--help` (and `-v/--version` on the root). A name already present shadows later ones
//! (`activity pause --identity` shadows the connection `--identity`).

use super::table::{COMMANDS, CommandPath};

/// How pflag reads a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagType {
    /// `--f`, `--f=true|false|1|0|t|f|...`; never takes the next token.
    Bool,
    /// Go `strconv.ParseInt(s, 0, 64)`.
    Int,
    /// Go `strconv.ParseFloat(s, 32)`.
    Float,
    /// Any string.
    Str,
    /// Any string; each occurrence appends (no comma splitting).
    StrArray,
    /// One of the declared values, case-sensitive.
    Enum,
    /// Declared values, case-insensitive, canonicalised; each occurrence appends.
    EnumArray,
    /// Go `time.ParseDuration` plus a `d` (24h) unit.
    Duration,
    /// Go `time.Parse(time.RFC3339, s)`.
    Timestamp,
}

impl FlagType {
    /// The type word pflag prints in `--help` for this type (absent a display type or a
    /// back-quoted word in the description).
    pub fn help_word(self) -> &'static str {
        match self {
            FlagType::Bool => "",
            FlagType::Int => "int",
            FlagType::Float => "float32",
            FlagType::Str | FlagType::Enum | FlagType::EnumArray => "string",
            FlagType::StrArray => "stringArray",
            FlagType::Duration => "duration",
            FlagType::Timestamp => "timestamp",
        }
    }

    /// The name used in tgate's JSON and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Bool => "bool",
            FlagType::Int => "int",
            FlagType::Float => "float",
            FlagType::Str => "string",
            FlagType::StrArray => "string[]",
            FlagType::Enum => "string-enum",
            FlagType::EnumArray => "string-enum[]",
            FlagType::Duration => "duration",
            FlagType::Timestamp => "timestamp",
        }
    }

    /// Whether every occurrence appends rather than replaces.
    pub fn is_array(self) -> bool {
        matches!(self, FlagType::StrArray | FlagType::EnumArray)
    }
}

/// One flag as registered with pflag.
#[derive(Debug)]
pub struct FlagSpec {
    /// Long name, without `--`.
    pub name: &'static str,
    /// Shorthand letter.
    pub short: Option<char>,
    /// Value type.
    pub ty: FlagType,
    /// Accepted enum values, as listed in help.
    pub values: &'static [&'static str],
    /// Enum values accepted but not listed.
    pub legacy_values: &'static [&'static str],
    /// Other long names for the same flag (pflag normalisation).
    pub aliases: &'static [&'static str],
    /// Marked required with cobra.
    pub required: bool,
    /// Default as the CLI declares it.
    pub default: Option<&'static str>,
    /// Help shows this word instead of the type.
    pub metavar: Option<&'static str>,
    /// Hidden from per-command help (connection flags, deprecated flags).
    pub hidden: bool,
    /// Deprecated: accepted, hidden, and a notice is printed when used.
    pub deprecated: Option<&'static str>,
    /// Help marks it EXPERIMENTAL.
    pub experimental: bool,
}

impl FlagSpec {
    pub(super) const fn new(name: &'static str, ty: FlagType) -> Self {
        FlagSpec {
            name,
            short: None,
            ty,
            values: &[],
            legacy_values: &[],
            aliases: &[],
            required: false,
            default: None,
            metavar: None,
            hidden: false,
            deprecated: None,
            experimental: false,
        }
    }
    pub(super) const fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    pub(super) const fn values(mut self, v: &'static [&'static str]) -> Self {
        self.values = v;
        self
    }
    pub(super) const fn legacy_values(mut self, v: &'static [&'static str]) -> Self {
        self.legacy_values = v;
        self
    }
    pub(super) const fn aliases(mut self, v: &'static [&'static str]) -> Self {
        self.aliases = v;
        self
    }
    pub(super) const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub(super) const fn default(mut self, v: &'static str) -> Self {
        self.default = Some(v);
        self
    }
    pub(super) const fn metavar(mut self, v: &'static str) -> Self {
        self.metavar = Some(v);
        self
    }
    pub(super) const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    pub(super) const fn deprecated(mut self, msg: &'static str) -> Self {
        self.deprecated = Some(msg);
        self.hidden = true;
        self
    }
    pub(super) const fn experimental(mut self) -> Self {
        self.experimental = true;
        self
    }

    /// pflag's `NoOptDefVal`: a bool flag needs no value token.
    pub fn takes_no_value(&self) -> bool {
        self.ty == FlagType::Bool
    }
}

/// cobra's `-h/--help`, added to every command.
pub static HELP_FLAG: FlagSpec = FlagSpec::new("help", FlagType::Bool).short('h');
/// cobra's `-v/--version`, root only.
pub static VERSION_FLAG: FlagSpec = FlagSpec::new("version", FlagType::Bool).short('v');

/// How many positional arguments a command takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// cobra.NoArgs (the CLI's default).
    None,
    /// cobra.MaximumNArgs(n).
    Max(usize),
    /// cobra.ExactArgs(n).
    Exact(usize),
    /// cobra.ArbitraryArgs.
    Any,
}

/// One command of the table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Closed identifier.
    pub path: CommandPath,
    /// Path without the leading `temporal` (empty for the root).
    pub name: &'static str,
    /// Enclosing group.
    pub parent: Option<CommandPath>,
    /// Subcommands, by name order.
    pub children: &'static [CommandPath],
    /// Flags only this command has.
    pub local: &'static [&'static [FlagSpec]],
    /// Flags this command defines for itself and every descendant.
    pub persistent: &'static [&'static [FlagSpec]],
    /// Positional arguments.
    pub arity: Arity,
    /// Has a Run function (leaves, and groups marked subcommands-optional).
    pub runnable: bool,
    /// Deprecation message for deprecated commands.
    pub deprecated: Option<&'static str>,
}

impl CommandPath {
    /// This command's table entry.
    pub fn spec(self) -> &'static CommandSpec {
        let spec = &COMMANDS[self as usize];
        debug_assert_eq!(spec.path, self);
        spec
    }

    /// Path without the leading `temporal`, e.g. `workflow list`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The last word of the path (`list`), or `temporal` for the root.
    pub fn leaf_name(self) -> &'static str {
        let n = self.name();
        if n.is_empty() {
            "temporal"
        } else {
            n.rsplit(' ').next().unwrap_or(n)
        }
    }

    /// Looks a path up by its words after `temporal` (`"workflow list"`).
    pub fn from_name(name: &str) -> Option<CommandPath> {
        COMMANDS.iter().find(|c| c.name == name).map(|c| c.path)
    }

    /// The direct subcommand called `word`. Exact and case-sensitive, as cobra is here (no
    /// aliases, no prefix matching).
    pub fn child(self, word: &str) -> Option<CommandPath> {
        self.spec()
            .children
            .iter()
            .copied()
            .find(|c| c.leaf_name() == word)
    }

    /// Whether this path has subcommands.
    pub fn is_group(self) -> bool {
        !self.spec().children.is_empty()
    }

    /// Ancestors from the root down, excluding `self`.
    pub fn ancestors(self) -> impl Iterator<Item = CommandPath> {
        let mut chain = Vec::new();
        let mut cur = self.spec().parent;
        while let Some(p) = cur {
            chain.push(p);
            cur = p.spec().parent;
        }
        chain.into_iter().rev()
    }

    /// Every flag this command accepts (its own, then inherited ones, shadowed duplicates removed),
    /// not counting cobra's `-h/--help` and the root's `-v/--version`.
    pub fn flags(self) -> impl Iterator<Item = &'static FlagSpec> {
        super::flagset::merged(self)
    }

    /// The flag this command accepts by the name `name` (not an alias), if any: the nearest
    /// declaration, which shadows any other of the same name.
    pub fn flag(self, name: &str) -> Option<&'static FlagSpec> {
        super::flagset::declared(self).find(|f| f.name == name)
    }
}
