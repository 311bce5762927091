//! The restart policy and its times.

use super::{bad, OptionsError, RestartPolicy};

/// The longest `restartDelay`: one day (a delay of u64::MAX seconds overflowed
/// the supervisor's clock: an abort of the daemon when the container exited).
pub(super) const MAX_RESTART_DELAY_S: u64 = 86_400;

/// The longest `restartWindow`: one year.
pub(super) const MAX_RESTART_WINDOW_S: u64 = 365 * 86_400;

pub(super) fn seconds(option: &'static str, v: Option<u64>, max: u64) -> Result<u64, OptionsError> {
    match v {
        Some(s) if s > max => Err(bad(option, s, format!("the maximum is `{max}` seconds"))),
        v => Ok(v.unwrap_or(0)),
    }
}

/// The policy of `restart`: `no`/`none`, `always`, `unless-stopped`,
/// `on-failure` or docker's `on-failure:N` (N counted by [`attempts`]).
pub(super) fn restart(s: &str) -> Result<RestartPolicy, OptionsError> {
    let (kind, count) = split(s);
    match (kind, count) {
        ("none" | "no", None) => Ok(RestartPolicy::None),
        ("always", None) => Ok(RestartPolicy::Always),
        ("unless-stopped", None) => Ok(RestartPolicy::UnlessStopped),
        ("on-failure", _) => Ok(RestartPolicy::OnFailure),
        ("none" | "no" | "always" | "unless-stopped", Some(_)) => Err(bad(
            "restart",
            s,
            "a maximum retry count goes with `on-failure` only",
        )),
        _ => Err(bad(
            "restart",
            s,
            "use `no`, `always`, `unless-stopped` or `on-failure[:N]`",
        )),
    }
}

/// The most restarts: the `N` of `on-failure:N`, else `maxAttempts` (both
/// given, they must agree).
pub(super) fn attempts(restart: Option<&str>, max: Option<u32>) -> Result<u32, OptionsError> {
    let Some((_, Some(n))) = restart.map(split) else {
        return Ok(max.unwrap_or(0));
    };
    let s = restart.unwrap_or_default();
    let n: u32 = n
        .parse()
        .map_err(|_| bad("restart", s, "the retry count after `:` is not a number"))?;
    match max {
        Some(m) if m != n => Err(bad("maxAttempts", m, format!("`restart` `{s}` says `{n}`"))),
        _ => Ok(n),
    }
}

fn split(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((k, n)) => (k, Some(n)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CreateOptions;

    #[test]
    fn on_failure_takes_docker_retry_count() {
        assert_eq!(restart("on-failure:3").unwrap(), RestartPolicy::OnFailure);
        assert_eq!(restart("no").unwrap(), RestartPolicy::None);
        assert_eq!(attempts(Some("on-failure:3"), None).unwrap(), 3);
        assert_eq!(attempts(Some("on-failure:3"), Some(3)).unwrap(), 3);
        assert_eq!(attempts(Some("on-failure"), Some(5)).unwrap(), 5);
        assert_eq!(attempts(None, None).unwrap(), 0);
        let e = attempts(Some("on-failure:3"), Some(4)).unwrap_err();
        assert_eq!(e.option, "maxAttempts");
        for bad in ["always:3", "on-failure:x", "on-failure:-1", "sometimes"] {
            let e = restart(bad)
                .and_then(|_| attempts(Some(bad), None))
                .unwrap_err();
            assert_eq!(e.option, "restart", "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn restart_times_are_bounded() {
        let o = |delay: u64, window: u64| CreateOptions {
            container_id: "a".into(),
            image: "busybox".into(),
            restart_delay: Some(delay),
            restart_window: Some(window),
            ..Default::default()
        };
        let v = o(86_400, 365 * 86_400).validate().unwrap();
        assert_eq!((v.restart_delay, v.restart_window), (86_400, 365 * 86_400));
        // found by the fuzzer: u64::MAX seconds overflowed the supervisor's clock
        for (d, w, field) in [
            (u64::MAX, 0, "restartDelay"),
            (86_401, 0, "restartDelay"),
            (0, u64::MAX, "restartWindow"),
            (0, 1 << 63, "restartWindow"),
        ] {
            let e = o(d, w).validate().unwrap_err();
            assert_eq!(e.option, field, "{d} {w}");
            assert!(e.to_string().contains(field), "{e}");
        }
    }
}
