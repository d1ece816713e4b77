//! The transform buffer's rules, one test each (the differential test
//! checks them against C++ tf2 in bulk; these pin them down by name).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use approx::assert_abs_diff_eq;
use stamp_sync::{Duration, Stamp};
use stamp_sync_tf::{
    BufferCore, Extrapolation, FrameRole, Quaternion, TfError, TfErrorKind, Transform, Vector3,
};

fn sec(x: f64) -> Stamp {
    Stamp::from_nanos((x * 1e9).round() as i64)
}

fn at(x: f64, y: f64, z: f64) -> Transform {
    Transform::new(Vector3::new(x, y, z), Quaternion::IDENTITY)
}

fn yaw(angle: f64) -> Quaternion {
    Quaternion::new(0.0, 0.0, (angle / 2.0).sin(), (angle / 2.0).cos())
}

fn assert_vec(v: Vector3, x: f64, y: f64, z: f64) {
    assert_abs_diff_eq!(v.x, x, epsilon = 1e-12);
    assert_abs_diff_eq!(v.y, y, epsilon = 1e-12);
    assert_abs_diff_eq!(v.z, z, epsilon = 1e-12);
}

#[test]
fn interpolates_translation_linearly_and_rotation_by_slerp() {
    let mut tf = BufferCore::new();
    tf.set_transform(
        "map",
        "base",
        sec(1.0),
        &Transform::new(Vector3::new(1.0, 0.0, 0.0), yaw(0.0)),
    )
    .unwrap();
    tf.set_transform(
        "map",
        "base",
        sec(2.0),
        &Transform::new(
            Vector3::new(3.0, 2.0, 0.0),
            yaw(std::f64::consts::FRAC_PI_2),
        ),
    )
    .unwrap();
    let t = tf.lookup_transform("map", "base", sec(1.25)).unwrap();
    assert_eq!(t.stamp, sec(1.25));
    assert_vec(t.transform.translation, 1.5, 0.5, 0.0);
    let want = yaw(std::f64::consts::FRAC_PI_8);
    assert_abs_diff_eq!(t.transform.rotation.z, want.z, epsilon = 1e-12);
    assert_abs_diff_eq!(t.transform.rotation.w, want.w, epsilon = 1e-12);
    // The inverse direction.
    let inv = tf.lookup_transform("base", "map", sec(1.25)).unwrap();
    let back = inv.transform.apply(t.transform.translation);
    assert_vec(back, 0.0, 0.0, 0.0);
}

