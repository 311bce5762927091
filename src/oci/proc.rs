//! The one `/proc/PID/stat` parser: the state, parent and start time of a
//! process from the text of its stat line. Reading the file is the caller's
//! (this crate touches no kernel interface).
//!
//! The command name (field 2) is in parentheses and may itself hold spaces
//! and `)`, so the fields are counted after the last `)` of the line.

/// The fields of a `/proc/PID/stat` line that k3 reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: `R` running, `S` sleeping, `D` disk wait, `T` stopped,
    /// `Z` zombie, `X` dead, ...
    pub state: char,
    /// Field 4: the parent's pid.
    pub ppid: i32,
    /// Field 22: when the process started, in clock ticks since boot (with
    /// the pid, it names one process: a pid is reused, the pair is not).
    pub start_time: u64,
}

impl ProcStat {
    /// Parses one stat line; `None` when it is not one.
    pub fn parse(line: &str) -> Option<ProcStat> {
        let (_, rest) = line.rsplit_once(')')?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?.chars().next()?;
        let ppid = fields.next()?.parse().ok()?;
        // fields 5 to 21 lie between the parent and the start time
        let start_time = fields.nth(17)?.parse().ok()?;
        Some(ProcStat {
            state,
            ppid,
            start_time,
        })
    }

    /// Whether the process still runs: it is neither a zombie (exited, not
    /// yet reaped) nor dead.
    pub fn is_live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // a real line, with a command name holding `) ` and spaces
    const LINE: &str = "4242 (a) b (c) S 17 4242 4242 0 -1 4194560 104 0 0 0 0 0 0 0 20 0 1 0 8675309 2306048 230 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";

    #[test]
    fn fields_are_counted_after_the_last_parenthesis() {
        let s = ProcStat::parse(LINE).unwrap();
        assert_eq!(
            s,
            ProcStat {
                state: 'S',
                ppid: 17,
                start_time: 8_675_309
            }
        );
        assert!(s.is_live());
    }

    #[test]
    fn zombies_and_dead_processes_are_not_live() {
        for (state, live) in [("Z", false), ("X", false), ("R", true), ("D", true)] {
            let line = LINE.replacen(" S ", &format!(" {state} "), 1);
            assert_eq!(ProcStat::parse(&line).unwrap().is_live(), live, "{state}");
        }
    }

    #[test]
    fn a_line_that_is_not_a_stat_line_is_refused() {
        for bad in [
            "",
            "4242 (sh",
            "4242 (sh) S",
            "4242 (sh) S x 1",
            "4242 (sh) S 1 2 3",
        ] {
            assert_eq!(ProcStat::parse(bad), None, "{bad:?}");
        }
    }
}
