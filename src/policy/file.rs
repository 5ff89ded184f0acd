//! The policy file format, version 1, as written by security teams (YAML). These types are only the
//! text's shape: `compile` turns them into a checked [`super::Policy`]. Unknown keys are errors.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// `allow_file_flags`: each flag with its directories. The list form of earlier versions (flag
/// names alone, any path) is read only to be refused with a message saying why.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum FileFlagsSpec {
    /// Flag name → directories its paths must lie in.
    Directories(BTreeMap<String, Vec<String>>),
    /// Refused: flag names without directories.
    #[schemars(skip)]
    Names(Vec<String>),
}

/// Read by hand: a derived untagged enum would answer any mistake inside the map (a flag listed
/// twice) with "did not match any variant".
impl<'de> Deserialize<'de> for FileFlagsSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileFlagsSpec, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FileFlagsSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a map of flag names to directories (`{input-file: [/srv/agent-inputs]}`)",
                )
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                m: A,
            ) -> Result<FileFlagsSpec, A::Error> {
                unique_map(serde::de::value::MapAccessDeserializer::new(m))
                    .map(FileFlagsSpec::Directories)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                s: A,
            ) -> Result<FileFlagsSpec, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(s))
                    .map(FileFlagsSpec::Names)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Default for FileFlagsSpec {
    fn default() -> Self {
        FileFlagsSpec::Directories(BTreeMap::new())
    }
}

/// A policy file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Format version; must be 1.
    pub version: u32,
    /// What this policy is for.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// Namespaces this policy may allow anything in: exact names or globs (`prod-*`). `$default`
    /// stands for the integration's default namespace. Every rule is bounded by this list.
    #[serde(deserialize_with = "crate::yaml::value_items")]
    pub namespaces: Vec<String>,
    /// Rules, in order. The strictest decision among the matching rules wins
    /// (deny > require_approval > allow); when none matches, the command is denied.
    #[serde(default, deserialize_with = "crate::yaml::value")]
    pub rules: Vec<RuleSpec>,
    /// Command lines with their expected decisions, checked when the policy loads and by
    /// `tgate policy test`.
    #[serde(default, deserialize_with = "crate::yaml::value")]
    pub tests: Vec<TestSpec>,
}

/// One rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique identifier, shown in decisions and audit records.
    #[serde(deserialize_with = "crate::yaml::value")]
    pub id: String,
    /// What the rule is for.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// When the rule applies. Every condition given must hold; an empty `when` matches everything
    /// within the policy's namespaces.
    #[serde(default, deserialize_with = "crate::yaml::value")]
    pub when: WhenSpec,
    /// What happens when it applies.
    pub decision: DecisionSpec,
    /// The reason shown to the caller.
    #[serde(deserialize_with = "crate::yaml::value")]
    pub reason: String,
    /// Local-file flags (e.g. `input-file`) this rule allows, each with the directories its paths
    /// must lie in (absolute paths without `.` or `..`, resolved through no symbolic link). Without
    /// it any flag that makes the CLI read or write a local file is denied.
    #[serde(default)]
    pub allow_file_flags: FileFlagsSpec,
    /// Conditions attached to an allow.
    #[serde(default, deserialize_with = "crate::yaml::value")]
    pub obligations: ObligationsSpec,
    /// How the approval works (`require_approval` rules only): how long it stays valid, how many
    /// people must approve, and which groups they must be in.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "ApprovalSpec")]
    pub approval: Option<ApprovalSpec>,
    /// How often the rule may let a command through, e.g. `5/hour` (also `/minute`, `/day`).
    /// Allow and require_approval rules only.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub rate: Option<String>,
    /// Whom the rate counts: each caller separately (the default) or everyone under the rule.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "RatePerSpec")]
    pub rate_per: Option<RatePerSpec>,
    /// The caller must give a justification (`tgate run --justification TEXT`) matching a pattern.
    /// Allow and require_approval rules only.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "JustificationSpec")]
    pub justification: Option<JustificationSpec>,
}

/// How an approval works.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// How long a request stays valid, from when it is made until the approved command runs
    /// (default `15m`, at most `7d`).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub ttl: Option<String>,
    /// How many distinct people must approve (default 1). The requester never counts.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "u32")]
    pub approvals: Option<u32>,
    /// Groups an approver must be in (at least one of them); omitted: anyone but the requester.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub approvers: Option<Vec<String>>,
}

/// Whom a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatePerSpec {
    /// Each caller has their own budget.
    Caller,
    /// All callers share the rule's budget.
    Rule,
}

/// A required justification.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JustificationSpec {
    /// A regex the justification must match (unanchored: use `^…$`), e.g. `^INC-[0-9]+`.
    #[serde(deserialize_with = "crate::yaml::value")]
    pub pattern: String,
}