#[test]
fn lookup_goes_through_the_common_ancestor() {
    // map -> odom -> base -> {laser, camera}
    let mut tf = BufferCore::new();
    tf.set_static_transform("map", "odom", Stamp::ZERO, &at(10.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform(
        "odom",
        "base",
        sec(1.0),
        &Transform::new(
            Vector3::new(1.0, 0.0, 0.0),
            yaw(std::f64::consts::FRAC_PI_2),
        ),
    )
    .unwrap();
    tf.set_static_transform("base", "laser", Stamp::ZERO, &at(0.5, 0.0, 0.0))
        .unwrap();
    tf.set_static_transform("base", "camera", Stamp::ZERO, &at(0.0, 0.2, 0.0))
        .unwrap();
    // The laser origin in the map: base at (11, 0) facing +y, laser 0.5 ahead.
    let t = tf.lookup_transform("map", "laser", sec(1.0)).unwrap();
    assert_vec(t.transform.translation, 11.0, 0.5, 0.0);
    // laser -> camera: siblings under base.
    let t = tf.lookup_transform("camera", "laser", sec(1.0)).unwrap();
    assert_vec(t.transform.translation, 0.5, -0.2, 0.0);
}

#[test]
fn extrapolation_before_after_and_single_sample() {
    let mut tf = BufferCore::new();
    tf.set_transform("map", "base", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    let e = tf.lookup_transform("map", "base", sec(1.5)).unwrap_err();
    assert_eq!(e.kind(), TfErrorKind::Extrapolation);
    assert!(
        matches!(e, TfError::Extrapolation { cause: Extrapolation::OnlyOne { stamp }, .. } if stamp == sec(1.0))
    );
    // A single sample answers exactly at its stamp.
    assert!(tf.lookup_transform("map", "base", sec(1.0)).is_ok());
    tf.set_transform("map", "base", sec(2.0), &at(1.0, 0.0, 0.0))
        .unwrap();
    let after = tf.lookup_transform("map", "base", sec(2.5)).unwrap_err();
    assert!(
        matches!(after, TfError::Extrapolation { cause: Extrapolation::Future { latest }, .. } if latest == sec(2.0))
    );
    let before = tf.lookup_transform("map", "base", sec(0.5)).unwrap_err();
    assert!(
        matches!(before, TfError::Extrapolation { cause: Extrapolation::Past { earliest }, .. } if earliest == sec(1.0))
    );
    // The error names the frames and the time.
    let text = before.to_string();
    for needle in ["\"map\"", "\"base\"", "1.000000000", "0.500000000"] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
}

#[test]
fn stamp_zero_is_the_latest_common_time() {
    let mut tf = BufferCore::new();
    for (t, x) in [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)] {
        tf.set_transform("map", "odom", sec(t), &at(x, 0.0, 0.0))
            .unwrap();
    }
    tf.set_transform("odom", "base", sec(1.5), &at(0.0, 1.0, 0.0))
        .unwrap();
    tf.set_transform("odom", "base", sec(2.5), &at(0.0, 2.0, 0.0))
        .unwrap();
    tf.set_static_transform("base", "laser", sec(99.0), &at(0.0, 0.0, 1.0))
        .unwrap();
    // Newest map->odom is 3 s, newest odom->base 2.5 s; static links count
    // for all times: 2.5 s.
    let t = tf.lookup_transform("map", "laser", Stamp::ZERO).unwrap();
    assert_eq!(t.stamp, sec(2.5));
    assert_vec(t.transform.translation, 2.5, 2.0, 1.0);
    // Only static links: stamp 0.
    assert_eq!(
        tf.lookup_transform("base", "laser", Stamp::ZERO)
            .unwrap()
            .stamp,
        Stamp::ZERO
    );
    // Same frame: the frame's newest sample.
    assert_eq!(
        tf.lookup_transform("odom", "odom", Stamp::ZERO)
            .unwrap()
            .stamp,
        sec(3.0)
    );
}

#[test]
fn stamp_zero_extrapolates_when_a_link_starts_after_the_common_time() {
    let mut tf = BufferCore::new();
    tf.set_transform("map", "a", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("map", "a", sec(2.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("map", "b", sec(4.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    // Common time 2 s, but b's only sample is at 4 s.
    let e = tf.lookup_transform("a", "b", Stamp::ZERO).unwrap_err();
    assert_eq!(e.kind(), TfErrorKind::Extrapolation);
}

#[test]
fn a_frame_may_change_parent_over_time() {
    let mut tf = BufferCore::new();
    tf.set_static_transform("world", "odom", Stamp::ZERO, &at(0.0, 5.0, 0.0))
        .unwrap();
    tf.set_transform("world", "robot", sec(1.0), &at(1.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("odom", "robot", sec(2.0), &at(2.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("world", "robot", sec(3.0), &at(3.0, 0.0, 0.0))
        .unwrap();
    // Between samples with different parents, the older sample holds.
    assert_vec(
        tf.lookup_transform("world", "robot", sec(1.5))
            .unwrap()
            .transform
            .translation,
        1.0,
        0.0,
        0.0,
    );
    assert_vec(
        tf.lookup_transform("world", "robot", sec(2.5))
            .unwrap()
            .transform
            .translation,
        2.0,
        5.0,
        0.0,
    );
    assert_vec(
        tf.lookup_transform("odom", "robot", sec(2.0))
            .unwrap()
            .transform
            .translation,
        2.0,
        0.0,
        0.0,
    );
    assert_vec(
        tf.lookup_transform("world", "robot", sec(3.0))
            .unwrap()
            .transform
            .translation,
        3.0,
        0.0,
        0.0,
    );
}

#[test]
fn static_links_hold_for_every_time_and_are_replaced() {
    let mut tf = BufferCore::new();
    tf.set_static_transform("base", "laser", sec(5.0), &at(1.0, 0.0, 0.0))
        .unwrap();
    for t in [Stamp::ZERO, sec(0.001), sec(1e6)] {
        let r = tf.lookup_transform("base", "laser", t).unwrap();
        assert_eq!(r.stamp, t);
        assert_vec(r.transform.translation, 1.0, 0.0, 0.0);
    }
    tf.set_static_transform("base", "laser", sec(1.0), &at(2.0, 0.0, 0.0))
        .unwrap();
    assert_vec(
        tf.lookup_transform("base", "laser", sec(7.0))
            .unwrap()
            .transform
            .translation,
        2.0,
        0.0,
        0.0,
    );
    // tf2 0.7.6: the first insert decides the link's kind; a dynamic
    // transform for a static link replaces it like a static one.
    tf.set_transform("base", "laser", sec(9.0), &at(3.0, 0.0, 0.0))
        .unwrap();
    assert_vec(
        tf.lookup_transform("base", "laser", sec(1.0))
            .unwrap()
            .transform
            .translation,
        3.0,
        0.0,
        0.0,
    );
}

#[test]
fn cache_expiry_refuses_old_data_and_prunes() {
    let mut tf = BufferCore::with_cache_time(Duration::from_secs(1));
    tf.set_transform("map", "base", sec(1.0), &at(1.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("map", "base", sec(1.5), &at(1.5, 0.0, 0.0))
        .unwrap();
    tf.set_transform("map", "base", sec(2.5), &at(2.5, 0.0, 0.0))
        .unwrap();
    // 1.0 + 1 s < 2.5: pruned; 1.5 + 1 s == 2.5: kept.
    assert!(matches!(
        tf.lookup_transform("map", "base", sec(1.2)).unwrap_err(),
        TfError::Extrapolation { cause: Extrapolation::Past { earliest }, .. } if earliest == sec(1.5)
    ));
    assert!(tf.lookup_transform("map", "base", sec(2.0)).is_ok());
    // Older than newest - cache time: refused and not stored.
    let e = tf
        .set_transform("map", "base", sec(1.4), &at(0.0, 0.0, 0.0))
        .unwrap_err();
    assert!(matches!(e, TfError::OldData { newest, .. } if newest == sec(2.5)));
    assert_eq!(e.kind(), TfErrorKind::Rejected);
    // Out of order but within the cache: inserted in place.
    tf.set_transform("map", "base", sec(2.0), &at(7.0, 0.0, 0.0))
        .unwrap();
    assert_vec(
        tf.lookup_transform("map", "base", sec(2.0))
            .unwrap()
            .transform
            .translation,
        7.0,
        0.0,
        0.0,
    );
    // Repeated stamp: the first one stays (tf2 0.7.6 TF_REPEATED_DATA).
    let e = tf
        .set_transform("map", "base", sec(2.0), &at(8.0, 0.0, 0.0))
        .unwrap_err();
    assert!(matches!(e, TfError::RepeatedData { .. }));
    assert_vec(
        tf.lookup_transform("map", "base", sec(2.0))
            .unwrap()
            .transform
            .translation,
        7.0,
        0.0,
        0.0,
    );
    assert_eq!(tf.latest_stamp("base"), Some(sec(2.5)));
}

#[test]
fn invalid_inserts_are_refused_with_invalid_argument() {
    let mut tf = BufferCore::new();
    let nan = Transform::new(Vector3::new(f64::NAN, 0.0, 0.0), Quaternion::IDENTITY);
    let long = Transform::new(Vector3::ZERO, Quaternion::new(0.0, 0.0, 0.0, 1.01));
    let zero = Transform::new(Vector3::ZERO, Quaternion::new(0.0, 0.0, 0.0, 0.0));
    let cases = [
        ("a", "a", at(0.0, 0.0, 0.0)),
        ("", "b", at(0.0, 0.0, 0.0)),
        ("a", "", at(0.0, 0.0, 0.0)),
        ("a", "b", nan),
        ("a", "b", long),
        ("a", "b", zero),
    ];
    for (p, c, t) in cases {
        let e = tf.set_transform(p, c, sec(1.0), &t).unwrap_err();
        assert_eq!(e.kind(), TfErrorKind::InvalidArgument, "{p:?} {c:?}: {e}");
    }
    // Nothing was stored or even named.
    assert_eq!(tf.frames().count(), 0);
    // Slightly off unit length is accepted and kept as given (tf2 does not
    // normalize).
    let near = Transform::new(Vector3::ZERO, Quaternion::new(0.0, 0.0, 0.0, 1.004));
    tf.set_transform("/a", "/b", sec(1.0), &near).unwrap();
    assert_eq!(
        tf.lookup_transform("a", "b", sec(1.0))
            .unwrap()
            .transform
            .rotation
            .w,
        1.004
    );
}

#[test]
fn lookup_errors_have_tf2_kinds_and_name_the_frames() {
    let mut tf = BufferCore::new();
    tf.set_transform("map", "base", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("other", "thing", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    let e = tf.lookup_transform("map", "nowhere", sec(1.0)).unwrap_err();
    assert_eq!(e.kind(), TfErrorKind::Lookup);
    assert_eq!(
        e,
        TfError::UnknownFrame {
            role: FrameRole::Source,
            frame: "nowhere".into()
        }
    );
    let e = tf.lookup_transform("", "base", sec(1.0)).unwrap_err();
    assert_eq!(
        e,
        TfError::EmptyFrameId {
            role: FrameRole::Target
        }
    );
    let e = tf.lookup_transform("/map", "base", sec(1.0)).unwrap_err();
    assert_eq!(e.kind(), TfErrorKind::InvalidArgument);
    let e = tf.lookup_transform("map", "thing", sec(1.0)).unwrap_err();
    assert_eq!(e.kind(), TfErrorKind::Connectivity);
    let text = e.to_string();
    assert!(
        text.contains("\"map\"") && text.contains("\"thing\""),
        "{text}"
    );
    // Equal ids short-circuit before any check, as in tf2.
    assert_eq!(
        tf.lookup_transform("", "", sec(2.0)).unwrap().stamp,
        sec(2.0)
    );
    assert!(
        tf.lookup_transform("nowhere", "nowhere", Stamp::ZERO)
            .is_ok()
    );
}

#[test]
fn a_loop_is_a_lookup_error() {
    let mut tf = BufferCore::new();
    tf.set_transform("a", "b", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("b", "a", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    tf.set_transform("world", "c", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    let e = tf.lookup_transform("world", "a", sec(1.0)).unwrap_err();
    assert!(matches!(e, TfError::Loop { .. }), "{e}");
    assert_eq!(
        tf.lookup_transform("c", "b", Stamp::ZERO)
            .unwrap_err()
            .kind(),
        TfErrorKind::Lookup
    );
}

#[test]
fn clear_forgets_samples_but_keeps_frames() {
    let mut tf = BufferCore::new();
    tf.set_transform("map", "base", sec(1.0), &at(0.0, 0.0, 0.0))
        .unwrap();
    let v = tf.version();
    tf.clear();
    assert!(tf.version() > v);
    assert!(tf.has_frame("base"));
    assert_eq!(
        tf.lookup_transform("map", "base", sec(1.0))
            .unwrap_err()
            .kind(),
        TfErrorKind::Extrapolation
    );
}
