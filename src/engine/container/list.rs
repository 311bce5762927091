//! `ls`/`ps` and `inspect`: records with their reconciled state (seed 001's
//! `list` and `get_info`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::filter::PsFilter;
use crate::container::stats::frozen;
use crate::container::when::{status_text, Phase};
use crate::container::{load, Container, ContainerError};
use crate::context::Engine;
use crate::db::container_state::Status;
use crate::db::{containers, events};

/// One row of `ls` (seed 000's `listContainers` records have a `name`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The container's id.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// The image reference it was created from.
    pub image: String,
    /// The command line, joined with spaces.
    pub command: String,
    /// The recorded status.
    pub status: Status,
    /// The init's host pid, while running.
    pub pid: Option<i64>,
    /// The init's exit code, once stopped.
    pub exit_code: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// Last start, seconds since the epoch.
    pub started_at: Option<i64>,
    /// Last stop, seconds since the epoch.
    pub stopped_at: Option<i64>,
    /// The container's address on its network.
    pub ip: Option<String>,
    /// Published ports, `HOSTPORT->CONTAINERPORT/PROTO` each.
    pub ports: Vec<String>,
    /// Frozen by `pause` (still RUNNING).
    #[serde(default)]
    pub paused: bool,
    /// Published ports as docker's PORTS column shows them
    /// (`0.0.0.0:8080->80/tcp`).
    #[serde(default)]
    pub port_text: String,
    /// Restarts its restart policy made.
    #[serde(default)]
    pub restart_count: i64,
    /// The labels (`--label`), docker's `Config.Labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The image id (config digest) it was created from.
    #[serde(default)]
    pub image_id: String,
}

impl Summary {
    /// docker's STATUS column at `now` (seconds): `Created`, `Up 3 seconds`,
    /// `Exited (0) 2 minutes ago`.
    pub fn status_text(&self, now: i64) -> String {
        let phase = match self.status {
            Status::Created => Phase::Created,
            Status::Running => Phase::Up {
                started: self.started_at.unwrap_or(self.created_at),
                paused: self.paused,
            },
            Status::Stopped | Status::Destroyed => Phase::Exited {
                code: self.exit_code.unwrap_or(0),
                finished: self.stopped_at.unwrap_or(self.created_at),
            },
        };
        status_text(phase, now)
    }
}

