//! The README's code is compiled: its core example is a doctest (included
//! in `src/lib.rs` under `cfg(doctest)`), and its ROS 2 example, which
//! needs the `r2r` feature, is `examples/readme_node.rs`, built by `cargo
//! test --all-features`. This checks that the README shows that example's
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
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme
        .find("```rust,ignore\n")
        .expect("the ROS example block")
        + "```rust,ignore\n".len();
    let len = readme[start..].find("```").unwrap();
    let shown = &readme[start..start + len];

    let file = std::fs::read_to_string(format!("{root}/examples/readme_node.rs")).unwrap();
    let code: Vec<&str> = file
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .filter(|l| !l.starts_with("fn main()"))
        .collect();
    // Drop the closing brace of `main`.
    let code = &code[..code.len() - 1];
    assert_eq!(normalized(shown), normalized(&code.join("\n")));
}
