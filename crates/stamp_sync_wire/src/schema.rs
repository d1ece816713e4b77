//! Deciding from a stored message definition whether a type starts with a
//! `std_msgs/Header`.
//!
//! Only the definition text stored in the bag is used, never the type name:
//! a `sensor_msgs/msg/Imu` whose definition does not start with a header is
//! not stamped, and a custom type that does start with one is.

/// The language a stored message definition is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefinitionFormat {
    /// ROS 2 `.msg` text (`ros2msg`), dependencies after `=====` lines.
    Ros2Msg,
    /// ROS 1 `.msg` text (`ros1msg`, and ROS 1 bag connection headers).
    Ros1Msg,
    /// OMG IDL (`ros2idl`).
    Ros2Idl,
}

/// True if the first field of the top-level type in `definition` is a
/// `std_msgs/Header` (spelled `Header`, `std_msgs/Header` or
/// `std_msgs/msg/Header` in `.msg` text, `std_msgs::msg::Header` in IDL).
/// `type_name` is the top-level type, needed to find it in IDL.
///
/// Constants, comments and blank lines before the first field are skipped.
/// A `Header[]` array is not a header.
///
/// ```
/// use stamp_sync_wire::schema::{first_field_is_header, DefinitionFormat};
/// let imu = "# IMU\nstd_msgs/Header header\ngeometry_msgs/Quaternion orientation\n";
/// assert!(first_field_is_header(imu, DefinitionFormat::Ros2Msg, "sensor_msgs/msg/Imu"));
/// let tf = "geometry_msgs/TransformStamped[] transforms\n===\nMSG: std_msgs/Header\n";
/// assert!(!first_field_is_header(tf, DefinitionFormat::Ros2Msg, "tf2_msgs/msg/TFMessage"));
/// ```
pub fn first_field_is_header(definition: &str, format: DefinitionFormat, type_name: &str) -> bool {
    match format {
        DefinitionFormat::Ros1Msg | DefinitionFormat::Ros2Msg => {
            msg_first_field_is_header(definition)
        }
        DefinitionFormat::Ros2Idl => idl_first_member_is_header(definition, type_name),
    }
}

fn msg_first_field_is_header(definition: &str) -> bool {
    for raw in definition.lines() {
        let line = raw.trim();
        if line.starts_with("===") {
            // The top-level type ended without a field.
            return false;
        }
        let line = match line.split_once('#') {
            Some((before, _)) => before.trim(),
            None => line,
        };
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(2, char::is_whitespace);
        let ty = parts.next().unwrap_or("");
        let rest = parts.next().unwrap_or("").trim_start();
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        if rest[name_end..].trim_start().starts_with('=') {
            // A constant: `uint8 FOO=1`.
            continue;
        }
        return matches!(ty, "Header" | "std_msgs/Header" | "std_msgs/msg/Header");
    }
    false
}

fn idl_first_member_is_header(definition: &str, type_name: &str) -> bool {
    let short = type_name.rsplit(['/', ':']).next().unwrap_or(type_name);
    // Find `struct <short>` followed by `{`, then the first member.
    let mut rest = definition;
    while let Some(pos) = rest.find("struct") {
        let after = &rest[pos + "struct".len()..];
        let after_trim = after.trim_start();
        let is_word_start = pos == 0
            || !rest[..pos]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if is_word_start
            && after_trim.starts_with(short)
            && after_trim[short.len()..].trim_start().starts_with('{')
        {
            let Some(open) = after_trim.find('{') else {
                return false;
            };
            return first_idl_member_type(&after_trim[open + 1..])
                .is_some_and(|t| matches!(t, "std_msgs::msg::Header" | "::std_msgs::msg::Header"));
        }
        rest = after;
    }
    false
}

fn first_idl_member_type(body: &str) -> Option<&str> {
    for raw in body.lines() {
        let mut line = raw.trim();
        if let Some((before, _)) = line.split_once("//") {
            line = before.trim();
        }
        // Strip leading annotations like `@verbatim(...)` or `@key`.
        while line.starts_with('@') {
            line = skip_annotation(line).trim_start();
        }
        if line.is_empty() {
            continue;
        }
        if line.starts_with('}') {
            return None;
        }
        return line.split_whitespace().next();
    }
    None
}

fn skip_annotation(line: &str) -> &str {
    let name_end = line[1..]
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .map_or(line.len(), |i| i + 1);
    let rest = line[name_end..].trim_start();
    if let Some(inner) = rest.strip_prefix('(') {
        let mut depth = 1usize;
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return &inner[i + 1..];
                    }
                }
                _ => {}
            }
        }
        ""
    } else {
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R2: DefinitionFormat = DefinitionFormat::Ros2Msg;

    #[test]
    fn ros1_header_spelling() {
        let def = "Header header\nstring child_frame_id\n";
        assert!(first_field_is_header(
            def,
            DefinitionFormat::Ros1Msg,
            "nav_msgs/Odometry"
        ));
    }

    #[test]
    fn constants_and_comments_are_skipped() {
        let def =
            "# comment\n\nuint8 STATUS_FIX=0 # c\nstring NAME = \"x\"\nstd_msgs/msg/Header h\n";
        assert!(first_field_is_header(def, R2, "a/msg/B"));
    }

    #[test]
    fn header_not_first_or_array_is_not_stamped() {
        assert!(!first_field_is_header(
            "float64 x\nstd_msgs/Header header\n",
            R2,
            "a/B"
        ));
        assert!(!first_field_is_header(
            "std_msgs/Header[] headers\n",
            R2,
            "a/B"
        ));
        assert!(!first_field_is_header("", R2, "a/B"));
        assert!(!first_field_is_header("# only a comment\n", R2, "a/B"));
    }

    #[test]
    fn header_inside_a_dependency_does_not_count() {
        let def = "uint32 x\n=====\nMSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\n";
        assert!(!first_field_is_header(def, R2, "a/B"));
    }

    #[test]
    fn idl() {
        let def = "module sensor_msgs { module msg {\n  struct Imu {\n    @verbatim (language=\"comment\", text=\"x\")\n    std_msgs::msg::Header header;\n    double x;\n  };\n}; };\n";
        assert!(first_field_is_header(
            def,
            DefinitionFormat::Ros2Idl,
            "sensor_msgs/msg/Imu"
        ));
        let def2 = "module a { module msg { struct B { double x; std_msgs::msg::Header h; }; }; };";
        assert!(!first_field_is_header(
            def2,
            DefinitionFormat::Ros2Idl,
            "a/msg/B"
        ));
    }
}
