//! Vectors, quaternions and rigid transforms, computed operation for
//! operation as tf2's LinearMath (Bullet-derived) does, so lookups agree
//! with C++ tf2 to the last bits: no normalization anywhere, the same
//! products in the same order, and tf2's `slerp` (`angleShortestPath`,
//! clamped `acos`, sines of the partial angles).

use core::ops::{Add, Mul, Neg};

/// A 3-vector (`tf2::Vector3`).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Vector3 {
    /// x
    pub x: f64,
    /// y
    pub y: f64,
    /// z
    pub z: f64,
}

/// A quaternion `(x, y, z, w)` (`tf2::Quaternion`). Never normalized
/// implicitly, as in tf2.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Quaternion {
    /// x
    pub x: f64,
    /// y
    pub y: f64,
    /// z
    pub z: f64,
    /// w
    pub w: f64,
}

/// A rigid transform: rotate by `rotation`, then translate by
/// `translation` (`tf2::Transform`, `geometry_msgs/Transform`).
///
/// A transform from frame `source` to frame `target` maps coordinates of a
/// point in `source` to its coordinates in `target`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Transform {
    /// Translation.
    pub translation: Vector3,
    /// Rotation.
    pub rotation: Quaternion,
}

impl Vector3 {
    /// The zero vector.
    pub const ZERO: Vector3 = Vector3 {
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    /// `(x, y, z)`.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vector3 { x, y, z }
    }

    /// `(1 - t) * a + t * b` per component (`Vector3::setInterpolate3`).
    #[inline]
    pub fn lerp(a: Vector3, b: Vector3, t: f64) -> Vector3 {
        let s = 1.0 - t;
        Vector3 {
            x: s * a.x + t * b.x,
            y: s * a.y + t * b.y,
            z: s * a.z + t * b.z,
        }
    }
}