/// The published ports of a validated-options value, (host ip, host port,
/// container port, protocol) each.
pub fn published(validated: &serde_json::Value) -> Vec<(String, u64, u64, String)> {
    validated["publish"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["host_ip"].as_str().unwrap_or("0.0.0.0").to_string(),
                        p["host_port"].as_u64().unwrap_or(0),
                        p["container_port"].as_u64().unwrap_or(0),
                        p["proto"].as_str().unwrap_or("tcp").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Containers; only CREATED/RUNNING ones unless `all`.
pub fn list(ctx: &mut Engine, all: bool) -> Result<Vec<Summary>, ContainerError> {
    let ids: Vec<String> = containers::list(ctx.db.conn())?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let l = match load(ctx, &id) {
            Ok(l) => l,
            Err(ContainerError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        if all || matches!(l.state.status, Status::Created | Status::Running) {
            out.push(summary(&l));
        }
    }
    Ok(out)
}

/// Containers `filter` keeps: only CREATED/RUNNING ones unless `all` or a
/// `status` filter (as docker and podman).
pub fn list_filtered(
    ctx: &mut Engine,
    all: bool,
    filter: &PsFilter,
) -> Result<Vec<Summary>, ContainerError> {
    let rows = list(ctx, all || filter.wants_all())?;
    if filter.is_empty() {
        return Ok(rows);
    }
    let ids = filter.ancestor_ids(&ctx.db, &ctx.pull.default_registry);
    Ok(rows.into_iter().filter(|r| filter.keeps(r, &ids)).collect())
}

/// The labels of a container: `--label` (the validated options' `[KEY, VALUE]`
/// pairs) over its OCI config's annotations but k3's own.
fn labels_of(
    config: &serde_json::Value,
    validated: &serde_json::Value,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = config["annotations"]
        .as_object()
        .map(|a| {
            a.iter()
                .filter(|(k, _)| !k.starts_with("io.k3."))
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    for pair in validated["labels"].as_array().into_iter().flatten() {
        if let (Some(k), Some(v)) = (pair[0].as_str(), pair[1].as_str()) {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

fn summary(l: &Container) -> Summary {
    let args: Vec<String> = l.record.config["process"]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let v = &l.record.validated;
    Summary {
        id: l.record.id.clone(),
        name: l.record.id.clone(),
        image: l.record.image.clone(),
        command: args.join(" "),
        status: l.state.status,
        pid: l.state.pid.filter(|_| l.state.status != Status::Stopped),
        exit_code: l.state.exit_code,
        created_at: l.record.created_at,
        started_at: l.state.started_at,
        stopped_at: l.state.stopped_at,
        ip: l.record.config["annotations"]["io.k3.ip"]
            .as_str()
            .map(str::to_string),
        ports: published(v)
            .iter()
            .map(|(_, hp, cp, proto)| format!("{hp}->{cp}/{proto}"))
            .collect(),
        paused: l.state.status == Status::Running && l.state.pid.is_some_and(frozen),
        port_text: published(v)
            .iter()
            .map(|(ip, hp, cp, proto)| format!("{ip}:{hp}->{cp}/{proto}"))
            .collect::<Vec<_>>()
            .join(", "),
        restart_count: l.state.restart_count,
        labels: labels_of(&l.record.config, &l.record.validated),
        image_id: l.record.image_digest.clone(),
    }
}

/// Everything about `id`: record, state, summary and events, with docker's
/// field names beside k3's own (`State.Pid`, `State.Status`, `State.OOMKilled`,
/// `NetworkSettings.IPAddress`, `Config.Env/Cmd/Image`, `HostConfig.Memory`, ...).
pub fn inspect(ctx: &mut Engine, id: &str) -> Result<serde_json::Value, ContainerError> {
    let l = load(ctx, id)?;
    let ev = events::for_container(ctx.db.conn(), id)?;
    let sum = summary(&l);
    let mut state = serde_json::to_value(&l.state).unwrap_or_default();
    merge(&mut state, docker_state(&l, &sum, &ev));
    let mut config = l.record.config.clone();
    merge(&mut config, docker_config(&l));
    let args = string_list(&l.record.config["process"]["args"]);
    Ok(serde_json::json!({
        "Id": l.record.id,
        "Name": l.record.id,
        "Hash": l.record.hash,
        "Image": l.record.image,
        "ImageDigest": l.record.image_digest,
        "Created": rfc3339(Some(l.record.created_at)),
        "Path": args.first(),
        "Args": args.get(1..).unwrap_or_default(),
        "State": state,
        "Options": l.record.options,
        "Validated": l.record.validated,
        "Config": config,
        "HostConfig": host_config(&l),
        "NetworkSettings": network_settings(&l, &sum),
        "RestartCount": l.state.restart_count,
        "Bundle": l.record.bundle,
        "Runtime": l.record.runtime,
        "Summary": sum,
        "Events": ev,
    }))
}

/// Adds the keys of `extra` (an object) to `into` (an object).
fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
}

fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// docker's zero time for a time that never was.
fn rfc3339(secs: Option<i64>) -> String {
    match secs {
        Some(s) => k3_oci::time::format_rfc3339(s, 0),
        None => "0001-01-01T00:00:00Z".into(),
    }
}

fn docker_state(l: &Container, sum: &Summary, ev: &[events::Event]) -> serde_json::Value {
    let running = l.state.status == Status::Running;
    let status = match l.state.status {
        Status::Created => "created",
        Status::Running if sum.paused => "paused",
        Status::Running => "running",
        Status::Stopped | Status::Destroyed => "exited",
    };
    // an `oom` event (the daemon records them) since the last start
    let started = l.state.started_at.unwrap_or(i64::MIN);
    let oom = ev
        .iter()
        .any(|e| e.kind == "oom" && e.created_at >= started);
    serde_json::json!({
        "Status": status,
        "Running": running,
        "Paused": sum.paused,
        "Restarting": false,
        "OOMKilled": oom,
        "Dead": false,
        "Pid": if running { l.state.pid.unwrap_or(0) } else { 0 },
        "ExitCode": l.state.exit_code.unwrap_or(0),
        "Error": "",
        "StartedAt": rfc3339(l.state.started_at),
        "FinishedAt": rfc3339(l.state.stopped_at.filter(|_| !running)),
    })
}

fn docker_config(l: &Container) -> serde_json::Value {
    let c = &l.record.config;
    let v = &l.record.validated;
    let user = &c["process"]["user"];
    let user = match (user["uid"].as_u64(), user["gid"].as_u64()) {
        (Some(0), Some(0)) | (None, _) => String::new(),
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
    };
    let labels = labels_of(c, v);
    serde_json::json!({
        "Hostname": c["hostname"],
        "User": user,
        "Env": string_list(&c["process"]["env"]),
        "Cmd": string_list(&c["process"]["args"]),
        "Image": l.record.image,
        "WorkingDir": c["process"]["cwd"],
        "Labels": labels,
        "Tty": v["tty"].as_bool().unwrap_or(false),
        "OpenStdin": v["interactive"].as_bool().unwrap_or(false),
    })
}

fn host_config(l: &Container) -> serde_json::Value {
    let v = &l.record.validated;
    let binds: Vec<String> = v["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(v["volumes"].as_array().into_iter().flatten())
        .map(|m| {
            let src = m["host"].as_str().or(m["name"].as_str()).unwrap_or("");
            let ro = if m["readonly"].as_bool() == Some(true) {
                ":ro"
            } else {
                ""
            };
            format!("{src}:{}{ro}", m["container"].as_str().unwrap_or(""))
        })
        .collect();
    let restart = match v["restart"].as_str() {
        Some("none") | None => "no",
        Some(r) => r,
    };
    serde_json::json!({
        "Memory": v["memory_bytes"].as_i64().unwrap_or(0),
        "NanoCpus": v["cpu_quota"].as_i64().map(|q| q * 10_000).unwrap_or(0),
        "PidsLimit": v["pids_limit"].as_i64().unwrap_or(0),
        "Privileged": v["privileged"].as_bool().unwrap_or(false),
        "ReadonlyRootfs": l.record.config["root"]["readonly"].as_bool().unwrap_or(false),
        "CapAdd": v["cap_add"],
        "CapDrop": v["cap_drop"],
        "Binds": binds,
        "NetworkMode": v["network"],
        "PortBindings": port_bindings(v),
        "RestartPolicy": {
            "Name": restart,
            "MaximumRetryCount": v["max_attempts"].as_u64().unwrap_or(0),
        },
    })
}

/// docker's `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`.
fn port_bindings(v: &serde_json::Value) -> serde_json::Value {
    let mut ports = serde_json::Map::new();
    for (ip, hp, cp, proto) in published(v) {
        let entry = ports
            .entry(format!("{cp}/{proto}"))
            .or_insert_with(|| serde_json::json!([]));
        if let Some(a) = entry.as_array_mut() {
            a.push(serde_json::json!({"HostIp": ip, "HostPort": hp.to_string()}));
        }
    }
    serde_json::Value::Object(ports)
}

fn network_settings(l: &Container, sum: &Summary) -> serde_json::Value {
    let ip = sum.ip.clone().unwrap_or_default();
    let mut networks = serde_json::Map::new();
    if let Some(n) = l.record.validated["network"]
        .as_str()
        .filter(|n| *n != "none")
    {
        // docker's `Aliases`: those given (`--network-alias`), null without
        let aliases = &l.record.validated["network_aliases"];
        let aliases = match aliases.as_array() {
            Some(a) if !a.is_empty() => aliases.clone(),
            _ => serde_json::Value::Null,
        };
        networks.insert(
            n.to_string(),
            serde_json::json!({"IPAddress": ip, "Aliases": aliases}),
        );
    }
    serde_json::json!({
        "IPAddress": ip,
        "Ports": port_bindings(&l.record.validated),
        "Networks": networks,
    })
}
