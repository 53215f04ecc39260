//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds them at compile time, and
//! the compiler does not track the files it reads.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
