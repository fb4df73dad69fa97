//! Rebuilds the server when a migration is added: `sqlx::migrate!` embeds the
//! `migrations` folders at compile time, and Cargo does not otherwise watch them.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
