//! Build script: only the ROS 2 wheel workaround.
//!
//! `scripts/with-ros` sets `STAMP_SYNC_ROS_WHEELS=1`. The ROS 2 wheels'
//! `lib*__rosidl_generator_py.so` reference CPython symbols without linking
//! libpython, so binaries built against the wheel venv must link
//! `libpython3.11.so.1.0` themselves (nothing in it is called). A regular
//! ROS install (`/opt/ros/jazzy`) needs none of this.
fn main() {
    println!("cargo:rerun-if-env-changed=STAMP_SYNC_ROS_WHEELS");
    let r2r = std::env::var_os("CARGO_FEATURE_R2R").is_some();
    let wheels = std::env::var("STAMP_SYNC_ROS_WHEELS").is_ok_and(|v| v == "1");
    if r2r && wheels {
        println!(
            "cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-l:libpython3.11.so.1.0,--pop-state"
        );
    }
}
