//! `k3 events [--since T] [--until T] [--filter KEY=VALUE] [--format json|TEMPLATE]`:
//! the lifecycle events k3 records in its database (create, start, stop, die,
//! pause, unpause, oom, destroy), as docker prints them. Streams until
//! interrupted unless `--until` is given; `--since` replays from then.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::cli::template::Template;
use crate::cli::Failure;
use k3_engine::container::{when, ContainerError};
use k3_engine::context::Engine;
use k3_engine::db::events::{self, Event};
use k3_engine::db::{containers, DbError};
use k3_engine::options::OptionsError;

/// `k3 events` arguments.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Events since this time (RFC 3339, unix seconds, or a duration back such as `10m`)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Stop at this time (as `--since`); without it, stream until interrupted
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// `container=ID`, `event=KIND` or `type=container` (repeatable; the same key ORs)
    #[arg(long, short = 'f', value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// `json` (one object a line) or a Go template (`{{.Action}} {{.Actor.ID}}`)
    #[arg(long, allow_hyphen_values = true)]
    pub format: Option<String>,
}

fn bad(option: &'static str, value: &str, reason: impl ToString) -> Failure {
    Failure {
        error: Box::new(
            ContainerError::from(OptionsError {
                option,
                value: value.to_string(),
                reason: reason.to_string(),
            })
            .into(),
        ),
        json: false,
        input: serde_json::json!(value),
        container_id: None,
    }
}

fn db_failure(e: DbError) -> Failure {
    Failure {
        error: Box::new(ContainerError::from(e).into()),
        json: false,
        input: serde_json::Value::Null,
        container_id: None,
    }
}

/// The `--filter` values by key.
#[derive(Debug, Default)]
struct Filters {
    containers: Vec<String>,
    kinds: Vec<String>,
}

impl Filters {
    fn parse(args: &[String]) -> Result<Filters, Failure> {
        let mut f = Filters::default();
        for a in args {
            match a.split_once('=') {
                Some(("container", v)) => f.containers.push(v.to_string()),
                Some(("event", v)) => f.kinds.push(v.to_string()),
                Some(("type", "container")) => {}
                Some(("type", _)) => {
                    return Err(bad("filter", a, "k3 records `container` events only"))
                }
                _ => {
                    return Err(bad(
                        "filter",
                        a,
                        "want `container=ID`, `event=KIND` or `type=container`",
                    ))
                }
            }
        }
        Ok(f)
    }

    fn keeps(&self, e: &Event) -> bool {
        (self.containers.is_empty() || self.containers.contains(&e.container_id))
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
    }
}

/// `k3 events`.
pub fn run(ctx: &mut Engine, a: EventsArgs) -> Result<i32, Failure> {
    let now = when::now_ns();
    let instant = |flag: &'static str, v: &Option<String>| {
        v.as_deref()
            .map(|s| when::parse_instant(s, now).map_err(|why| bad(flag, s, why)))
            .transpose()
    };
    let since = instant("since", &a.since)?;
    let until = instant("until", &a.until)?;
    let filters = Filters::parse(&a.filter)?;
    let tpl = match a.format.as_deref() {
        None | Some("json") => None,
        Some(t) => Some(Template::parse(t).map_err(|e| bad("format", t, e))?),
    };
    // replay from `--since` (or the start of the record for `--until` alone); else only new ones
    let mut last = if since.is_some() || until.is_some() {
        0
    } else {
        events::last_id(ctx.db.conn()).map_err(db_failure)?
    };
    let mut out = std::io::stdout().lock();
    loop {
        let batch = events::since(ctx.db.conn(), last).map_err(db_failure)?;
        let full = batch.len() >= 500;
        for e in batch {
            last = e.id;
            let at = e.created_at.saturating_mul(1_000_000_000);
            if since.is_some_and(|s| at < s) || !filters.keeps(&e) {
                continue;
            }
            if until.is_some_and(|u| at >= u) {
                return Ok(0);
            }
            let v = docker_event(ctx, &e);
            let line = match (&tpl, a.format.as_deref()) {
                (Some(t), _) => t
                    .render(&v)
                    .map_err(|why| bad("format", a.format.as_deref().unwrap_or(""), why))?,
                (None, Some("json")) => v.to_string(),
                _ => text_line(&v),
            };
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return Ok(0); // the reader went away
            }
        }
        if full {
            continue;
        }
        if until.is_some_and(|u| when::now_ns() >= u) {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An event in docker's JSON shape (`Type`, `Action`, `Actor.ID`, `Actor.Attributes`,
/// `time`, `timeNano`, and the older `status`/`id`/`from`).
fn docker_event(ctx: &Engine, e: &Event) -> serde_json::Value {
    let image = containers::get(ctx.db.conn(), &e.container_id)
        .ok()
        .flatten()
        .map(|r| r.image)
        .unwrap_or_default();
    let mut attrs = serde_json::Map::new();
    if let Some(code) = e.payload["exitCode"].as_i64() {
        attrs.insert("exitCode".into(), code.to_string().into());
    }
    if !image.is_empty() {
        attrs.insert("image".into(), image.clone().into());
    }
    attrs.insert("name".into(), e.container_id.clone().into());
    serde_json::json!({
        "status": e.kind,
        "id": e.container_id,
        "from": image,
        "Type": "container",
        "Action": e.kind,
        "Actor": {"ID": e.container_id, "Attributes": attrs},
        "scope": "local",
        "time": e.created_at,
        "timeNano": e.created_at.saturating_mul(1_000_000_000),
    })
}

/// `2026-11-30T20:48:06.000000000Z container start ID (image=alpine, name=ID)`.
fn text_line(v: &serde_json::Value) -> String {
    let attrs: Vec<String> = v["Actor"]["Attributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} container {} {} ({})",
        k3_oci::time::format_rfc3339(v["time"].as_i64().unwrap_or(0), 0),
        v["Action"].as_str().unwrap_or(""),
        v["Actor"]["ID"].as_str().unwrap_or(""),
        attrs.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_text_line() {
        let v = serde_json::json!({
            "Action": "die",
            "Actor": {"ID": "web", "Attributes": {"exitCode": "0", "image": "alpine", "name": "web"}},
            "time": 0,
        });
        assert_eq!(
            text_line(&v),
            "1970-01-01T00:00:00.000000000Z container die web (exitCode=0, image=alpine, name=web)"
        );
    }

    #[test]
    fn filters() {
        let e = Event {
            id: 1,
            container_id: "web".into(),
            kind: "start".into(),
            payload: serde_json::json!({}),
            created_at: 0,
        };
        let f = |a: &[&str]| Filters::parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(f(&[]).unwrap().keeps(&e));
        assert!(f(&["container=web", "event=die", "event=start"])
            .unwrap()
            .keeps(&e));
        assert!(!f(&["container=db"]).unwrap().keeps(&e));
        assert!(!f(&["event=die"]).unwrap().keeps(&e));
        assert!(f(&["image=x"]).is_err());
        assert!(f(&["type=image"]).is_err());
    }
}
