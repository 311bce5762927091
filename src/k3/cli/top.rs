//! `k3 top ID`: the container's processes, as its pid namespace sees them, in
//! docker's columns.

use clap::Args;

use crate::cli::ps::tabulate;
use crate::cli::Failure;
use k3_engine::container::top::{self, cpu_time};
use k3_engine::context::Engine;

/// `k3 top` arguments.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// Container id
    pub id: String,
}

/// `k3 top`.
pub fn run(ctx: &mut Engine, a: TopArgs) -> Result<i32, Failure> {
    let procs = top::top(ctx, &a.id).map_err(|e| Failure::about(&a.id, false)(e.into()))?;
    let now = k3_engine::db::now();
    let rows: Vec<Vec<String>> = procs
        .iter()
        .map(|p| {
            vec![
                p.user.clone(),
                p.pid.to_string(),
                p.ppid.to_string(),
                p.c.to_string(),
                start_time(p.started, now),
                p.tty.clone(),
                cpu_time(p.cpu_secs),
                p.cmd.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        tabulate(
            &["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            &rows
        )
    );
    Ok(0)
}

/// ps's `STIME` (UTC): `HH:MM` within a day, else `MonDD`.
fn start_time(t: i64, now: i64) -> String {
    let s = k3_oci::time::format_rfc3339(t, 0);
    if now - t < 86_400 {
        return s[11..16].to_string();
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m: usize = s[5..7].parse().unwrap_or(1);
    format!("{}{}", MONTHS[(m + 11) % 12], &s[8..10])
}

#[cfg(test)]
mod tests {
    use super::start_time;

    #[test]
    fn stime_as_ps() {
        // 2026-11-23T12:03:57Z
        assert_eq!(start_time(1_795_435_437, 1_795_435_500), "12:03");
        assert_eq!(
            start_time(1_795_435_437, 1_795_435_437 + 3 * 86_400),
            "Nov23"
        );
    }
}
