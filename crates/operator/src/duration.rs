//! Durations in the resource: Go syntax with whole numbers (`30s`, `5m`, `1h30m`, `500ms`), the subset of
//! Go's `time.ParseDuration` that the schema's pattern admits, read into [`std::time::Duration`] with
//! checked arithmetic and written back in canonical form (`1h30m`). Each duration field has its [`Bounds`],
//! which make both its CEL rule and the check at conversion, so the two cannot drift. Each range is the
//! engine's range of the same setting ([`thv_sync::INTERVAL_RANGE`], [`thv_sync::BACKOFF_RANGE`]) narrowed
//! for the cluster ([`DurationRange::narrowed`]): a bound outside the engine's does not compile, so the CRD
//! never admits a value the engine refuses.

use std::time::Duration;

use thv_model::duration::DurationRange;

/// A duration the resource cannot hold or the field does not allow. Displayed as the field, then
/// [`DurationError::reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not `<number><unit>…` with units `ms`, `s`, `m`, `h`.
    Syntax {
        /// The field, as written in the resource (`syncPolicy.interval`).
        field: &'static str,
        /// The text as written.
        text: String,
    },
    /// Outside the field's range.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The duration as written.
        text: String,
        /// The field's bounds.
        bounds: Bounds,
    },
    /// Finer than a millisecond, which Go syntax with whole milliseconds cannot write.
    TooPrecise {
        /// The field.
        field: &'static str,
        /// The duration.
        duration: Duration,
    },
}

impl DurationError {
    /// The field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Syntax { field, .. } | Self::OutOfRange { field, .. } | Self::TooPrecise { field, .. } => field,
        }
    }

    /// What is wrong, without the field.
    pub fn reason(&self) -> String {
        match self {
            Self::Syntax { text, .. } => {
                format!("{text:?} is not a duration such as 30s, 5m or 1h30m (whole numbers, units ms, s, m, h)")
            }
            Self::OutOfRange { text, bounds, .. } => {
                format!("{text} is out of range: it must be between {} and {}", bounds.min_text(), bounds.max_text())
            }
            Self::TooPrecise { duration, .. } => format!("{duration:?} cannot be written with whole milliseconds"),
        }
    }
}

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field(), self.reason())
    }
}

impl std::error::Error for DurationError {}

/// The allowed range of one duration field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The field, as written in the resource.
    pub field: &'static str,
    /// The allowed values, both ends included.
    pub range: DurationRange,
}

/// `spec.syncPolicy.interval`: 30 s to 30 days.
pub const INTERVAL: Bounds = Bounds {
    field: "syncPolicy.interval",
    range: thv_sync::INTERVAL_RANGE.narrowed(Duration::from_secs(30), Duration::from_secs(720 * 3600)),
};

/// `spec.syncPolicy.retry.backoffInterval`: 1 s to 1 h.
pub const BACKOFF: Bounds = Bounds {
    field: "syncPolicy.retry.backoffInterval",
    range: thv_sync::BACKOFF_RANGE.narrowed(Duration::from_secs(1), Duration::from_secs(3600)),
};

impl Bounds {
    /// The CEL rule of the field (`duration(self) >= duration('30s') && …`).
    pub fn rule(&self) -> String {
        format!(
            "duration(self) >= duration('{}') && duration(self) <= duration('{}')",
            self.min_text(),
            self.max_text()
        )
    }

    /// The message of [`Bounds::rule`].
    pub fn message(&self) -> kube::core::Message {
        kube::core::Message::Message(format!(
            "{} must be between {} and {}",
            self.field,
            self.min_text(),
            self.max_text()
        ))
    }

    /// Reads the field's text and checks its range.
    pub fn parse(&self, text: &str) -> Result<Duration, DurationError> {
        let duration = parse(text).ok_or_else(|| DurationError::Syntax { field: self.field, text: text.to_owned() })?;
        if !self.range.contains(duration) {
            return Err(DurationError::OutOfRange { field: self.field, text: text.to_owned(), bounds: *self });
        }
        Ok(duration)
    }