/// Conditions of a rule.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    /// Command paths without `temporal`: exact (`workflow list`) or a group (`workflow *`, `*`).
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub commands: Option<Vec<String>>,
    /// Effect classes: read, write, destructive, admin, local.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "Vec<ClassSpec>")]
    pub classes: Option<Vec<ClassSpec>>,
    /// Namespaces (exact or globs) the command must act in.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub namespaces: Option<Vec<String>>,
    /// Whether the command acts on many executions: a batch job (a non-empty `--query` on a
    /// batch-capable command) or `schedule backfill`.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "bool")]
    pub batch: Option<bool>,
    /// Caller identities (exact or globs).
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub callers: Option<Vec<String>>,
    /// Caller groups; the caller must be in at least one.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub groups: Option<Vec<String>>,
    /// Constraints on typed flag values, by long flag name.
    #[serde(default, deserialize_with = "given_unique_map")]
    pub flags: BTreeMap<String, FlagConstraintSpec>,
}

/// A constraint on one flag's value. Every field given must hold. For an array flag, in an allow
/// rule every value must satisfy it; in a deny or require_approval rule one value that does is
/// enough. An absent flag satisfies only `present: false`, `not_matches` and `not_in`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagConstraintSpec {
    /// The flag must be set (true) or not set (false).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "bool")]
    pub present: Option<bool>,
    /// A regex the value must match (unanchored: use `^…$`).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub matches: Option<String>,
    /// A regex the value must not match.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub not_matches: Option<String>,
    /// Values the value must be one of.
    #[serde(default, deserialize_with = "crate::yaml::some_items", rename = "in")]
    #[schemars(with = "Vec<String>")]
    pub one_of: Option<Vec<String>>,
    /// Values the value must not be.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    #[schemars(with = "Vec<String>")]
    pub not_in: Option<Vec<String>>,
    /// Lower bound for int, float and duration flags (durations as `30s`, `1h`).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "NumberOrText")]
    pub min: Option<NumberOrText>,
    /// Upper bound for int, float and duration flags.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "NumberOrText")]
    pub max: Option<NumberOrText>,
}

/// A number, or a duration text such as `30s`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A number.
    Number(f64),
    /// A duration.
    Text(String),
}

/// Obligations attached to an allow.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationsSpec {
    /// Cap `--limit` of commands that have it (inserted when absent). At least 1: 0 is the CLI's
    /// "no limit".
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(range(min = 1))]
    #[schemars(with = "u32")]
    pub max_limit: Option<u32>,
    /// Cap `--page-size` of commands that have it (inserted when absent). At least 1.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(range(min = 1))]
    #[schemars(with = "u32")]
    pub max_page_size: Option<u32>,
    /// Cap `--command-timeout` (inserted when absent), e.g. `30s`.
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub max_command_timeout: Option<String>,
}

/// A decision, as written in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSpec {
    /// Run it.
    Allow,
    /// Refuse it.
    Deny,
    /// Run it once a human approves.
    RequireApproval,
}

/// An effect class, as written in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClassSpec {
    /// Reads.
    Read,
    /// Recoverable changes.
    Write,
    /// Cancel, terminate, delete, reset.
    Destructive,
    /// Cluster configuration.
    Admin,
    /// Local machine only.
    Local,
}

/// An embedded policy test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// The command line, as an agent would send it.
    #[serde(deserialize_with = "crate::yaml::value")]
    pub command: String,
    /// Caller identity (default `agent`).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub caller: Option<String>,
    /// Caller groups.
    #[serde(default, deserialize_with = "crate::yaml::value_items")]
    pub groups: Vec<String>,
    /// The justification the caller gives (`--justification`).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub justification: Option<String>,
    /// Expected decision.
    pub expect: DecisionSpec,
    /// Expected deciding rule id (one of them).
    #[serde(default, deserialize_with = "crate::yaml::some")]
    #[schemars(with = "String")]
    pub rule: Option<String>,
}

/// A [`unique_map`], when given: never a null (serde reads one as an empty map: [`crate::yaml`]).
fn given_unique_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(BTreeMap<String, V>);
    impl<'de, V: Deserialize<'de>> Deserialize<'de> for Unique<V> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            unique_map(d).map(Unique)
        }
    }
    crate::yaml::value::<D, Unique<V>>(d).map(|u| u.0)
}

/// A map whose keys must be unique: YAML allows a key twice and a plain map keeps the last value,
/// which would silently drop a constraint (`reason: {matches: …}` then `reason: {present: true}`)
/// or widen a flag's directories.
fn unique_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Visit<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of flag names")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = m.next_key::<String>()? {
                // A key with no value is refused, not read as an empty constraint ([`crate::yaml`]).
                let Some(value) = m.next_value::<Option<V>>()? else {
                    return Err(serde::de::Error::custom(crate::yaml::NULL));
                };
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!(
                        "`{key}` is listed twice (the second would silently replace the first)"
                    )));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Visit(std::marker::PhantomData))
}
