//! One integration-test binary (link time is precious): router-level tests against a
//! real database, each run on SQLite and on PostgreSQL.

mod harness;

mod auth;
mod cli;
mod security;
mod shell;
