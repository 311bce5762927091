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

pub(super) fn restart(s: &str) -> Result<RestartPolicy, OptionsError> {
    match s {
        "none" | "no" => Ok(RestartPolicy::None),
        "always" => Ok(RestartPolicy::Always),
        "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
        "on-failure" => Ok(RestartPolicy::OnFailure),
        _ => Err(bad(
            "restart",
            s,
            "use `none`, `always`, `unless-stopped` or `on-failure`",
        )),
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use crate::options::CreateOptions;

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
