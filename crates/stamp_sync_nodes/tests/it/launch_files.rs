//! Checks of `launch/*.launch.xml` against the package colcon installed
//! (`scripts/colcon-install.sh`, as `scripts/test-all.sh` runs it;
//! ros2launch is not installable on these machines): well-formed XML, every
//! launch file installed under `share/stamp_sync/launch/`, every executable
//! installed under `lib/stamp_sync/`, every parameter set is one the node
//! declares, every remapped name is one the node uses, every `$(var x)` is
//! a declared argument.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    stamp_sync_testkit::repo().to_path_buf()
}

/// The installed package's prefix (`install/stamp_sync`).
fn prefix() -> PathBuf {
    let p = std::env::var("STAMP_SYNC_INSTALL").map_or_else(
        |_| root().join("build/ws/install/stamp_sync"),
        PathBuf::from,
    );
    assert!(
        p.join("share/ament_index/resource_index/packages/stamp_sync")
            .exists(),
        "stamp_sync is not installed in {}: run `scripts/with-ros scripts/colcon-install.sh`",
        p.display()
    );
    p
}

/// The executables colcon installed.
fn installed() -> BTreeSet<String> {
    fs::read_dir(prefix().join("lib/stamp_sync"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A node's source: its binary, plus the shared node module when it uses
/// it.
fn node_source(exec: &str) -> Option<String> {
    let nodes = root().join("crates/stamp_sync_nodes/src");
    let src = fs::read_to_string(nodes.join("bin").join(format!("{exec}.rs"))).ok()?;
    let common = if src.contains("stamp_sync_nodes::") {
        fs::read_to_string(nodes.join("lib.rs")).unwrap_or_default()
    } else {
        String::new()
    };
    Some(format!("{src}\n{common}"))
}

/// The parameters an installed node declares (`<node> --list-parameters`).
fn declared_params(exec: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(prefix().join("lib/stamp_sync").join(exec))
        .arg("--list-parameters")
        .output()
        .unwrap();
    assert!(out.status.success(), "{exec} --list-parameters: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

/// Is `topic` a name the node subscribes to or publishes?
fn uses_topic(src: &str, topic: &str) -> bool {
    src.contains(&format!("\"{topic}\""))
}

/// Every problem found in one launch file.
fn check_launch(text: &str, installed: &BTreeSet<String>) -> Vec<String> {
    let mut errors = Vec::new();
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let launch = doc.root_element();
    if launch.tag_name().name() != "launch" {
        errors.push(format!(
            "root element is <{}>, not <launch>",
            launch.tag_name().name()
        ));
    }
    let args: BTreeSet<&str> = launch
        .descendants()
        .filter(|n| n.has_tag_name("arg"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    for n in launch.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            let mut rest = a.value();
            while let Some(i) = rest.find("$(var ") {
                let after = &rest[i + 6..];
                let Some(end) = after.find(')') else {
                    errors.push(format!("unclosed $(var in {:?}", a.value()));
                    break;
                };
                if !args.contains(&after[..end]) {
                    errors.push(format!("$(var {}) is not a declared <arg>", &after[..end]));
                }
                rest = &after[end..];
            }
        }
    }
    let nodes: Vec<_> = launch
        .descendants()
        .filter(|n| n.has_tag_name("node"))
        .collect();
    if nodes.is_empty() {
        errors.push("no <node>".into());
    }
    for node in nodes {
        let exec = node.attribute("exec").unwrap_or_default();
        if node.attribute("pkg") != Some("stamp_sync") {
            errors.push(format!("node {exec:?}: pkg is not stamp_sync"));
        }
        if !installed.contains(exec) {
            errors.push(format!(
                "node {exec:?}: not installed under lib/stamp_sync/"
            ));
        }
        let Some(src) = node_source(exec) else {
            errors.push(format!(
                "node {exec:?}: no crates/stamp_sync_nodes/src/bin/{exec}.rs"
            ));
            continue;
        };
        for child in node.children().filter(|c| c.is_element()) {
            match child.tag_name().name() {
                "param" => {
                    let name = child.attribute("name").unwrap_or_default();
                    if child.attribute("value").is_none() {
                        errors.push(format!("node {exec}: param {name:?} has no value"));
                    }
                    if !declared_params(exec).contains(name) {
                        errors.push(format!("node {exec}: parameter {name:?} is not declared"));
                    }
                }
                "remap" => {
                    let from = child.attribute("from").unwrap_or_default();
                    if child.attribute("to").is_none() {
                        errors.push(format!("node {exec}: remap {from:?} has no `to`"));
                    }
                    if !uses_topic(&src, from) {
                        errors.push(format!(
                            "node {exec}: remaps {from:?}, a name it never uses"
                        ));
                    }
                }
                other => errors.push(format!("node {exec}: unexpected <{other}>")),
            }
        }
    }
    errors
}

fn launch_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("launch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".launch.xml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_launch_file_is_installed_and_valid() {
    let installed = installed();
    for n in [
        "sync_relay",
        "camera_publisher",
        "image_info_sync",
        "stereo_sync",
        "rgbd_sync",
        "bag_player",
        "stamp-sync",
    ] {
        assert!(installed.contains(n), "{n} is not installed: {installed:?}");
    }
    let files = launch_files();
    assert!(files.len() >= 3, "{files:?}");
    let mut execs = BTreeSet::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap();
        let copy = prefix().join("share/stamp_sync/launch").join(name);
        assert_eq!(
            fs::read_to_string(&copy).ok().as_deref(),
            Some(text.as_str()),
            "{} is not installed as {}",
            f.display(),
            copy.display()
        );
        let errors = check_launch(&text, &installed);
        assert!(
            errors.is_empty(),
            "{}:\n  {}",
            f.display(),
            errors.join("\n  ")
        );
        let doc = roxmltree::Document::parse(&text).unwrap();
        execs.extend(
            doc.descendants()
                .filter(|n| n.has_tag_name("node"))
                .filter_map(|n| n.attribute("exec").map(str::to_string)),
        );
    }
    // The publisher and every sync node are launched somewhere.
    for e in [
        "camera_publisher",
        "image_info_sync",
        "stereo_sync",
        "rgbd_sync",
        "sync_relay",
    ] {
        assert!(execs.contains(e), "{e} is in no launch file");
    }
}

#[test]
fn the_checker_catches_mistakes() {
    let installed = installed();
    let bad = [
        (
            "<launch><node pkg='stamp_sync' exec='stereo_sync'>",
            "well-formed",
        ),
        (
            "<launch><node pkg='stamp_sync' exec='no_such_node'/></launch>",
            "not installed",
        ),
        (
            "<launch><node pkg='stamp_sync' exec='stereo_sync'><param name='rate_hz' value='1'/></node></launch>",
            "not declared",
        ),
        (
            "<launch><node pkg='stamp_sync' exec='stereo_sync'><remap from='image' to='/x'/></node></launch>",
            "never uses",
        ),
        (
            "<launch><node pkg='stamp_sync' exec='stereo_sync'><param name='queue_size' value='$(var q)'/></node></launch>",
            "not a declared",
        ),
        (
            "<launch><node pkg='other' exec='stereo_sync'/></launch>",
            "pkg",
        ),
    ];
    for (text, want) in bad {
        let errors = check_launch(text, &installed);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{text}: expected an error containing {want:?}, got {errors:?}"
        );
    }
    let good = "<launch><arg name='q' default='3'/><node pkg='stamp_sync' exec='stereo_sync'>\
        <param name='queue_size' value='$(var q)'/><remap from='left' to='/l'/></node></launch>";
    assert_eq!(check_launch(good, &installed), Vec::<String>::new());
}

#[test]
fn package_xml_is_an_ament_cmake_package_over_cargo() {
    let text = fs::read_to_string(root().join("package.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let pkg = doc.root_element();
    assert_eq!(pkg.tag_name().name(), "package");
    assert_eq!(pkg.attribute("format"), Some("3"));
    let child = |name: &str| {
        pkg.children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    assert_eq!(child("name").as_deref(), Some("stamp_sync"));
    // Same version as the crates.
    let toml = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = child("version").unwrap();
    assert!(
        toml.contains(&format!("version = \"{version}\"")),
        "package.xml version {version}"
    );
    let build_type = pkg
        .descendants()
        .find(|n| n.has_tag_name("build_type"))
        .and_then(|n| n.text());
    assert_eq!(build_type, Some("ament_cmake"));
    let cmake = fs::read_to_string(root().join("CMakeLists.txt")).unwrap();
    assert!(
        cmake.contains("project(stamp_sync NONE)"),
        "CMakeLists.txt names the package"
    );
    assert!(
        cmake.contains("ament_package()"),
        "CMakeLists.txt registers the package"
    );
    let deps: BTreeSet<&str> = pkg
        .children()
        .filter(|n| n.has_tag_name("depend"))
        .filter_map(|n| n.text())
        .collect();
    for d in [
        "std_msgs",
        "sensor_msgs",
        "geometry_msgs",
        "builtin_interfaces",
        "rosgraph_msgs",
        "diagnostic_msgs",
    ] {
        assert!(deps.contains(d), "package.xml does not depend on {d}");
    }
    assert!(Path::new(&root().join("launch")).is_dir());
}
