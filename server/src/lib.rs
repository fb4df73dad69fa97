//! Connect Portal's server: configuration, database, authentication, sessions, the HTTP
//! surface and the operator CLI. The `portal` binary is a thin wrapper around this.

#![recursion_limit = "256"]

pub mod account_admin;
pub mod backup;
pub mod cli;
pub mod common_passwords;
pub mod config;
pub mod db;
pub mod display;
pub mod dns;
pub mod env;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod mfa_flow;
pub mod notices;
pub mod oidc;
pub mod passkeys;
pub mod passwords;
pub mod people;
pub mod people_admin;
pub mod policy;
pub mod policy_notices;
pub mod profile;
pub mod recovery;
pub mod secret_key;
pub mod sessions;
pub mod sign_in;
pub mod sso_flow;
pub mod state;
pub mod web;

pub use state::AppState;
