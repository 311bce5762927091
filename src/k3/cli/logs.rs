//! `k3 logs [-f] [-n N] [--since T] [--until T] [-t] ID`, as docker's.

use clap::Args;

use crate::cli::Failure;
use k3_engine::container::logs::{self, LogOptions};
use k3_engine::container::when;
use k3_engine::context::Engine;
use k3_engine::options::OptionsError;

/// `k3 logs` arguments.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Keep printing new output until the container stops
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the last N lines (`all`: every line)
    #[arg(long, short = 'n', value_name = "N")]
    pub tail: Option<String>,
    /// Only lines since this time (RFC 3339, unix seconds, or a duration back such as `10m`)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only lines before this time (as `--since`)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Prefix each line with its time (RFC 3339, nanoseconds)
    #[arg(long, short = 't')]
    pub timestamps: bool,
    /// Container id
    pub id: String,
}

impl LogsArgs {
    /// The options the engine takes; a bad value is an error naming the flag.
    pub fn options(&self) -> Result<LogOptions, OptionsError> {
        let now = when::now_ns();
        let instant = |flag: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| when::parse_instant(s, now).map_err(|why| bad(flag, s, why)))
                .transpose()
        };
        let tail = match self.tail.as_deref() {
            None | Some("all") => None,
            // docker: a negative count is every line
            Some(s) if s.starts_with('-') && s[1..].parse::<u64>().is_ok() => None,
            Some(s) => Some(
                s.parse::<usize>()
                    .map_err(|_| bad("tail", s, "want a number of lines or `all`".to_string()))?,
            ),
        };
        Ok(LogOptions {
            follow: self.follow,
            tail,
            since_ns: instant("since", &self.since)?,
            until_ns: instant("until", &self.until)?,
            timestamps: self.timestamps,
        })
    }
}

fn bad(option: &'static str, value: &str, reason: String) -> OptionsError {
    OptionsError {
        option,
        value: value.to_string(),
        reason,
    }
}

/// `k3 logs`.
pub fn run(ctx: &mut Engine, a: LogsArgs) -> Result<i32, Failure> {
    let opts = a.options().map_err(|e| {
        Failure::about(&a.id, false)(k3_engine::container::ContainerError::from(e).into())
    })?;
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    logs::logs(ctx, &a.id, opts, &mut out, &mut err)
        .map_err(|e| Failure::about(&a.id, false)(e.into()))?;
    Ok(0)
}
