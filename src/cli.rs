//! The `tgate` command line: subcommands, their output, and exit codes.
//!
//! `main` stays thin: it calls [`main_with`] and exits with the code it returns. Output goes to the
//! writers given, so tests drive the CLI in-process as well as through the binary.

use std::io::Write;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::audit::redact::Scrubber;
use crate::command::{Command, Value};
use crate::lex::{self, Program};
use crate::policy::{self, Caller, Context, Decision, Evaluation, Policy, PolicySet};

/// tgate's exit codes. Stable: callers script against them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Allowed and succeeded (for `parse`: it parses).
    Ok = 0,
    /// The Temporal command ran and failed.
    CommandFailed = 1,
    /// Usage, configuration, parse or gateway error: nothing ran.
    Usage = 2,
    /// Denied by policy.
    Denied = 3,
    /// Approval required.
    ApprovalRequired = 4,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "tgate",
    version,
    about = "Policy-enforcing command gateway for the Temporal CLI",
    long_about = "tgate stands between an agent and a Temporal cluster. It reads a `temporal ...` \
command line exactly as the Temporal CLI 1.9.1 would, judges the typed command, and runs only what \
policy allows.",
    after_long_help = "Diagnostics: TGATE_LOG=error|warn|info|debug|trace writes tgate's own events \
(configuration, decision, executor, connection, calls, audit batches, with timings) to standard \
error; off when unset. They never hold a secret or a header (docs/config.md)."
)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Read a `temporal ...` command line and print the typed command.
    ///
    /// Give the command line either as one string (`tgate parse "temporal workflow list -n prod"`),
    /// which is split with POSIX shell quoting and refused if it holds anything a shell would
    /// interpret, or as separate words after `--` (`tgate parse -- temporal workflow list -n prod`).
    /// Exit 0 when it parses, 2 with the reason on stderr when it does not.
    Parse(ParseArgs),
    /// Decide whether a `temporal ...` command line would be allowed, denied or need approval.
    ///
    /// Exit 0 allow, 3 deny, 4 approval required, 2 usage, configuration or parse error (a line
    /// that does not parse is also denied: nothing runs). Without --policy, the configuration's
    /// policies (with --config or TGATE_CONFIG), else the built-in read-only policy, decide.
    Check(CheckArgs),
    /// Decide on a `temporal ...` command line and, when allowed, run it against the cluster.
    ///
    /// Prints the command's own output and exits with its exit code when allowed (1 when its
    /// output cannot be written, as to a full disk; a reader that goes away, as `| head` does, is
    /// not an error); 3 when denied, 4 when approval is required (nothing runs), 2 on a usage,
    /// configuration, parse or gateway error (nothing runs). A stop signal (SIGTERM, Ctrl-C)
    /// ends the command, records how it ended (a native read only once it has run 20 ms: see
    /// docs/executors.md), then ends tgate. The connection comes from the configuration
    /// (`--config`, or `TGATE_CONFIG`; without one: localhost:7233, namespace `default`, the
    /// built-in policy).
    Run(RunArgs),
    /// Diagnose an integration's connection through the CLI and the native executor: unreachable,
    /// certificate, authentication or namespace-not-found (or tgate's own setup: no `temporal`
    /// binary), each with its fix. Exit 0 healthy, 1 problems found, 2 configuration error (the
    /// configuration, or a policy it names, does not load).
    Doctor(DoctorArgs),
    /// Work with policy files: lint, test, schema.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Read the audit log: verify its hash chain, export records, follow it.
    ///
    /// `tgate run` records every decision (durably, before any write is sent or any output
    /// shown) and every result in a hash-chained JSON Lines log; see docs/audit.md.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// List the approvals of gated commands: open ones by default (pending, or approved and not yet used).
    #[command(subcommand)]
    Approvals(ApprovalsCmd),
    /// Approve a gated command's request, as a second person (docs/approvals.md).
    ///
    /// Your identity is `--as` (or `TGATE_APPROVER`) and must differ from the requester's; when
    /// the configuration has an `approvers:` list you must be on it, and your groups come from
    /// it. Exit 0 when recorded, 3 when refused (your own request, not an approver, expired,
    /// rejected, used), 2 on an error.
    Approve(ApproveArgs),
    /// Reject a gated command's request (the requester may withdraw their own).
    ///
    /// Anyone who may approve it may reject it (with an `approvers:` list, the people on it).
    /// Exit 0 when recorded, 3 when refused, 2 on an error.
    Reject(RejectArgs),
}

/// Where the approval state is, and who is acting.
#[derive(Args, Debug)]
struct ApproverArgs {
    /// Configuration file (YAML): its `approvers:` list and `audit.path`. Default: `TGATE_CONFIG`.
    #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Audit log file; the approval store is `approvals.sqlite3` beside it. Default: as `tgate run`.
    #[arg(long = "audit", value_name = "FILE", env = "TGATE_AUDIT")]
    audit: Option<std::path::PathBuf>,
    /// Your identity (must not be the requester's).
    #[arg(long = "as", value_name = "APPROVER", env = "TGATE_APPROVER")]
    who: String,
}

#[derive(Args, Debug)]
struct ApproveArgs {
    /// The approval id tgate printed (all 26 characters).
    #[arg(value_name = "ID")]
    id: String,
    /// A comment, recorded with your approval.
    #[arg(long = "comment", value_name = "TEXT")]
    comment: Option<String>,
    #[command(flatten)]
    approver: ApproverArgs,
}

#[derive(Args, Debug)]
struct RejectArgs {
    /// The approval id tgate printed (all 26 characters).
    #[arg(value_name = "ID")]
    id: String,
    /// Why (required).
    #[arg(long = "comment", value_name = "TEXT", required = true)]
    comment: String,
    #[command(flatten)]
    approver: ApproverArgs,
}

#[derive(Subcommand, Debug)]
enum ApprovalsCmd {
    /// Approvals: open ones by default (pending, or approved and not yet used).
    ///
    /// Exit 0 (`no approvals` when there are none), 2 when the store cannot be read or nothing has
    /// been recorded at the audit location.
    List {
        /// Every approval kept (approved, used, rejected, expired too).
        #[arg(long = "all")]
        all: bool,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
        /// Configuration file (YAML), for `audit.path`. Default: `TGATE_CONFIG`.
        #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// Audit log file; the approval store is beside it. Default: as `tgate run`.
        #[arg(long = "audit", value_name = "FILE", env = "TGATE_AUDIT")]
        audit: Option<std::path::PathBuf>,
    },
}

/// Which audit log.
#[derive(Args, Debug)]
struct LogArgs {
    /// The audit log's active file (rotated files beside it are read too). Default:
    /// `TGATE_AUDIT`, else the configuration's `audit.path`, else
    /// `$XDG_STATE_HOME/tgate/audit.jsonl` or `~/.local/state/tgate/audit.jsonl`.
    #[arg(value_name = "PATH", env = "TGATE_AUDIT")]
    path: Option<std::path::PathBuf>,
    /// The audit log's active file, as `run`, `approve` and `approvals list` take it: the same as
    /// PATH (give one of them), and it wins over `TGATE_AUDIT`.
    #[arg(long = "audit", value_name = "FILE")]
    audit: Option<std::path::PathBuf>,
    /// Whether PATH came from `TGATE_AUDIT` ([`mark_log_from_environment`]).
    #[arg(skip)]
    path_from_environment: bool,
    /// Configuration file whose `audit.path` to use. Default: `TGATE_CONFIG`.
    #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// Check the hash chain across rotated files.
    ///
    /// Exit 0 when intact (prints the head: last sequence number and hash; keep it elsewhere to
    /// detect truncation later), 1 when damaged (prints the first broken sequence number and the
    /// kind of damage: edited, deleted, reordered, inserted, torn-tail), 2 when the log cannot be
    /// read.
    Verify {
        #[command(flatten)]
        log: LogArgs,
        /// Cut off a torn last line (a write cut short by a crash; never acknowledged), then
        /// verify. No other damage is repaired.
        #[arg(long = "repair")]
        repair: bool,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Stream matching records, oldest first, from the rotated (also gzip-compressed) files and
    /// the active one. Does not check the chain: use `verify`. Exit 1 when a line was skipped (a
    /// line that is no record as tgate writes them, or of another format version: each said on
    /// stderr), 2 when the log cannot be read.
    Export {
        #[command(flatten)]
        log: LogArgs,
        /// `jsonl`: the records as stored; `csv`: one row per record, stable columns
        /// (docs/audit.md); `ocsf`: OCSF 1.1 API Activity events, one per line.
        #[arg(long = "format", value_enum, default_value_t = crate::audit::export::Format::Jsonl)]
        format: crate::audit::export::Format,
        /// Records at or after this time: RFC 3339 (2026-05-01T10:00:00Z) or a duration ago (2h).
        #[arg(long = "since", value_name = "TIME")]
        since: Option<String>,
        /// Records before this time: RFC 3339 or a duration ago.
        #[arg(long = "until", value_name = "TIME")]
        until: Option<String>,
        /// Only this caller.
        #[arg(long = "caller", value_name = "ID")]
        caller: Option<String>,
        /// Only this namespace.
        #[arg(long = "namespace", value_name = "NS")]
        namespace: Option<String>,
        /// Only this decision (both records of matching requests).
        #[arg(long = "decision", value_enum)]
        decision: Option<DecisionArg>,
        /// Only this command path (`workflow terminate`) or group (`workflow`).
        #[arg(long = "command", value_name = "PATH")]
        command: Option<String>,
    },
    /// Show the last records in a readable form; with -f, keep showing new ones.
    ///
    /// Exit 0, 2 when the log cannot be read; with -f it runs until interrupted (Ctrl-C: 130,
    /// as a program the signal ends).
    Tail {
        #[command(flatten)]
        log: LogArgs,
        /// How many records to show first.
        #[arg(short = 'n', long = "lines", default_value_t = 10)]
        lines: usize,
        /// Follow: wait for new records (across rotation) until interrupted.
        #[arg(short = 'f', long = "follow")]
        follow: bool,
    },
    /// Append synthetic records from many threads (tests and benchmarks only).
    #[command(hide = true)]
    Stress {
        /// The log to write (required: never the default log).
        #[arg(value_name = "PATH")]
        path: std::path::PathBuf,
        /// Writer threads.
        #[arg(long = "threads", default_value_t = 8)]
        threads: usize,
        /// Records per thread.
        #[arg(long = "records", default_value_t = 1000)]
        records: usize,
        /// Print each acknowledged sequence number on its own line, once its append returned.
        #[arg(long = "acks")]
        acks: bool,
        /// Rotate at this size.
        #[arg(long = "max-file-bytes", default_value_t = crate::audit::log::DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
    },
}

/// A decision, as `--decision` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DecisionArg {
    Allow,
    #[value(name = "require_approval", alias = "require-approval")]
    RequireApproval,
    Deny,
}

impl From<DecisionArg> for Decision {
    fn from(d: DecisionArg) -> Decision {
        match d {
            DecisionArg::Allow => Decision::Allow,
            DecisionArg::RequireApproval => Decision::RequireApproval,
            DecisionArg::Deny => Decision::Deny,
        }
    }
}

/// Who is asking.
#[derive(Args, Debug)]
struct CallerArgs {
    /// Caller identity (for `run`, Temporal records it as `tgate:<caller>`).
    #[arg(long = "caller", value_name = "ID", default_value = "agent")]
    caller: String,
    /// A group the caller belongs to (printable, without `;`). Repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    group: Vec<String>,
}

impl CallerArgs {
    /// The caller, once its id and groups are names a person can read: not empty, at most 200
    /// characters, none of the characters the lexer refuses (controls, bidirectional controls,
    /// line separators, invisible ones, towers of combining marks). They go into the audit log,
    /// the approval store, approval prompts and Temporal's history (`--identity tgate:<caller>`),
    /// where such characters could forge lines or make one name look like another.
    fn checked(&self) -> Result<Caller, Failure> {
        // The message shows which value (escaped, its first 40 characters).
        // Nor white space around it: a policy's caller and group patterns may not have any, so
        // ` agent` could match none of them, and its rate limit would count apart (QA).
        let check = |what: &str, value: &str| {
            lex::check_name(what, value, 200).map_err(|problem| {
                let why = match problem {
                    lex::NameProblem::Unreadable(why) => why,
                    lex::NameProblem::Padded => format!("the {what} has spaces around it"),
                };
                let shown: String = value.chars().take(40).collect();
                let more = if shown.len() < value.len() { "..." } else { "" };
                Failure(format!("{why}: {}{more}", lex::quote_for_people(&shown)))
            })
        };
        check("--caller", &self.caller)?;
        for g in &self.group {
            check("--group", g)?;
            if let Some(why) = crate::audit::export::group_unjoinable(g) {
                return Err(Failure(format!(
                    "the --group {} {why}",
                    lex::quote_for_people(g)
                )));
            }
        }
        Ok(Caller {
            id: self.caller.clone(),
            groups: self.group.clone(),
        })
    }
}

/// The integration's default namespace, for judging without a configuration.
#[derive(Args, Debug)]
struct DefaultNamespaceArg {
    /// The integration's default namespace, as `tgate run` would use it: what `$default` means in
    /// policies, and where a command naming no namespace runs.
    #[arg(
        long = "default-namespace",
        value_name = "NS",
        default_value = "default",
        value_parser = namespace_arg
    )]
    default_namespace: String,
}

/// A namespace given on tgate's command line, checked as the configuration's are.
fn namespace_arg(ns: &str) -> Result<String, String> {
    crate::connect::check_namespace(ns).map(|()| ns.to_owned())
}

impl DefaultNamespaceArg {
    fn context(&self) -> Context {
        Context {
            default_namespace: self.default_namespace.clone(),
        }
    }
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Policy file (YAML). Repeatable; rules of all files are pooled, the strictest decision wins.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<std::path::PathBuf>,
    /// Judge as `tgate run --config FILE` would: with the configuration's policies (unless
    /// --policy) and its integration's namespace. Default: `TGATE_CONFIG`, as for `run`.
    #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The integration whose namespace applies (default: the configuration's default).
    #[arg(long = "integration", value_name = "NAME")]
    integration: Option<String>,
    #[command(flatten)]
    caller: CallerArgs,
    /// Judge without a configuration, as `tgate run` would with an integration whose default
    /// namespace is NS: what `$default` means in policies, and where a command naming no
    /// namespace runs. Default: `default`. Not with a configuration (--config or TGATE_CONFIG).
    #[arg(long = "default-namespace", value_name = "NS", value_parser = namespace_arg)]
    default_namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
    /// List every rule with why it matched or not.
    #[arg(long = "explain")]
    explain: bool,
    /// The justification `tgate run --justification` would carry (for rules that require one).
    #[arg(long = "justification", value_name = "TEXT")]
    justification: Option<String>,
    /// The command line: one string, or the words of an argv (after `--`). Put `--` before a
    /// line that comes from someone else (`-- "$LINE"`): without it, one that begins with `-`
    /// is read as tgate's own option.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "COMMAND")]
    line: Vec<String>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Configuration file (YAML). Default: `TGATE_CONFIG`, else the embedded default.
    #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Integration to use (default: the configuration's default integration).
    #[arg(long = "integration", value_name = "NAME")]
    integration: Option<String>,
    /// Executor: `cli` (the pinned binary), `grpc` (native only; untranslated commands are
    /// refused), `auto` (native where translated, else the CLI).
    #[arg(long = "backend", value_enum)]
    backend: Option<crate::connect::Backend>,
    /// Policy file, replacing the configuration's policies. Repeatable.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<std::path::PathBuf>,
    /// Audit log file, replacing the configuration's `audit.path` (default:
    /// `$XDG_STATE_HOME/tgate/audit.jsonl`, else `~/.local/state/tgate/audit.jsonl`). If the
    /// decision cannot be recorded there, nothing runs (exit 2).
    #[arg(long = "audit", value_name = "FILE", env = "TGATE_AUDIT")]
    audit: Option<std::path::PathBuf>,
    /// Why you run this (e.g. an incident ticket), for rules that require a justification;
    /// shown to approvers as given and recorded (a gated command's must hold nothing that looks
    /// like a secret; none may hold an integration's API key).
    #[arg(long = "justification", value_name = "TEXT")]
    justification: Option<String>,
    /// Run a gated command under this approval (the same command, caller, integration and
    /// namespace that were approved). Without it, an approved request for the identical command
    /// is found and used. A run that sends nothing of the command (its time used up first, a
    /// stop signal, a CLI that cannot start) gives the approval back.
    #[arg(long = "approval", value_name = "ID")]
    approval: Option<String>,
    #[command(flatten)]
    caller: CallerArgs,
    /// The command line: one string, or the words of an argv (after `--`). Put `--` before a
    /// line that comes from someone else (`-- "$LINE"`): without it, one that begins with `-`
    /// is read as tgate's own option.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "COMMAND")]
    line: Vec<String>,
}

#[derive(Args, Debug)]
struct DoctorArgs {
    /// Configuration file (YAML). Default: `TGATE_CONFIG`, else the embedded default.
    #[arg(long = "config", value_name = "FILE", env = "TGATE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Integration to diagnose (default: the configuration's default integration).
    #[arg(long = "integration", value_name = "NAME")]
    integration: Option<String>,
    /// The executors to try, as `tgate run` uses them: `cli` the `temporal` binary, `grpc` the
    /// native executor, `auto` both (default: the configuration's `backend`).
    // Not `run`'s descriptions of the values (QA: "a command that is not translated is refused
    // (exit 2)" said nothing true of doctor).
    #[arg(long = "backend", value_enum, hide_possible_values = true)]
    backend: Option<crate::connect::Backend>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
}

