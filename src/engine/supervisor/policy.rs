//! Restart decisions as pure functions: given the policy, how the container
//! ended, whether the user stopped it and the restarts already made, say
//! whether (and after which delay) to restart it.

use std::time::Duration;

use crate::options::RestartPolicy;

/// The first delay when `restartDelay` is 0 (docker's 100 ms).
pub const DEFAULT_DELAY: Duration = Duration::from_millis(100);
/// The delay never grows past this (docker's one minute), unless
/// `restartDelay` itself is longer.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// A container's restart settings (seed 000's options).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub kind: RestartPolicy,
    /// The first delay, seconds (0 = [`DEFAULT_DELAY`]).
    pub delay_s: u64,
    /// Attempts are counted within this many seconds (0 = since creation).
    pub window_s: u64,
    /// The most restarts within the window (0 = unlimited).
    pub max_attempts: u32,
}

/// What to do with a container that ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Restart it after `delay`; this is restart number `attempt` in the window.
    Restart { delay: Duration, attempt: u32 },
    /// Leave it stopped, for this reason.
    Leave(&'static str),
}

/// Restarts made so far: their times (seconds since the epoch).
pub fn attempts_in_window(history: &[i64], window_s: u64, now: i64) -> u32 {
    let from = if window_s == 0 {
        i64::MIN
    } else {
        now.saturating_sub(i64::try_from(window_s).unwrap_or(i64::MAX))
    };
    history.iter().filter(|&&t| t >= from).count() as u32
}

/// The delay before restart `n` (0-based): the first delay, doubled each
/// time, capped.
pub fn backoff(first_s: u64, n: u32) -> Duration {
    let first = if first_s == 0 {
        DEFAULT_DELAY
    } else {
        Duration::from_secs(first_s)
    };
    let cap = MAX_DELAY.max(first);
    let factor = 1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(cap)
}

/// Decides for a container that exited with `exit_code`.
pub fn decide(
    p: &Policy,
    exit_code: i64,
    user_stopped: bool,
    history: &[i64],
    now: i64,
) -> Decision {
    match p.kind {
        RestartPolicy::None => return Decision::Leave("policy `none`"),
        RestartPolicy::OnFailure if exit_code == 0 => {
            return Decision::Leave("exited with `0` under `on-failure`")
        }
        _ => {}
    }
    if user_stopped {
        return Decision::Leave("stopped by the user");
    }
    let n = attempts_in_window(history, p.window_s, now);
    if p.max_attempts > 0 && n >= p.max_attempts {
        return Decision::Leave("`maxAttempts` reached");
    }
    Decision::Restart {
        delay: backoff(p.delay_s, n),
        attempt: n + 1,
    }
}

/// Whether the daemon brings the container back when it starts: `always`,
/// and `unless-stopped` the user did not stop.
pub fn at_boot(kind: RestartPolicy, user_stopped: bool) -> bool {
    match kind {
        RestartPolicy::Always => !user_stopped,
        RestartPolicy::UnlessStopped => !user_stopped,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(kind: RestartPolicy, max: u32) -> Policy {
        Policy {
            kind,
            delay_s: 0,
            window_s: 0,
            max_attempts: max,
        }
    }

    #[test]
    fn none_never_restarts() {
        let d = decide(&pol(RestartPolicy::None, 0), 1, false, &[], 0);
        assert!(matches!(d, Decision::Leave(_)));
    }

    #[test]
    fn on_failure_only_for_non_zero_and_up_to_max() {
        let p = pol(RestartPolicy::OnFailure, 3);
        assert!(matches!(decide(&p, 0, false, &[], 10), Decision::Leave(_)));
        assert_eq!(
            decide(&p, 1, false, &[], 10),
            Decision::Restart {
                delay: DEFAULT_DELAY,
                attempt: 1
            }
        );
        assert_eq!(
            decide(&p, 1, false, &[1, 2], 10),
            Decision::Restart {
                delay: DEFAULT_DELAY * 4,
                attempt: 3
            }
        );
        assert_eq!(
            decide(&p, 1, false, &[1, 2, 3], 10),
            Decision::Leave("`maxAttempts` reached")
        );
    }

    #[test]
    fn always_restarts_on_success_but_not_after_a_user_stop() {
        let p = pol(RestartPolicy::Always, 0);
        assert!(matches!(
            decide(&p, 0, false, &[1; 50], 9),
            Decision::Restart { .. }
        ));
        assert_eq!(
            decide(&p, 137, true, &[], 9),
            Decision::Leave("stopped by the user")
        );
        let u = pol(RestartPolicy::UnlessStopped, 0);
        assert!(matches!(
            decide(&u, 0, false, &[], 9),
            Decision::Restart { .. }
        ));
        assert!(matches!(decide(&u, 0, true, &[], 9), Decision::Leave(_)));
    }

    #[test]
    fn window_forgets_old_attempts() {
        let p = Policy {
            window_s: 10,
            ..pol(RestartPolicy::OnFailure, 2)
        };
        assert!(matches!(
            decide(&p, 1, false, &[100, 101], 105),
            Decision::Leave(_)
        ));
        assert_eq!(
            decide(&p, 1, false, &[100, 101], 120),
            Decision::Restart {
                delay: DEFAULT_DELAY,
                attempt: 1
            }
        );
        assert_eq!(attempts_in_window(&[1, 5, 9], 5, 10), 2);
        assert_eq!(attempts_in_window(&[1, 5, 9], 0, 10), 3);
        // a window of u64::MAX seconds is for ever (it wrapped to -1 second)
        assert_eq!(attempts_in_window(&[1, 5, 9], u64::MAX, 10), 3);
        assert_eq!(attempts_in_window(&[1, 5, 9], 1 << 63, 10), 3);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(2, 0), Duration::from_secs(2));
        assert_eq!(backoff(2, 1), Duration::from_secs(4));
        assert_eq!(backoff(2, 3), Duration::from_secs(16));
        assert_eq!(backoff(2, 10), MAX_DELAY);
        assert_eq!(backoff(0, 40), MAX_DELAY);
        assert_eq!(backoff(120, 3), Duration::from_secs(120));
    }

    #[test]
    fn boot_brings_back_always_and_unless_stopped() {
        assert!(at_boot(RestartPolicy::Always, false));
        assert!(!at_boot(RestartPolicy::Always, true));
        assert!(at_boot(RestartPolicy::UnlessStopped, false));
        assert!(!at_boot(RestartPolicy::UnlessStopped, true));
        assert!(!at_boot(RestartPolicy::OnFailure, false));
        assert!(!at_boot(RestartPolicy::None, false));
    }
}
