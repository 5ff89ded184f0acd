//! Execution of allowed commands: the pinned `temporal` binary ([`cli`]), and native gRPC
//! ([`grpc`]) for the commands tgate translates, rendered as the CLI would ([`protojson`]).
//!
//! An executor receives only a typed [`crate::Command`] that policy allowed, never text, and injects
//! the connection itself from the [`crate::connect::Integration`].

pub mod cli;
pub mod gojson;
pub mod grpc;
pub mod protojson;
pub mod prototext;
pub mod stop;
pub mod text;
pub mod width;

pub use cli::{
    ExecError, Execution, STOPPED_STDERR_BYTES, cut_stopped_stderr, run_cli, run_cli_until, say,
};

/// The API keys an executor replaces in the output before its cap can cut through one: the
/// integration's, and every other configured integration's ([`crate::diag::hide`]), so that a
/// key that begins or overlaps another is replaced whole, as one span.
pub fn keys_of(integration: &crate::connect::Integration) -> Vec<String> {
    let mut keys = crate::diag::hidden();
    if let Some(k) = integration.api_key() {
        keys.push(k.expose().to_owned());
    }
    keys
}
