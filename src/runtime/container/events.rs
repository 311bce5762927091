//! `events`: container statistics as JSON lines `{"type":"stats","id":...,"data":...}`
//! every interval (`--stats`: once), plus `{"type":"oom"}` when the OOM killer struck.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::container::GlobalFlags;
use crate::error::{OutputError, StateError};
use crate::{Error, Result};
use k3_cgroups::{self as cgroups, stats, Layout};
use k3_oci::state::Status;

/// `k3rt events [--stats] [--interval D] ID`.
pub fn events(ctx: &GlobalFlags, id: &str, once: bool, interval: Duration) -> Result<()> {
    let dir = ctx.container(id)?;
    let st = dir.load()?;
    let v2 = matches!(cgroups::detect()?, Layout::V2(_));
    let snapshot = || {
        let data = match (v2, st.cgroup_paths.first()) {
            (true, Some(p)) => stats::v2(p),
            _ => stats::v1(&st.cgroup_paths),
        };
        json!({"type": "stats", "id": id, "data": data})
    };
    let mut out = std::io::stdout().lock();
    let mut ooms = stats::oom_kills(&st.cgroup_paths);
    loop {
        if dir.status(&st) == Status::Stopped {
            return if once {
                Err(StateError::NotRunning {
                    id: id.to_string(),
                    status: Status::Stopped,
                }
                .into())
            } else {
                Ok(())
            };
        }
        let now = stats::oom_kills(&st.cgroup_paths);
        if now > ooms {
            ooms = now;
            writeln!(out, "{}", json!({"type": "oom", "id": id})).map_err(|source| {
                OutputError::Write {
                    what: "events",
                    source,
                }
            })?;
        }
        writeln!(out, "{}", snapshot()).map_err(|source| OutputError::Write {
            what: "events",
            source,
        })?;
        out.flush().map_err(|source| OutputError::Write {
            what: "events",
            source,
        })?;
        if once {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

/// Parses `5s`, `500ms`, `1m` or plain seconds.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || Error::invalid("--interval", s, "a duration such as `5s`, `500ms` or `1m`");
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        for bad in ["", "0s", "5h", "x"] {
            assert!(
                parse_interval(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("--interval"),
                "{bad}"
            );
        }
    }
}
