//! `k3 stats [--no-stream] [--format table|json] [ID...]`: docker's columns
//! (CPU % between two samples a second apart, memory of the limit, or of the
//! host's memory when there is none), redrawn every second until interrupted;
//! every running container when no id is given. `json` is one snapshot.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use crate::cli::ps::{tabulate, Format};
use crate::cli::{print_json, Failure};
use k3_engine::container::stats::{self, Stats};
use k3_engine::container::{list, ContainerError};
use k3_engine::context::Engine;
use k3_engine::db::container_state::Status;

/// How long apart the samples of one frame are.
const INTERVAL: Duration = Duration::from_secs(1);

/// `k3 stats` arguments.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Print one frame and exit
    #[arg(long)]
    pub no_stream: bool,
    /// Output format (`json`: one snapshot)
    #[arg(long, value_enum, default_value_t = Format::Table, allow_hyphen_values = true)]
    pub format: Format,
    /// Container ids (none: every running container)
    pub ids: Vec<String>,
}

/// `k3 stats`.
pub fn run(ctx: &mut Engine, a: StatsArgs) -> Result<i32, Failure> {
    let mut before = sample(ctx, &a.ids, true)?;
    let stream = !a.no_stream && matches!(a.format, Format::Table);
    let tty = std::io::stdout().is_terminal();
    loop {
        std::thread::sleep(INTERVAL);
        let now = sample(ctx, &a.ids, false)?;
        let rows: Vec<Row> = now
            .iter()
            .map(|s| Row {
                cpu_percent: before
                    .iter()
                    .find(|b| b.id == s.id)
                    .and_then(|b| s.cpu_percent(b)),
                stats: s.clone(),
            })
            .collect();
        if let Format::Json = a.format {
            print_json(&rows.iter().map(Row::json).collect::<Vec<_>>());
            return Ok(0);
        }
        let mut out = std::io::stdout().lock();
        if stream && tty {
            // clear the screen and go home, as docker redraws
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        let _ = write!(out, "{}", table(&rows));
        let _ = out.flush();
        if !stream {
            return Ok(0);
        }
        before = now;
    }
}

/// One container's frame.
struct Row {
    stats: Stats,
    cpu_percent: Option<f64>,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.stats).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("cpu_percent".into(), serde_json::json!(self.cpu_percent));
            o.insert(
                "memory_percent".into(),
                serde_json::json!(self.stats.memory_percent()),
            );
        }
        v
    }
}

/// The stats of `ids` (none: the running containers). An id that is not running
/// fails the first sample; later ones leave it out (it stopped meanwhile).
fn sample(ctx: &mut Engine, ids: &[String], first: bool) -> Result<Vec<Stats>, Failure> {
    let ids: Vec<String> = if ids.is_empty() {
        list::list(ctx, false)
            .map_err(|e| Failure::about("", false)(e.into()))?
            .into_iter()
            .filter(|c| c.status == Status::Running)
            .map(|c| c.id)
            .collect()
    } else {
        ids.to_vec()
    };
    let mut out = Vec::new();
    for id in &ids {
        match stats::stats(ctx, id) {
            Ok(s) => out.push(s),
            Err(e @ ContainerError::State { .. }) if !first => drop(e),
            Err(e) => return Err(Failure::about(id, false)(e.into())),
        }
    }
    Ok(out)
}

fn table(rows: &[Row]) -> String {
    let head = [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ];
    let pct = |p: Option<f64>| p.map_or("--".into(), |p| format!("{p:.2}%"));
    let pair = |v: Option<(u64, u64)>| {
        v.map_or("--".into(), |(a, b)| {
            format!("{} / {}", human_size(a), human_size(b))
        })
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = &r.stats;
            let used = s.memory_working_set.or(s.memory_usage);
            vec![
                s.id.clone(),
                s.id.clone(),
                pct(r.cpu_percent),
                format!(
                    "{} / {}",
                    used.map_or("--".into(), bytes_size),
                    s.memory_ceiling().map_or("--".into(), bytes_size)
                ),
                pct(s.memory_percent()),
                pair(s.net_io),
                pair(s.block_io),
                s.pids.map_or("--".into(), |p| p.to_string()),
            ]
        })
        .collect();
    tabulate(&head, &cells)
}

/// `%.4g` of `x` and a unit, as go-units prints sizes.
fn four_digits(x: f64, unit: &str) -> String {
    let mut int_digits = 1usize;
    let mut y = x;
    while y >= 10.0 {
        y /= 10.0;
        int_digits += 1;
    }
    let decimals = 4usize.saturating_sub(int_digits);
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{unit}")
}

fn scaled(mut x: f64, base: f64, units: &[&str]) -> String {
    let mut i = 0;
    while x >= base && i + 1 < units.len() {
        x /= base;
        i += 1;
    }
    four_digits(x, units[i])
}

/// Binary sizes as docker's memory columns (`63.73MiB`, `7.6GiB`).
pub fn bytes_size(b: u64) -> String {
    scaled(
        b as f64,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
    )
}

/// Decimal sizes as docker's I/O columns (`1.2kB`, `0B`).
pub fn human_size(b: u64) -> String {
    scaled(b as f64, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1023), "1023B");
        assert_eq!(bytes_size(64 << 20), "64MiB");
        assert_eq!(bytes_size(66_828_288), "63.73MiB");
        assert_eq!(bytes_size(8_160_000_000), "7.6GiB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1234), "1.234kB");
        assert_eq!(human_size(1_500_000), "1.5MB");
        assert_eq!(human_size(999), "999B");
    }

    #[test]
    fn no_limit_is_the_hosts_memory_never_exabytes() {
        let s = Stats {
            id: "a".into(),
            memory_usage: Some(2 << 20),
            memory_working_set: Some(1 << 20),
            host_memory: Some(8 << 30),
            pids: Some(1),
            ..Default::default()
        };
        let t = table(&[Row {
            stats: s,
            cpu_percent: Some(12.345),
        }]);
        let line = t.lines().nth(1).unwrap();
        assert!(line.contains("1MiB / 8GiB"), "{line}");
        assert!(line.contains("12.35%"), "{line}");
        assert!(line.contains("0.01%"), "{line}");
        assert!(!t.contains("EB") && !t.contains("EiB"), "{t}");
    }
}
