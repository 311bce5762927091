//! Times as docker's observing verbs take and show them: `--since`/`--until`
//! values (an RFC 3339 instant, a date, unix seconds, or a duration back from
//! now such as `10m`), and the `Up 3 seconds` / `2 minutes ago` wording of
//! `ps` (go-units' `HumanDuration`, which docker and podman both print).

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Parses a `--since`/`--until` value into nanoseconds since the epoch; `now_ns`
/// anchors durations. The error says what was expected.
pub fn parse_instant(s: &str, now_ns: i64) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty time".into());
    }
    if let Some(d) = parse_duration_ns(s) {
        return Ok(now_ns.saturating_sub(d));
    }
    if let Some(t) = parse_unix(s) {
        return Ok(t);
    }
    parse_rfc3339(s).ok_or_else(|| {
        format!(
            "`{s}` is not a time: want RFC 3339 (`2026-01-02T15:04:05Z`), a date, unix seconds or a duration (`10m`)"
        )
    })
}

/// `1h30m`, `10m`, `5s`, `250ms`, `1.5h` as nanoseconds (Go's duration syntax).
pub fn parse_duration_ns(s: &str) -> Option<i64> {
    let mut rest = s;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (int, frac) = rest[..num_len]
            .split_once('.')
            .unwrap_or((&rest[..num_len], ""));
        if int.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 9 {
            return None;
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let part: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        let digits = 10i128.pow(u32::try_from(frac.len()).ok()?);
        total = total.checked_add(
            whole
                .checked_mul(scale)?
                .checked_add(part * scale / digits)?,
        )?;
    }
    i64::try_from(total).ok()
}

fn parse_unix(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// `2026-01-02`, `2026-01-02T15:04:05[.frac](Z|±hh:mm)` (also without the zone:
/// UTC) as nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-');
    let y: i64 = num(d.next()?, 4)?;
    let m: i64 = num(d.next()?, 2)?;
    let day: i64 = num(d.next()?, 2)?;
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(y, m, day) * 86_400;
    let mut nanos = 0i64;
    if let Some(t) = time {
        let (clock, offset) = split_zone(t)?;
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut p = hms.split(':');
        let h: i64 = num(p.next()?, 2)?;
        let mi: i64 = num(p.next()?, 2)?;
        let se: i64 = match p.next() {
            Some(x) => num(x, 2)?,
            None => 0,
        };
        if p.next().is_some() || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        if !frac.is_empty() {
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            nanos = format!("{frac:0<9}").parse().ok()?;
        }
        secs += h * 3600 + mi * 60 + se - offset;
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The clock part and the zone's offset east of UTC in seconds.
fn split_zone(t: &str) -> Option<(&str, i64)> {
    if let Some(c) = t.strip_suffix(['Z', 'z']) {
        return Some((c, 0));
    }
    match t.rfind(['+', '-']) {
        Some(i) => {
            let (c, z) = t.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "00"));
            Some((c, sign * (num(h, 2)? * 3600 + num(m, 2)? * 60)))
        }
        None => Some((t, 0)),
    }
}

