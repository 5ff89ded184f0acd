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
        let flags: Vec<&'static FlagSpec> = merged(path).collect();
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

/// The flags `path` declares and inherits, in cobra's merge order (its own local flags, its own
/// persistent ones, then each ancestor's persistent ones, nearest first), shadowed duplicates
/// included.
pub(crate) fn declared(path: CommandPath) -> impl Iterator<Item = &'static FlagSpec> + Clone {
    let spec = path.spec();
    let ancestors = std::iter::successors(spec.parent, |p| p.spec().parent);
    spec.local
        .iter()
        .chain(spec.persistent.iter())
        .copied()
        .chain(ancestors.flat_map(|p| p.spec().persistent.iter().copied()))
        .flatten()
}

/// The flags of `path` as cobra merges them: [`declared`] without the flags a nearer one of the
/// same name shadows. Lazy and allocation-free, so that a question about one flag (`any`,
/// `find`) costs no lookup table: compiling a policy asks it of every command a rule reaches
/// (building their [`FlagSet`]s cost a one-shot `tgate run` ~0.1 ms).
pub(crate) fn merged(path: CommandPath) -> impl Iterator<Item = &'static FlagSpec> {
    let all = declared(path);
    all.clone()
        .enumerate()
        .filter(move |(i, f)| !all.clone().take(*i).any(|o| o.name == f.name))
        .map(|(_, f)| f)
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

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Extra = Extra {
        help: false,
        version: false,
    };

    /// The lazy merge ([`merged`], [`CommandPath::flag`]) agrees with the lookup table the
    /// parser reads: the same flags, each once, and each name resolving to the same declaration
    /// (the nearest, where a command redeclares an inherited flag).
    #[test]
    fn the_lazy_merge_agrees_with_the_parsers_table() {
        let mut shadowing = 0;
        for &path in CommandPath::ALL {
            let set = FlagSet::of(path);
            let lazy: Vec<&'static FlagSpec> = merged(path).collect();
            // An independent reference: cobra's merge as a list kept by hand.
            let mut table: Vec<&'static FlagSpec> = Vec::new();
            for f in declared(path) {
                if !table.iter().any(|o| o.name == f.name) {
                    table.push(f);
                }
            }
            assert_eq!(set.iter().count(), table.len(), "{path:?}");
            assert_eq!(lazy.len(), table.len(), "{path:?}");
            for (a, b) in lazy.iter().zip(&table) {
                assert!(std::ptr::eq(*a, *b), "{path:?}: {} vs {}", a.name, b.name);
            }
            for f in declared(path) {
                let by_name = path.flag(f.name).expect("a declared flag is found");
                let parsed = set.long(f.name, PLAIN).expect("the parser knows it");
                assert!(std::ptr::eq(by_name, parsed), "{path:?} --{}", f.name);
                shadowing += usize::from(!std::ptr::eq(by_name, f));
            }
            assert!(path.flag("no-such-flag").is_none());
        }
        // The shadowing case is exercised, not only the plain one.
        assert!(shadowing > 0, "no command redeclares an inherited flag");
    }
}
