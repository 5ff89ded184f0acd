//! Per-command flag lookup tables, built once: what pflag's merged `FlagSet` is for each command.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::spec::{FlagSpec, HELP_FLAG, VERSION_FLAG};
use super::table::CommandPath;

/// The flags one command knows, as cobra merges them. `help` is separate because cobra adds it late
/// (see the parser: whether `-h` is known during command lookup depends on the moment).
pub(crate) struct FlagSet {
    flags: Vec<&'static FlagSpec>,
    /// Long names and aliases.
    by_long: HashMap<&'static str, &'static FlagSpec>,
    /// Shorthand letters (all ASCII).
    by_short: [Option<&'static FlagSpec>; 128],
}

impl FlagSet {
    fn build(path: CommandPath) -> FlagSet {
        let spec = path.spec();
        let mut flags: Vec<&'static FlagSpec> = Vec::new();
        let chain = std::iter::successors(spec.parent, |p| p.spec().parent);
        let sets = spec
            .local
            .iter()
            .chain(spec.persistent.iter())
            .copied()
            .chain(chain.flat_map(|p| p.spec().persistent.iter().copied()));
        for set in sets {
            for f in set {
                // A local flag shadows an inherited one of the same name (cobra's merge).
                if !flags.iter().any(|o| o.name == f.name) {
                    flags.push(f);
                }
            }
        }
        let mut by_long = HashMap::new();
        let mut by_short = [None; 128];
        for f in &flags {
            by_long.insert(f.name, *f);
            for a in f.aliases {
                by_long.entry(*a).or_insert(*f);
            }
            if let Some(c) = f.short
                && c.is_ascii()
            {
                by_short[c as usize].get_or_insert(*f);
            }
        }
        FlagSet {
            flags,
            by_long,
            by_short,
        }
    }

    /// The flags of `path`, without cobra's `help`/`version`. Each command's set is built on first
    /// use (building all 157 at once cost a one-shot `tgate run` about a millisecond).
    pub(crate) fn of(path: CommandPath) -> &'static FlagSet {
        static SETS: [OnceLock<FlagSet>; CommandPath::ALL.len()] =
            [const { OnceLock::new() }; CommandPath::ALL.len()];
        SETS[path as usize].get_or_init(|| FlagSet::build(path))
    }

    /// Every flag (no help/version).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'static FlagSpec> + '_ {
        self.flags.iter().copied()
    }

    /// Lookup by long name or alias. `with_help` adds cobra's help flag.
    pub(crate) fn long(&self, name: &str, extra: Extra) -> Option<&'static FlagSpec> {
        self.by_long
            .get(name)
            .copied()
            .or_else(|| extra.flags().find(|f| f.name == name))
    }

    /// Lookup by shorthand letter.
    pub(crate) fn short(&self, c: char, extra: Extra) -> Option<&'static FlagSpec> {
        let own = if c.is_ascii() {
            self.by_short[c as usize]
        } else {
            None
        };
        own.or_else(|| extra.flags().find(|f| f.short == Some(c)))
    }
}

/// Which of cobra's late-added flags are registered at the moment of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extra {
    pub help: bool,
    pub version: bool,
}

impl Extra {
    fn flags(self) -> impl Iterator<Item = &'static FlagSpec> {
        let h: Option<&'static FlagSpec> = self.help.then_some(&HELP_FLAG);
        let v: Option<&'static FlagSpec> = self.version.then_some(&VERSION_FLAG);
        h.into_iter().chain(v)
    }
}