#[derive(Subcommand, Debug)]
enum PolicyCmd {
    /// Report invalid regexes and globs, unknown commands and flags, rules shadowed by stricter
    /// ones, rules that can never match, conditions anything meets, deny and approval rules
    /// bounded by a workflow or activity id whose batch form (`--query`) another rule lets
    /// through (within a file and across the files given), failing embedded tests, and files
    /// that cannot be pooled (as `tgate run` pools them). Exit 0 clean, 1 on any finding (a file
    /// that does not load included), 2 when a file cannot be read.
    Lint {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
        #[command(flatten)]
        ns: DefaultNamespaceArg,
    },
    /// Run the tests embedded in policy files. Exit 1 if any fails, 2 if a policy does not load.
    Test {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
        #[command(flatten)]
        ns: DefaultNamespaceArg,
    },
    /// Print the JSON Schema of the policy file format.
    Schema,
}

#[derive(Args, Debug)]
struct ParseArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Also accept this path as the program word (e.g. /usr/local/bin/temporal). Repeatable.
    #[arg(long = "program", value_name = "PATH")]
    program: Vec<String>,
    /// The command line: one string, or the words of an argv (after `--`). Put `--` before a
    /// line that comes from someone else (`-- "$LINE"`): without it, one that begins with `-`
    /// is read as tgate's own option.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "COMMAND")]
    line: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs tgate with `args` (including the program name), writing to `out` and `err`.
pub fn main_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if let Err(e) = crate::diag::init() {
        return finish(Err(Failure(e)), err);
    }
    if let Some(a) = run_args_alone(&args) {
        return finish_run(run_cmd(a, out, err), err);
    }
    let parse = |command: clap::Command| {
        command.try_get_matches_from(&args).and_then(|m| {
            let mut cli = Cli::from_arg_matches(&m)?;
            mark_log_from_environment(&mut cli, &m);
            Ok(cli)
        })
    };
    let parsed = parse(<Cli as clap::CommandFactory>::command()).or_else(|e| {
        // An `audit` subcommand's PATH from `TGATE_AUDIT`, set but empty, with `--audit` typed:
        // the flag wins over the variable as it does over a variable that has a value, so the
        // variable is not read (review: it was refused as empty though it was not used).
        let path_from_empty_variable = e.kind() == clap::error::ErrorKind::InvalidValue
            && matches!(
                e.get(clap::error::ContextKind::InvalidArg),
                Some(clap::error::ContextValue::String(arg)) if arg == "[PATH]"
            )
            && std::env::var_os("TGATE_AUDIT").is_some_and(|v| v.is_empty())
            && args.iter().any(|a| {
                a.to_str()
                    .is_some_and(|a| a == "--audit" || a.starts_with("--audit="))
            });
        if !path_from_empty_variable {
            return Err(e);
        }
        let unset = |log: clap::Command| log.mut_arg("path", |p| p.env(None));
        let again = parse(<Cli as clap::CommandFactory>::command().mut_subcommand(
            "audit",
            |audit| {
                audit
                    .mut_subcommand("verify", unset)
                    .mut_subcommand("export", unset)
                    .mut_subcommand("tail", unset)
            },
        ));
        // Only when `--audit` was the flag, not another flag's value; another error of the
        // command line is its own (a PATH typed empty beside `--audit`), not the variable's.
        match again {
            Ok(cli) if audit_flag_given(&cli) => Ok(cli),
            Ok(_) => Err(e),
            Err(other) => Err(other),
        }
    });
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            // The argument clap names given no value from its variable, set but empty (and the
            // argument not typed): said as such, not as a flag the user never typed given no
            // value (QA: `TGATE_CONFIG=` gave "a value is required for '--config <FILE>'"), nor
            // blamed for another argument's bad value (review). Not read as unset: an empty
            // TGATE_CONFIG (a template that did not render) would run with the built-in defaults
            // instead of the configuration meant.
            let invalid = match e.get(clap::error::ContextKind::InvalidArg) {
                Some(clap::error::ContextValue::String(arg)) => arg.as_str(),
                _ => "",
            };
            let typed = |flag: &str| {
                args.iter().any(|a| {
                    a.to_str()
                        .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
                })
            };
            // PATH's variable is not read when `--audit` is typed (it wins), so not blamed.
            let empty = VALUE_VARIABLES.iter().find(|(flag, var)| {
                (invalid.split(' ').next() == Some(*flag))
                    && std::env::var_os(var).is_some_and(|v| v.is_empty())
                    && !typed(flag)
                    && !(*flag == "[PATH]" && typed("--audit"))
            });
            if let (clap::error::ErrorKind::InvalidValue, Some((_, var))) = (e.kind(), empty) {
                return finish(
                    Err(Failure(format!(
                        "`{var}` is set but empty: give it a value, or unset it"
                    ))),
                    err,
                );
            }
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Ok
            };
            let text = e.render();
            // Styled (bold, colours) only for a person at a terminal, as clap does by itself;
            // an agent reading the stream gets plain text.
            use std::io::IsTerminal as _;
            let terminal = if e.use_stderr() {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            let styled = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let target: &mut dyn Write = if e.use_stderr() { err } else { out };
            let _ = if styled {
                write!(target, "{}", text.ansi())
            } else {
                write!(target, "{text}")
            };
            return code;
        }
    };
    let result = match cli.command {
        Sub::Parse(a) => parse_cmd(a, out),
        Sub::Check(a) => check_cmd(a, out),
        Sub::Run(a) => return finish_run(run_cmd(a, out, err), err),
        Sub::Doctor(a) => doctor_cmd(a, out),
        Sub::Policy(PolicyCmd::Lint { files, ns }) => lint_cmd(&files, &ns.context(), out),
        Sub::Policy(PolicyCmd::Test { files, ns }) => test_cmd(&files, &ns.context(), out),
        Sub::Policy(PolicyCmd::Schema) => {
            let text = serde_json::to_string_pretty(&policy::schema()).unwrap_or_default();
            write_out(out, &format!("{text}\n")).map(|()| ExitCode::Ok)
        }
        Sub::Audit(cmd) => audit_cmd(cmd, out, err),
        Sub::Approvals(ApprovalsCmd::List {
            all,
            output,
            config,
            audit,
        }) => approvals_list(all, output, config.as_deref(), audit.as_deref(), out),
        Sub::Approve(a) => act_cmd(
            &a.approver,
            &a.id,
            Act::Approve(a.comment.as_deref()),
            out,
            err,
        ),
        Sub::Reject(a) => act_cmd(&a.approver, &a.id, Act::Reject(&a.comment), out, err),
    };
    finish(result, err)
}

/// The environment variables clap takes arguments' values from (`env = ...` above), by the
/// argument's name as clap's errors give it (`--config <FILE>`, `[PATH]`).
const VALUE_VARIABLES: [(&str, &str); 4] = [
    ("--config", "TGATE_CONFIG"),
    ("--audit", "TGATE_AUDIT"),
    ("[PATH]", "TGATE_AUDIT"),
    ("--as", "TGATE_APPROVER"),
];

/// Whether an `audit` subcommand was given its log with `--audit`.
fn audit_flag_given(cli: &Cli) -> bool {
    matches!(
        &cli.command,
        Sub::Audit(
            AuditCmd::Verify { log, .. } | AuditCmd::Export { log, .. } | AuditCmd::Tail { log, .. }
        ) if log.audit.is_some()
    )
}

/// Notes on an `audit` subcommand's [`LogArgs`] whether its PATH came from `TGATE_AUDIT` rather
/// than the command line, which `--audit` given beside it overrides without a word (two logs
/// typed are refused: [`log_path`]).
fn mark_log_from_environment(cli: &mut Cli, matches: &clap::ArgMatches) {
    let log = match &mut cli.command {
        Sub::Audit(
            AuditCmd::Verify { log, .. }
            | AuditCmd::Export { log, .. }
            | AuditCmd::Tail { log, .. },
        ) => log,
        _ => return,
    };
    log.path_from_environment = matches
        .subcommand_matches("audit")
        .and_then(|a| a.subcommand())
        .and_then(|(_, m)| m.value_source("path"))
        == Some(clap::parser::ValueSource::EnvVariable);
}

/// A subcommand's exit code, or its failure reported (exit 2).
fn finish(result: Result<ExitCode, Failure>, err: &mut dyn Write) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            let _ = writeln!(err, "tgate: {msg}");
            ExitCode::Usage
        }
    }
}

/// [`finish`] for `tgate run`: a stop signal noted while its command was watched, when the run
/// ended in a failure before its result could be recorded (the audit log), ends tgate by it once
/// the failure is said.
fn finish_run(result: Result<ExitCode, Failure>, err: &mut dyn Write) -> ExitCode {
    // Marked as written for the caller: a stderr nobody reads cannot hold a stopped tgate.
    let mut err = crate::exec::stop::ForCaller(err);
    let code = finish(result, &mut err);
    crate::exec::stop::end_if_requested(|| {
        let _ = err.flush();
    });
    code
}

/// `tgate run …` parsed with the `run` arguments alone: clap builds every subcommand's arguments
/// (their help texts included) to parse any one, ~0.1 ms of a one-shot run's start. `None` when
/// the words are not `run` followed by a parse that succeeds without help or version: the full
/// parser then takes them, with its own messages (an error here is never reported).
fn run_args_alone(args: &[std::ffi::OsString]) -> Option<RunArgs> {
    if args.get(1).and_then(|a| a.to_str()) != Some("run") {
        return None;
    }
    let asks_help = |a: &std::ffi::OsString| {
        matches!(
            a.to_str(),
            Some("-h" | "--help" | "-V" | "--version" | "help") | None
        )
    };
    if args[2..].iter().any(asks_help) {
        return None;
    }
    let run = RunArgs::augment_args(clap::Command::new("run"));
    let matches = clap::Command::new("tgate")
        .subcommand(run)
        .try_get_matches_from(args)
        .ok()?;
    RunArgs::from_arg_matches(matches.subcommand_matches("run")?).ok()
}

/// An error that ends the subcommand with exit 2 and a message on stderr.
struct Failure(String);

/// Lexes (string form) or checks (argv form) and parses a command line.
pub fn read_command(line: &[String], program: &Program) -> Result<Command, String> {
    let argv = if line.len() == 1 {
        lex::lex_str(&line[0], program).map_err(|e| e.to_string())?
    } else {
        lex::lex_argv(line, program).map_err(|e| e.to_string())?
    };
    Command::parse(&argv).map_err(|e| e.to_string())
}

fn parse_cmd(a: ParseArgs, out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let program = Program::with_paths(a.program);
    let cmd = read_command(&a.line, &program).map_err(Failure)?;
    write_out(out, &format_as(a.output, &cmd, describe)?)?;
    Ok(ExitCode::Ok)
}

