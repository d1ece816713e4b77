//! With feature `watch` and the ROS 2 wheels (`STAMP_SYNC_ROS_WHEELS=1`,
//! set by scripts/with-ros): link libpython, as crates/stamp_sync_r2r/build.rs explains.
fn main() {
    println!("cargo:rerun-if-env-changed=STAMP_SYNC_ROS_WHEELS");
    let wheels = std::env::var("STAMP_SYNC_ROS_WHEELS").is_ok_and(|v| v == "1");
    if wheels && std::env::var_os("CARGO_FEATURE_WATCH").is_some() {
        println!(
            "cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-l:libpython3.11.so.1.0,--pop-state"
        );
    }
}
