//! The `tgate` command line: subcommands, their output, and exit codes.
//!
//! `main` stays thin: it calls [`main_with`] and exits with the code it returns. Output goes to the
//! writers given, so tests drive the CLI in-process as well as through the binary.

use std::io::Write;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::command::{Command, Value};
use crate::lex::{self, Program};

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
    let text = match a.output {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&cmd).map_err(|e| Failure(e.to_string()))?;
            s.push('\n');
            s
        }
        Format::Text => describe(&cmd),
    };
    write_out(out, &text)?;
    Ok(ExitCode::Ok)
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