/// The value as pretty JSON, or as `text` renders it.
fn format_as<T: serde::Serialize>(
    format: Format,
    value: &T,
    text: fn(&T) -> String,
) -> Result<String, Failure> {
    match format {
        Format::Json => serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| Failure(e.to_string())),
        Format::Text => Ok(text(value)),
    }
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), Failure> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`tgate parse ... | head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure(e.to_string())),
        _ => Ok(()),
    }
}

/// The text form of a parsed command.
fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    let name = if cmd.path().name().is_empty() {
        "temporal".to_owned()
    } else {
        cmd.path().name().to_owned()
    };
    let ns = |n: Option<crate::command::Namespace>| n.map_or("-".to_owned(), |n| n.to_string());
    s.push_str(&format!("command:    {name}\n"));
    s.push_str(&format!("namespace:  {}\n", ns(cmd.namespace())));
    s.push_str(&format!("class:      {}\n", cmd.class().as_str()));
    s.push_str(&format!("batch:      {}\n", cmd.is_batch()));
    s.push_str(&format!("target:     {}\n", cmd.target()));
    if !cmd.flags().is_empty() {
        s.push_str("flags:\n");
        let width = cmd.flags().keys().map(|k| k.len()).max().unwrap_or(0) + 2;
        for (k, v) in &cmd.flags_redacted() {
            let shown = match v {
                Value::Str(x) | Value::Timestamp(x) => x.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            s.push_str(&format!("  {:width$}  {shown}\n", format!("--{k}")));
        }
    }
    if !cmd.args().is_empty() {
        s.push_str(&format!("args:       {}\n", cmd.args().join(" ")));
    }
    s.push_str(&format!("argv:       {}\n", cmd.render_line()));
    s
}

fn read_file(path: &std::path::Path) -> Result<String, Failure> {
    crate::connect::read_text(path)
        .map_err(|e| Failure(format!("cannot read policy `{}`: {e}", path.display())))
}

/// Loads the policies named (or the built-in one), each running its embedded tests unless
/// `tested` remembers them passing.
pub fn load_policies(
    paths: &[std::path::PathBuf],
    ctx: &Context,
    tested: Option<&policy::TestedCache>,
) -> Result<PolicySet, String> {
    if paths.is_empty() {
        let builtin = Policy::builtin(ctx).map_err(|e| e.to_string())?;
        return Ok(PolicySet::new(vec![builtin]));
    }
    let mut policies = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        // The same file under two names (`a.yaml`, `./a.yaml`) is given twice.
        let file = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if let Some(i) = files.iter().position(|f| *f == file) {
            return Err(format!(
                "policy `{}` is `{}` given again",
                p.display(),
                paths[i].display()
            ));
        }
        files.push(file);
        let text = read_file(p).map_err(|f| f.0)?;
        let source = p.display().to_string();
        policies.push(
            Policy::load_remembering(&text, &source, ctx, tested).map_err(|e| e.to_string())?,
        );
    }
    PolicySet::pooled(policies).map_err(|e| e.to_string())
}

/// Where `tgate run` remembers the policies that passed their tests: `policy-tests/` beside the
/// audit log at `audit` (tgate's state directory, with the approval store).
fn tested_cache(audit: &std::path::Path) -> Option<policy::TestedCache> {
    let dir = audit.parent().unwrap_or_else(|| std::path::Path::new("."));
    policy::TestedCache::new(dir.join("policy-tests"))
}

fn check_cmd(a: CheckArgs, out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let caller = a.caller.checked()?;
    // A configuration fixes the namespace through its integration; judging under another one
    // would predict nothing `run` does, so the two are refused together, whichever way the
    // configuration came (an agent's environment often sets TGATE_CONFIG).
    match (&a.config, &a.default_namespace, &a.integration) {
        (Some(path), Some(_), _) => {
            return Err(Failure(format!(
                "--default-namespace judges without a configuration, and one is given ({}, from \
                 --config or TGATE_CONFIG): its integration gives the namespace (choose one with \
                 --integration), or unset TGATE_CONFIG to judge without it",
                path.display()
            )));
        }
        (None, _, Some(_)) => {
            return Err(Failure(
                "--integration needs a configuration (--config FILE, or TGATE_CONFIG)".to_owned(),
            ));
        }
        _ => {}
    }
    // The configuration's API keys, kept out of what `check` prints (a line that holds one).
    let mut keys = Vec::new();
    let (ctx, policies, configuration) = match &a.config {
        Some(path) => {
            let config = load_config(Some(path), a.integration.as_deref())?;
            keys = config.api_keys();
            let integration = config
                .integration(a.integration.as_deref())
                .map_err(Failure)?;
            // As `run` refuses it before judging: TLS material that would not connect.
            if let Some(why) = unusable_material(integration) {
                return Err(Failure(why));
            }
            let (ctx, policies) = judged_with(&config, integration, &a.policy);
            // Said in the output: with TGATE_CONFIG, nothing on the command line shows it.
            let judged = JudgedWith {
                file: path.display().to_string(),
                integration: integration.name.clone(),
            };
            (ctx, policies.to_vec(), Some(judged))
        }
        None => (
            Context {
                default_namespace: a.default_namespace.unwrap_or_else(|| "default".to_owned()),
            },
            a.policy.clone(),
            None,
        ),
    };
    let set = load_policies(&policies, &ctx, None).map_err(Failure)?;
    // Judged as `tgate run` judges it: a command naming no namespace in the default one.
    let read = read_command(&a.line, &Program::default()).and_then(|cmd| {
        cmd.in_default_namespace(&ctx.default_namespace)
            .map_err(|e| e.to_string())
    });
    let (ev, code) = match read {
        Ok(_) if holds_a_key(&a.line, a.justification.as_deref(), &keys) => (
            Evaluation::unparsed(String::new())
                .denied("tgate:api-key-in-line", KEY_IN_LINE.to_owned()),
            ExitCode::Denied,
        ),
        Ok(cmd) => {
            let ev = set.evaluate_justified(&cmd, &caller, a.justification.as_deref(), a.explain);
            // As `run` refuses it.
            let recorded = kept_out(
                &crate::audit::redact::redact(&a.line),
                a.justification.as_deref(),
                &keys,
            )
            .justification;
            let ev = gated_justification(ev, a.justification.as_deref(), recorded.as_deref());
            let code = match ev.decision {
                Decision::Allow => ExitCode::Ok,
                Decision::RequireApproval => ExitCode::ApprovalRequired,
                Decision::Deny => ExitCode::Denied,
            };
            (ev, code)
        }
        Err(e) => (Evaluation::unparsed(e), ExitCode::Usage),
    };
    let checked = Checked {
        evaluation: &ev,
        configuration,
    };
    let text = format_as(a.output, &checked, describe_checked)?;
    write_out(out, &crate::audit::redact::scrub(&text, &keys))?;
    Ok(code)
}

/// What `check` prints: the evaluation, and the configuration it was judged with, if any.
#[derive(serde::Serialize)]
struct Checked<'a> {
    #[serde(flatten)]
    evaluation: &'a Evaluation,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<JudgedWith>,
}

/// The configuration file and integration a command was judged with.
#[derive(serde::Serialize)]
struct JudgedWith {
    file: String,
    integration: String,
}

fn describe_checked(c: &Checked<'_>) -> String {
    let ev = c.evaluation;
    let mut s = String::new();
    s.push_str(&format!("decision:   {}\n", ev.decision));
    s.push_str(&format!("rules:      {}\n", ev.rules.join(", ")));
    s.push_str(&format!("reason:     {}\n", ev.reason));
    if let Some(c) = &ev.command {
        s.push_str(&format!("command:    {c}\n"));
    }
    if let Some(n) = &ev.namespace {
        s.push_str(&format!("namespace:  {n}\n"));
    }
    if let Some(c) = ev.class {
        s.push_str(&format!("class:      {}\n", c.as_str()));
        s.push_str(&format!("batch:      {}\n", ev.batch));
    }
    let o = &ev.obligations;
    let mut caps = Vec::new();
    if let Some(v) = o.max_limit {
        caps.push(format!("--limit <= {v}"));
    }
    if let Some(v) = o.max_page_size {
        caps.push(format!("--page-size <= {v}"));
    }
    if let Some(v) = o.max_command_timeout {
        caps.push(format!(
            "--command-timeout <= {}",
            crate::command::GoDuration(v)
        ));
    }
    if !caps.is_empty() {
        s.push_str(&format!("obligations: {}\n", caps.join(", ")));
    }
    if !ev.argv.is_empty() {
        let quoted: Vec<String> = ev.argv.iter().map(|w| display_word(w)).collect();
        s.push_str(&format!("argv:       {}\n", quoted.join(" ")));
    }
    if let Some(j) = &c.configuration {
        s.push_str(&format!(
            "config:     {} (integration `{}`)\n",
            j.file, j.integration
        ));
    }
    if !ev.explain.is_empty() {
        s.push_str("explain:\n");
        for e in &ev.explain {
            let mark = if e.matched { "match" } else { "no   " };
            s.push_str(&format!(
                "  [{mark}] {} `{}` ({}): {}\n",
                e.policy, e.rule, e.decision, e.why
            ));
        }
    }
    s
}

fn display_word(w: &str) -> String {
    let safe = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=:,./@%+<>".contains(c));
    if safe {
        w.to_owned()
    } else {
        shlex::try_quote(w).map_or_else(|_| format!("{w:?}"), |q| q.into_owned())
    }
}

fn lint_cmd(
    files: &[std::path::PathBuf],
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let mut findings = 0;
    let mut errors = 0;
    let mut text = String::new();
    for f in files {
        let src = read_file(f)?;
        for finding in policy::lint(&src, &f.display().to_string(), ctx) {
            findings += 1;
            let sev = match finding.severity {
                policy::Severity::Error => {
                    errors += 1;
                    "error"
                }
                policy::Severity::Warning => "warning",
            };
            text.push_str(&format!("{sev}: {}\n", finding.message));
        }
    }
    // Files that each load may still not load together (`tgate run` pools them), and a rule of
    // one may let through the batch form that a rule of another bounds.
    if errors == 0 && files.len() > 1 {
        match load_policies(files, ctx, None) {
            Err(e) => {
                findings += 1;
                text.push_str(&format!("error: {e}\n"));
            }
            Ok(set) => {
                for finding in policy::pooled_batch_escapes(set.policies()) {
                    findings += 1;
                    text.push_str(&format!("warning: {}\n", finding.message));
                }
            }
        }
    }
    if findings == 0 {
        text.push_str(&format!("{} policy file(s): no findings\n", files.len()));
    }
    write_out(out, &text)?;
    Ok(if findings == 0 {
        ExitCode::Ok
    } else {
        ExitCode::CommandFailed
    })
}

fn test_cmd(
    files: &[std::path::PathBuf],
    ctx: &Context,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let mut text = String::new();
    let mut failed = false;
    for f in files {
        let src = read_file(f)?;
        let name = f.display().to_string();
        let (total, failures) =
            policy::test_file(&src, &name, ctx).map_err(|e| Failure(e.to_string()))?;
        for e in &failures {
            text.push_str(&format!("FAIL {e}\n"));
        }
        text.push_str(&format!(
            "{name}: {} passed, {} failed\n",
            total - failures.len(),
            failures.len()
        ));
        failed |= !failures.is_empty();
    }
    write_out(out, &text)?;
    Ok(if failed {
        ExitCode::CommandFailed
    } else {
        ExitCode::Ok
    })
}

/// The configuration file given, or the embedded default, read for `integration` (the default
/// one when `None`): the other integrations' secrets and certificates are not read.
fn load_config(
    path: Option<&std::path::Path>,
    integration: Option<&str>,
) -> Result<crate::connect::Config, Failure> {
    let config = match path {
        Some(p) => {
            crate::connect::Config::load_for(p, integration).map_err(|e| Failure(e.to_string()))?
        }
        None => crate::connect::Config::default(),
    };
    for key in config.api_keys() {
        crate::diag::hide(&key);
    }
    tracing::debug!(
        file = ?path.map_or("-".into(), |p| p.display().to_string()),
        integrations = config.integrations.len(),
        default_integration = ?config.default_integration,
        policies = config.policies.len(),
        backend = ?config.backend,
        "configuration loaded"
    );
    Ok(config)
}

/// What the commands that work on tgate's records need of the configuration (its audit log and
/// approvers), read without any integration's secrets ([`crate::connect::Config::load_records`]).
fn load_records_config(
    path: Option<&std::path::Path>,
) -> Result<crate::connect::RecordsConfig, Failure> {
    let config = match path {
        Some(p) => crate::connect::Config::load_records(p).map_err(|e| Failure(e.to_string()))?,
        None => crate::connect::RecordsConfig::default(),
    };
    tracing::debug!(
        file = ?path.map_or("-".into(), |p| p.display().to_string()),
        approvers = config.approvers.len(),
        audit = ?config.audit.path,
        "configuration loaded"
    );
    Ok(config)
}

/// The `temporal` binary: the configuration's, else `TGATE_TEMPORAL_BIN`, else `temporal` on PATH.
fn temporal_binary(config: &crate::connect::Config) -> Result<std::path::PathBuf, String> {
    if let Some(p) = &config.temporal {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("TGATE_TEMPORAL_BIN") {
        // As a relative `temporal:` is: from where tgate was started, not the child's directory.
        let p = std::path::PathBuf::from(p);
        return std::path::absolute(&p).map_err(|e| format!("TGATE_TEMPORAL_BIN: {e}"));
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|d| d.join("temporal"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "no `temporal` binary: set `temporal:` in the configuration or TGATE_TEMPORAL_BIN"
                .to_owned()
        })
}

/// The audit log's path: given explicitly, else the configuration's, else the state directory;
/// with symbolic links resolved ([`real_path`]).
fn audit_path(
    explicit: Option<&std::path::Path>,
    audit: &crate::connect::AuditConfig,
) -> Result<std::path::PathBuf, crate::audit::AuditError> {
    given_audit_path(explicit, audit).map(|p| real_path(&p))
}

/// `path` with its symbolic links resolved: the file's when it exists, else its directory's. The
/// log's lock, its rotated files and the approval store are found beside the file, so a log
/// reached through a link and by its own name must be one path (QA: two processes writing one
/// log, one through a link, took two locks and broke its chain).
fn real_path(path: &std::path::Path) -> std::path::PathBuf {
    // A directory's path stays one, to be refused as such (review: `./newlog/` became the file
    // `newlog`).
    if crate::connect::ends_in_slash(path) {
        return path.to_path_buf();
    }
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    // Not there yet: a link to a file to be made is followed to it (review: the first run took
    // its lock beside the link, and later ones beside the file), and the directory resolved (a
    // bare name's too: `./a.jsonl` and `a.jsonl` are one path).
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&p) else {
            break;
        };
        p = match p.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    match (std::fs::canonicalize(dir), p.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => p,
    }
}

fn given_audit_path(
    explicit: Option<&std::path::Path>,
    audit: &crate::connect::AuditConfig,
) -> Result<std::path::PathBuf, crate::audit::AuditError> {
    match explicit.or(audit.path.as_deref()) {
        // As in the configuration: no shell expands it (`TGATE_AUDIT='~/a.jsonl'` made a
        // directory named `~`; re-check QA).
        Some(p) if crate::connect::starts_with_tilde(p) => Err(crate::audit::AuditError::Io {
            path: p.display().to_string(),
            message: "tgate expands no `~` (no shell runs): give the full path".to_owned(),
        }),
        // Blank (`TGATE_AUDIT=' '`): a log named ` ` in the working directory is never what was
        // meant (QA).
        Some(p) if p.as_os_str().to_string_lossy().trim().is_empty() => {
            Err(crate::audit::AuditError::Io {
                path: p.display().to_string(),
                message: "the audit log's path is blank".to_owned(),
            })
        }
        // A directory's path: refused before anything is made beside it (review: its lock
        // file was).
        Some(p) if crate::connect::ends_in_slash(p) => Err(crate::audit::AuditError::Io {
            path: p.display().to_string(),
            message: "a directory's path (it ends in `/`): give the log file's".to_owned(),
        }),
        Some(p) => Ok(p.to_path_buf()),
        None => crate::audit::default_path(&|k| std::env::var(k).ok()),
    }
}

/// Why the integration's TLS material cannot be used, as `tgate doctor` checks it (PEM, validity
/// dates, the key matching the certificate): its first problem and fix.
fn unusable_material(integration: &crate::connect::Integration) -> Option<String> {
    let p = crate::connect::doctor::check_material_for_run(integration)
        .into_iter()
        .next()?;
    Some(format!(
        "integration `{}`: {}: {} (`tgate doctor` diagnoses it)",
        integration.name, p.problem, p.fix
    ))
}

/// What a command is judged with under `integration`: its namespace as `$default` (and where a
/// command naming none runs), and the policy files `given`, else the configuration's.
fn judged_with<'a>(
    config: &'a crate::connect::Config,
    integration: &crate::connect::Integration,
    given: &'a [std::path::PathBuf],
) -> (Context, &'a [std::path::PathBuf]) {
    let ctx = Context {
        default_namespace: integration.namespace.clone(),
    };
    (
        ctx,
        if given.is_empty() {
            &config.policies
        } else {
            given
        },
    )
}

/// What `tgate run` decided, and what it needs to run an allowed command.
struct Decided {
    ev: Evaluation,
    /// Set when the request failed before the policy could judge it (a line that does not parse,
    /// an unknown integration, a policy that does not load): denied, exit 2, this message.
    error: Option<String>,
    integration: Option<crate::connect::Integration>,
    target: Option<crate::command::Target>,
    /// The connection a write's workflow type was checked over ([`internal_by_type`]), kept for
    /// the native executor, and when the check began (the command's time limit counts from it).
    checked_over: Option<(crate::exec::grpc::Session, std::time::Instant)>,
    /// The stop-signal watch of a write, from its type check on (`None` if none was made, or
    /// the handlers could not be registered).
    watching: Option<crate::exec::stop::Watch>,
}

impl Decided {
    fn failed(rule: &str, message: String) -> Decided {
        let mut ev = Evaluation::unparsed(message.clone());
        ev.rules = vec![rule.to_owned()];
        Decided {
            ev,
            error: Some(message),
            integration: None,
            target: None,
            checked_over: None,
            watching: None,
        }
    }
}

fn decide(
    a: &RunArgs,
    config: &crate::connect::Config,
    caller: &Caller,
    audit: &std::path::Path,
) -> Decided {
    let cmd = match read_command(&a.line, &Program::default()) {
        Ok(c) => c,
        Err(e) => return Decided::failed("tgate:parse-error", e),
    };
    let integration = match config.integration(a.integration.as_deref()) {
        Ok(i) => i.clone(),
        Err(e) => return Decided::failed("tgate:config-error", e),
    };
    // Its TLS material, checked as `tgate doctor` checks it (PEM, validity dates, the key
    // matching the certificate), before anything is judged, connected or run: a refusal recorded
    // as a configuration error.
    if let Some(why) = unusable_material(&integration) {
        return Decided {
            integration: Some(integration.clone()),
            ..Decided::failed("tgate:config-error", why)
        };
    }
    let (ctx, policy_paths) = judged_with(config, &integration, &a.policy);
    let loaded = std::time::Instant::now();
    // (The built-in policy runs no tests at load: nothing to remember.)
    let tested = (!policy_paths.is_empty())
        .then(|| tested_cache(audit))
        .flatten();
    let set = match load_policies(policy_paths, &ctx, tested.as_ref()) {
        Ok(s) => s,
        Err(e) => return Decided::failed("tgate:config-error", e),
    };
    tracing::debug!(
        files = policy_paths.len(),
        builtin = policy_paths.is_empty(),
        us = crate::diag::micros(loaded),
        "policies loaded"
    );
    // A command that names no namespace runs in the integration's default namespace: made
    // explicit before judging, so the policy sees the namespace that will be used.
    let cmd = match cmd.in_default_namespace(&integration.namespace) {
        Ok(c) => c,
        Err(e) => return Decided::failed("tgate:parse-error", e.to_string()),
    };
    let ev = set.evaluate_justified(&cmd, caller, a.justification.as_deref(), false);
    // A line that holds an integration's API key is refused before anything is gated, stored,
    // sent or run: an agent has no business with the key, an approval request would keep it in
    // the store and show it to approvers (re-check QA), and the type check would send it to the
    // server (review).
    let (ev, checked_over, watching) =
        if holds_a_key(&a.line, a.justification.as_deref(), &config.api_keys()) {
            (
                ev.denied("tgate:api-key-in-line", KEY_IN_LINE.to_owned()),
                None,
                None,
            )
        } else {
            let backend = a.backend.unwrap_or(config.backend);
            internal_by_type(ev, &cmd, &integration, &config.limits, backend)
        };
    Decided {
        target: Some(cmd.target()),
        ev,
        error: None,
        integration: Some(integration),
        checked_over,
        watching,
    }
}

/// `ev` denied if `cmd` changes one workflow that is one of those Temporal runs for itself, by its
/// type (`temporal-sys-batch-workflow`...), which the policy cannot see: a batch job's workflow
/// has an ordinary id, a UUID (security re-check: `workflow reset -w <job id>`, allowed by a rule
/// on resets, ran an admin's batch delete again). tgate asks the server
/// (`DescribeWorkflowExecution` of the latest run, and of the run the command names; for `reset
/// -t LastContinuedAsNew`, also of the run it resets, the one before) before the decision is
/// recorded, and denies what it cannot check (fail closed). A workflow that does not
/// exist passes: the command fails there as it would have, or starts it. Reads are not checked.
///
/// The check is watched for stop signals, as the write itself is: a stop while it waits ends it,
/// and the write is denied and recorded so before tgate ends by the signal. Also returned: the
/// connection the check was made over (kept for the native executor) with when the check began
/// (the command's time limit counts from then), and the watch.
fn internal_by_type(
    ev: Evaluation,
    cmd: &crate::command::Command,
    integration: &crate::connect::Integration,
    limits: &crate::connect::Limits,
    backend: crate::connect::Backend,
) -> (
    Evaluation,
    Option<(crate::exec::grpc::Session, std::time::Instant)>,
    Option<crate::exec::stop::Watch>,
) {
    use crate::command::Target;
    use crate::exec::grpc::{ProbeFailure, Session, code_name};
    // (A schedule's `--workflow-id` names the workflows it will start, not one to write to.)
    if ev.decision == Decision::Deny
        || cmd.class() == crate::command::EffectClass::Read
        || cmd.path().name().starts_with("schedule ")
    {
        return (ev, None, None);
    }
    // A write `--backend grpc` cannot run is refused before anything is sent: no check (QA: it
    // was made, and a slow server turned the refusal into a denial). A gated one is refused
    // before its approval is claimed (`run_cmd`).
    if backend == crate::connect::Backend::Grpc
        && ev
            .effective
            .as_ref()
            .is_some_and(|e| crate::exec::grpc::translated(e).is_err())
    {
        return (ev, None, None);
    }
    let (workflow_id, run_id) = match cmd.target() {
        Target::Workflow {
            workflow_id,
            run_id,
        }
        | Target::Activity {
            workflow_id: Some(workflow_id),
            run_id,
            ..
        } => (workflow_id, run_id),
        _ => return (ev, None, None),
    };
    let watching = watch_early();
    let wf = workflow_id.as_str();
    let namespace = cmd.namespace().map(|n| n.to_string()).unwrap_or_default();
    // The command's time limit counts from here: the check, then the write, share it (QA: a
    // check slow to answer, then the write, took twice the limit).
    let started = std::time::Instant::now();
    let bound = limits.timeout.min(crate::exec::grpc::CONNECT_TIMEOUT);
    // The command's own `--command-timeout` counts from here too, as it does for the write that
    // follows (QA: a check that took longer did not count against it); the one it will run
    // with, a policy's obligation applied (review).
    let own = crate::exec::grpc::command_timeout(ev.effective.as_ref().unwrap_or(cmd));
    let (time, by_own) = crate::exec::grpc::run_bound(own, limits.timeout);
    // Each call's time: at most `bound`, and what is left of the command's.
    let timeout = || time.saturating_sub(started.elapsed()).min(bound);
    // The latest run, which a write to an older one may end too (a reset of an older run ends
    // the running one), and the run named, if any. A start's `--run-id` names no run it writes
    // to (update-with-start's is refused by the SDK): the latest run alone (final QA).
    let named = run_id
        .as_ref()
        .map(|r| r.as_str())
        .filter(|r| !r.is_empty() && !cmd.path().starts_a_workflow());
    let internal = |ty: &Option<String>| {
        ty.as_deref()
            .is_some_and(|t| t.starts_with(crate::policy::INTERNAL_WORKFLOW_PREFIX))
    };
    let mut session = None;
    let found = Session::connect_within(integration, limits, own)
        .map_err(|e| ProbeFailure::Connect(e.to_string()))
        .and_then(|s| {
            let s = session.insert(s);
            let latest = s.workflow_type(&namespace, wf, None, timeout())?;
            if internal(&latest) {
                return Ok(latest);
            }
            let checked = match named {
                Some(run) => s.workflow_type(&namespace, wf, Some(run), timeout())?,
                None => latest,
            };
            if internal(&checked) || !resets_the_run_before(cmd) {
                return Ok(checked);
            }
            // `reset -t LastContinuedAsNew` resets the run the named (else latest) one
            // continued from, which may be of another type: that one too.
            match s.continued_from(&namespace, wf, named, timeout())? {
                Some(before) => s.workflow_type(&namespace, wf, Some(&before), timeout()),
                None => Ok(checked),
            }
        });
    tracing::debug!(
        found = ?crate::diag::capped(&found.as_ref().ok()),
        us = crate::diag::micros(started),
        "workflow type checked"
    );
    let ev = match found {
        Ok(Some(ty)) if ty.starts_with(crate::policy::INTERNAL_WORKFLOW_PREFIX) => ev.denied(
            "tgate:internal-workflow",
            format!(
                "workflow `{wf}` is one of Temporal's own (type `{ty}`: it runs a schedule, a batch job or a worker deployment): use the command made for what it manages"
            ),
        ),
        Ok(_) => ev,
        Err(e) => {
            let why = match e {
                // Its connection cut by the command's own timeout (QA: it read as a connection
                // problem alone).
                ProbeFailure::Connect(m) if by_own && timeout().is_zero() => {
                    format!("{m}: the command's --command-timeout ({time:?}) ran out")
                }
                ProbeFailure::Connect(m) => m,
                ProbeFailure::Call { code, message, .. } => {
                    format!("{}: {message}", code_name(code))
                }
                ProbeFailure::Timeout(t) if t < bound && by_own => {
                    format!("no answer within the command's --command-timeout ({time:?})")
                }
                ProbeFailure::Timeout(t) if t < bound => {
                    format!("no answer within the {:?} time limit", limits.timeout)
                }
                ProbeFailure::Timeout(t) => format!("no answer within {t:?}"),
                ProbeFailure::Stopped(name) => format!("stopped by {name}"),
            };
            ev.denied(
                "tgate:workflow-type",
                format!(
                    "tgate checks the type of workflow `{wf}` before a write to it, and could not: {why}"
                ),
            )
        }
    };
    (ev, session.map(|s| (s, started)), watching)
}

