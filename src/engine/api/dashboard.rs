//! Seed 001's web pages: `GET /` (the dashboard: a table of containers with
//! a CPU and a memory chart each, hand-drawn SVG rendered here from the
//! sampler's history, the page reloading itself every 10 s; nothing from a
//! CDN), `GET /api/containers`, `GET /api/system`, and `GET /metrics`.

use std::fmt::Write;

use crate::api::{ApiError, Reply};
use crate::db::restarts;
use crate::supervisor::prometheus;
use crate::supervisor::sampler::Point;
use crate::supervisor::usage::{collect, Row};
use crate::supervisor::Shared;

const W: f64 = 240.0;
const H: f64 = 60.0;

/// `<polyline>` points of `values` scaled into the chart (max at the top).
pub fn polyline(values: &[f64], max: f64) -> String {
    let max = if max > 0.0 { max } else { 1.0 };
    let n = values.len().max(2) - 1;
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        let x = W * i as f64 / n as f64;
        let y = H - (v.clamp(0.0, max) / max) * (H - 2.0) - 1.0;
        let _ = write!(out, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    out
}

fn chart(class: &str, label: &str, values: &[f64], max: f64) -> String {
    format!(
        "<svg class=\"chart {class}\" data-points=\"{}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
<rect width=\"{W}\" height=\"{H}\" fill=\"#f4f6f8\" stroke=\"#ccd\"/>\
<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\
<text x=\"4\" y=\"12\" font-size=\"10\">{label}</text></svg>",
        values.len(),
        if class == "cpu" { "#d9480f" } else { "#1c7ed6" },
        polyline(values, max)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn row_html(r: &Row) -> String {
    let u = &r.usage;
    let cpu: Vec<f64> = r.history.iter().map(|p: &Point| p.cpu_percent).collect();
    let mem: Vec<f64> = r.history.iter().map(|p| p.memory as f64).collect();
    let cpu_max = u
        .cpu_limit
        .map_or(100.0, |l| l * 100.0)
        .max(cpu.iter().cloned().fold(1.0, f64::max));
    let mem_max = u
        .memory_limit
        .map_or(1.0, |m| m as f64)
        .max(mem.iter().cloned().fold(1.0, f64::max));
    let cpu_label = u.cpu_percent.map_or("-".into(), |c| format!("CPU {c:.1}%"));
    let mem_label = u
        .memory_usage
        .map_or("-".into(), |m| format!("memory {}", mib(m)));
    format!(
        "<tr id=\"c-{id}\" class=\"container {state}\"><td class=\"id\">{id}</td><td>{image}</td>\
<td class=\"state\">{state}</td><td>{pid}</td><td>{}</td><td>{}</td></tr>\n",
        chart("cpu", &cpu_label, &cpu, cpu_max),
        chart("memory", &mem_label, &mem, mem_max),
        id = esc(&u.id),
        image = esc(&r.image),
        state = u.state,
        pid = u.pid.map_or(String::new(), |p| p.to_string()),
    )
}

/// The page for `rows` and the host line.
pub fn render(rows: &[Row], sys_line: &str) -> String {
    let body: String = rows.iter().map(row_html).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"10\">\
<title>k3 containers</title><style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
td,th{{border-bottom:1px solid #dde;padding:4px 8px;text-align:left}}.RUNNING .state{{color:#2b8a3e}}\
.STOPPED .state{{color:#868e96}}</style></head><body><h1>k3</h1><p id=\"system\">{}</p>\
<table id=\"containers\"><tr><th>ID</th><th>IMAGE</th><th>STATE</th><th>PID</th><th>CPU</th><th>MEMORY</th></tr>\n{body}</table>\
<p>{} containers; this page reloads every 10 s.</p></body></html>\n",
        esc(sys_line),
        rows.len()
    )
}

/// `GET /`.
pub fn page(shared: &Shared) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    let (rows, sys) = collect(shared, &mut ctx)?;
    let line = format!(
        "host: memory {} of {}, CPU {:.1}%",
        mib(sys.used_memory),
        mib(sys.total_memory),
        sys.cpu_percent
    );
    Ok(Reply::Text(
        200,
        "text/html; charset=utf-8",
        render(&rows, &line),
    ))
}

/// `GET /api/containers`.
pub fn api_containers(shared: &Shared) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    let (rows, _) = collect(shared, &mut ctx)?;
    let list: Vec<_> = rows.into_iter().map(|r| r.usage).collect();
    Ok(Reply::Json(200, serde_json::json!({ "containers": list })))
}

/// `GET /api/system`.
pub fn api_system(shared: &Shared) -> Result<Reply, ApiError> {
    let (used, total, cpu) = shared.sampler().host();
    Ok(Reply::Json(
        200,
        serde_json::json!({"used_memory": used, "total_memory": total, "cpu_percent": (cpu * 100.0).round() / 100.0}),
    ))
}

/// `GET /metrics`.
pub fn metrics(shared: &Shared) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    let (rows, sys) = collect(shared, &mut ctx)?;
    let n = restarts::list(ctx.db.conn())?.len();
    let usage: Vec<_> = rows.into_iter().map(|r| r.usage).collect();
    Ok(Reply::Text(
        200,
        "text/plain; version=0.0.4",
        prometheus::render(&usage, &sys, n),
    ))
}

/// `GET /restarts`.
pub fn restarts(shared: &Shared) -> Result<Reply, ApiError> {
    let ctx = shared.cfg.ctx()?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(restarts::list(ctx.db.conn())?).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::usage::ContainerUsage;

    #[test]
    fn polyline_scales_into_the_box() {
        assert_eq!(polyline(&[0.0, 100.0], 100.0), "0.0,59.0 240.0,1.0");
        assert_eq!(polyline(&[50.0], 100.0), "0.0,30.0");
        assert_eq!(polyline(&[], 1.0), "");
    }

    #[test]
    fn page_lists_containers_with_two_charts() {
        let r = Row {
            usage: ContainerUsage {
                id: "web<1>".into(),
                pid: Some(42),
                state: "RUNNING",
                cpu_usage: Some(1),
                cpu_limit: Some(0.5),
                cpu_percent: Some(10.0),
                memory_usage: Some(1 << 20),
                memory_limit: Some(1 << 24),
                memory_percent: Some(6.25),
            },
            image: "busybox".into(),
            history: vec![
                Point {
                    t: 1,
                    cpu_percent: 10.0,
                    memory: 1 << 20
                };
                3
            ],
        };
        let html = render(&[r], "host");
        assert!(html.contains("content=\"10\""));
        assert!(html.contains("web&lt;1&gt;"));
        assert_eq!(html.matches("<svg class=\"chart").count(), 2);
        assert!(html.contains("data-points=\"3\""));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from a CDN"
        );
    }
}
