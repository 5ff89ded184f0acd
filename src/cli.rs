//! The `tgate` command line: subcommands, their output, and exit codes.
//!
//! `main` stays thin: it calls [`main_with`] and exits with the code it returns. Output goes to the
//! writers given, so tests drive the CLI in-process as well as through the binary.

use std::io::Write;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
policy allows."
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
    /// that does not parse is also denied: nothing runs). Without --policy, the built-in read-only
    /// policy decides.
    Check(CheckArgs),
    /// Decide on a `temporal ...` command line and, when allowed, run it against the cluster.
    ///
    /// Prints the command's own output and exits with its exit code when allowed; 3 when denied,
    /// 4 when approval is required (nothing runs), 2 on a usage, configuration, parse or gateway
    /// error (nothing runs). The connection comes from the configuration (`--config`, or
    /// `TGATE_CONFIG`; without one: localhost:7233, namespace `default`, the built-in policy).
    Run(RunArgs),
    /// Diagnose an integration's connection: unreachable, certificate, authentication or
    /// namespace-not-found, each with its fix. Exit 0 healthy, 1 problems found, 2 configuration error.
    Doctor(DoctorArgs),
    /// Work with policy files: lint, test, schema.
    #[command(subcommand)]
    Policy(PolicyCmd),
}

/// Who is asking.
#[derive(Args, Debug)]
struct CallerArgs {
    /// Caller identity (for `run`, Temporal records it as `tgate:<caller>`).
    #[arg(long = "caller", value_name = "ID", default_value = "agent")]
    caller: String,
    /// A group the caller belongs to. Repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    group: Vec<String>,
}

impl From<CallerArgs> for Caller {
    fn from(a: CallerArgs) -> Caller {
        Caller {
            id: a.caller,
            groups: a.group,
        }
    }
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Policy file (YAML). Repeatable; rules of all files are pooled, the strictest decision wins.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<std::path::PathBuf>,
    #[command(flatten)]
    caller: CallerArgs,
    /// What `$default` means in policies: the integration's default namespace.
    #[arg(
        long = "default-namespace",
        value_name = "NS",
        default_value = "default"
    )]
    default_namespace: String,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
    /// List every rule with why it matched or not.
    #[arg(long = "explain")]
    explain: bool,
    /// The command line: one string, or the words of an argv (after `--`).
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
    #[command(flatten)]
    caller: CallerArgs,
    /// The command line: one string, or the words of an argv (after `--`).
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
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
}

#[derive(Subcommand, Debug)]
enum PolicyCmd {
    /// Report invalid regexes and globs, unknown commands and flags, rules shadowed by stricter
    /// ones, rules that can never match, and failing embedded tests. Exit 1 on any finding.
    Lint {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
    /// Run the tests embedded in policy files. Exit 1 if any fails, 2 if a policy does not load.
    Test {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
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
    /// The command line: one string, or the words of an argv (after `--`).
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
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Ok
            };
            let text = e.render();
            let target: &mut dyn Write = if e.use_stderr() { err } else { out };
            let _ = write!(target, "{}", text.ansi());
            return code;
        }
    };
    let result = match cli.command {
        Sub::Parse(a) => parse_cmd(a, out),
        Sub::Check(a) => check_cmd(a, out),
        Sub::Run(a) => run_cmd(a, out, err),
        Sub::Doctor(a) => doctor_cmd(a, out),
        Sub::Policy(PolicyCmd::Lint { files }) => lint_cmd(&files, out),
        Sub::Policy(PolicyCmd::Test { files }) => test_cmd(&files, out),
        Sub::Policy(PolicyCmd::Schema) => {
            let text = serde_json::to_string_pretty(&policy::schema()).unwrap_or_default();
            write_out(out, &format!("{text}\n")).map(|()| ExitCode::Ok)
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            let _ = writeln!(err, "tgate: {msg}");
            ExitCode::Usage
        }
    }
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
    std::fs::read_to_string(path)
        .map_err(|e| Failure(format!("cannot read policy `{}`: {e}", path.display())))
}

/// Loads the policies named (or the built-in one).
pub fn load_policies(paths: &[std::path::PathBuf], ctx: &Context) -> Result<PolicySet, String> {
    if paths.is_empty() {
        return Ok(PolicySet::new(vec![Policy::builtin(ctx)]));
    }
    let mut policies = Vec::new();
    for p in paths {
        let text = read_file(p).map_err(|f| f.0)?;
        policies
            .push(Policy::load(&text, &p.display().to_string(), ctx).map_err(|e| e.to_string())?);
    }
    Ok(PolicySet::new(policies))
}

fn check_cmd(a: CheckArgs, out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let ctx = Context {
        default_namespace: a.default_namespace,
    };
    let set = load_policies(&a.policy, &ctx).map_err(Failure)?;
    let caller = Caller::from(a.caller);
    let (ev, code) = match read_command(&a.line, &Program::default()) {
        Ok(cmd) => {
            let ev = set.evaluate(&cmd, &caller, a.explain);
            let code = match ev.decision {
                Decision::Allow => ExitCode::Ok,
                Decision::RequireApproval => ExitCode::ApprovalRequired,
                Decision::Deny => ExitCode::Denied,
            };
            (ev, code)
        }
        Err(e) => (Evaluation::unparsed(e), ExitCode::Usage),
    };
    write_out(out, &format_as(a.output, &ev, describe_evaluation)?)?;
    Ok(code)
}