/// Whether `cmd` is a single `workflow reset` to `LastContinuedAsNew`: it resets the run that
/// the one it names continued from, not that one.
fn resets_the_run_before(cmd: &crate::command::Command) -> bool {
    use crate::command::CommandPath as C;
    matches!(
        cmd.path(),
        C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions
    ) && !cmd.is_batch()
        && cmd.flag_str("type") == Some("LastContinuedAsNew")
}

/// What the approval store did for one `tgate run`.
#[derive(Default)]
struct Gate {
    /// Approvals found past their expiry (each reported once, by whichever process saw it).
    expired: Vec<crate::approval::Approval>,
    /// The request this run created.
    requested: Option<crate::approval::Approval>,
    /// The approval this run waits on (created now or earlier).
    pending: Option<crate::approval::Approval>,
    /// The approval this run claimed: its command runs now, once.
    used: Option<crate::approval::Approval>,
    /// The rate limits this run counted against, and when.
    counted: Option<(Vec<crate::policy::RateLimit>, std::time::SystemTime)>,
}

/// Gives back the approval `gated` claimed, and the rate limits' counts it took, for a command
/// that did not run, nothing of it sent, and says so. The approval's return is recorded
/// (`approval_returned`, after the run's result) before it is made: an approval is never
/// claimable again without a record saying why (review: made first, a log that then failed, or a
/// kill in between, left it claimable with none). What cannot be recorded or given back stays
/// used (fail closed), and that is said too.
fn give_back(
    store: &std::path::Path,
    gated: &Gate,
    request_id: &str,
    log: &crate::audit::AuditLog,
    keys: &[String],
    err: &mut dyn Write,
) {
    use crate::approval::{SqliteStore, State, Store};
    if gated.used.is_none() && gated.counted.is_none() {
        return;
    }
    let count_stays = |err: &mut dyn Write, why: &str| {
        if gated.counted.is_some() {
            let _ = writeln!(err, "tgate: the rate limit's count stays taken: {why}");
        }
    };
    let approval_stays = |err: &mut dyn Write, why: &str| {
        if let Some(used) = &gated.used {
            let _ = writeln!(err, "tgate: approval {} stays used: {why}", used.id);
        }
    };
    let store = match SqliteStore::open(store).map_err(|e| e.to_string()) {
        Ok(s) => s,
        Err(e) => {
            count_stays(err, &e);
            return approval_stays(err, &e);
        }
    };
    if let Some((rates, at)) = &gated.counted
        && let Err(e) = store.return_counts(rates, *at)
    {
        count_stays(err, &e.to_string());
    }
    let Some(used) = &gated.used else {
        return;
    };
    let Some(at) = used.used_at else {
        return approval_stays(err, "it has no time of use");
    };
    let record = approval_entry(
        crate::audit::Kind::ApprovalReturned,
        used,
        &used.command.caller,
        Some("the command did not run, and nothing of it was sent"),
        crate::audit::Channel::Cli,
    );
    if let Err(e) = log.append(
        &crate::audit::Entry {
            request_id: request_id.to_owned(),
            ..record
        }
        .scrubbed(keys),
    ) {
        return approval_stays(err, &format!("its return could not be recorded: {e}"));
    }
    match store.unclaim(&used.id, at, std::time::SystemTime::now()) {
        Ok(back) if back.state == State::Approved => {
            let _ = writeln!(
                err,
                "tgate: approval {} was not used: the same command runs with it until it expires",
                back.id
            );
        }
        Ok(back) => {
            let _ = writeln!(
                err,
                "tgate: approval {} was not used, and has expired since",
                back.id
            );
        }
        // Recorded as returned, and still used: the record errs on the side that runs nothing.
        Err(e) => approval_stays(err, &e.to_string()),
    }
}

/// The approval store beside the audit log `audit`, for the commands that read approvals or
/// decide on them, which never make one (QA: a mistyped `--audit` made a directory and an empty
/// store, and `approvals list` said `no approvals`, as it would to an approver looking in the
/// wrong place). `None` when tgate has recorded at that location (the log is there) but no request
/// has been made yet; an error naming the place when neither the log nor the store is there.
/// Each counts only as a regular file, symbolic links followed as the log's readers follow them
/// (review: a directory or a dangling link counted, and a dangling link to a store was created).
/// For `writes` (approve, reject), whose step is recorded in the log, a store without its log is
/// an error too: a new log would begin there as if none had been before (review).
fn existing_store(
    audit: &std::path::Path,
    writes: bool,
) -> Result<Option<crate::approval::SqliteStore>, Failure> {
    let is_file = |p: &std::path::Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    let path = approval_store_path(audit);
    // An empty file is no store yet: SQLite would write one into it (re-check QA).
    let store = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() > 0);
    match (store, is_file(audit)) {
        (true, false) if writes => Err(Failure(format!(
            "the approval store `{}` is there but not the audit log `{}` (moved, or deleted?): \
             an approval is not decided without its record",
            path.display(),
            audit.display()
        ))),
        (true, _) => crate::approval::SqliteStore::open(&path)
            .map(Some)
            .map_err(|e| Failure(e.to_string())),
        (false, true) => Ok(None),
        (false, false) => Err(Failure(format!(
            "no audit log or approval store at `{}`: nothing has been recorded there; is it \
             where `tgate run` records (`--audit`, `TGATE_AUDIT`, the configuration's \
             `audit.path`)?",
            audit.display()
        ))),
    }
}

/// The approval store of the audit log at `audit`: `approvals.sqlite3` beside it.
fn approval_store_path(audit: &std::path::Path) -> std::path::PathBuf {
    audit
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(crate::approval::STORE_FILE)
}

/// Why `--backend grpc` did not run a command the CLI could: `why` the native executor could not.
fn use_another_backend(why: &str) -> String {
    format!("not run natively ({why}); use --backend auto or cli")
}

/// Whether `ev`'s decision uses something of the approval store up when the command runs: an
/// approval (gated), or a rate limit's count (allowed, with limits).
fn gated_or_limited(ev: &Evaluation) -> (bool, bool) {
    (
        ev.decision == Decision::RequireApproval,
        ev.decision == Decision::Allow && !ev.requires.rates.is_empty(),
    )
}

/// Applies the deciding rules' approval and rate limits to `decided`: a `require_approval`
/// command runs (becomes allowed) only by claiming an approval of exactly this command; without
/// one, a request is created (or the open one named). A used-up rate limit, or an approval that
/// cannot be used, turns the decision into a deny. `Err`: the store failed (fail closed).
fn gate(
    a: &RunArgs,
    justification: Option<&str>,
    listed: &[(String, Vec<String>)],
    store_path: &std::path::Path,
    caller: &Caller,
    decided: &mut Decided,
) -> Result<Gate, String> {
    use crate::approval::{
        ApprovalError, ApprovalId, CanonicalCommand, NewApproval, SqliteStore, State, Store, Terms,
    };
    let ev = &decided.ev;
    let (gated, limited) = gated_or_limited(ev);
    if a.approval.is_some() && !gated {
        if matches!(ev.decision, Decision::Allow) {
            // Nothing to approve: refuse rather than silently ignore the id.
            decided.ev = ev.clone().denied(
                "tgate:approval",
                "this command needs no approval; run it without --approval".to_owned(),
            );
        }
        return Ok(Gate::default());
    }
    if !gated && !limited {
        return Ok(Gate::default());
    }
    let store = SqliteStore::open(store_path).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now();
    let mut g = Gate {
        expired: store.expire(now).map_err(|e| e.to_string())?,
        ..Gate::default()
    };
    let deny =
        |ev: &Evaluation, rule: &str, e: ApprovalError| ev.clone().denied(rule, e.to_string());
    if limited {
        match store.try_acquire(&ev.requires.rates, now) {
            Ok(()) => g.counted = Some((ev.requires.rates.clone(), now)),
            Err(e @ ApprovalError::RateLimited(_)) => decided.ev = deny(ev, "tgate:rate-limit", e),
            Err(e) => return Err(e.to_string()),
        }
        return Ok(g);
    }
    let (Some(cmd), Some(integration), Some(namespace)) =
        (&ev.effective, &decided.integration, &ev.namespace)
    else {
        return Err("a gated command without a command, integration or namespace".to_owned());
    };
    let canonical = CanonicalCommand::new(&caller.id, &integration.name, namespace, cmd);
    let Some(requirement) = &ev.requires.approval else {
        return Err("a gated command without an approval requirement".to_owned());
    };
    // What an approval must cover now: the policy may have tightened since it was requested,
    // and the configuration's list of approvers is this run's, not the approver's.
    let terms = Terms {
        listed: Some(listed.to_vec()),
        ..Terms::new(requirement, justification)
    };
    let claimed = match &a.approval {
        Some(text) => {
            let claim = ApprovalId::parse(text).and_then(|id| {
                store
                    .claim(&id, &canonical, &terms, now)
                    .map_err(|e| match e {
                        // Waited for only when it could be used once approved: one already
                        // granted on other terms, or approved by someone the run's list does
                        // not take, is refused now rather than after a whole round of approvals
                        // (review).
                        ApprovalError::NotApproved { .. } => match store.get(&id, now) {
                            Ok(ap) => ap.refusal(&terms, now).unwrap_or_else(|| {
                                g.pending = Some(ap);
                                e
                            }),
                            Err(_) => e,
                        },
                        other => other,
                    })
            });
            match claim {
                Ok(ap) => Some(ap),
                Err(ApprovalError::NotApproved { .. }) => None,
                Err(e @ ApprovalError::Storage { .. }) => return Err(e.to_string()),
                Err(e) => {
                    decided.ev = deny(ev, "tgate:approval", e);
                    return Ok(g);
                }
            }
        }
        None => store
            .claim_matching(&canonical, &terms, now)
            .map_err(|e| e.to_string())?,
    };
    if let Some(ap) = claimed {
        let mut ev = ev.clone();
        ev.decision = Decision::Allow;
        ev.reason = format!("{} ({})", approved_by(&ap), ev.reason);
        decided.ev = ev;
        g.used = Some(ap);
        return Ok(g);
    }
    if g.pending.is_none() {
        g.pending = store
            .matching(&canonical, now)
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|ap| ap.state == State::Pending && ap.covers(&terms, now));
    }
    if g.pending.is_none() {
        // A new request counts against the rule's rate limit.
        match store.try_acquire(&ev.requires.rates, now) {
            Ok(()) => {}
            Err(e @ ApprovalError::RateLimited(_)) => {
                decided.ev = deny(ev, "tgate:rate-limit", e);
                return Ok(g);
            }
            Err(e) => return Err(e.to_string()),
        }
        let new = NewApproval::from_evaluation(
            ev,
            &caller.id,
            &integration.name,
            namespace,
            justification,
        )
        .ok_or_else(|| "a gated command without an approval requirement".to_owned())?;
        let created = store.create(new, now).map_err(|e| e.to_string())?;
        g.pending = Some(created.clone());
        g.requested = Some(created);
    }
    Ok(g)
}

/// `approved by alice, bob`: who approved `ap`, as the decision that uses it and its
/// `approval_used` record say.
fn approved_by(ap: &crate::approval::Approval) -> String {
    let by: Vec<&str> = ap.approvals.iter().map(|v| v.by.as_str()).collect();
    format!("approved by {}", by.join(", "))
}

/// What the caller of a gated command is told: the approval's id and how it is approved.
fn pending_text(ap: &crate::approval::Approval, new: bool) -> String {
    let groups = if ap.approver_groups.is_empty() {
        String::new()
    } else {
        let lists: Vec<String> = ap.approver_groups.iter().map(|g| g.join(" or ")).collect();
        format!(" from {}", lists.join(", and "))
    };
    format!(
        "tgate: {} approval {} ({} of {} approvals{groups}; expires {})\n\
         tgate: a second person approves with `tgate approve {} --as NAME`; then run the same command again \
         (or with --approval {})\n",
        if new { "requested" } else { "waiting for" },
        ap.id,
        ap.approvals.len(),
        ap.approvals_required,
        crate::approval::utc(ap.expires_at),
        ap.id,
        ap.id,
    )
}

/// An audit record of an approval step: `who` acted (the requester, or an approver).
fn approval_entry(
    kind: crate::audit::Kind,
    ap: &crate::approval::Approval,
    who: &str,
    comment: Option<&str>,
    channel: crate::audit::Channel,
) -> crate::audit::Entry {
    crate::audit::Entry {
        integration: Some(ap.command.integration.clone()),
        argv: ap.command.argv.clone(),
        command: crate::cli::read_command(&ap.command.argv, &Program::default())
            .ok()
            .map(|c| c.path().name().to_owned()),
        namespace: Some(ap.command.namespace.clone()),
        decision: Some(Decision::RequireApproval),
        rules: ap.rules.clone(),
        reason: comment.map(str::to_owned),
        justification: ap.justification.clone(),
        approval_id: Some(ap.id.to_string()),
        ..crate::audit::Entry::new(kind, who, channel)
    }
}

