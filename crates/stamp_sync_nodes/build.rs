//! With the ROS 2 wheels (`STAMP_SYNC_ROS_WHEELS=1`, set by scripts/with-ros):
//! link libpython, as crates/stamp_sync_r2r/build.rs explains.
fn main() {
    println!("cargo:rerun-if-env-changed=STAMP_SYNC_ROS_WHEELS");
    if std::env::var("STAMP_SYNC_ROS_WHEELS").is_ok_and(|v| v == "1") {
        println!(
            "cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-l:libpython3.11.so.1.0,--pop-state"
        );
    }
}
