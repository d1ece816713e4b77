//! The README's code is compiled: its core example is a doctest (included
//! in `src/lib.rs` under `cfg(doctest)`), and its ROS 2 example, which
//! needs the `r2r` feature, is `examples/readme_node.rs`, built by `cargo
//! test` of the workspace under scripts/with-ros. This checks that the README shows that example's
//! code (ignoring layout: rustfmt reflows the file, not the README).

fn normalized(code: &str) -> String {
    let mut s: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for (from, to) in [(",)", ")"), (",]", "]"), (",}", "}")] {
        s = s.replace(from, to);
    }
    s
}

#[test]
fn readme_ros_example_is_the_compiled_example() {
    let root = stamp_sync_testkit::repo();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("```rust,ignore\n")
        .expect("the ROS example block")
        + "```rust,ignore\n".len();
    let len = readme[start..].find("```").unwrap();
    let shown = &readme[start..start + len];

    let file = std::fs::read_to_string(root.join("crates/stamp_sync_r2r/examples/readme_node.rs"))
        .unwrap();
    let code: Vec<&str> = file
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .filter(|l| !l.starts_with("fn main()"))
        .collect();
    // Drop the closing brace of `main`.
    let code = &code[..code.len() - 1];
    assert_eq!(normalized(shown), normalized(&code.join("\n")));
}

/// The README's main command is `cargo run ... -- match ...` without
/// `--bin`: with several binaries (the ROS nodes), cargo runs it only if
/// the manifest names the CLI as `default-run`.
#[test]
fn readme_main_command_runs_the_cli() {
    let root = stamp_sync_testkit::repo();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let main = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -- match "))
        .expect("the README's main command");
    assert!(!main.contains("--bin"), "{main}");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        manifest
            .lines()
            .any(|l| l.trim() == "default-run = \"stamp-sync\""),
        "Cargo.toml must set default-run = \"stamp-sync\""
    );
}

/// The README's usage example is the core crate's README example, which
/// is compiled and run as a doctest of `stamp_sync`.
#[test]
fn readme_usage_is_the_core_readme_s() {
    let root = stamp_sync_testkit::repo();
    let block = |path: &str| {
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let start = text.find("```rust\n").expect("a rust block") + "```rust\n".len();
        let len = text[start..].find("```").unwrap();
        text[start..start + len].to_string()
    };
    assert_eq!(block("README.md"), block("crates/stamp_sync/README.md"));
}