/// What an approver does.
enum Act<'a> {
    Approve(Option<&'a str>),
    Reject(&'a str),
}

/// `tgate approve` / `tgate reject`: records the step in the store and the audit log (the log is
/// opened first: if it cannot record, nothing changes).
fn act_cmd(
    args: &ApproverArgs,
    id: &str,
    act: Act<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    use crate::approval::{ApprovalError, ApprovalId, State, Store};
    use crate::audit::{AuditLog, Channel, Kind};
    // Nobody to act as: a usage error naming where the identity comes from (QA: an empty
    // `TGATE_APPROVER` was refused, exit 3, as "the approver identity is empty").
    if args.who.trim().is_empty() {
        return Err(Failure(
            "no approver identity: give `--as NAME`, or set `TGATE_APPROVER` (it is empty)"
                .to_owned(),
        ));
    }
    let config = load_records_config(args.config.as_deref())?;
    let path =
        audit_path(args.audit.as_deref(), &config.audit).map_err(|e| Failure(e.to_string()))?;
    let store = existing_store(&path, true)?;
    let log = AuditLog::open_waiting(
        &path,
        config.audit.max_file_bytes,
        config.audit.lock_timeout,
    )
    .map_err(|e| Failure(format!("audit log unavailable: {e}")))?;
    // The approver as the configuration's list has them, if it does.
    let on_list = config
        .approvers
        .iter()
        .find(|p| crate::approval::person(&p.id) == crate::approval::person(&args.who));
    let who = Caller {
        id: args.who.clone(),
        groups: on_list.map(|p| p.groups.clone()).unwrap_or_default(),
    };
    let now = std::time::SystemTime::now();
    let id = match ApprovalId::parse(id) {
        Ok(id) => id,
        Err(e) => {
            let _ = writeln!(err, "tgate: {e}");
            return Ok(ExitCode::Usage);
        }
    };
    // Recorded at this location, but nothing requested yet.
    let Some(store) = store else {
        let e = ApprovalError::NotFound { id: id.to_string() };
        let _ = writeln!(err, "tgate: refused: {e}");
        return Ok(ExitCode::Denied);
    };
    // With an `approvers:` list, the people on it are the only ones who approve or reject; the
    // requester may still withdraw their own request (QA: under a rule naming no groups, anyone
    // with a made-up name approved, though the list reads as who may approve). Without a list,
    // anyone but the requester (docs/approvals.md).
    let listed = config.approvers.is_empty() || on_list.is_some();
    // The requester's own request goes on to the store, which refuses their approval as such
    // (a second person must approve) and takes their rejection as a withdrawal.
    let requester = || {
        store.get(&id, now).is_ok_and(|a| {
            crate::approval::person(&a.command.caller) == crate::approval::person(&args.who)
        })
    };
    if !listed && !requester() {
        let _ = writeln!(
            err,
            "tgate: refused: `{}` is not in the configuration's `approvers:` list: only the people \
             listed there may approve or reject (a requester may withdraw their own request)",
            args.who.escape_debug()
        );
        return Ok(ExitCode::Denied);
    }
    let (result, kind, comment) = match act {
        Act::Approve(c) => (store.approve(&id, &who, c, now), Kind::ApprovalApproved, c),
        Act::Reject(c) => (
            store.reject(&id, &who, c, now),
            Kind::ApprovalRejected,
            Some(c),
        ),
    };
    match result {
        Ok(ap) => {
            let mut entry = approval_entry(kind, &ap, &who.id, comment, Channel::Cli);
            entry.groups = who.groups.clone();
            log.append(&entry).map_err(|e| {
                let step = if kind == Kind::ApprovalApproved {
                    "approval"
                } else {
                    "rejection"
                };
                Failure(format!(
                    "audit log unavailable: {}'s {step} of {} is stored, but its audit record was not written: {e}",
                    display_word(&who.id),
                    ap.id
                ))
            })?;
            let line = match ap.state {
                State::Approved => format!(
                    "approval {} approved ({} of {}); {} may now run it once\n",
                    ap.id,
                    ap.approvals.len(),
                    ap.approvals_required,
                    display_word(&ap.command.caller)
                ),
                State::Pending => format!(
                    "approval {} has {} of {} approvals; it needs another approver\n",
                    ap.id,
                    ap.approvals.len(),
                    ap.approvals_required
                ),
                State::Rejected | State::Used | State::Expired => {
                    format!("approval {} is {}\n", ap.id, ap.state.as_str())
                }
            };
            write_out(out, &line)?;
            Ok(ExitCode::Ok)
        }
        Err(e @ ApprovalError::Storage { .. }) => Err(Failure(e.to_string())),
        Err(e) => {
            let _ = writeln!(err, "tgate: refused: {e}");
            Ok(ExitCode::Denied)
        }
    }
}

/// `tgate approvals list`.
fn approvals_list(
    all: bool,
    output: Format,
    config: Option<&std::path::Path>,
    audit: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    use crate::approval::{Listing, Store};
    let config = load_records_config(config)?;
    let path = audit_path(audit, &config.audit).map_err(|e| Failure(e.to_string()))?;
    let which = if all { Listing::All } else { Listing::Open };
    let list = match existing_store(&path, false)? {
        Some(store) => store
            .list(which, std::time::SystemTime::now())
            .map_err(|e| Failure(e.to_string()))?,
        // Recorded at this location, but nothing requested yet.
        None => Vec::new(),
    };
    let text = match output {
        Format::Json => {
            // Each request with the characters past ASCII it holds, as the text's notes name
            // them, for a program that shows requests to approvers (a Cyrillic `а` reads as a
            // Latin `a` in any font).
            #[derive(serde::Serialize)]
            struct Listed<'a> {
                #[serde(flatten)]
                approval: &'a crate::approval::Approval,
                #[serde(skip_serializing_if = "Vec::is_empty")]
                past_ascii: Vec<PastAscii<'a>>,
            }
            let listed: Vec<Listed<'_>> = list
                .iter()
                .map(|ap| Listed {
                    approval: ap,
                    past_ascii: past_ascii_chars(&ap.command.argv, "command")
                        .into_iter()
                        .chain(past_ascii_chars(
                            std::slice::from_ref(&ap.command.caller),
                            "caller",
                        ))
                        .chain(past_ascii_chars(
                            ap.justification.as_slice(),
                            "justification",
                        ))
                        .collect(),
                })
                .collect();
            serde_json::to_string_pretty(&listed).map_err(|e| Failure(e.to_string()))? + "\n"
        }
        Format::Text => {
            use std::fmt::Write as _;
            let mut t = String::new();
            if list.is_empty() {
                t.push_str("no approvals\n");
            }
            for ap in &list {
                let argv: Vec<String> = ap.command.argv.iter().map(|w| display_word(w)).collect();
                let _ = writeln!(
                    t,
                    "{}  {:<8}  {} of {}  expires {}  caller {}  {}",
                    ap.id,
                    ap.state.as_str(),
                    ap.approvals.len(),
                    ap.approvals_required,
                    crate::approval::utc(ap.expires_at),
                    display_word(&ap.command.caller),
                    argv.join(" ")
                );
                if let Some(note) = past_ascii(&ap.command.argv) {
                    let _ = writeln!(t, "    note: {note}");
                }
                // Approvers weigh who asks too (review: `аlice`, a Cyrillic `а`).
                if let Some(note) = past_ascii(std::slice::from_ref(&ap.command.caller)) {
                    let _ = writeln!(t, "    note on the caller: {note}");
                }
                if let Some(j) = &ap.justification {
                    let _ = writeln!(t, "    justification: {}", display_word(j));
                    // The justification may name the target too (`stop pаy-10`).
                    if let Some(note) = past_ascii(std::slice::from_ref(j)) {
                        let _ = writeln!(t, "    note on the justification: {note}");
                    }
                }
            }
            t
        }
    };
    write_out(out, &text)?;
    Ok(ExitCode::Ok)
}

/// A note naming the characters past ASCII in a command's words, by code point, when it has
/// any: a look-alike letter (a Cyrillic `а` in `pаyment-1`) would otherwise have an approver
/// approve a command on another workflow than the one they read (adversarial review).
fn past_ascii(argv: &[String]) -> Option<String> {
    let found: Vec<String> = past_ascii_chars(argv, "")
        .iter()
        .map(|p| {
            format!(
                "`{}` {} in {}",
                p.character,
                p.code_point,
                display_word(p.word)
            )
        })
        .collect();
    (!found.is_empty()).then(|| {
        format!(
            "characters past ASCII (look-alikes of other letters?): {}",
            found.join(", ")
        )
    })
}

/// One character past ASCII in a word of a request, as `approvals list -o json` names it.
#[derive(serde::Serialize)]
struct PastAscii<'a> {
    character: char,
    /// `U+0430`.
    code_point: String,
    /// The word holding it, as it is.
    word: &'a str,
    /// `command`, `caller` or `justification`.
    #[serde(rename = "in")]
    part: &'static str,
}

/// The characters past ASCII in `words`, each once per word, the target's flags' first.
fn past_ascii_chars<'a>(words: &'a [String], part: &'static str) -> Vec<PastAscii<'a>> {
    // Every character is named, none left to an "and N more": eight accented letters in a
    // `--reason`, which sorts before `--workflow-id`, pushed a Cyrillic `а` in the workflow id out
    // of the note, and two approvers approved a terminate of another workflow than the one they
    // read (adversarial review). What says which execution is acted on comes first.
    const TARGETS: [&str; 9] = [
        "--workflow-id=",
        "--run-id=",
        "--activity-id=",
        "--operation-id=",
        "--schedule-id=",
        "--job-id=",
        "--namespace=",
        "--task-queue=",
        "--query=",
    ];
    let mut sorted: Vec<&String> = words.iter().collect();
    sorted.sort_by_key(|w| !TARGETS.iter().any(|t| w.starts_with(t)));
    let mut found: Vec<PastAscii<'a>> = Vec::new();
    for w in sorted {
        for c in w.chars().filter(|c| !c.is_ascii()) {
            if !found
                .iter()
                .any(|p| p.character == c && p.word == w.as_str())
            {
                found.push(PastAscii {
                    character: c,
                    code_point: format!("U+{:04X}", u32::from(c)),
                    word: w,
                    part,
                });
            }
        }
    }
    found
}

/// How an allowed command ended.
enum Ran {
    /// It ran: the Temporal command's exit code, and its stderr when it failed.
    Exited {
        code: i32,
        backend: crate::audit::Executor,
        /// The last call's gRPC status (native runs).
        grpc_status: Option<&'static str>,
        /// The CLI's stdout and stderr, passed on only once the result record is durable (a
        /// native run's output has already gone to the writers), and whether a stop signal
        /// killed the command (its stderr then already cut).
        undelivered: Option<(Vec<u8>, Vec<u8>, bool)>,
    },
    /// It could not be run: why, and whether tgate knows that nothing of the command reached
    /// the server (no request of it sent, the CLI never started). An approval it claimed, and
    /// the counts its rate limits took, are then given back.
    NotRun { why: String, unsent: bool },
}

impl Ran {
    /// Not run, and nothing of it sent.
    fn unsent(why: impl Into<String>) -> Ran {
        Ran::NotRun {
            why: why.into(),
            unsent: true,
        }
    }

    /// Not run, with something of it perhaps sent (a read's request, a CLI that started): an
    /// approval stays used.
    fn maybe_sent(why: impl Into<String>) -> Ran {
        Ran::NotRun {
            why: why.into(),
            unsent: false,
        }
    }
}