    /// Writes a duration for the field, checking its range.
    pub fn format(&self, duration: Duration) -> Result<String, DurationError> {
        let text = format(duration).map_err(|_| DurationError::TooPrecise { field: self.field, duration })?;
        self.parse(&text)?;
        Ok(text)
    }

    fn min_text(&self) -> String {
        format(self.range.min).unwrap_or_default()
    }

    fn max_text(&self) -> String {
        format(self.range.max).unwrap_or_default()
    }
}

/// Parses `<number><unit>…` (units `ms`, `s`, `m`, `h`; whole numbers); `None` when the text is not of that
/// form or overflows.
pub fn parse(text: &str) -> Option<Duration> {
    let mut rest = text.as_bytes();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut number: u64 = 0;
        for &b in &rest[..digits] {
            number = number.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        rest = &rest[digits..];
        let (unit_ms, unit_len) = match rest {
            [b'm', b's', ..] => (1, 2),
            [b's', ..] => (1_000, 1),
            [b'm', ..] => (60_000, 1),
            [b'h', ..] => (3_600_000, 1),
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ms = total_ms.checked_add(number.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

/// Writes a duration in canonical Go syntax (`1h30m`, `45s`, `1s500ms`, `0s`). Fails for a duration with a
/// part finer than a millisecond.
pub fn format(duration: Duration) -> Result<String, Duration> {
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(duration);
    }
    let millis = duration.as_millis();
    if millis == 0 {
        return Ok("0s".to_owned());
    }
    let mut text = String::new();
    let parts = [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut rest = millis;
    for (unit, suffix) in parts {
        let count = rest / unit;
        rest %= unit;
        if count > 0 {
            text.push_str(&count.to_string());
            text.push_str(suffix);
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax_reads_and_writes_canonically() {
        assert_eq!(parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("1s500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
        assert_eq!(format(Duration::from_secs(5400)), Ok("1h30m".to_owned()));
        assert_eq!(format(Duration::from_secs(24 * 3600)), Ok("24h".to_owned()));
        assert_eq!(format(Duration::from_millis(1500)), Ok("1s500ms".to_owned()));
        assert_eq!(format(Duration::ZERO), Ok("0s".to_owned()));
        assert!(format(Duration::from_micros(1500)).is_err());
    }

    #[test]
    fn anything_else_is_refused_without_panicking() {
        for text in ["", "30", "s", "1.5h", "1 h", "-5s", "+5s", "1d", "1H", "1hh", "5us", "99999999999999999999h"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
        // Overflow in the multiplication and in the sum.
        assert_eq!(parse("5124095576030431h"), None);
        assert_eq!(parse("18446744073709551615ms1ms"), None);
    }

    #[test]
    fn bounds_make_the_rule_the_message_and_the_check() {
        assert_eq!(INTERVAL.rule(), "duration(self) >= duration('30s') && duration(self) <= duration('720h')");
        assert_eq!(
            INTERVAL.message(),
            kube::core::Message::Message("syncPolicy.interval must be between 30s and 720h".into())
        );
        assert_eq!(INTERVAL.parse("1h"), Ok(Duration::from_secs(3600)));
        let err = INTERVAL.parse("10s").expect_err("too short");
        assert_eq!(err.to_string(), "syncPolicy.interval 10s is out of range: it must be between 30s and 720h");
        let err = BACKOFF.parse("soon").expect_err("syntax");
        assert!(err.to_string().starts_with("syncPolicy.retry.backoffInterval \"soon\" is not a duration"), "{err}");
        assert_eq!(BACKOFF.format(Duration::from_secs(30)), Ok("30s".to_owned()));
        assert!(matches!(BACKOFF.format(Duration::from_secs(7200)), Err(DurationError::OutOfRange { .. })));
    }
}
