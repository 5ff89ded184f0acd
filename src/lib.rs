//! tgate: a policy-enforcing command gateway for the Temporal CLI.
//!
//! A request flows through the modules in order: [`lex`] turns the text an agent sent into an argv
//! (refusing anything a shell would interpret), [`command`] reads the argv exactly as the Temporal CLI
//! 1.9.1 does and yields a typed [`Command`], [`policy`] decides on the typed command, and [`exec`]
//! runs an allowed command against the cluster of a [`connect`] integration; [`audit`] records the
//! decision (durably, before any write is sent or any output shown) and the result in a
//! hash-chained log; [`approval`] keeps the state of gated commands (pending approvals, the
//! two-person rule, run-once claims and rate limits); [`diag`] writes tgate's own diagnostics
//! when `TGATE_LOG` asks for them. Nothing
//! downstream of [`command`] ever looks at the raw text again.

pub mod approval;
pub mod audit;
pub mod cli;
pub mod command;
pub mod connect;
pub mod diag;
pub mod exec;
#[doc(hidden)]
pub mod fuzz;
pub mod lex;
pub mod policy;
mod random;
mod yaml;

pub use command::{Command, CommandPath, EffectClass, ParseError, Target};
pub use lex::{LexError, Program};
pub use policy::{Caller, Decision, Evaluation, Policy, PolicySet};