fn run_cmd(a: RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode, Failure> {
    use crate::audit::{AuditLog, Channel, Entry, Kind};
    let caller = a.caller.checked()?;
    let config = load_config(a.config.as_deref(), a.integration.as_deref())?;
    let unavailable = |e: crate::audit::AuditError| Failure(format!("audit log unavailable: {e}"));
    let log = audit_path(a.audit.as_deref(), &config.audit)
        .and_then(|p| {
            AuditLog::open_waiting(&p, config.audit.max_file_bytes, config.audit.lock_timeout)
        })
        .map_err(unavailable)?;
    let backend = a.backend.unwrap_or(config.backend);
    let redacted = crate::audit::redact::redact(&recordable_line(&a.line, &config.api_keys()));
    // The log's path as opened, links resolved once: the approval store and the policies' test
    // cache are beside it.
    let store = approval_store_path(log.path());
    let mut decided = decide(&a, &config, &caller, log.path());
    // Every integration's API key (a server could echo the one it was sent; a memo could hold
    // another): kept out of what tgate prints and records. (A line holding one is denied by
    // `decide`.)
    let keys = config.api_keys();
    // The agent's line's secrets are kept out of the record too (they are the agent's own, and
    // are not looked for in what it is shown), and so are its justification's, also from the
    // reason that quotes it (re-check QA).
    let kept = kept_out(&redacted, a.justification.as_deref(), &keys);
    let scrub = |t: &str| crate::audit::redact::scrub(t, &kept.secrets);
    // The justification as the audit log records it. A gated command's goes into the approval
    // store too, where a claim must give the very text the approvers saw: one that redaction
    // would change is refused (QA: the store kept what the log redacted, and `approvals list`
    // showed it; review: storing the redacted text let another justification that redacts to
    // the same claim the approval, and could make it longer than the store takes).
    let justification = kept.justification;
    if decided.error.is_none() {
        decided.ev = gated_justification(
            decided.ev.clone(),
            a.justification.as_deref(),
            justification.as_deref(),
        );
    }
    // `--backend grpc` cannot run a command it has no translation for. One whose decision would
    // use something up (an approval claimed, a request made, a rate limit counted) is refused
    // before it does (review: an approval claimed under `grpc` was marked used, then the run was
    // refused). A plain allowed one is refused by the executor, after its decision is recorded.
    if decided.error.is_none() && backend == crate::connect::Backend::Grpc {
        let (gated, limited) = gated_or_limited(&decided.ev);
        let uses_up = gated || limited;
        let untranslated = decided
            .ev
            .effective
            .as_ref()
            .and_then(|c| crate::exec::grpc::translated(c).err());
        if let (true, Some(why)) = (uses_up, untranslated) {
            let message = use_another_backend(&why);
            decided.ev = decided.ev.clone().denied("tgate:backend", message.clone());
            decided.error = Some(message);
        }
    }
    // Approvals and rate limits: claim an approval, request one, or count against a limit.
    let gated = if decided.error.is_none() {
        let listed: Vec<(String, Vec<String>)> = config
            .approvers
            .iter()
            .map(|p| (p.id.clone(), p.groups.clone()))
            .collect();
        match gate(
            &a,
            justification.as_deref(),
            &listed,
            &store,
            &caller,
            &mut decided,
        ) {
            Ok(g) => g,
            Err(message) => {
                decided = Decided {
                    integration: decided.integration,
                    target: decided.target,
                    ..Decided::failed("tgate:approval-store", message)
                };
                Gate::default()
            }
        }
    } else {
        Gate::default()
    };
    // The integration, also when the request failed before resolving it (a line that does not
    // parse still names the integration it was meant for).
    let integration = decided
        .integration
        .as_ref()
        .or_else(|| config.integration(a.integration.as_deref()).ok());
    tracing::info!(
        caller = ?crate::diag::capped(&caller.id),
        integration = ?integration.map_or("-", |i| i.name.as_str()),
        command = ?decided.ev.command.as_deref().unwrap_or("-"),
        namespace = ?crate::diag::capped(&decided.ev.namespace.as_deref().unwrap_or("-")),
        target = ?crate::diag::capped(
            &decided.target.as_ref().map_or("-".to_owned(), ToString::to_string)
        ),
        decision = decided.ev.decision.as_str(),
        rules = ?decided.ev.rules,
        failed = decided.error.is_some(),
        approval = %gated
            .used
            .as_ref()
            .or(gated.pending.as_ref())
            .map_or("-".to_owned(), |ap| ap.id.to_string()),
        "decided"
    );
    let ev = &decided.ev;
    let decision = Entry {
        groups: caller.groups.clone(),
        integration: integration.map(|i| i.name.clone()),
        target: decided
            .target
            .as_ref()
            .map(crate::audit::record::AuditTarget::from),
        reason: Some(scrub(&ev.reason)),
        // Why the caller says it ran this (QA: `--help` said it was recorded; it was not).
        justification,
        ..Entry::decision(ev, redacted.raw.clone(), &caller.id, Channel::Cli)
    };
    let decision = Entry {
        // Else the one the caller named, when it is an approval id at all: a refused claim
        // (used, rejected, another caller's) names the approval it tried (QA: only the reason
        // did).
        approval_id: gated
            .used
            .as_ref()
            .or(gated.pending.as_ref())
            .map(|ap| ap.id.to_string())
            .or_else(|| {
                a.approval
                    .as_deref()
                    .and_then(|t| crate::approval::ApprovalId::parse(t).ok())
                    .map(|id| id.to_string())
            }),
        ..decision
    }
    // An integration's API key in the agent's line (a workflow id that is one) is not recorded
    // (QA: `raw`, `argv` and `target` held it). The result record copies these members.
    .scrubbed(&keys);
    // The approval steps this request took, then its decision.
    for (kind, ap) in gated
        .expired
        .iter()
        .map(|ap| (Kind::ApprovalExpired, ap))
        .chain(
            gated
                .requested
                .iter()
                .map(|ap| (Kind::ApprovalRequested, ap)),
        )
        .chain(gated.used.iter().map(|ap| (Kind::ApprovalUsed, ap)))
    {
        // A use names who approved: the approval's own record may be missing (an approver's
        // `approve` stored the vote, then could not write its record; QA).
        let approvers = (kind == Kind::ApprovalUsed).then(|| approved_by(ap));
        let step = approval_entry(
            kind,
            ap,
            &ap.command.caller,
            approvers.as_deref(),
            Channel::Cli,
        );
        log.append(
            &Entry {
                request_id: decision.request_id.clone(),
                ..step
            }
            .scrubbed(&keys),
        )
        .map_err(unavailable)?;
    }
    // Timed after the approval steps it follows in the log (QA: it was timed before them, so a
    // time window could hold an allow without the `approval_used` that let it run).
    let decision = Entry {
        time: crate::audit::record::now(),
        ..decision
    };
    // Fail closed: nothing runs unless the decision is on disk. An allowed command that will
    // run natively is not held up by the record's sync: a write connects while the committer
    // thread writes and syncs it (the TCP, TLS and HTTP/2 handshakes overlap the sync); a read's
    // record is written now and synced once the read's first request is out. No write is sent,
    // and nothing at all is shown, before the record is on disk (`Barrier`); if it cannot be
    // written, nothing is sent; if it cannot be synced, whatever a read brought back is never
    // shown.
    let mut prepared = match (&decided.error, ev.decision, &ev.effective, integration) {
        (None, Decision::Allow, Some(cmd), Some(integration))
            if backend != crate::connect::Backend::Cli
                && crate::exec::grpc::translated(cmd).is_ok() =>
        {
            // A write is watched from before its decision is recorded, not from when it is sent:
            // a stop signal while the decision is written and synced, or while it connects, is
            // then recorded (nothing sent), not lost (QA re-check: a signal between the decision
            // record and the handlers' registration left the decision alone). A read is watched
            // once it has run a while (`exec::stop::READ_WATCHED_AFTER`).
            let writes = crate::exec::grpc::writes(cmd);
            let watching = if writes {
                decided.watching.take().or_else(watch_early)
            } else {
                Some(crate::exec::stop::watch_unregistered())
            };
            // The record is written here and synced on this thread, with no thread hand-off: a
            // read's once its request is out, a write's before its request (`Session::run`).
            // Only a write that has a connection to make (no type check made one) hands its
            // record to the committer, which syncs it meanwhile.
            let checked_over = decided.checked_over.take();
            let decided_barrier = if writes && checked_over.is_none() {
                crate::audit::Barrier::until(log.submit(&decision).map_err(unavailable)?)
            } else {
                crate::audit::Barrier::until_synced(log.write_now(&decision).map_err(unavailable)?)
            };
            // The time limit counts from here (or from a write's type check, which made its
            // connection): the connection, the command, and the CLI if the command falls back
            // to it, share it.
            let checked = checked_over.is_some();
            let (connected, began) = match checked_over {
                Some((session, began)) => (Ok(session), began),
                None => {
                    let began = std::time::Instant::now();
                    let own = crate::exec::grpc::command_timeout(cmd);
                    let connected = crate::exec::grpc::Session::connect_within(
                        integration,
                        &config.limits,
                        own,
                    );
                    (connected, began)
                }
            };
            Prepared {
                connected: Some(connected),
                decided: decided_barrier,
                watching,
                began: Some(began),
                checked,
            }
        }
        _ => {
            // The CLI will run an allowed command: watched from before its decision, as above.
            let watching = (decided.error.is_none() && ev.decision == Decision::Allow)
                .then(|| decided.watching.take().or_else(watch_early))
                .flatten();
            log.append(&decision).map_err(unavailable)?;
            // A write's time limit counts from its type check, whichever executor runs it (QA:
            // under `--backend cli` the CLI was given the whole limit after the check, and a
            // signal went out after the limit). The check's connection is not kept.
            let began = decided.checked_over.take().map(|(_, began)| began);
            Prepared {
                connected: None,
                decided: crate::audit::Barrier::passed(),
                watching,
                began,
                checked: began.is_some(),
            }
        }
    };
    if let Some(message) = &decided.error {
        let _ = writeln!(
            err,
            "tgate: {}",
            crate::audit::redact::scrub(message, &keys)
        );
        return Ok(ExitCode::Usage);
    }
    match ev.decision {
        // The integration's keys are not printed, whatever the reason quotes.
        Decision::Deny => {
            let _ = writeln!(
                err,
                "tgate: denied ({}): {}",
                ev.rules.join(", "),
                crate::audit::redact::scrub(&ev.reason, &keys)
            );
            return Ok(ExitCode::Denied);
        }
        Decision::RequireApproval => {
            let _ = writeln!(
                err,
                "tgate: approval required ({}): {}",
                ev.rules.join(", "),
                crate::audit::redact::scrub(&ev.reason, &keys)
            );
            if let Some(ap) = &gated.pending {
                let pending = pending_text(ap, gated.requested.is_some());
                let _ = write!(err, "{}", crate::audit::redact::scrub(&pending, &keys));
            }
            return Ok(ExitCode::ApprovalRequired);
        }
        Decision::Allow => {}
    }
    // A server that echoes the integration's API key (in an error) does not have it printed.
    // Marked while written, so that a stop finds tgate even in a write nobody reads.
    // tgate's own messages after a stop wait for the result record (`HeldAfterStop`).
    let (mut out, mut err) = (
        crate::exec::stop::ForCaller(out),
        crate::exec::stop::ForCaller(err),
    );
    let mut err = crate::exec::stop::HeldAfterStop::new(&mut err);
    // A native write's output (a few bytes, after its request took effect) waits for its result
    // record, so that a caller that does not read cannot keep it from being recorded.
    let mut out_held;
    let out: &mut dyn Write = if ev.effective.as_ref().is_some_and(crate::exec::grpc::writes) {
        out_held = crate::exec::stop::HeldAfterStop::all(&mut out, config.limits.max_output_bytes);
        &mut out_held
    } else {
        &mut out
    };
    let mut out = Tee::new(Scrubber::new(out, &keys), false, &kept.secrets);
    let mut err = Tee::new(Scrubber::new(&mut err, &keys), true, &kept.secrets);
    // A stop signal noted while the command runs (a CLI child, a native write, a native read
    // once watched) stays noted until its result is recorded; tgate ends by it after that.
    let held = crate::exec::stop::hold();
    // The run's duration counts from where its time limit does: a native attempt's connection
    // (or its type check) is part of it (QA: a run that spent its whole limit connecting was
    // recorded as lasting half a millisecond).
    let start = prepared.began.unwrap_or_else(std::time::Instant::now);
    let ran = execute(
        &config,
        &decided,
        &caller,
        backend,
        &mut prepared,
        &mut out,
        &mut err,
    );
    let duration = start.elapsed();
    // `held` keeps a stop signal noted until the result record is written.
    drop(prepared.watching.take());
    // Whatever happened, nothing is reported before the decision is durable; if it cannot be,
    // nothing ran (the barrier held back every write and all output) and there is no result.
    prepared.decided.pass().map_err(unavailable)?;
    let mut undelivered = None;
    let mut stopping = false;
    // Whether the command did not run and nothing of it was sent.
    let mut returnable = false;
    let (code, result) = match ran {
        Ran::Exited {
            code,
            backend,
            grpc_status,
            undelivered: output,
        } => {
            // The CLI's output is recorded as passed on before it is: the record comes first.
            // Asked to stop (during the run or since), tgate passes on none of its standard
            // output, which a caller that has stopped reading could otherwise hold up forever,
            // and ends as soon as the result is recorded.
            if let Some((mut stdout, mut stderr, killed)) = output {
                if let Some((_, name)) = crate::exec::stop::requested() {
                    stopping = true;
                    if !killed {
                        // The executor replaced the keys already (`exec::keys_of`): the cut
                        // cannot leave a key's start.
                        crate::exec::cut_stopped_stderr(&mut stderr, name);
                    }
                    if !stdout.is_empty() {
                        stdout.clear();
                        crate::exec::say(
                            &mut stderr,
                            &format!(
                                "stopped by {name}; the command's standard output was not passed on"
                            ),
                        );
                    }
                }
                out.account(&stdout);
                err.account(&stderr);
                undelivered = Some((stdout, stderr));
            }
            (
                exit_status(code),
                Entry {
                    backend: Some(backend),
                    exit_code: Some(code),
                    grpc_status: grpc_status.map(str::to_owned),
                    // Kept with room for a key past the cut: the keys go before the cut.
                    error: (code != 0).then(|| err.recorded_error(&kept.secrets)),
                    ..decision.clone()
                },
            )
        }
        Ran::NotRun { why, unsent } => {
            returnable = unsent;
            // Printed with the keys replaced; recorded with the agent's own secrets too.
            let why = cut_reason(crate::audit::redact::scrub(&why, &keys));
            let _ = writeln!(err, "tgate: {why}");
            (
                ExitCode::Usage,
                Entry {
                    error: Some(scrub(&why)),
                    ..decision.clone()
                },
            )
        }
    };
    let result = Entry {
        time: crate::audit::record::now(),
        kind: Kind::Result,
        raw: None,
        rules: Vec::new(),
        reason: None,
        duration_ns: Some(duration.as_nanos() as u64),
        output_bytes: Some(out.bytes),
        output_sha256: Some(crate::audit::record::hex(out.sha.clone().finish().as_ref())),
        ..result
    };
    let recorded = log.append(&result);
    // A command that did not run, nothing of it sent, gives back what its decision used up: the
    // approval it claimed and its rate limits' counts (QA: an approval was spent, and a count
    // taken, by a run that a time limit used up before the command, a stop signal, or a CLI that
    // could not start, had ended before anything was sent). Only once that is recorded.
    if returnable && recorded.is_ok() {
        give_back(&store, &gated, &decision.request_id, &log, &keys, &mut err);
    }
    crate::exec::stop::result_recorded();
    // Recorded (or not recordable): from here a stop signal acts as usual again, so one sent
    // while the CLI's output (or this diagnostic) waits for a reader ends tgate, with the result
    // already on disk.
    drop(held);
    let stop = crate::exec::stop::requested();
    tracing::info!(
        backend = result.backend.map_or("-", |b| b.as_str()),
        // `-`: not run (QA: -1 was logged where the record has none).
        exit_code = %result.exit_code.map_or("-".to_owned(), |c| c.to_string()),
        grpc_status = result.grpc_status.as_deref().unwrap_or("-"),
        us = duration.as_micros() as u64,
        stdout_bytes = out.bytes,
        stderr_bytes = err.bytes,
        stopped_by = stop.map_or("-", |(_, name)| name),
        recorded = recorded.is_ok(),
        "result"
    );
    // A stop noted while the record was being written (it counts the output as passed on): none
    // of the output is passed on, and tgate ends now.
    if !stopping && stop.is_some() {
        undelivered = None;
    }
    // The CLI's output, passed on after its record: whether the caller got it.
    let passed_on = undelivered.is_some();
    let mut delivered = Ok(());
    if let Some((stdout, stderr)) = undelivered {
        delivered = out
            .inner
            .write_all(&stdout)
            .and_then(|()| out.inner.flush());
        let _ = err.inner.write_all(&stderr);
    }
    if let Err(e) = recorded {
        // Not run: nothing is given back without its record (an approval stays used).
        let what = if result.exit_code.is_none() {
            "the command did not run, and that was not recorded"
        } else {
            "the command ran, but its result was not recorded"
        };
        let _ = writeln!(err.inner, "tgate: audit log unavailable: {what}: {e}");
        if let Some(used) = gated.used.as_ref().filter(|_| returnable) {
            let _ = writeln!(err.inner, "tgate: approval {} stays used", used.id);
        }
    }
    crate::exec::stop::end_if_requested(|| {
        let _ = out.inner.finish();
        let _ = err.inner.finish();
    });
    let finished = out.inner.finish();
    // Output the caller could not get (a full disk) is a failure, whichever executor ran the
    // command (QA: the CLI's was dropped with exit 0, where the native executor fails with this
    // message); a reader that has gone (`| head`) is not (STYLE: a broken pipe is not an error).
    // A native run that failed writing has said so already.
    let code = match delivered.and(finished) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) if passed_on || code == ExitCode::Ok => {
            let _ = writeln!(err.inner, "tgate: cannot write the output: {e}");
            ExitCode::CommandFailed
        }
        _ => code,
    };
    let _ = err.inner.finish();
    Ok(code)
}

/// What a run prepares while its decision record syncs.
struct Prepared {
    /// The connection for a command that runs natively (or the error connecting gave).
    connected: Option<Result<crate::exec::grpc::Session, crate::exec::grpc::ConnectError>>,
    /// Opens once the decision record is durable: the native executor passes it before any
    /// write or output, the CLI is started only after it.
    decided: crate::audit::Barrier,
    /// The stop-signal watch of a run, from its decision on (`None` if the handlers could not
    /// be registered: the executor then says so).
    watching: Option<crate::exec::stop::Watch>,
    /// When the command's time began: at its native connection, or at its type check (a write
    /// to one workflow, whichever executor runs it). The CLI gets what is left of it, after a
    /// fallback or a check (`None`: the CLI's run gets the whole limit).
    began: Option<std::time::Instant>,
    /// Whether `began` is a write's type check's start: the time before the command is the
    /// check's and the decision's, not a native attempt's.
    checked: bool,
}

/// Starts watching stop signals for a run that will be watched anyway (a CLI child, a native
/// write), from before its decision is recorded rather than from when its command is sent: a
/// signal in between (while the decision is written and synced, or the run connects) is then
/// recorded as having stopped it before anything was sent, instead of ending tgate with an allow
/// decision and no result. If the handlers cannot be registered, the executor's own watch fails
/// in turn and says so.
fn watch_early() -> Option<crate::exec::stop::Watch> {
    crate::exec::stop::watch().ok()
}

