//! `logs`: the container's output as the monitor wrote it (`ctr.log`, one
//! JSON line per output line); stdout lines to `out`, stderr lines to `err`;
//! with `follow`, keeps reading until the container has stopped.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use crate::container::{load, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::monitor::ctr_log;

/// Copies the log of `id`.
pub fn logs(
    ctx: &mut Engine,
    id: &str,
    follow: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), ContainerError> {
    let l = load(ctx, id)?;
    let path = ctr_log(Path::new(&l.record.bundle));
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(()),
        Err(source) => {
            return Err(ContainerError::Io {
                op: "open",
                path,
                source,
            })
        }
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut stopped_seen = false;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap_or(0);
        if n > 0 && line.ends_with('\n') {
            emit(&line, out, err);
            continue;
        }
        if !follow || stopped_seen {
            return Ok(());
        }
        // One more pass after the stop, for what the monitor wrote last.
        stopped_seen = load(ctx, id)?.state.status == Status::Stopped;
        std::thread::sleep(Duration::from_millis(if stopped_seen { 300 } else { 100 }));
        if n > 0 {
            // A partial line: read the rest later.
            let _ = reader.seek_relative(-(n as i64));
        }
    }
}

fn emit(line: &str, out: &mut dyn Write, err: &mut dyn Write) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    let text = v["log"].as_str().unwrap_or("");
    let w: &mut dyn Write = if v["stream"] == "stderr" { err } else { out };
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
}
