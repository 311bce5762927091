//! `/containers`: create (seed 000's options as JSON), list, inspect,
//! remove, start/stop/restart/kill/exec, logs (`?follow=1` streams), wait.

use crate::api::routes::{query_flag, query_param, Action};
use crate::api::{body, ApiError, Reply, Req};
use crate::container::filter::PsFilter;
use crate::container::{
    kill, list as clist, logs as clogs, remove as cremove, start, stop, wait as cwait, when,
};
use crate::create;
use crate::error::EngineError;
use crate::options::CreateOptions;
use crate::supervisor::Shared;

fn ok(v: impl serde::Serialize) -> Result<Reply, ApiError> {
    Ok(Reply::Json(
        200,
        serde_json::to_value(v).map_err(|e| ApiError::BadRequest(e.to_string()))?,
    ))
}

/// `POST /containers`: the creation output, or the typed error.
pub fn create(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let opts: CreateOptions = req.json()?;
    let mut ctx = shared.cfg.ctx()?;
    let input = serde_json::to_value(&opts).unwrap_or_default();
    match create::create(&mut ctx, &opts) {
        Ok(c) => Ok(Reply::Json(
            201,
            serde_json::to_value(&c).unwrap_or_default(),
        )),
        Err(e) => {
            let mut o = EngineError::Create(e).to_object(input);
            o.container_id.get_or_insert(opts.container_id.clone());
            Ok(Reply::Json(
                o.status_code,
                serde_json::to_value(&o).unwrap_or_default(),
            ))
        }
    }
}

/// `GET /containers[?all=true][&filters=JSON]` (docker's `{"label": ["a=b"]}`,
/// percent-encoded).
pub fn list(shared: &Shared, req: &Req<'_>) -> Result<Reply, ApiError> {
    let filter = body::filters(req.query, PsFilter::from_json)?.unwrap_or_default();
    let mut ctx = shared.cfg.ctx()?;
    ok(clist::list_filtered(
        &mut ctx,
        query_flag(req.query, "all"),
        &filter,
    )?)
}

/// `GET /containers/{id}`.
pub fn inspect(shared: &Shared, id: &str) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    ok(clist::inspect(&mut ctx, id)?)
}

/// `DELETE /containers/{id}[?force=1]`.
pub fn remove(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    cremove::remove(&mut ctx, id, query_flag(req.query, "force"))?;
    ok(serde_json::json!({"containerId": id, "removed": true}))
}

/// `POST /containers/{id}/{start|stop|restart|kill|exec}`.
pub fn action(shared: &Shared, id: &str, a: Action, req: &Req<'_>) -> Result<Reply, ApiError> {
    let grace = body::grace(req.query)?;
    let mut ctx = shared.cfg.ctx()?;
    match a {
        Action::Start => {
            ok(serde_json::json!({"containerId": id, "pid": start::start(&mut ctx, id)?}))
        }
        Action::Stop => {
            ok(serde_json::json!({"containerId": id, "exitCode": stop::stop(&mut ctx, id, grace)?}))
        }
        Action::Restart => {
            stop::stop(&mut ctx, id, grace)?;
            ok(serde_json::json!({"containerId": id, "pid": start::start(&mut ctx, id)?}))
        }
        Action::Kill => {
            let sig = query_param(req.query, "signal").unwrap_or("KILL");
            kill::kill(&mut ctx, id, sig)?;
            ok(serde_json::json!({"containerId": id, "signal": sig}))
        }
        Action::Exec => exec(shared, id, req),
    }
}

/// Exec runs `k3 exec` as a child so the command's output is captured.
fn exec(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let body = body::exec(req)?;
    let out = std::process::Command::new(&shared.cfg.k3_exe)
        .arg("--root")
        .arg(&shared.cfg.root)
        .arg("--runtime")
        .arg(&shared.cfg.runtime.path)
        .arg("exec")
        // the id and the command are never read as k3's own options
        .arg("--")
        .arg(id)
        .args(&body.cmd)
        .env("K3_NO_DAEMON", "1")
        .output()
        .map_err(|e| ApiError::BadRequest(format!("exec: {e}")))?;
    ok(serde_json::json!({
        "containerId": id,
        "exitCode": out.status.code().unwrap_or(255),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
    }))
}

/// `GET /containers/{id}/logs[?follow=1&tail=N&since=T&until=T&timestamps=1]`:
/// the output as text, stdout and stderr in the order they were written.
pub fn logs(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let mut ctx = shared.cfg.ctx()?;
    let opts = log_options(req.query)?;
    // Fail early (404) for an unknown container, before the stream starts.
    crate::container::load(&mut ctx, id)?;
    let id = id.to_string();
    Ok(Reply::Stream(
        "text/plain; charset=utf-8",
        Box::new(move |w| {
            let both = std::cell::RefCell::new(w);
            let (mut out, mut err) = (Merged(&both), Merged(&both));
            let _ = clogs::logs(&mut ctx, &id, opts, &mut out, &mut err);
        }),
    ))
}

/// The query of a logs request as [`clogs::LogOptions`] (a bad value is a 400 naming it).
fn log_options(query: &str) -> Result<clogs::LogOptions, ApiError> {
    let now = when::now_ns();
    let instant = |key: &str| -> Result<Option<i64>, ApiError> {
        query_param(query, key)
            .map(|v| {
                when::parse_instant(v, now)
                    .map_err(|e| ApiError::BadRequest(format!("invalid `{key}`: {e}")))
            })
            .transpose()
    };
    let tail = match query_param(query, "tail") {
        None | Some("all") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid `tail` `{v}`: want a number of lines or `all`"
            ))
        })?),
    };
    Ok(clogs::LogOptions {
        follow: query_flag(query, "follow"),
        tail,
        since_ns: instant("since")?,
        until_ns: instant("until")?,
        timestamps: query_flag(query, "timestamps"),
    })
}

/// One writer shared by stdout and stderr, so the stream keeps their order.
struct Merged<'a, 'w>(&'a std::cell::RefCell<&'w mut (dyn std::io::Write + Send)>);

impl std::io::Write for Merged<'_, '_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// `GET`/`POST /containers/{id}/wait[?t=SECS]`: the exit code once stopped
/// (`exitCode`, and docker's `StatusCode`).
pub fn wait(shared: &Shared, id: &str, req: &Req<'_>) -> Result<Reply, ApiError> {
    let t = body::wait_timeout(req.query)?;
    let mut ctx = shared.cfg.ctx()?;
    let code = cwait::wait(&mut ctx, id, t)?;
    ok(serde_json::json!({"containerId": id, "exitCode": code, "StatusCode": code}))
}
