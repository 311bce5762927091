//! `ps`: the container's processes (from its cgroup), as a JSON list of pids or as
//! the host's `ps` table filtered to them, as runc prints it.

use std::process::Command;

use crate::container::GlobalFlags;
use crate::error::OutputError;
use crate::{Error, Result};
use k3_cgroups as cgroups;

/// `k3rt ps [--format table|json] ID [PS-ARGS...]`.
pub fn ps(ctx: &GlobalFlags, id: &str, json: bool, ps_args: &[String]) -> Result<String> {
    let dir = ctx.container(id)?;
    let st = dir.load()?;
    let pids = cgroups::procs(&st.cgroup_paths);
    if json {
        return serde_json::to_string(&pids).map_err(|source| {
            OutputError::Encode {
                what: "pids",
                source,
            }
            .into()
        });
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|source| OutputError::Run {
            program: format!("`ps {}`", args.join(" ")),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::invalid(
            "ps arguments",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(filter_table(&String::from_utf8_lossy(&out.stdout), &pids))
}

/// Keeps the header and the rows whose PID column holds one of `pids`.
pub fn filter_table(table: &str, pids: &[i32]) -> String {
    let mut lines = table.lines();
    let Some(header) = lines.next() else {
        return String::new();
    };
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        return table.to_string();
    };
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_container_pids() {
        let t = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\nroot 43 42 sh\n";
        assert_eq!(
            filter_table(t, &[42]),
            "UID PID PPID CMD\nroot 42 1 sleep\n"
        );
    }
}
