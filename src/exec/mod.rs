//! Execution of allowed commands. Today one executor: the pinned `temporal` binary ([`cli`]).
//!
//! An executor receives only a typed [`crate::Command`] that policy allowed, never text, and injects
//! the connection itself from the [`crate::connect::Integration`].

pub mod cli;

pub use cli::{ExecError, Execution, run_cli};
