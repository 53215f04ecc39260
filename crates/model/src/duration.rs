//! Bounds on durations read from configuration (a registry spec, a CLI flag, later an `MCPRegistry`).
//!
//! A duration such as `timeout: 400000000000y` parses, but adding it to a clock overflows. Every duration
//! a user can set is checked against its [`DurationRange`] when the configuration is loaded, with an
//! error that names the field and the allowed range, so nothing downstream ever sees an absurd value.

use std::fmt;
use std::time::Duration;

/// The allowed values of one duration setting, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The shortest allowed value.
    pub min: Duration,
    /// The longest allowed value.
    pub max: Duration,
}

/// A duration outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {} is out of range (allowed: {range})", humantime::format_duration(*.value))]
pub struct DurationOutOfRange {
    /// The setting, as a path in the configuration (`syncPolicy.interval`, `source.git.timeout`).
    pub field: String,
    /// The value given.
    pub value: Duration,
    /// The allowed range.
    pub range: DurationRange,
}

impl DurationRange {
    /// The range `min..=max`.
    pub const fn new(min: Duration, max: Duration) -> Self {
        Self { min, max }
    }

    /// A part of this range, for a setting that allows less than the engine does (the operator's resource
    /// narrows the local configuration's ranges). Evaluated in a `const`, a part that reaches outside this
    /// range does not compile; at run time it panics.
    pub const fn narrowed(self, min: Duration, max: Duration) -> Self {
        assert!(
            min.as_nanos() >= self.min.as_nanos()
                && max.as_nanos() <= self.max.as_nanos()
                && min.as_nanos() <= max.as_nanos(),
            "a narrowed range must lie within the range it narrows"
        );
        Self { min, max }
    }

    /// Whether `value` is allowed.
    pub fn contains(&self, value: Duration) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// Checks the value of `field`.
    pub fn check(&self, field: &str, value: Duration) -> Result<(), DurationOutOfRange> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(DurationOutOfRange { field: field.to_owned(), value, range: *self })
        }
    }

    /// Checks an optional setting (absent means the default, which is always allowed).
    pub fn check_optional(&self, field: &str, value: Option<Duration>) -> Result<(), DurationOutOfRange> {
        value.map_or(Ok(()), |v| self.check(field, v))
    }

    /// Parses a human duration (`30m`, `1h 30m`, `2d`) and checks it: the value parser of a command-line
    /// flag, whose name the caller's error already shows.
    pub fn parse(&self, text: &str) -> Result<Duration, String> {
        let value = humantime::parse_duration(text).map_err(|e| e.to_string())?;
        if self.contains(value) {
            Ok(value)
        } else {
            Err(format!("{} is out of range (allowed: {self})", humantime::format_duration(value)))
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", humantime::format_duration(self.min), humantime::format_duration(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: DurationRange = DurationRange::new(Duration::from_secs(1), Duration::from_secs(86_400));

    #[test]
    fn values_inside_the_range_pass_both_ends_included() {
        for ok in [1, 60, 86_400] {
            assert_eq!(RANGE.check("x", Duration::from_secs(ok)), Ok(()));
        }
        assert_eq!(RANGE.check_optional("x", None), Ok(()));
    }

    #[test]
    fn values_outside_name_the_field_and_the_range() {
        let err = RANGE.check("source.git.timeout", Duration::from_millis(999)).expect_err("too short");
        assert_eq!(err.to_string(), "source.git.timeout: 999ms is out of range (allowed: 1s to 1day)");
        let huge = humantime::parse_duration("400000000000y").expect("parses");
        let err = RANGE.check_optional("syncPolicy.interval", Some(huge)).expect_err("too long");
        assert!(err.to_string().starts_with("syncPolicy.interval: 400000000000years "), "{err}");
        assert!(err.to_string().ends_with("(allowed: 1s to 1day)"), "{err}");
    }

    #[test]
    fn a_narrowed_range_is_a_part_of_its_range() {
        const PART: DurationRange = RANGE.narrowed(Duration::from_secs(30), Duration::from_secs(3600));
        assert!(PART.contains(Duration::from_secs(30)) && !PART.contains(Duration::from_secs(29)));
        assert!(RANGE.contains(PART.min) && RANGE.contains(PART.max));
    }

    #[test]
    #[should_panic(expected = "a narrowed range must lie within the range it narrows")]
    fn a_narrowed_range_cannot_reach_outside() {
        let _ = std::hint::black_box(RANGE).narrowed(Duration::from_secs(30), Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn flags_are_parsed_and_checked() {
        assert_eq!(RANGE.parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(RANGE.parse("2d").expect_err("too long"), "2days is out of range (allowed: 1s to 1day)");
        assert!(RANGE.parse("soon").is_err());
    }
}