fn describe_evaluation(ev: &Evaluation) -> String {
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

fn lint_cmd(files: &[std::path::PathBuf], out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let ctx = Context::default();
    let mut findings = 0;
    let mut text = String::new();
    for f in files {
        let src = read_file(f)?;
        for finding in policy::lint(&src, &f.display().to_string(), &ctx) {
            findings += 1;
            let sev = match finding.severity {
                policy::Severity::Error => "error",
                policy::Severity::Warning => "warning",
            };
            text.push_str(&format!("{sev}: {}\n", finding.message));
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

fn test_cmd(files: &[std::path::PathBuf], out: &mut dyn Write) -> Result<ExitCode, Failure> {
    let ctx = Context::default();
    let mut text = String::new();
    let mut failed = false;
    for f in files {
        let src = read_file(f)?;
        let name = f.display().to_string();
        let (total, failures) =
            policy::test_file(&src, &name, &ctx).map_err(|e| Failure(e.to_string()))?;
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

/// The configuration file given, or the embedded default.
fn load_config(path: Option<&std::path::Path>) -> Result<crate::connect::Config, Failure> {
    match path {
        Some(p) => crate::connect::Config::load(p).map_err(|e| Failure(e.to_string())),
        None => Ok(crate::connect::Config::default()),
    }
}

/// The `temporal` binary: the configuration's, else `TGATE_TEMPORAL_BIN`, else `temporal` on PATH.
fn temporal_binary(config: &crate::connect::Config) -> Result<std::path::PathBuf, String> {
    if let Some(p) = &config.temporal {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("TGATE_TEMPORAL_BIN") {
        return Ok(p.into());
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

fn run_cmd(a: RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode, Failure> {
    let cmd = read_command(&a.line, &Program::default()).map_err(Failure)?;
    let config = load_config(a.config.as_deref())?;
    let backend = a.backend.unwrap_or(config.backend);
    // Decoding the output's descriptors takes as long as loading the policies, connecting and
    // calling together: start it now, on a side thread (nothing is sent before the decision).
    if backend != crate::connect::Backend::Cli {
        crate::exec::grpc::prewarm(&cmd);
    }
    let integration = config
        .integration(a.integration.as_deref())
        .map_err(Failure)?
        .clone();
    let ctx = Context {
        default_namespace: integration.namespace.clone(),
    };
    let policy_paths = if a.policy.is_empty() {
        &config.policies
    } else {
        &a.policy
    };
    let set = load_policies(policy_paths, &ctx).map_err(Failure)?;
    let caller = Caller::from(a.caller);
    // A command that names no namespace runs in the integration's default namespace: make that
    // explicit before judging, so the policy sees the namespace that will be used.
    // (Not with the deprecated namespace positional: the CLI refuses it together with `-n`.)
    let positional_ns = cmd.path().namespace_positional() && !cmd.args().is_empty();
    let cmd = if cmd.path().connects()
        && cmd.flag("namespace").is_none()
        && !cmd.is_help()
        && !positional_ns
    {
        cmd.with_flags(&[("namespace", Value::Str(integration.namespace.clone()))])
            .map_err(|e| Failure(e.to_string()))?
    } else {
        cmd
    };
    let ev = set.evaluate(&cmd, &caller, false);
    match ev.decision {
        Decision::Deny => {
            let _ = writeln!(
                err,
                "tgate: denied ({}): {}",
                ev.rules.join(", "),
                ev.reason
            );
            return Ok(ExitCode::Denied);
        }
        Decision::RequireApproval => {
            let _ = writeln!(
                err,
                "tgate: approval required ({}): {}",
                ev.rules.join(", "),
                ev.reason
            );
            return Ok(ExitCode::ApprovalRequired);
        }
        Decision::Allow => {}
    }
    let effective = ev
        .effective
        .ok_or_else(|| Failure("allowed without a command to run".to_owned()))?;
    let identity = format!("tgate:{}", caller.id);
    if backend != crate::connect::Backend::Cli {
        match crate::exec::grpc::try_native(
            &effective,
            &integration,
            &identity,
            &config.limits,
            out,
            err,
        ) {
            crate::exec::grpc::Native::Ran { exit_code } => return Ok(exit_status(exit_code)),
            crate::exec::grpc::Native::Fallback(why)
                if backend == crate::connect::Backend::Grpc =>
            {
                return Err(Failure(format!(
                    "not run natively ({why}); use --backend auto or cli"
                )));
            }
            crate::exec::grpc::Native::Fallback(_) => {}
        }
    }
    let binary = temporal_binary(&config).map_err(Failure)?;
    let run = crate::exec::run_cli(
        &binary,
        &effective,
        &integration,
        &caller.id,
        &config.limits,
    )
    .map_err(|e| Failure(e.to_string()))?;
    let _ = out.write_all(&run.stdout);
    let _ = out.flush();
    let _ = err.write_all(&run.stderr);
    Ok(exit_status(run.exit_code))
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
    let config = load_config(a.config.as_deref())?;
    let integration = config
        .integration(a.integration.as_deref())
        .map_err(Failure)?;
    let binary = temporal_binary(&config).map_err(Failure)?;
    let mut limits = config.limits;
    limits.timeout = limits.timeout.min(std::time::Duration::from_secs(30));
    let report = crate::connect::doctor::diagnose(&binary, integration, &limits);
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
        s.push_str("ok: connected and found the namespace\n");
    }
    for p in &report.problems {
        let class = serde_json::to_value(p.class)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        s.push_str(&format!(
            "problem ({class}): {}\n  fix: {}\n",
            p.problem, p.fix
        ));
    }
    s
}
