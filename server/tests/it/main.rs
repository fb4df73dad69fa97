#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure
//! One integration-test binary (link time is precious): router-level tests against a
//! real database, each run on SQLite and on PostgreSQL.

mod harness;

mod auth;
mod backups;
mod cli;
mod mail;
mod mfa;
mod operations;
mod passkeys;
mod people_admin;
mod people_forms;
mod policy;
mod profile;
mod recovery;
mod replicas;
mod schema;
mod security;
mod shell;
mod sso;
mod transactions;
