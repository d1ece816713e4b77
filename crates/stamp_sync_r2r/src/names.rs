//! Topic names as rcl resolves them: expanded in the node's namespace, then
//! remapped by the process's `--ros-args -r` rules. rcl's graph queries
//! expand names but do not remap them, and r2r does not expose rcl's own
//! resolver, so the QoS diagnosis resolves names here.

use ::r2r::Node;

/// Expands `name` in namespace `ns` of node `node_name` (relative and `~`
/// names) to a fully qualified name.
fn expand(ns: &str, node_name: &str, name: &str) -> String {
    let ns = ns.trim_end_matches('/');
    if name.starts_with('/') {
        name.to_string()
    } else if let Some(rest) = name.strip_prefix('~') {
        format!("{ns}/{node_name}{rest}")
    } else {
        format!("{ns}/{name}")
    }
}

/// [`resolve_topic`] without a node: namespace, node name and the
/// process arguments given.
fn resolve_with(
    ns: &str,
    node_name: &str,
    args: impl IntoIterator<Item = String>,
    topic: &str,
) -> String {
    let expanded = expand(ns, node_name, topic);
    let mut args = args.into_iter().skip_while(|a| a != "--ros-args");
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a != "-r" && a != "--remap" {
            continue;
        }
        let Some(rule) = args.next() else { break };
        let Some((lhs, to)) = rule.split_once(":=") else {
            continue;
        };
        let from = match lhs.split_once(':') {
            Some((n, from)) if n == node_name => from,
            Some(_) => continue,
            None => lhs,
        };
        if expand(ns, node_name, from) == expanded {
            return expand(ns, node_name, to);
        }
    }
    expanded
}

/// The fully qualified name a subscription of `node` to `topic` really
/// uses: `topic` expanded in the node's namespace, then remapped by the
/// first matching `-r from:=to` (or `-r node:from:=to`) rule of this
/// process's `--ros-args`. rcl's graph queries expand names but do not
/// remap them, so look topics up under this name.
pub fn resolve_topic(node: &Node, topic: &str) -> String {
    let ns = node.namespace().unwrap_or_else(|_| "/".into());
    let name = node.name().unwrap_or_default();
    resolve_with(&ns, &name, std::env::args(), topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_resolve_like_rcl() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = args(&[
            "prog",
            "--ros-args",
            "-r",
            "image:=/camera1/image",
            "-r",
            "other_node:camera_info:=/wrong",
            "--remap",
            "sync:camera_info:=ci",
            "-p",
            "x:=1",
        ]);
        assert_eq!(
            resolve_with("/", "sync", a.clone(), "image"),
            "/camera1/image"
        );
        assert_eq!(
            resolve_with("/", "sync", a.clone(), "/image"),
            "/camera1/image"
        );
        assert_eq!(resolve_with("/", "sync", a.clone(), "camera_info"), "/ci");
        assert_eq!(
            resolve_with("/robot", "sync", a.clone(), "camera_info"),
            "/robot/ci"
        );
        assert_eq!(
            resolve_with("/robot", "sync", a.clone(), "depth"),
            "/robot/depth"
        );
        assert_eq!(
            resolve_with("/robot/", "sync", a.clone(), "~/status"),
            "/robot/sync/status"
        );
        // Rules outside --ros-args, or after its `--`, do not count.
        let b = args(&[
            "prog",
            "-r",
            "image:=/x",
            "--ros-args",
            "--",
            "-r",
            "image:=/y",
        ]);
        assert_eq!(resolve_with("/", "sync", b, "image"), "/image");
    }
}
