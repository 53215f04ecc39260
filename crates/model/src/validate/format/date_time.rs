//! RFC 3339 `date-time`, with leap seconds only at 23:59 UTC.

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub(crate) fn is_date_time(s: &str) -> bool {
    let Some(t) = s.bytes().position(|b| b == b'T' || b == b't') else {
        return false;
    };
    is_date(&s.as_bytes()[..t]) && is_time(&s.as_bytes()[t + 1..])
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

fn is_date(d: &[u8]) -> bool {
    if d.len() != 10 || d[4] != b'-' || d[7] != b'-' {
        return false;
    }
    let (Some(y1), Some(y2), Some(month), Some(day)) =
        (two_digits(&d[0..2]), two_digits(&d[2..4]), two_digits(&d[5..7]), two_digits(&d[8..10]))
    else {
        return false;
    };
    let year = u16::from(y1) * 100 + u16::from(y2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let last = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=last).contains(&day)
}

fn is_time(t: &[u8]) -> bool {
    if t.len() < 9 || t[2] != b':' || t[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (two_digits(&t[0..2]), two_digits(&t[3..5]), two_digits(&t[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 8;
    if t.get(i) == Some(&b'.') {
        i += 1;
        let digits = t[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i += digits;
    }
    let leap_ok = |utc_hour: i16, utc_minute: i16| second != 60 || (utc_hour == 23 && utc_minute == 59);
    match t.get(i) {
        Some(b'Z' | b'z') => i == t.len() - 1 && leap_ok(i16::from(hour), i16::from(minute)),
        Some(&sign @ (b'+' | b'-')) => {
            let offset = &t[i + 1..];
            if offset.len() != 5 || offset[2] != b':' {
                return false;
            }
            let (Some(oh), Some(om)) = (two_digits(&offset[0..2]), two_digits(&offset[3..5])) else {
                return false;
            };
            if oh > 23 || om > 59 {
                return false;
            }
            // Local time minus a positive offset (plus a negative one) is UTC.
            let dir: i16 = if sign == b'+' { -1 } else { 1 };
            let mut h = i16::from(hour) + dir * i16::from(oh);
            let mut m = i16::from(minute) + dir * i16::from(om);
            h += m / 60;
            m %= 60;
            if m < 0 {
                m += 60;
                h -= 1;
            }
            leap_ok((h + 24) % 24, m)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in [
            "2026-02-18T00:24:11Z",
            "2025-12-18T10:00:49.16262Z",
            "2024-02-29t23:59:60z",
            "1990-12-31T15:59:60-08:00",
            "2025-01-01T00:00:00+05:30",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-02-18",
            "2025-02-29T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T12:00:60Z",
            "2025-01-01T00:00:00+5:30",
            "2025-01-01 00:00:00Z",
            "２025-01-01T00:00:00Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }
}
