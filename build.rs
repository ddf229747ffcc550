// Migrations are embedded by `sqlx::migrate!`; without this, adding a migration file does not rebuild
// the binary and the new migration is silently missing from it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
