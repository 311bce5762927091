//! `/metrics` in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write;

use crate::supervisor::usage::{ContainerUsage, SystemUsage};

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn per_container(
    out: &mut String,
    rows: &[ContainerUsage],
    name: &str,
    kind: &str,
    help: &str,
    value: impl Fn(&ContainerUsage) -> Option<f64>,
) {
    family(out, name, kind, help);
    for r in rows {
        if let Some(v) = value(r) {
            let _ = writeln!(out, "{name}{{id=\"{}\"}} {v}", escape(&r.id));
        }
    }
}

/// Renders the metrics of `rows`, the host and the restart count.
pub fn render(rows: &[ContainerUsage], sys: &SystemUsage, restarts: usize) -> String {
    let mut out = String::new();
    family(&mut out, "k3_containers", "gauge", "Containers by state.");
    for state in ["CREATED", "RUNNING", "STOPPED"] {
        let n = rows.iter().filter(|r| r.state == state).count();
        let _ = writeln!(out, "k3_containers{{state=\"{state}\"}} {n}");
    }
    per_container(
        &mut out,
        rows,
        "k3_container_cpu_usage_seconds_total",
        "counter",
        "CPU time used by the container.",
        |r| r.cpu_usage.map(|n| n as f64 / 1e9),
    );
    per_container(
        &mut out,
        rows,
        "k3_container_cpu_percent",
        "gauge",
        "CPU use in percent of one CPU.",
        |r| r.cpu_percent,
    );
    per_container(
        &mut out,
        rows,
        "k3_container_cpu_limit",
        "gauge",
        "CPUs allowed (CFS quota / period).",
        |r| r.cpu_limit,
    );
    per_container(
        &mut out,
        rows,
        "k3_container_memory_usage_bytes",
        "gauge",
        "Memory used without the inactive page cache.",
        |r| r.memory_usage.map(|n| n as f64),
    );
    per_container(
        &mut out,
        rows,
        "k3_container_memory_limit_bytes",
        "gauge",
        "Memory limit.",
        |r| r.memory_limit.map(|n| n as f64),
    );
    family(
        &mut out,
        "k3_system_memory_used_bytes",
        "gauge",
        "Host memory in use.",
    );
    let _ = writeln!(out, "k3_system_memory_used_bytes {}", sys.used_memory);
    family(
        &mut out,
        "k3_system_memory_total_bytes",
        "gauge",
        "Host memory.",
    );
    let _ = writeln!(out, "k3_system_memory_total_bytes {}", sys.total_memory);
    family(
        &mut out,
        "k3_system_cpu_percent",
        "gauge",
        "Host CPU busy percent.",
    );
    let _ = writeln!(out, "k3_system_cpu_percent {}", sys.cpu_percent);
    family(
        &mut out,
        "k3_restarts_total",
        "counter",
        "Restarts made by the supervisor.",
    );
    let _ = writeln!(out, "k3_restarts_total {restarts}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, state: &'static str, cpu: Option<u64>) -> ContainerUsage {
        ContainerUsage {
            id: id.into(),
            pid: Some(1),
            state,
            cpu_usage: cpu,
            cpu_limit: cpu.map(|_| 0.5),
            cpu_percent: cpu.map(|_| 12.5),
            memory_usage: cpu.map(|_| 1024),
            memory_limit: cpu.map(|_| 4096),
            memory_percent: cpu.map(|_| 25.0),
        }
    }

    #[test]
    fn renders_families_and_samples() {
        let sys = SystemUsage {
            used_memory: 10,
            total_memory: 20,
            cpu_percent: 3.5,
        };
        let text = render(
            &[
                row("a", "RUNNING", Some(2_500_000_000)),
                row("b\"x", "STOPPED", None),
            ],
            &sys,
            4,
        );
        assert!(text.contains("# TYPE k3_container_cpu_usage_seconds_total counter\n"));
        assert!(text.contains("k3_container_cpu_usage_seconds_total{id=\"a\"} 2.5\n"));
        assert!(text.contains("k3_container_memory_limit_bytes{id=\"a\"} 4096\n"));
        assert!(text.contains("k3_containers{state=\"RUNNING\"} 1\n"));
        assert!(text.contains("k3_containers{state=\"STOPPED\"} 1\n"));
        assert!(!text.contains("id=\"b"), "no usage for a stopped container");
        assert!(text.contains("k3_system_memory_total_bytes 20\n"));
        assert!(text.contains("k3_restarts_total 4\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "sample line `{line}`");
        }
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
