//! `stamp-sync`: see `stamp-sync --help`.
fn main() {}
