//! Server functions, by feature. Each feature file holds the feature's server functions
//! and, for the server build, the trait the server implements for them (`sign_in` in
//! `server/src/sign_in.rs`, `profile` in `profile.rs`, `mfa` in `mfa_flow.rs`, `account`
//! in `account_admin.rs`, `recovery` in `recovery.rs`, `passkeys` in `passkeys.rs`): a new operation is one server function here plus one method of
//! that trait, written next to each other, and its body in the server.
//!
//! A server function only adapts the call: it turns form fields into typed values (with
//! the validation the browser also runs) and the result into redirects and cookies.

pub mod account;
pub mod mfa;
pub mod passkeys;
pub mod people;
pub mod profile;
pub mod recovery;
pub mod sign_in;

pub use account::*;
pub use mfa::*;
pub use passkeys::*;
pub use people::*;
pub use profile::*;
pub use recovery::*;
pub use sign_in::*;