fn num(s: &str, width: usize) -> Option<i64> {
    (s.len() == width && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Howard Hinnant's civil-to-days algorithm (days since 1970-01-01).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A duration in words as docker and podman print it (`Less than a second`,
/// `1 second`, `About a minute`, `3 hours`, `2 weeks` ...).
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // hours round to the nearest one, as go-units does
    let hours = (secs + 1800) / 3600;
    match hours {
        1 => "About an hour".into(),
        h if h < 48 => format!("{h} hours"),
        h if h < 24 * 7 * 2 => format!("{} days", h / 24),
        h if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        h if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// What docker's STATUS column says about a container at `now` (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created, never started.
    Created,
    /// Running since `started` (paused: frozen).
    Up {
        /// Started at, seconds since the epoch.
        started: i64,
        /// Frozen by `pause`.
        paused: bool,
    },
    /// Exited with `code` at `finished`.
    Exited {
        /// The exit code.
        code: i64,
        /// Stopped at, seconds since the epoch.
        finished: i64,
    },
}

/// `Created`, `Up 3 seconds`, `Up 2 minutes (Paused)`, `Exited (0) 2 minutes ago`.
pub fn status_text(p: Phase, now: i64) -> String {
    match p {
        Phase::Created => "Created".into(),
        Phase::Up { started, paused } => {
            let up = format!("Up {}", human_duration(now - started));
            if paused {
                format!("{up} (Paused)")
            } else {
                up
            }
        }
        Phase::Exited { code, finished } => {
            format!("Exited ({code}) {} ago", human_duration(now - finished))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_435_437_000_000_000; // 2026-11-23T12:03:57Z

    #[test]
    fn human_durations_as_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(3), "3 seconds");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(3599), "59 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(2 * 3600), "2 hours");
        assert_eq!(human_duration(47 * 3600), "47 hours");
        assert_eq!(human_duration(3 * 86_400), "3 days");
        assert_eq!(human_duration(20 * 86_400), "2 weeks");
        assert_eq!(human_duration(90 * 86_400), "3 months");
        assert_eq!(human_duration(3 * 365 * 86_400), "3 years");
        assert_eq!(human_duration(-5), "Less than a second");
    }

    #[test]
    fn status_column() {
        assert_eq!(status_text(Phase::Created, 100), "Created");
        let up = Phase::Up {
            started: 97,
            paused: false,
        };
        assert_eq!(status_text(up, 100), "Up 3 seconds");
        let paused = Phase::Up {
            started: 0,
            paused: true,
        };
        assert_eq!(status_text(paused, 150), "Up 2 minutes (Paused)");
        let exited = Phase::Exited {
            code: 0,
            finished: 0,
        };
        assert_eq!(status_text(exited, 125), "Exited (0) 2 minutes ago");
        let killed = Phase::Exited {
            code: 137,
            finished: 99,
        };
        assert_eq!(status_text(killed, 100), "Exited (137) 1 second ago");
    }

    #[test]
    fn instants() {
        let s = 1_000_000_000;
        assert_eq!(parse_instant("10m", NOW), Ok(NOW - 600 * s));
        assert_eq!(parse_instant("1h30m", NOW), Ok(NOW - 5400 * s));
        assert_eq!(parse_instant("250ms", NOW), Ok(NOW - 250_000_000));
        assert_eq!(parse_instant("1.5h", NOW), Ok(NOW - 5400 * s));
        assert_eq!(parse_instant(".5s", NOW), Ok(NOW - s / 2));
        assert_eq!(parse_instant("1795435437", NOW), Ok(NOW));
        assert_eq!(parse_instant("1795435437.5", NOW), Ok(NOW + s / 2));
        assert_eq!(parse_instant("2026-11-23T12:03:57Z", NOW), Ok(NOW));
        assert_eq!(
            parse_instant("2026-11-23T12:03:57.000000001Z", NOW),
            Ok(NOW + 1)
        );
        assert_eq!(parse_instant("2026-11-23T13:03:57+01:00", NOW), Ok(NOW));
        assert_eq!(parse_instant("2026-11-23T12:03:57", NOW), Ok(NOW));
        assert_eq!(
            parse_instant("2026-11-23", NOW),
            Ok(NOW - (12 * 3600 + 3 * 60 + 57) * s)
        );
        assert_eq!(parse_instant("1970-01-01T00:00:00Z", NOW), Ok(0));
        assert_eq!(parse_instant("2000-02-29", NOW), Ok(951_782_400 * s));
        for bad in [
            "",
            "soon",
            "10x",
            "2026-13-01",
            "2026-11-23T25:00:00Z",
            "1.2.3",
        ] {
            let e = parse_instant(bad, NOW).unwrap_err();
            assert!(e.contains("time") || e.contains("empty"), "{bad}: {e}");
        }
    }
}
