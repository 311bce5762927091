//! `logs`: the container's output as the monitor wrote it (`ctr.log`, one
//! JSON line per output line, in the order the monitor read them); stdout
//! lines to `out`, stderr lines to `err`. `tail`, `since`/`until` and
//! `timestamps` as docker's `logs` has them; with `follow`, keeps reading until
//! the container has stopped.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::monitor::ctr_log;

/// What part of the log to print, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep printing new output until the container stops.
    pub follow: bool,
    /// Only the last this many lines (of those `since`/`until` keep).
    pub tail: Option<usize>,
    /// Only lines written at or after this instant, ns since the epoch.
    pub since_ns: Option<i64>,
    /// Only lines written before this instant, ns since the epoch.
    pub until_ns: Option<i64>,
    /// Prefix each line with its RFC 3339 time, as docker does.
    pub timestamps: bool,
}

/// One line of `ctr.log`.
struct Line {
    stderr: bool,
    text: String,
    time_ns: i64,
}

fn parse(raw: &str) -> Option<Line> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    // `timeNano` since the monitor records it; seconds before
    let time_ns = v["timeNano"]
        .as_i64()
        .or_else(|| v["time"].as_i64().map(|s| s.saturating_mul(1_000_000_000)))
        .unwrap_or(0);
    Some(Line {
        stderr: v["stream"] == "stderr",
        text: v["log"].as_str().unwrap_or("").to_string(),
        time_ns,
    })
}

impl LogOptions {
    fn keeps(&self, l: &Line) -> bool {
        self.since_ns.is_none_or(|s| l.time_ns >= s) && self.until_ns.is_none_or(|u| l.time_ns < u)
    }
}

/// Copies the log of `id`.
pub fn logs(
    ctx: &mut Engine,
    id: &str,
    opts: LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), ContainerError> {
    let l = load(ctx, id)?;
    let path = ctr_log(Path::new(&l.record.bundle));
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !opts.follow => return Ok(()),
        Err(source) => {
            return Err(ContainerError::Io {
                op: "open",
                path,
                source,
            })
        }
    };
    let mut reader = BufReader::new(file);
    let mut raw = String::new();
    let mut stopped_seen = false;
    // lines held back until the end of what is written now, for `tail`
    let mut tail: Option<VecDeque<Line>> = opts.tail.map(|n| VecDeque::with_capacity(n.min(4096)));
    loop {
        raw.clear();
        let n = reader.read_line(&mut raw).unwrap_or(0);
        if n > 0 && raw.ends_with('\n') {
            let Some(line) = parse(&raw).filter(|l| opts.keeps(l)) else {
                continue;
            };
            match (&mut tail, opts.tail) {
                (Some(held), Some(max)) => {
                    if max > 0 {
                        if held.len() == max {
                            held.pop_front();
                        }
                        held.push_back(line);
                    }
                }
                _ => emit(&line, opts.timestamps, out, err),
            }
            continue;
        }
        if let Some(held) = tail.take() {
            held.iter().for_each(|l| emit(l, opts.timestamps, out, err));
        }
        if !opts.follow || stopped_seen {
            return Ok(());
        }
        // One more pass after the stop, for what the monitor wrote last.
        stopped_seen = load(ctx, id)?.state.status == Status::Stopped;
        std::thread::sleep(Duration::from_millis(if stopped_seen { 300 } else { 100 }));
        if n > 0 {
            // A partial line: read the rest later.
            let _ = reader.seek_relative(-i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

fn emit(line: &Line, timestamps: bool, out: &mut dyn Write, err: &mut dyn Write) {
    let w: &mut dyn Write = if line.stderr { err } else { out };
    if timestamps {
        let t = k3_oci::time::format_rfc3339(
            line.time_ns.div_euclid(1_000_000_000),
            u32::try_from(line.time_ns.rem_euclid(1_000_000_000)).unwrap_or(0),
        );
        let _ = write!(w, "{t} ");
    }
    let _ = w.write_all(line.text.as_bytes());
    let _ = w.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nanoseconds_and_old_seconds() {
        let l = parse(r#"{"stream":"stderr","log":"x\n","time":5,"timeNano":5000000007}"#).unwrap();
        assert!(l.stderr);
        assert_eq!(l.time_ns, 5_000_000_007);
        let old = parse(r#"{"stream":"stdout","log":"y\n","time":5}"#).unwrap();
        assert!(!old.stderr);
        assert_eq!(old.time_ns, 5_000_000_000);
        assert!(parse("not json").is_none());
    }

    #[test]
    fn since_and_until_bound_the_lines() {
        let l = |t| Line {
            stderr: false,
            text: String::new(),
            time_ns: t,
        };
        let o = LogOptions {
            since_ns: Some(10),
            until_ns: Some(20),
            ..Default::default()
        };
        assert!(!o.keeps(&l(9)));
        assert!(o.keeps(&l(10)));
        assert!(o.keeps(&l(19)));
        assert!(!o.keeps(&l(20)));
        assert!(LogOptions::default().keeps(&l(0)));
    }

    #[test]
    fn timestamps_prefix_each_line() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let line = Line {
            stderr: false,
            text: "hi\n".into(),
            time_ns: 1_000_000_001,
        };
        emit(&line, true, &mut out, &mut err);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:01.000000001Z hi\n"
        );
        assert!(err.is_empty());
    }
}
