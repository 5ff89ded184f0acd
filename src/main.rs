//! The `tgate` binary: all behaviour lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    tgate::cli::main_with(std::env::args_os(), &mut out, &mut err).into()
}