/// Runs an allowed command: natively where translated (unless `--backend cli`), else the CLI.
fn execute(
    config: &crate::connect::Config,
    decided: &Decided,
    caller: &Caller,
    backend: crate::connect::Backend,
    prepared: &mut Prepared,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Ran {
    use crate::audit::Executor;
    let (Some(effective), Some(integration)) = (&decided.ev.effective, &decided.integration) else {
        return Ran::unsent("allowed without a command to run");
    };
    let identity = format!("tgate:{}", caller.id);
    // Asked to stop while the run was being prepared (it connected, or its decision synced).
    if let Some(stopped) = stopped_before_sending(true) {
        return stopped;
    }
    // Whether a native read's requests may have gone out: after that, a run that goes no
    // further is not said to have sent nothing. (A native write sends nothing of itself unless
    // it runs to its end: `Native::Fallback` and `Native::Unanswered` come before it.)
    let mut reads_sent = false;
    // The command's time, counted from when tgate began to spend it (the native connection, or
    // a write's type check): its own `--command-timeout` when shorter, else tgate's limit.
    let ends = prepared
        .began
        .and_then(|b| b.checked_add(config.limits.timeout));
    let (time, by_own) = crate::exec::grpc::run_bound(
        crate::exec::grpc::command_timeout(effective),
        config.limits.timeout,
    );
    let ran_out = || prepared.began.is_some_and(|b| b.elapsed() >= time);
    let used_up = if by_own {
        format!("its --command-timeout ({time:?})")
    } else {
        format!("the {:?} time limit", config.limits.timeout)
    };
    // The command's own timeout ran out: the CLI's words, as when it runs out while the CLI
    // connects (QA: the fallback gave the CLI the whole timeout again), whatever the backend
    // (review: `--backend grpc` said `not run natively`).
    let interrupted = |prepared: &mut Prepared, err: &mut dyn Write| {
        if let Err(e) = prepared.decided.pass() {
            return Ran::maybe_sent(e.to_string());
        }
        let _ = writeln!(err, "Error: program interrupted");
        Ran::Exited {
            code: 1,
            backend: Executor::Grpc,
            grpc_status: Some("DEADLINE_EXCEEDED"),
            undelivered: None,
        }
    };
    // A write's type check and its decision (an approval store that kept it waiting, say) used
    // up the command's time: nothing is sent, by either executor, and both say so alike (the
    // native one said it stopped the command after its timeout, exit 1, where nothing had run).
    let nothing_left = || {
        Ran::unsent(format!(
            "not run: the time before the command (the check of the workflow's type, the \
             decision) used up {used_up}, leaving it none"
        ))
    };
    let translated = crate::exec::grpc::translated(effective);
    // Why a native attempt left the command to the CLI, and whether it was left unanswered.
    let mut fell_back = None;
    match (&translated, backend) {
        (_, crate::connect::Backend::Cli) => {}
        // Not translated: no native attempt (it would say it used up time it did not).
        (Err(why), crate::connect::Backend::Auto) => {
            tracing::debug!(why = ?crate::diag::capped(why), "not translated: the CLI runs it");
        }
        _ if prepared.checked && ran_out() => return nothing_left(),
        _ => {
            let cli = temporal_binary(config).ok();
            // The connection made while the decision synced, else a fresh one. It is kept in
            // `prepared` and closed after the result record, not before.
            let connected = prepared.connected.get_or_insert_with(|| {
                translated
                    .clone()
                    .map_err(crate::exec::grpc::ConnectError::NotTried)
                    .and_then(|()| crate::exec::grpc::Session::connect(integration, &config.limits))
            });
            let native = match connected {
                Ok(session) => {
                    session.reproducing(cli);
                    reads_sent = !crate::exec::grpc::writes(effective);
                    if let Some(began) = prepared.began {
                        session.counting_from(began);
                    }
                    session.run(
                        effective,
                        &identity,
                        &config.limits,
                        &mut prepared.decided,
                        out,
                        err,
                    )
                }
                Err(crate::exec::grpc::ConnectError::Unreached(why)) => {
                    crate::exec::grpc::Native::Unanswered(why.clone())
                }
                Err(e) => crate::exec::grpc::Native::Fallback(e.to_string()),
            };
            let (why, unanswered) = match native {
                crate::exec::grpc::Native::Ran {
                    exit_code,
                    grpc_status,
                } => {
                    return Ran::Exited {
                        code: exit_code,
                        backend: Executor::Grpc,
                        grpc_status,
                        undelivered: None,
                    };
                }
                crate::exec::grpc::Native::Fallback(why) => (why, false),
                crate::exec::grpc::Native::Unanswered(why) => (why, true),
                // The barrier keeps the error: `run_cmd` reports it, and nothing else.
                crate::exec::grpc::Native::Unrecorded(e) => {
                    return Ran::maybe_sent(e.to_string());
                }
                // Asked to stop before its first request.
                crate::exec::grpc::Native::Stopped(name) => {
                    return Ran::unsent(stopped_before(name));
                }
            };
            if by_own && ran_out() {
                return interrupted(prepared, err);
            }
            if backend == crate::connect::Backend::Grpc {
                tracing::debug!(why = ?crate::diag::capped(&why), unanswered, "not run natively, and --backend grpc");
                // A connection or a call that failed: the CLI would fail as well (QA: the
                // advice to use it could not help).
                return Ran::NotRun {
                    unsent: !reads_sent,
                    why: if unanswered {
                        format!(
                            "not run natively ({why}); `tgate doctor --integration {}` diagnoses \
                         the connection and its credentials",
                            display_word(&integration.name)
                        )
                    } else {
                        use_another_backend(&why)
                    },
                };
            }
            // The CLI runs it: the native connection is not kept open meanwhile.
            tracing::debug!(why = ?crate::diag::capped(&why), unanswered, "not run natively: the CLI runs it");
            prepared.connected = None;
            fell_back = Some((why, unanswered));
        }
    }
    if let Err(e) = prepared.decided.pass() {
        return Ran::maybe_sent(e.to_string());
    }
    // Not run, and nothing of it sent unless a native read's requests were.
    let not_run = |why: String| Ran::NotRun {
        why,
        unsent: !reads_sent,
    };
    let binary = match temporal_binary(config) {
        Ok(b) => b,
        Err(e) => return not_run(e),
    };
    // Asked to stop while a native attempt fell back, or the decision synced.
    if let Some(stopped) = stopped_before_sending(!reads_sent) {
        return stopped;
    }
    // The native attempt, or a write's type check and decision, used up the command's time (a
    // connection that was never made, say): the CLI is not started only to be killed.
    if ran_out() {
        return match &fell_back {
            Some(_) if by_own => interrupted(prepared, err),
            Some((why, unanswered)) => {
                let doctor = if *unanswered {
                    format!(
                        "; `tgate doctor --integration {}` diagnoses the connection and its \
                         credentials",
                        display_word(&integration.name)
                    )
                } else {
                    String::new()
                };
                not_run(format!(
                    "not run: the native attempt used up {used_up} ({why}), leaving the CLI \
                     none{doctor}"
                ))
            }
            None => nothing_left(),
        };
    }
    // The command's own `--command-timeout`, counted from the same start, is what is left of it
    // when the CLI starts: the CLI is given that (it counts its flag from its own start; QA: it
    // got the whole timeout again after a check or a native attempt, and a signal went out late).
    let shortened;
    let effective = match (
        prepared.began,
        crate::exec::grpc::command_timeout(effective),
    ) {
        (Some(began), Some(own)) => {
            let left = own.saturating_sub(began.elapsed()).as_nanos();
            let left = crate::command::GoDuration(i64::try_from(left).unwrap_or(i64::MAX).max(1));
            match effective
                .with_flags(&[("command-timeout", crate::command::Value::Duration(left))])
            {
                Ok(c) => {
                    shortened = c;
                    &shortened
                }
                Err(e) => return not_run(format!("--command-timeout: {e}")),
            }
        }
        _ => effective,
    };
    match crate::exec::run_cli_until(
        &binary,
        effective,
        integration,
        &caller.id,
        &config.limits,
        ends,
    ) {
        Ok(run) => Ran::Exited {
            code: run.exit_code,
            backend: Executor::Cli,
            grpc_status: None,
            undelivered: Some((run.stdout, run.stderr, run.stopped.is_some())),
        },
        // The CLI never started (refused, or not startable), or it did (its end not seen).
        Err(e) => Ran::NotRun {
            unsent: !reads_sent && !e.may_have_started(),
            why: e.to_string(),
        },
    }
}

/// Why a line holding an integration's API key is refused.
const KEY_IN_LINE: &str = "the command line or its justification holds an integration's API key (not shown): it is not run or stored, and `tgate run` records the line with the key replaced";

/// Whether the caller's line or justification holds one of `keys`: in a word as given, or as the
/// lexer reads the line (QA: `-w tgk-abc''def` passed, and the parser joined the pieces back
/// into the key `tgk-abcdef`, which reached the child's argv and the approval store).
fn holds_a_key(line: &[String], justification: Option<&str>, keys: &[String]) -> bool {
    let lexed = lexed_words(line);
    keys.iter().filter(|k| !k.is_empty()).any(|k| {
        line.iter()
            .chain(lexed.iter())
            .map(String::as_str)
            .chain(justification)
            .any(|w| w.contains(k.as_str()))
    })
}

/// The words of a line given as one string, as the lexer reads them (quotes and escapes
/// removed); none for an argv, whose words are already literal, or a line that does not lex.
fn lexed_words(line: &[String]) -> Vec<String> {
    match line {
        [text] => lex::lex_str(text, &Program::default()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The line as it is recorded before its secrets are scrubbed: as given, or, when one of `keys`
/// is in it as the lexer reads it, as the lexer reads it, so that the record's scrubbing finds
/// every copy of the key and removes it (the pieces as given would have kept a split one; review:
/// also when another copy is typed whole). A line that does not lex but spells a key once its
/// quotes and backslashes are left out is not recorded at all.
fn recordable_line(line: &[String], keys: &[String]) -> Vec<String> {
    let keys: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !k.is_empty())
        .collect();
    let holds = |w: &str| keys.iter().any(|k| w.contains(k));
    let lexed = lexed_words(line);
    if lexed.iter().any(|w| holds(w)) {
        return lexed;
    }
    if let [text] = line
        && lexed.is_empty()
    {
        let bare: String = text
            .chars()
            .filter(|c| !matches!(c, '\'' | '"' | '\\'))
            .collect();
        if holds(&bare) {
            return vec![KEY_LINE_NOT_RECORDED.to_owned()];
        }
    }
    line.to_vec()
}

/// `ev`, denied when it needs approval and its justification is not recorded as `given` (it holds
/// what looks like a secret, redacted in `recorded`): approvers would see it, and a claim must
/// give the very text they saw.
fn gated_justification(ev: Evaluation, given: Option<&str>, recorded: Option<&str>) -> Evaluation {
    if ev.decision == Decision::RequireApproval && given != recorded {
        ev.denied(
            "tgate:justification",
            "the justification holds what looks like a secret (`--api-key X`, `TOKEN=X`, a word \
             such as `token` with a `=` after it), which an approval request would show to \
             approvers: give one without"
                .to_owned(),
        )
    } else {
        ev
    }
}

/// What a run's records keep out, and its justification as recorded ([`kept_out`]).
struct KeptOut {
    /// The secrets found in the line and in the justification, and the integrations' keys.
    secrets: Vec<String>,
    /// The justification redacted as a line is, and scrubbed of [`KeptOut::secrets`].
    justification: Option<String>,
}

/// [`KeptOut`] of a run whose line redacted to `line`, justified by `justification`.
fn kept_out(
    line: &crate::audit::redact::Redacted,
    justification: Option<&str>,
    keys: &[String],
) -> KeptOut {
    let justified = justification.map(|j| crate::audit::redact::redact(&[j.to_owned()]));
    let mut secrets = line.secrets.clone();
    secrets.extend(justified.iter().flat_map(|r| r.secrets.iter().cloned()));
    secrets.extend(keys.iter().cloned());
    let justification = justified.map(|r| crate::audit::redact::scrub(&r.raw, &secrets));
    KeptOut {
        secrets,
        justification,
    }
}

/// What is recorded of a line that does not lex and would spell an integration's API key.
const KEY_LINE_NOT_RECORDED: &str = "<not recorded: the line would spell an integration's API key>";

/// A run asked to stop (a stop signal noted by a watch) before its command was sent: not run.
fn stopped_before_sending(unsent: bool) -> Option<Ran> {
    crate::exec::stop::requested().map(|(_, name)| Ran::NotRun {
        why: stopped_before(name),
        unsent,
    })
}

/// What a run stopped before its command was sent says, and records.
fn stopped_before(signal: &str) -> String {
    format!("stopped by {signal} before the command was sent")
}

/// A writer that passes everything on (its secrets scrubbed) and keeps what the audit records of
/// it: the byte count and SHA-256 (stdout), or the first 4 KiB and the last lines (stderr, for
/// the error text: [`Tee::recorded_error`]), of what the command wrote.
struct Tee<'a> {
    inner: Scrubber<'a>,
    sha: ring::digest::Context,
    bytes: u64,
    keep: bool,
    kept: Vec<u8>,
    /// How far past [`KEPT_STDERR`] `kept` goes: the longest secret, so that one the cut goes
    /// through is still recognised and replaced.
    margin: usize,
    /// The last [`TAIL_BYTES`] bytes passed on and the one before them (when `keep`).
    tail: Vec<u8>,
}

/// How much of the end of stderr a result record looks at for tgate's closing notes.
const TAIL_BYTES: usize = 1024;

/// How much of stderr a result record keeps: as much as a stopped command passes on.
const KEPT_STDERR: usize = crate::exec::STOPPED_STDERR_BYTES;

/// Why a command did not run, cut at [`KEPT_STDERR`] bytes (on a character boundary, saying how
/// much was left out). A reason can quote the agent's line (a value a translation gave up on),
/// and it is written while a stop signal may be held (a native write that fell back): it must
/// stay far under what a pipe holds, so that a stopped tgate ends though nobody reads stderr.
fn cut_reason(mut why: String) -> String {
    if why.len() > KEPT_STDERR {
        let at = crate::diag::floor_char_boundary(&why, KEPT_STDERR);
        crate::diag::cut_noting(&mut why, at);
    }
    why
}

impl<'a> Tee<'a> {
    /// A tee in front of `inner`; one that keeps stderr's start keeps it past the cut by the
    /// longest of `secrets` (the keys `inner` scrubs, and the agent's own).
    fn new(inner: Scrubber<'a>, keep: bool, secrets: &[String]) -> Tee<'a> {
        let margin = secrets
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(inner.longest());
        Tee {
            margin,
            inner,
            sha: ring::digest::Context::new(&ring::digest::SHA256),
            bytes: 0,
            keep,
            kept: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// The result record's `error`: the first [`KEPT_STDERR`] bytes of what was passed on, with
    /// `secrets` replaced. Longer stderr is cut saying how long it was, what its kept part ends
    /// with that could begin a secret left out (review: a secret cut through by the cut, or
    /// moved before it by earlier replacements, left its start in the record), and followed by
    /// tgate's own closing notes (its `tgate: ` lines at the very end, past the cut: why the run
    /// was stopped, killed or cut), which would otherwise be lost.
    fn recorded_error(&self, secrets: &[String]) -> String {
        use crate::audit::redact::{scrub_bytes, scrub_start};
        if self.bytes <= self.kept.len() as u64 {
            let e = String::from_utf8_lossy(&scrub_bytes(&self.kept, secrets)).into_owned();
            if e.len() <= KEPT_STDERR {
                return e;
            }
        }
        let mut e = String::from_utf8_lossy(&scrub_start(&self.kept, secrets)).into_owned();
        let at = crate::diag::floor_char_boundary(&e, KEPT_STDERR.min(e.len()));
        e.truncate(at);
        e.push_str(&format!("… ({} bytes in all)", self.bytes));
        // Whole lines only: the window's first line is whole when the window holds the whole
        // stream or starts just after a newline (its first byte is the one before it).
        let window_start = self.bytes - self.tail.len() as u64;
        let (body, body_start) = if window_start == 0 {
            (&self.tail[..], 0)
        } else {
            (&self.tail[1..], window_start + 1)
        };
        let first_whole = window_start == 0 || self.tail.first() == Some(&b'\n');
        let mut lines: Vec<(u64, &[u8])> = Vec::new();
        let mut offset = body_start;
        for line in body.split_inclusive(|&b| b == b'\n') {
            lines.push((offset, line.strip_suffix(b"\n").unwrap_or(line)));
            offset += line.len() as u64;
        }
        if !first_whole && !lines.is_empty() {
            lines.remove(0);
        }
        let notes = lines
            .iter()
            .rev()
            .take_while(|(_, l)| l.starts_with(b"tgate: "))
            .count();
        // Past the cut only: a note the kept part begins is not repeated.
        for (start, line) in &lines[lines.len() - notes..] {
            if *start >= KEPT_STDERR as u64 {
                e.push('\n');
                e.push_str(&String::from_utf8_lossy(&scrub_bytes(line, secrets)));
            }
        }
        e
    }
}

impl Tee<'_> {
    /// Counts `done` as passed on (written, or to be written to `inner` directly).
    fn account(&mut self, done: &[u8]) {
        self.sha.update(done);
        self.bytes += done.len() as u64;
        let keep = KEPT_STDERR + self.margin;
        if self.keep && self.kept.len() < keep {
            let room = keep - self.kept.len();
            self.kept.extend_from_slice(&done[..done.len().min(room)]);
        }
        if self.keep {
            // One byte more than the window: the one before it.
            self.tail
                .extend_from_slice(&done[done.len().saturating_sub(TAIL_BYTES + 1)..]);
            let over = self.tail.len().saturating_sub(TAIL_BYTES + 1);
            self.tail.drain(..over);
        }
    }
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // What was delivered is what is recorded.
        let n = self.inner.write(buf)?;
        self.account(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The command's own exit status as tgate's.
fn exit_status(code: i32) -> ExitCode {
    if code == 0 {
        ExitCode::Ok
    } else {
        ExitCode::CommandFailed
    }
}

fn doctor_cmd(a: DoctorArgs, out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let config = load_config(a.config.as_deref(), a.integration.as_deref())?;
    let integration = config
        .integration(a.integration.as_deref())
        .map_err(Failure)?;
    // The policies every `run` loads under this integration: a configuration naming one that
    // cannot load is a configuration error, as it is to `run` (QA: doctor said healthy while
    // every run failed with `cannot read policy`).
    let (ctx, policies) = judged_with(&config, integration, &[]);
    load_policies(policies, &ctx, None).map_err(Failure)?;
    let binary = temporal_binary(&config).ok();
    let mut limits = config.limits;
    limits.timeout = limits.timeout.min(std::time::Duration::from_secs(30));
    // The probe's answer is the namespace's description (~1 KiB): a cap set for commands' output
    // must not cut it (review: `max_output_bytes: 800` was diagnosed as an unreachable server).
    limits.max_output_bytes = limits.max_output_bytes.max(1 << 20);
    let backend = a.backend.unwrap_or(config.backend);
    let report = crate::connect::doctor::diagnose(binary.as_deref(), backend, integration, &limits);
    let text = format_as(a.output, &report, describe_report)?;
    write_out(out, &text)?;
    Ok(if report.problems.is_empty() {
        ExitCode::Ok
    } else {
        ExitCode::CommandFailed
    })
}

fn describe_report(report: &crate::connect::doctor::Report) -> String {
    let mut s = format!(
        "integration `{}`: {} (namespace `{}`)\n",
        report.integration, report.address, report.namespace
    );
    if report.problems.is_empty() {
        use crate::connect::doctor::Probe;
        let through = match report.probed.as_slice() {
            [Probe::Cli] => " (the `temporal` binary)",
            [Probe::Native] => " (the native executor)",
            _ => " (the `temporal` binary and the native executor)",
        };
        s.push_str(&format!("ok: connected and found the namespace{through}\n"));
    }
    let said = report
        .problems
        .iter()
        .map(|p| ("problem", p))
        .chain(report.warnings.iter().map(|w| ("warning", w)));
    for (kind, p) in said {
        let class = serde_json::to_value(p.class)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        s.push_str(&format!(
            "{kind} ({class}): {}\n  fix: {}\n",
            p.problem, p.fix
        ));
    }
    s
}

/// The audit log a reading subcommand works on.
fn log_path(a: &LogArgs) -> Result<std::path::PathBuf, Failure> {
    // PATH and `--audit` both typed, naming two logs: a verdict on one of them would read as one
    // on the other (review). (PATH from `TGATE_AUDIT` is overridden, as the variable is.)
    if let (Some(path), Some(audit)) = (&a.path, &a.audit)
        && !a.path_from_environment
        && real_path(path) != real_path(audit)
    {
        return Err(Failure(format!(
            "two audit logs named, `{}` and --audit `{}`: give one",
            path.display(),
            audit.display()
        )));
    }
    let given = a.audit.as_deref().or(a.path.as_deref());
    // A log named is read without the configuration, however it is named (review: `--audit`
    // still loaded it, and a broken one failed the command).
    let config = match given {
        Some(_) => crate::connect::RecordsConfig::default(),
        None => load_records_config(a.config.as_deref())?,
    };
    audit_path(given, &config.audit).map_err(|e| Failure(e.to_string()))
}

fn audit_cmd(cmd: AuditCmd, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode, Failure> {
    use crate::audit::{export, verify};
    match cmd {
        AuditCmd::Verify {
            log,
            repair,
            output,
        } => {
            let path = log_path(&log)?;
            let fail = |e: crate::audit::AuditError| Failure(e.to_string());
            let repaired = if repair {
                verify::repair(&path).map_err(fail)?
            } else {
                None
            };
            let report = verify::verify(&path).map_err(fail)?;
            let text = match output {
                Format::Json => {
                    let v = serde_json::json!({
                        "intact": report.damage.is_none(),
                        "repaired": repaired,
                        "report": report,
                    });
                    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                Format::Text => describe_verify(&report, repaired.as_ref()),
            };
            write_out(out, &text)?;
            Ok(if report.damage.is_none() {
                ExitCode::Ok
            } else {
                ExitCode::CommandFailed
            })
        }
        AuditCmd::Export {
            log,
            format,
            since,
            until,
            caller,
            namespace,
            decision,
            command,
        } => {
            let path = log_path(&log)?;
            let bound = |t: Option<String>, flag: &str| {
                t.map(|t| export::parse_time_bound(&t))
                    .transpose()
                    .map_err(|e| Failure(format!("--{flag}: {e}")))
            };
            let filter = export::Filter {
                since: bound(since, "since")?,
                until: bound(until, "until")?,
                caller,
                namespace,
                decision: decision.map(Decision::from),
                command,
            };
            match export::export(&path, format, &filter, out) {
                Ok(summary) => {
                    for s in &summary.skipped {
                        let _ = writeln!(err, "tgate: skipped {s}");
                    }
                    Ok(if summary.skipped.is_empty() {
                        ExitCode::Ok
                    } else {
                        ExitCode::CommandFailed
                    })
                }
                Err(export::ExportError::Output(e))
                    if e.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    Ok(ExitCode::Ok)
                }
                Err(e) => Err(Failure(e.to_string())),
            }
        }
        AuditCmd::Tail { log, lines, follow } => {
            let path = log_path(&log)?;
            tail(&path, lines, follow, out).map_err(|e| Failure(e.to_string()))?;
            Ok(ExitCode::Ok)
        }
        AuditCmd::Stress {
            path,
            threads,
            records,
            acks,
            max_file_bytes,
        } => stress(&path, threads, records, acks, max_file_bytes, out),
    }
}

fn describe_verify(
    report: &crate::audit::verify::Report,
    repaired: Option<&crate::audit::verify::Repair>,
) -> String {
    let mut s = String::new();
    if let Some(r) = repaired {
        s.push_str(&format!(
            "repaired: cut a torn last line ({} bytes) off `{}`\n",
            r.removed_bytes,
            r.file.display()
        ));
    }
    let files = report.files.len();
    match &report.damage {
        None => {
            s.push_str(&format!(
                "intact: {} records in {files} file(s)\n",
                report.records
            ));
            if let Some((seq, hash)) = &report.head {
                s.push_str(&format!("head:   seq {seq} hash {hash}\n"));
            }
        }
        Some(d) => {
            s.push_str(&format!(
                "damaged: {} at seq {} (`{}` line {}): {}\n",
                d.kind.as_str(),
                d.seq,
                d.file.display(),
                d.line,
                d.detail
            ));
            s.push_str(&format!("intact before it: {} records\n", report.records));
        }
    }
    s
}

/// `tgate audit tail`: the last `n` records, then (with `follow`) new ones as they come.
fn tail(
    path: &std::path::Path,
    n: usize,
    follow: bool,
    out: &mut dyn Write,
) -> Result<(), crate::audit::AuditError> {
    use std::io::BufRead;
    use std::os::unix::fs::MetadataExt;
    let io = |p: &std::path::Path, e: std::io::Error| crate::audit::AuditError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    // A line read once: the record, when it is one this version reads, else what is shown in
    // its place.
    let read = |line: &[u8]| -> Result<crate::audit::Record, String> {
        crate::audit::export::read_record(line).map_err(|why| format!("({why})"))
    };
    let show = |out: &mut dyn Write, read: &Result<crate::audit::Record, String>| -> bool {
        let text = match read {
            Ok(r) => std::borrow::Cow::Owned(crate::audit::export::human(r)),
            Err(shown) => std::borrow::Cow::Borrowed(shown),
        };
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .is_ok()
    };
    // The seq of a line read (`None`: not a record this version reads).
    let seq_of = |read: &Result<crate::audit::Record, String>| read.as_ref().ok().map(|r| r.seq);
    // The last n complete lines of the chain (and, to know where following starts, at least the
    // last 16).
    let keep = n.max(16);
    let mut last: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    // One consistent view of the chain's files, each opened before any is read, as `verify` and
    // `export` read it (QA: a rotation between listing the files and opening them showed a gap).
    // Following a log that does not exist yet starts from nothing.
    let files = if follow && crate::audit::chain_files(path)?.is_empty() {
        Vec::new()
    } else {
        crate::audit::chain_snapshot(path)?
    };
    // Where the active file was read up to (its inode and the end of its last whole line):
    // following resumes there, so nothing read here is shown twice (re-check QA: damaged last
    // lines were shown again).
    let mut resume: Option<(u64, u64)> = None;
    for (file, reader, ino) in files {
        let mut end = 0u64;
        let mut lines = std::io::BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let got = lines
                .read_until(b'\n', &mut line)
                .map_err(|e| io(&file, e))?;
            if got == 0 {
                break;
            }
            // Not a line still being written in the active file: following shows it whole.
            if file == path && line.last() != Some(&b'\n') {
                break;
            }
            end += got as u64;
            if last.len() == keep {
                last.pop_front();
            }
            last.push_back(line.strip_suffix(b"\n").unwrap_or(&line).to_vec());
        }
        if file == path {
            resume = Some((ino, end));
        }
    }
    for line in last.iter().skip(last.len().saturating_sub(n)) {
        if !show(out, &read(line)) {
            return Ok(());
        }
    }
    if !follow {
        return Ok(());
    }
    // Follow by sequence number: every record after the last one shown, through every file
    // rotated in between (QA: records in a file rotated between two looks were never shown).
    let mut last_seq = last.iter().rev().find_map(|l| seq_of(&read(l)));
    drop(last);
    // A gap in the sequence (a file rotated between listing the files and opening the active
    // one, or missed by a listing made while files were renamed): the files are listed again,
    // up to five times, 50 ms apart, before the records after it are shown as they are.
    let mut gap_looks: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    enum Step {
        Go,
        Stop,
        Gap,
    }
    loop {
        // Catch up: the records after `last_seq` in the rotated files and the active file.
        let files = crate::audit::chain_files(path)?;
        let Some(active_path) = files.last().filter(|f| f.as_path() == path) else {
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        };
        let first_seq = |file: &std::path::Path| -> Option<u64> {
            let reader = crate::audit::open_reader(file).ok()?;
            let line = std::io::BufReader::new(reader).split(b'\n').next()?.ok()?;
            seq_of(&read(&line))
        };
        let (file, ino) = {
            let f = match std::fs::File::open(active_path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(active_path, e)),
            };
            let ino = f.metadata().map_err(|e| io(active_path, e))?.ino();
            (f, ino)
        };
        // The newest file that may hold the record after `last_seq` (all of them when none was
        // shown yet).
        let mut start = 0;
        if let Some(seq) = last_seq {
            start = files.len() - 1;
            while start > 0 && first_seq(&files[start]).is_none_or(|f| f > seq + 1) {
                start -= 1;
            }
        }
        // Past the last record shown: lines that are not records are shown from there on.
        let mut past = last_seq.is_none();
        let mut show_new = |out: &mut dyn Write, line: &[u8], past: &mut bool| -> Step {
            let line = read(line);
            match (seq_of(&line), last_seq) {
                (Some(seq), Some(shown)) if seq <= shown => {
                    *past |= seq == shown;
                    Step::Go
                }
                (Some(seq), Some(shown)) if seq > shown + 1 && gap_looks.get(&seq) < Some(&5) => {
                    *gap_looks.entry(seq).or_insert(0) += 1;
                    Step::Gap
                }
                (Some(seq), _) => {
                    last_seq = Some(seq);
                    *past = true;
                    if show(out, &line) {
                        Step::Go
                    } else {
                        Step::Stop
                    }
                }
                (None, _) if *past => {
                    if show(out, &line) {
                        Step::Go
                    } else {
                        Step::Stop
                    }
                }
                (None, _) => Step::Go,
            }
        };
        let mut pos = 0u64;
        match resume.take() {
            // The active file read at the start, unchanged: on from where that read ended.
            Some((resumed_ino, end)) if resumed_ino == ino => {
                pos = end;
                past = true;
            }
            _ => {
                let mut gap = false;
                'rotated: for rotated in &files[start..files.len() - 1] {
                    // Renamed or compressed away meanwhile: the next pass lists them again.
                    let Ok(reader) = crate::audit::open_reader(rotated) else {
                        continue;
                    };
                    for line in std::io::BufReader::new(reader).split(b'\n') {
                        let line = line.map_err(|e| io(rotated, e))?;
                        match show_new(out, &line, &mut past) {
                            Step::Go => {}
                            Step::Stop => return Ok(()),
                            Step::Gap => {
                                gap = true;
                                break 'rotated;
                            }
                        }
                    }
                }
                if gap {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    continue;
                }
            }
        }
        // The active file, from where it stands, then as it grows, until it is rotated (or cut
        // back below the line being read: then read again by sequence number). A line is read
        // only once it is whole, from its start each time: a torn line a writer cuts and writes
        // over is never glued to what replaces it (re-check QA).
        use std::os::unix::fs::FileExt;
        let mut at = pos;
        'active: loop {
            let now = std::fs::metadata(path).ok();
            let rotated = now.as_ref().is_none_or(|m| m.ino() != ino);
            let len = file.metadata().map_err(|e| io(path, e))?.len();
            if len < at {
                break;
            }
            if len > at {
                let mut bytes = vec![0u8; (len - at) as usize];
                file.read_exact_at(&mut bytes, at)
                    .map_err(|e| io(path, e))?;
                let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                for line in bytes[..whole].split_inclusive(|&b| b == b'\n') {
                    at += line.len() as u64;
                    match show_new(out, &line[..line.len() - 1], &mut past) {
                        Step::Go => {}
                        Step::Stop => return Ok(()),
                        Step::Gap => {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            break 'active;
                        }
                    }
                }
                if whole > 0 {
                    continue;
                }
            }
            if rotated {
                // Finished (what it holds was read above): the records after it, wherever they
                // now are, on the next pass.
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// `tgate audit stress`: `threads` × `records` synthetic appends; reports throughput and latency.
fn stress(
    path: &std::path::Path,
    threads: usize,
    records: usize,
    acks: bool,
    max_file_bytes: u64,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    use crate::audit::{AuditLog, Channel, Entry, Kind};
    let log = AuditLog::open(path, max_file_bytes)
        .map_err(|e| Failure(format!("audit log unavailable: {e}")))?;
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let start = std::time::Instant::now();
    let mut latencies: Vec<u64> = Vec::with_capacity(threads * records);
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| -> Result<(), Failure> {
        let mut handles = Vec::new();
        for t in 0..threads {
            let tx = tx.clone();
            let (log, failed) = (&log, &failed);
            handles.push(s.spawn(move || {
                let mut lat = Vec::with_capacity(records);
                for i in 0..records {
                    let entry = Entry {
                        raw: Some(format!("temporal workflow describe -w stress-{t}-{i}")),
                        argv: vec![
                            "temporal".into(),
                            "workflow".into(),
                            "describe".into(),
                            "--namespace=default".into(),
                            format!("--workflow-id=stress-{t}-{i}"),
                        ],
                        command: Some("workflow describe".to_owned()),
                        class: Some(crate::command::EffectClass::Read),
                        namespace: Some("default".to_owned()),
                        decision: Some(Decision::Allow),
                        rules: vec!["tgate:stress".to_owned()],
                        reason: Some("synthetic record of `tgate audit stress`".to_owned()),
                        ..Entry::new(Kind::Decision, &format!("stress-{t}"), Channel::Cli)
                    };
                    let t0 = std::time::Instant::now();
                    match log.append(&entry) {
                        Ok(c) => {
                            lat.push(t0.elapsed().as_nanos() as u64);
                            if acks {
                                let _ = tx.send(c.seq);
                            }
                        }
                        Err(_) => {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                    }
                }
                lat
            }));
        }
        drop(tx);
        for seq in rx {
            out.write_all(format!("{seq}\n").as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Failure(e.to_string()))?;
        }
        for h in handles {
            latencies.extend(h.join().unwrap_or_default());
        }
        Ok(())
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    if failed.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Failure(
            "audit log unavailable: an append failed".to_owned(),
        ));
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |ns| *ns as f64 / 1000.0)
    };
    let report = serde_json::json!({
        "records": latencies.len(),
        "threads": threads,
        "seconds": elapsed,
        "records_per_second": latencies.len() as f64 / elapsed,
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "max_us": latencies.last().map_or(0.0, |ns| *ns as f64 / 1000.0),
    });
    write_out(out, &format!("{report}\n"))?;
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_cut_on_a_character_boundary() {
        assert_eq!(cut_reason("short".to_owned()), "short");
        let long = format!("x{}", "é".repeat(KEPT_STDERR));
        let cut = cut_reason(long.clone());
        // 1 + 2 × 2047 bytes kept: the next é would straddle the limit.
        let kept = 1 + 2 * ((KEPT_STDERR - 1) / 2);
        assert_eq!(
            cut,
            format!("{}… ({} bytes more)", &long[..kept], long.len() - kept)
        );
    }

    fn argv(words: &[&str]) -> Vec<std::ffi::OsString> {
        words.iter().map(Into::into).collect()
    }

    /// The `run` fast path reads exactly what the full parser reads, and takes nothing the full
    /// parser refuses (nor help or version, which the full parser prints).
    #[test]
    fn run_arguments_alone_parse_as_the_full_parser_does() {
        let accepted: &[&[&str]] = &[
            &["tgate", "run", "temporal workflow list"],
            &[
                "tgate",
                "run",
                "--config",
                "c.yaml",
                "--backend",
                "grpc",
                "temporal workflow list",
            ],
            &[
                "tgate", "run", "--", "temporal", "workflow", "list", "-n", "x",
            ],
            &[
                "tgate", "run", "temporal", "workflow", "list", "--limit", "2",
            ],
            &[
                "tgate",
                "run",
                "--caller",
                "bob",
                "--group",
                "sre",
                "--group",
                "oncall",
                "--justification",
                "INC-1",
                "--",
                "temporal",
                "workflow",
                "signal",
                "-w",
                "a",
                "--name",
                "b",
            ],
            &[
                "tgate",
                "run",
                "--policy",
                "a.yaml",
                "--policy",
                "b.yaml",
                "--audit",
                "x.jsonl",
                "--integration",
                "prod",
                "--approval",
                "ap-1",
                "--backend=cli",
                "temporal workflow terminate -w a",
            ],
        ];
        for words in accepted {
            let fast = run_args_alone(&argv(words)).unwrap_or_else(|| panic!("{words:?}"));
            let Ok(Cli {
                command: Sub::Run(full),
            }) = Cli::try_parse_from(argv(words))
            else {
                panic!("the full parser refused {words:?}");
            };
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{words:?}");
        }
        // Whatever the fast path takes, the full parser takes the same way; what it leaves
        // (errors, help, version, other subcommands), the full parser handles.
        let others: &[&[&str]] = &[
            &["tgate", "run"],
            &[
                "tgate",
                "run",
                "--backend",
                "bogus",
                "temporal workflow list",
            ],
            &["tgate", "run", "--nope", "temporal workflow list"],
            &["tgate", "run", "temporal workflow list", "--nope"],
            &["tgate", "run", "--config"],
            &["tgate", "run", "--help"],
            &["tgate", "run", "-h", "temporal workflow list"],
            &["tgate", "run", "--", "temporal", "workflow", "list", "-h"],
            &["tgate", "check", "temporal workflow list"],
            &["tgate", "--version"],
        ];
        for words in others {
            let full = Cli::try_parse_from(argv(words));
            match run_args_alone(&argv(words)) {
                Some(fast) => {
                    let Ok(Cli {
                        command: Sub::Run(full),
                    }) = full
                    else {
                        panic!("the fast path took {words:?}, the full parser did not");
                    };
                    assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{words:?}");
                }
                None => assert!(
                    !matches!(
                        full,
                        Ok(Cli {
                            command: Sub::Run(_)
                        })
                    ) || words.contains(&"-h"),
                    "{words:?}: left to the full parser, which runs it"
                ),
            }
        }
        for words in [
            &["tgate", "run", "--help"][..],
            &["tgate", "run", "-h", "x"][..],
        ] {
            assert!(run_args_alone(&argv(words)).is_none(), "{words:?}");
        }
    }

    /// The record's `error` of stderr `text` passed through a tee keeping out `secrets` (none
    /// of them scrubbed on the way, as another integration's key or the agent's own are not).
    fn recorded(text: &[u8], secrets: &[String]) -> String {
        let mut sink = Vec::new();
        let mut tee = Tee::new(Scrubber::new(&mut sink, &[]), true, secrets);
        for piece in text.chunks(777) {
            tee.write_all(piece).unwrap();
        }
        tee.recorded_error(secrets)
    }

    #[test]
    fn a_recorded_error_keeps_no_part_of_a_secret() {
        let key = "tgk-0123456789abcdefghijklmnopqrstuvwxyz".to_owned();
        let secrets = [key.clone()];
        let leaks = |e: &str| (4..=key.len()).any(|n| e.contains(&key[..n]));
        // Review: earlier replacements shrink the text, so the cut moved onto a key kept only
        // in part, and left its start in the record.
        for earlier in 0..4 {
            for gap in [4000, 4030, 4050, 4061, 4080, 4090, 4095, 4096, 4100] {
                let mut text = key.repeat(earlier).into_bytes();
                text.extend(std::iter::repeat_n(b'x', gap));
                text.extend(key.as_bytes());
                text.push(b'\n');
                let e = recorded(&text, &secrets);
                assert!(!leaks(&e), "{earlier} {gap}: {e}");
                assert!(e.len() < 4096 + 200, "{}", e.len());
            }
        }
        // A key across the cut, when only the agent's own secrets are known (no margin from
        // the scrubber's keys).
        let mut text = vec![b'y'; 4080];
        text.extend(key.as_bytes());
        text.extend(vec![b'z'; 100]);
        assert!(!leaks(&recorded(&text, &secrets)));
    }

    #[test]
    fn a_cut_recorded_error_says_its_length_and_keeps_the_closing_notes() {
        let mut text = vec![b'e'; 5000];
        text.extend(b"\ntgate: output cut at 5000 bytes\ntgate: stopped by SIGTERM\n");
        let e = recorded(&text, &[]);
        assert_eq!(
            e,
            format!(
                "{}… ({} bytes in all)\ntgate: output cut at 5000 bytes\ntgate: stopped by SIGTERM",
                "e".repeat(4096),
                text.len()
            )
        );
        // A note the kept part begins is not repeated; one wholly in a short stream is kept whole.
        let mut text = vec![b'e'; 4080];
        text.extend(b"\ntgate: killed after the 120s timeout\n");
        let e = recorded(&text, &[]);
        assert!(e.starts_with(&"e".repeat(4080)), "{e}");
        assert_eq!(e.matches("tgate: ").count(), 1, "{e}");
        assert_eq!(recorded(b"Error: no\n", &[]), "Error: no\n");
    }
}
