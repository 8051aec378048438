//! Points as exact decimals. Every score is shown as the sum of its contributions, and "the sum
//! of what you see is the score you see" must hold to the last digit. Floating-point sums do not
//! guarantee that, so points are fixed-point hundredths: each contribution is rounded once, to
//! two decimals, and the score is the integer sum of the rounded contributions.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of points with two decimals (stored as hundredths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

/// The largest magnitude a rule may award: beyond this a rule is surely a typo, and sums of
/// millions of events stay far from overflow.
pub const MAX_RULE_POINTS: f64 = 10_000.0;

impl Points {
    pub const ZERO: Points = Points(0);

    pub const fn from_hundredths(h: i64) -> Points {
        Points(h)
    }

    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// Whole points (`Points::whole(5)` is 5.00).
    pub const fn whole(n: i64) -> Points {
        Points(n * 100)
    }

    /// From a decimal, rounded to the nearest hundredth (half away from zero). `None` for values
    /// that are not finite.
    pub fn from_f64(v: f64) -> Option<Points> {
        v.is_finite().then(|| Points((v * 100.0).round() as i64))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// These points scaled by `factor` (a decay factor), rounded to the hundredth. The rounding
    /// is `round half away from zero` on the exact product, so it is the same on every machine.
    pub fn scaled(self, factor: f64) -> Points {
        Points((self.0 as f64 * factor).round() as i64)
    }

    pub fn abs(self) -> Points {
        Points(self.0.abs())
    }

    pub fn min(self, other: Points) -> Points {
        Points(self.0.min(other.0))
    }

    pub fn max(self, other: Points) -> Points {
        Points(self.0.max(other.0))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, rhs: Points) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, rhs: Points) -> Points {
        Points(self.0.saturating_sub(rhs.0))
    }
}

impl Neg for Points {
    type Output = Points;
    fn neg(self) -> Points {
        Points(-self.0)
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

// In JSON, points are plain decimal numbers (`37.42`): f64 prints the shortest representation,
// which for a whole number of hundredths is exactly its two-decimal form.
impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v.abs() > MAX_RULE_POINTS * 1_000.0 {
            return Err(serde::de::Error::custom("points must be a finite number"));
        }
        Ok(Points((v * 100.0).round() as i64))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Points {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some("Points, exact to two decimals"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Points {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_json_are_two_decimal() {
        assert_eq!(Points::from_hundredths(3742).to_string(), "37.42");
        assert_eq!(Points::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(serde_json::to_string(&Points::from_hundredths(3742)).unwrap(), "37.42");
        assert_eq!(serde_json::to_string(&Points::whole(10)).unwrap(), "10.0");
        let p: Points = serde_json::from_str("2.345").unwrap();
        assert_eq!(p, Points::from_hundredths(235), "rounded half away from zero");
    }

    #[test]
    fn scaling_rounds_to_the_hundredth() {
        assert_eq!(Points::whole(10).scaled(0.5), Points::whole(5));
        assert_eq!(Points::whole(10).scaled(1.0 / 3.0), Points::from_hundredths(333));
        assert_eq!(Points::whole(-10).scaled(1.0 / 3.0), Points::from_hundredths(-333));
    }
}
