//! Seed 001's web pages: `GET /` (the dashboard: a table of containers with
//! their ports, exit code and restart count (the records `ps`/`inspect`
//! read), a CPU and a memory chart each with axes ([`chart`]), SVG rendered
//! here from the sampler's history, the page reloading itself every 10 s;
//! nothing from a CDN), `GET /api/containers`, `GET /api/system`, and
//! `GET /metrics`.

use crate::api::chart::{self, Unit};
use crate::api::{ApiError, Reply};
use crate::db::restarts;
use crate::supervisor::prometheus;
use crate::supervisor::sampler::Point;
use crate::supervisor::usage::{collect, Row};
use crate::supervisor::Shared;

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
    let cpu: Vec<(i64, f64)> = r
        .history
        .iter()
        .map(|p: &Point| (p.t, p.cpu_percent))
        .collect();
    let mem: Vec<(i64, f64)> = r.history.iter().map(|p| (p.t, p.memory as f64)).collect();
    let top = |v: &[(i64, f64)]| v.iter().map(|p| p.1).fold(1.0, f64::max);
    let cpu_max = u.cpu_limit.map_or(100.0, |l| l * 100.0).max(top(&cpu));
    // at least 1 MiB: a stopped container has no limit read and no samples
    let mem_max = u
        .memory_limit
        .map_or(1048576.0, |m| m as f64)
        .max(top(&mem));
    let cpu_label = u.cpu_percent.map_or("-".into(), |c| format!("CPU {c:.1}%"));
    let mem_label = u
        .memory_usage
        .map_or("-".into(), |m| format!("memory {}", mib(m)));
    format!(
        "<tr id=\"c-{id}\" class=\"container {state}\"><td class=\"id\">{id}</td><td>{image}</td>\
<td class=\"state\">{state}</td><td class=\"pid\">{pid}</td><td class=\"ports\">{ports}</td>\
<td class=\"exit\">{exit}</td><td class=\"restarts\">{restarts}</td><td>{}</td><td>{}</td></tr>\n",
        chart::svg("cpu", &cpu_label, &cpu, cpu_max, Unit::Percent),
        chart::svg("memory", &mem_label, &mem, mem_max, Unit::Bytes),
        id = esc(&u.id),
        image = esc(&r.image),
        state = u.state,
        pid = u.pid.map_or(String::new(), |p| p.to_string()),
        ports = esc(&r.ports),
        exit = r.exit_code.map_or("-".into(), |c| c.to_string()),
        restarts = r.restart_count,
    )
}

/// The page for `rows` and the host line.
pub fn render(rows: &[Row], sys_line: &str) -> String {
    let body: String = rows.iter().map(row_html).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"10\">\
<title>k3 containers</title><style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
td,th{{border-bottom:1px solid #dde;padding:4px 8px;text-align:left}}.ports{{white-space:nowrap}}.RUNNING .state{{color:#2b8a3e}}\
.STOPPED .state{{color:#868e96}}</style></head><body><h1>k3</h1><p id=\"system\">{}</p>\
<table id=\"containers\"><tr><th>ID</th><th>IMAGE</th><th>STATE</th><th>PID</th><th>PORTS</th>\
<th>EXIT CODE</th><th>RESTARTS</th><th>CPU</th><th>MEMORY</th></tr>\n{body}</table>\
<p>{} containers; this page reloads every 10 s. <a href=\"/logout\">Log out</a></p></body></html>\n",
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
            ports: "0.0.0.0:8080->80/tcp".into(),
            exit_code: Some(3),
            restart_count: 2,
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
        assert!(html.contains("<td class=\"ports\">0.0.0.0:8080-&gt;80/tcp</td>"));
        assert!(html.contains("<td class=\"exit\">3</td><td class=\"restarts\">2</td>"));
        assert_eq!(html.matches("class=\"y-axis\"").count(), 2);
        assert!(html.contains(">8 MiB</text>"), "half of the 16 MiB limit");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from a CDN"
        );
    }
}