impl Add for Vector3 {
    type Output = Vector3;
    #[inline]
    fn add(self, o: Vector3) -> Vector3 {
        Vector3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl Neg for Vector3 {
    type Output = Vector3;
    #[inline]
    fn neg(self) -> Vector3 {
        Vector3::new(-self.x, -self.y, -self.z)
    }
}

impl Default for Quaternion {
    fn default() -> Self {
        Quaternion::IDENTITY
    }
}

impl Quaternion {
    /// The identity rotation `(0, 0, 0, 1)`.
    pub const IDENTITY: Quaternion = Quaternion {
        x: 0.0,
        y: 0.0,
        z: 0.0,
        w: 1.0,
    };

    /// `(x, y, z, w)`, stored as given.
    pub const fn new(x: f64, y: f64, z: f64, w: f64) -> Self {
        Quaternion { x, y, z, w }
    }

    /// The conjugate `(-x, -y, -z, w)`: tf2's `inverse()` (exact for unit
    /// quaternions).
    #[inline]
    pub fn inverse(self) -> Quaternion {
        Quaternion::new(-self.x, -self.y, -self.z, self.w)
    }

    /// The 4-dimensional dot product.
    #[inline]
    pub fn dot(self, q: Quaternion) -> f64 {
        self.x * q.x + self.y * q.y + self.z * q.z + self.w * q.w
    }

    /// `x² + y² + z² + w²`.
    #[inline]
    pub fn length2(self) -> f64 {
        self.dot(self)
    }

    /// Rotates `v` (`tf2::quatRotate`: `q * v * q⁻¹`).
    #[inline]
    pub fn rotate(self, v: Vector3) -> Vector3 {
        // q * v (v as a pure quaternion)
        let p = Quaternion::new(
            self.w * v.x + self.y * v.z - self.z * v.y,
            self.w * v.y + self.z * v.x - self.x * v.z,
            self.w * v.z + self.x * v.y - self.y * v.x,
            -self.x * v.x - self.y * v.y - self.z * v.z,
        );
        // p *= q.inverse()
        let q = self.inverse();
        Vector3::new(
            p.w * q.x + p.x * q.w + p.y * q.z - p.z * q.y,
            p.w * q.y + p.y * q.w + p.z * q.x - p.x * q.z,
            p.w * q.z + p.z * q.w + p.x * q.y - p.y * q.x,
        )
    }

    /// Half the angle between `self` and `q` along the shortest path, as
    /// `Quaternion::angleShortestPath(q) / 2`.
    #[inline]
    fn half_angle_shortest_path(self, q: Quaternion) -> f64 {
        let s = (self.length2() * q.length2()).sqrt();
        let d = self.dot(q);
        // dot(-q) == -dot(q) exactly.
        let c = if d < 0.0 { -d } else { d };
        acos_clamped(c / s) * 2.0 / 2.0
    }

    /// Spherical linear interpolation from `self` (t = 0) to `q` (t = 1)
    /// along the shortest path, exactly as tf2's `slerp`.
    #[inline]
    pub fn slerp(self, q: Quaternion, t: f64) -> Quaternion {
        let theta = self.half_angle_shortest_path(q);
        if theta == 0.0 {
            return self;
        }
        let d = 1.0 / theta.sin();
        let s0 = ((1.0 - t) * theta).sin();
        let s1 = (t * theta).sin();
        if self.dot(q) < 0.0 {
            Quaternion::new(
                (self.x * s0 + -q.x * s1) * d,
                (self.y * s0 + -q.y * s1) * d,
                (self.z * s0 + -q.z * s1) * d,
                (self.w * s0 + -q.w * s1) * d,
            )
        } else {
            Quaternion::new(
                (self.x * s0 + q.x * s1) * d,
                (self.y * s0 + q.y * s1) * d,
                (self.z * s0 + q.z * s1) * d,
                (self.w * s0 + q.w * s1) * d,
            )
        }
    }
}

/// `tf2Acos`: `acos` with the argument clamped to [-1, 1].
#[inline]
fn acos_clamped(x: f64) -> f64 {
    // NaN stays NaN, as with tf2's comparisons.
    x.clamp(-1.0, 1.0).acos()
}

impl Mul for Quaternion {
    type Output = Quaternion;
    /// The Hamilton product `self * q` (tf2's `operator*`).
    #[inline]
    fn mul(self, q: Quaternion) -> Quaternion {
        let p = self;
        Quaternion::new(
            p.w * q.x + p.x * q.w + p.y * q.z - p.z * q.y,
            p.w * q.y + p.y * q.w + p.z * q.x - p.x * q.z,
            p.w * q.z + p.z * q.w + p.x * q.y - p.y * q.x,
            p.w * q.w - p.x * q.x - p.y * q.y - p.z * q.z,
        )
    }
}

impl Default for Transform {
    fn default() -> Self {
        Transform::IDENTITY
    }
}

impl Transform {
    /// No rotation, no translation.
    pub const IDENTITY: Transform = Transform {
        translation: Vector3::ZERO,
        rotation: Quaternion::IDENTITY,
    };

    /// A transform from its parts.
    pub const fn new(translation: Vector3, rotation: Quaternion) -> Self {
        Transform {
            translation,
            rotation,
        }
    }

    /// The coordinates of point `p` after this transform:
    /// `rotation.rotate(p) + translation`.
    #[inline]
    pub fn apply(&self, p: Vector3) -> Vector3 {
        self.rotation.rotate(p) + self.translation
    }

    /// The inverse transform (for a unit rotation).
    #[inline]
    pub fn inverse(&self) -> Transform {
        let q = self.rotation.inverse();
        Transform::new(q.rotate(-self.translation), q)
    }

    /// `self ∘ other`: first `other`, then `self` (tf2's `Transform *`
    /// for the translation part, quaternion product for the rotation).
    #[inline]
    pub fn then_after(&self, other: &Transform) -> Transform {
        Transform::new(
            self.apply(other.translation),
            self.rotation * other.rotation,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn z_rot(angle: f64) -> Quaternion {
        Quaternion::new(0.0, 0.0, (angle / 2.0).sin(), (angle / 2.0).cos())
    }

    #[test]
    fn rotate_quarter_turn() {
        let v = z_rot(core::f64::consts::FRAC_PI_2).rotate(Vector3::new(1.0, 0.0, 0.0));
        assert_abs_diff_eq!(v.x, 0.0, epsilon = 1e-15);
        assert_abs_diff_eq!(v.y, 1.0, epsilon = 1e-15);
        assert_abs_diff_eq!(v.z, 0.0, epsilon = 1e-15);
    }

    #[test]
    fn slerp_halfway_and_long_way_round() {
        let q = Quaternion::IDENTITY.slerp(z_rot(core::f64::consts::FRAC_PI_2), 0.5);
        let want = z_rot(core::f64::consts::FRAC_PI_4);
        assert_abs_diff_eq!(q.z, want.z, epsilon = 1e-15);
        assert_abs_diff_eq!(q.w, want.w, epsilon = 1e-15);
        // -q is the same rotation: slerp takes the short way and flips it.
        let neg = Quaternion::new(-0.0, -0.0, -want.z, -want.w);
        let h = Quaternion::IDENTITY.slerp(neg, 1.0);
        assert_abs_diff_eq!(h.z, want.z, epsilon = 1e-15);
        assert_abs_diff_eq!(h.w, want.w, epsilon = 1e-15);
        // Equal rotations: theta == 0 returns self unchanged.
        assert_eq!(want.slerp(want, 0.3), want);
    }

    #[test]
    fn inverse_composes_to_identity() {
        let t = Transform::new(Vector3::new(1.0, 2.0, 3.0), z_rot(0.7));
        let i = t.then_after(&t.inverse());
        assert_abs_diff_eq!(i.translation.x, 0.0, epsilon = 1e-15);
        assert_abs_diff_eq!(i.translation.y, 0.0, epsilon = 1e-15);
        assert_abs_diff_eq!(i.rotation.w, 1.0, epsilon = 1e-15);
    }
}
