//! A small CRI client for the integration tests: it plays the kubelet's part against
//! containerd's CRI plugin (`integration/suite_cri.sh`), the way `crictl` would.
//!
//! ```text
//! cri SOCKET METHOD [REQUEST-JSON]     (the request is read from stdin when omitted)
//! cri /run/k3/containerd.sock RunPodSandbox '{"config":{"metadata":{"name":"p"}}}'
//! ```
//!
//! The request is JSON with the protobuf field names of the CRI v1 API
//! (`runtime.v1`); the response is printed as JSON the same way, scalar fields with
//! their default values included. The gRPC call itself goes through `curl` (HTTP/2
//! over the unix socket); the protobuf encoding is done here from the field tables
//! below, which hold only the messages the tests use. A gRPC error prints its status
//! and message and exits 1.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bytes,
    Bool,
    Int,  // int64/int32/uint32/uint64: varint
    Sint, // int32 whose negative values are sign-extended (exit codes)
    Enum(&'static [&'static str]),
    Msg(&'static str),
    StrMap,
}

struct Field {
    name: &'static str,
    num: u32,
    kind: Kind,
    repeated: bool,
}

const fn f(name: &'static str, num: u32, kind: Kind) -> Field {
    Field {
        name,
        num,
        kind,
        repeated: false,
    }
}
const fn r(name: &'static str, num: u32, kind: Kind) -> Field {
    Field {
        name,
        num,
        kind,
        repeated: true,
    }
}

use Kind::*;
const NAMESPACE_MODE: &[&str] = &["POD", "CONTAINER", "NODE", "TARGET"];
const CONTAINER_STATE: &[&str] = &[
    "CONTAINER_CREATED",
    "CONTAINER_RUNNING",
    "CONTAINER_EXITED",
    "CONTAINER_UNKNOWN",
];
const SANDBOX_STATE: &[&str] = &["SANDBOX_READY", "SANDBOX_NOTREADY"];
const PROFILE_TYPE: &[&str] = &["RuntimeDefault", "Unconfined", "Localhost"];

/// Field numbers of the CRI v1 messages used by the tests (k8s.io/cri-api runtime/v1).
const MESSAGES: &[(&str, &[Field])] = &[
    ("Empty", &[]),
    (
        "VersionResponse",
        &[
            f("version", 1, Str),
            f("runtime_name", 2, Str),
            f("runtime_version", 3, Str),
            f("runtime_api_version", 4, Str),
        ],
    ),
    (
        "PodSandboxMetadata",
        &[
            f("name", 1, Str),
            f("uid", 2, Str),
            f("namespace", 3, Str),
            f("attempt", 4, Int),
        ],
    ),
    (
        "PodSandboxConfig",
        &[
            f("metadata", 1, Msg("PodSandboxMetadata")),
            f("hostname", 2, Str),
            f("log_directory", 3, Str),
            f("labels", 6, StrMap),
            f("annotations", 7, StrMap),
            f("linux", 8, Msg("LinuxPodSandboxConfig")),
        ],
    ),
    (
        "LinuxPodSandboxConfig",
        &[
            f("cgroup_parent", 1, Str),
            f("security_context", 2, Msg("LinuxSandboxSecurityContext")),
            f("sysctls", 3, StrMap),
        ],
    ),
    (
        "LinuxSandboxSecurityContext",
        &[
            f("namespace_options", 1, Msg("NamespaceOption")),
            f("run_as_user", 3, Msg("Int64Value")),
            f("readonly_rootfs", 4, Bool),
            f("privileged", 6, Bool),
            f("seccomp", 9, Msg("SecurityProfile")),
        ],
    ),
    (
        "NamespaceOption",
        &[
            f("network", 1, Enum(NAMESPACE_MODE)),
            f("pid", 2, Enum(NAMESPACE_MODE)),
            f("ipc", 3, Enum(NAMESPACE_MODE)),
            f("target_id", 4, Str),
        ],
    ),
    ("Int64Value", &[f("value", 1, Int)]),
    ("UInt64Value", &[f("value", 1, Int)]),
    (
        "SecurityProfile",
        &[
            f("profile_type", 1, Enum(PROFILE_TYPE)),
            f("localhost_ref", 2, Str),
        ],
    ),
    (
        "RunPodSandboxRequest",
        &[
            f("config", 1, Msg("PodSandboxConfig")),
            f("runtime_handler", 2, Str),
        ],
    ),
    ("RunPodSandboxResponse", &[f("pod_sandbox_id", 1, Str)]),
    (
        "PodSandboxIdRequest",
        &[f("pod_sandbox_id", 1, Str), f("verbose", 2, Bool)],
    ),
    (
        "PodSandboxStatusResponse",
        &[
            f("status", 1, Msg("PodSandboxStatus")),
            f("info", 2, StrMap),
        ],
    ),
    (
        "PodSandboxStatus",
        &[
            f("id", 1, Str),
            f("metadata", 2, Msg("PodSandboxMetadata")),
            f("state", 3, Enum(SANDBOX_STATE)),
            f("created_at", 4, Int),
            f("network", 5, Msg("PodSandboxNetworkStatus")),
            f("runtime_handler", 9, Str),
        ],
    ),
    ("PodSandboxNetworkStatus", &[f("ip", 1, Str)]),
    (
        "ContainerMetadata",
        &[f("name", 1, Str), f("attempt", 2, Int)],
    ),
    ("ImageSpec", &[f("image", 1, Str)]),
    ("KeyValue", &[f("key", 1, Str), f("value", 2, Str)]),
    (
        "ContainerConfig",
        &[
            f("metadata", 1, Msg("ContainerMetadata")),
            f("image", 2, Msg("ImageSpec")),
            r("command", 3, Str),
            r("args", 4, Str),
            f("working_dir", 5, Str),
            r("envs", 6, Msg("KeyValue")),
            f("labels", 9, StrMap),
            f("annotations", 10, StrMap),
            f("log_path", 11, Str),
            f("stdin", 12, Bool),
            f("tty", 14, Bool),
            f("linux", 15, Msg("LinuxContainerConfig")),
        ],
    ),
    (
        "LinuxContainerConfig",
        &[
            f("resources", 1, Msg("LinuxContainerResources")),
            f("security_context", 2, Msg("LinuxContainerSecurityContext")),
        ],
    ),
    (
        "LinuxContainerResources",
        &[
            f("cpu_period", 1, Int),
            f("cpu_quota", 2, Int),
            f("cpu_shares", 3, Int),
            f("memory_limit_in_bytes", 4, Int),
            f("oom_score_adj", 5, Int),
            f("cpuset_cpus", 6, Str),
            f("cpuset_mems", 7, Str),
            f("unified", 9, StrMap),
            f("memory_swap_limit_in_bytes", 10, Int),
        ],
    ),
    (
        "LinuxContainerSecurityContext",
        &[
            f("capabilities", 1, Msg("Capability")),
            f("privileged", 2, Bool),
            f("namespace_options", 3, Msg("NamespaceOption")),
            f("run_as_user", 5, Msg("Int64Value")),
            f("run_as_username", 6, Str),
            f("readonly_rootfs", 7, Bool),
            r("supplemental_groups", 8, Int),
            f("no_new_privs", 11, Bool),
            f("run_as_group", 12, Msg("Int64Value")),
            r("masked_paths", 13, Str),
            r("readonly_paths", 14, Str),
            f("seccomp", 15, Msg("SecurityProfile")),
        ],
    ),
    (
        "Capability",
        &[
            r("add_capabilities", 1, Str),
            r("drop_capabilities", 2, Str),
            r("add_ambient_capabilities", 3, Str),
        ],
    ),
    (
        "CreateContainerRequest",
        &[
            f("pod_sandbox_id", 1, Str),
            f("config", 2, Msg("ContainerConfig")),
            f("sandbox_config", 3, Msg("PodSandboxConfig")),
        ],
    ),
    ("CreateContainerResponse", &[f("container_id", 1, Str)]),
    (
        "ContainerIdRequest",
        &[f("container_id", 1, Str), f("verbose", 2, Bool)],
    ),
    (
        "StopContainerRequest",
        &[f("container_id", 1, Str), f("timeout", 2, Int)],
    ),
    (
        "ContainerStatusResponse",
        &[f("status", 1, Msg("ContainerStatus")), f("info", 2, StrMap)],
    ),
    (
        "ContainerStatus",
        &[
            f("id", 1, Str),
            f("metadata", 2, Msg("ContainerMetadata")),
            f("state", 3, Enum(CONTAINER_STATE)),
            f("created_at", 4, Int),
            f("started_at", 5, Int),
            f("finished_at", 6, Int),
            f("exit_code", 7, Sint),
            f("image", 8, Msg("ImageSpec")),
            f("image_ref", 9, Str),
            f("reason", 10, Str),
            f("message", 11, Str),
            f("log_path", 15, Str),
        ],
    ),
    (
        "ExecSyncRequest",
        &[
            f("container_id", 1, Str),
            r("cmd", 2, Str),
            f("timeout", 3, Int),
        ],
    ),
    (
        "ExecSyncResponse",
        &[
            f("stdout", 1, Bytes),
            f("stderr", 2, Bytes),
            f("exit_code", 3, Sint),
        ],
    ),
    (
        "UpdateContainerResourcesRequest",
        &[
            f("container_id", 1, Str),
            f("linux", 2, Msg("LinuxContainerResources")),
        ],
    ),
    (
        "ListContainersRequest",
        &[f("filter", 1, Msg("ContainerFilter"))],
    ),
    (
        "ContainerFilter",
        &[f("id", 1, Str), f("pod_sandbox_id", 3, Str)],
    ),
    (
        "ListContainersResponse",
        &[r("containers", 1, Msg("Container"))],
    ),
    (
        "Container",
        &[
            f("id", 1, Str),
            f("pod_sandbox_id", 2, Str),
            f("metadata", 3, Msg("ContainerMetadata")),
            f("state", 6, Enum(CONTAINER_STATE)),
        ],
    ),
    (
        "ContainerStatsResponse",
        &[f("stats", 1, Msg("ContainerStats"))],
    ),
    (
        "ContainerStats",
        &[
            f("cpu", 2, Msg("CpuUsage")),
            f("memory", 3, Msg("MemoryUsage")),
        ],
    ),
    (
        "CpuUsage",
        &[
            f("timestamp", 1, Int),
            f("usage_core_nano_seconds", 2, Msg("UInt64Value")),
        ],
    ),
    (
        "MemoryUsage",
        &[
            f("timestamp", 1, Int),
            f("working_set_bytes", 2, Msg("UInt64Value")),
            f("usage_bytes", 4, Msg("UInt64Value")),
        ],
    ),
];

/// RPC name → (service, request message, response message).
const METHODS: &[(&str, &str, &str, &str)] = &[
    ("Version", "RuntimeService", "Empty", "VersionResponse"),
    (
        "RunPodSandbox",
        "RuntimeService",
        "RunPodSandboxRequest",
        "RunPodSandboxResponse",
    ),
    (
        "StopPodSandbox",
        "RuntimeService",
        "PodSandboxIdRequest",
        "Empty",
    ),
    (
        "RemovePodSandbox",
        "RuntimeService",
        "PodSandboxIdRequest",
        "Empty",
    ),
    (
        "PodSandboxStatus",
        "RuntimeService",
        "PodSandboxIdRequest",
        "PodSandboxStatusResponse",
    ),
    (
        "CreateContainer",
        "RuntimeService",
        "CreateContainerRequest",
        "CreateContainerResponse",
    ),
    (
        "StartContainer",
        "RuntimeService",
        "ContainerIdRequest",
        "Empty",
    ),
    (
        "StopContainer",
        "RuntimeService",
        "StopContainerRequest",
        "Empty",
    ),
    (
        "RemoveContainer",
        "RuntimeService",
        "ContainerIdRequest",
        "Empty",
    ),
    (
        "ContainerStatus",
        "RuntimeService",
        "ContainerIdRequest",
        "ContainerStatusResponse",
    ),
    (
        "ListContainers",
        "RuntimeService",
        "ListContainersRequest",
        "ListContainersResponse",
    ),
    (
        "ExecSync",
        "RuntimeService",
        "ExecSyncRequest",
        "ExecSyncResponse",
    ),
    (
        "UpdateContainerResources",
        "RuntimeService",
        "UpdateContainerResourcesRequest",
        "Empty",
    ),
    (
        "ContainerStats",
        "RuntimeService",
        "ContainerIdRequest",
        "ContainerStatsResponse",
    ),
];

fn message(name: &str) -> Result<&'static [Field]> {
    MESSAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, fs)| *fs)
        .ok_or_else(|| anyhow!("no message table for `{name}`"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // the low seven bits, with the continuation bit
        out.push(v.to_le_bytes()[0] | 0x80);
        v >>= 7;
    }
    out.push(v.to_le_bytes()[0]);
}

fn put_len(out: &mut Vec<u8>, num: u32, bytes: &[u8]) {
    put_varint(out, u64::from(num) << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode(msg: &str, json: &Value, path: &str) -> Result<Vec<u8>> {
    let obj = json
        .as_object()
        .ok_or_else(|| anyhow!("{path}: want an object, got {json}"))?;
    let fields = message(msg)?;
    let mut out = Vec::new();
    for (key, val) in obj {
        let at = format!("{path}.{key}");
        let field = fields
            .iter()
            .find(|f| f.name == key)
            .ok_or_else(|| anyhow!("{at}: no such field in {msg}"))?;
        let items: Vec<&Value> = match (field.repeated, val) {
            (true, Value::Array(a)) => a.iter().collect(),
            (true, _) => bail!("{at}: want an array, got {val}"),
            (false, _) => vec![val],
        };
        for v in items {
            encode_field(&mut out, field, v, &at)?;
        }
    }
    Ok(out)
}

fn encode_field(out: &mut Vec<u8>, field: &Field, v: &Value, at: &str) -> Result<()> {
    let num = field.num;
    let varint = |out: &mut Vec<u8>, x: u64| {
        put_varint(out, u64::from(num) << 3);
        put_varint(out, x);
    };
    match field.kind {
        Str | Bytes => put_len(
            out,
            num,
            v.as_str()
                .ok_or_else(|| anyhow!("{at}: want a string, got {v}"))?
                .as_bytes(),
        ),
        Bool => varint(
            out,
            u64::from(
                v.as_bool()
                    .ok_or_else(|| anyhow!("{at}: want true or false, got {v}"))?,
            ),
        ),
        Int | Sint => {
            let x = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            varint(
                out,
                // a negative int64 is its two's complement, as protobuf encodes it
                u64::from_ne_bytes(
                    x.ok_or_else(|| anyhow!("{at}: want an integer, got {v}"))?
                        .to_ne_bytes(),
                ),
            )
        }
        Enum(names) => {
            let x = match v {
                Value::String(s) => names.iter().position(|n| n == s).map(|i| i as u64),
                _ => v.as_u64(),
            };
            varint(
                out,
                x.ok_or_else(|| anyhow!("{at}: want one of {names:?}, got {v}"))?,
            )
        }
        Msg(m) => put_len(out, num, &encode(m, v, at)?),
        StrMap => {
            let map = v
                .as_object()
                .ok_or_else(|| anyhow!("{at}: want an object of strings, got {v}"))?;
            for (k, val) in map {
                let s = val
                    .as_str()
                    .ok_or_else(|| anyhow!("{at}.{k}: want a string, got {val}"))?;
                let mut entry = Vec::new();
                put_len(&mut entry, 1, k.as_bytes());
                put_len(&mut entry, 2, s.as_bytes());
                put_len(out, num, &entry);
            }
        }
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).context("truncated varint")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        bail!("varint too long")
    }
    fn bytes(&mut self) -> Result<&[u8]> {
        let n = usize::try_from(self.varint()?)?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .context("truncated field")?;
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }
}

fn default_of(field: &Field) -> Option<Value> {
    if field.repeated {
        return Some(Value::Array(vec![]));
    }
    match field.kind {
        Str | Bytes => Some(Value::from("")),
        Bool => Some(Value::from(false)),
        Int | Sint => Some(Value::from(0)),
        Enum(names) => Some(Value::from(names[0])),
        StrMap => Some(Value::Object(Map::new())),
        Msg(_) => None,
    }
}

fn decode(msg: &str, buf: &[u8]) -> Result<Value> {
    let fields = message(msg)?;
    let mut obj = Map::new();
    for field in fields {
        if let Some(d) = default_of(field) {
            obj.insert(field.name.to_string(), d);
        }
    }
    let mut rd = Reader { buf, pos: 0 };
    while rd.pos < buf.len() {
        let key = rd.varint()?;
        let (num, wire) = (u32::try_from(key >> 3)?, key & 7);
        let raw = match wire {
            0 => Raw::Varint(rd.varint()?),
            1 => Raw::Skip(8),
            2 => Raw::Bytes(rd.bytes()?),
            5 => Raw::Skip(4),
            w => bail!("{msg}: unsupported wire type {w} for field {num}"),
        };
        if let Raw::Skip(n) = raw {
            rd.pos += n;
            continue;
        }
        let Some(field) = fields.iter().find(|f| f.num == num) else {
            continue;
        };
        let value = match (field.kind, raw) {
            (Str | Bytes, Raw::Bytes(b)) => Value::from(String::from_utf8_lossy(b).into_owned()),
            (Bool, Raw::Varint(x)) => Value::from(x != 0),
            // two's complement back to the signed value (int32 is sign-extended to 64 bits)
            (Int, Raw::Varint(x)) => Value::from(i64::from_ne_bytes(x.to_ne_bytes())),
            (Sint, Raw::Varint(x)) => {
                let low = x.to_le_bytes();
                Value::from(i32::from_le_bytes([low[0], low[1], low[2], low[3]]))
            }
            (Enum(names), Raw::Varint(x)) => usize::try_from(x)
                .ok()
                .and_then(|i| names.get(i))
                .map_or(Value::from(x), |n| Value::from(*n)),
            (Msg(m), Raw::Bytes(b)) => decode(m, b)?,
            (StrMap, Raw::Bytes(b)) => {
                let entry = decode("KeyValue", b)?;
                let map = obj
                    .entry(field.name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(m), Some(k)) = (map.as_object_mut(), entry["key"].as_str()) {
                    m.insert(k.to_string(), entry["value"].clone());
                }
                continue;
            }
            _ => bail!("{msg}.{}: unexpected wire type {wire}", field.name),
        };
        if field.repeated {
            if let Some(Value::Array(a)) = obj.get_mut(field.name) {
                a.push(value);
            }
        } else {
            obj.insert(field.name.to_string(), value);
        }
    }
    Ok(Value::Object(obj))
}

enum Raw<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skip(usize),
}

/// One unary gRPC call over the unix socket through curl's HTTP/2.
fn call(socket: &str, service: &str, method: &str, body: &[u8]) -> Result<Vec<u8>> {
    let headers = std::env::temp_dir().join(format!("k3-cri-{}.headers", std::process::id()));
    let mut framed = vec![0u8];
    framed.extend_from_slice(&u32::try_from(body.len())?.to_be_bytes());
    framed.extend_from_slice(body);
    let mut child = Command::new("curl")
        .args(["-sS", "--http2-prior-knowledge", "--unix-socket", socket])
        .args([
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "--data-binary",
            "@-",
            "-D",
        ])
        .arg(&headers)
        .arg(format!("http://localhost/runtime.v1.{service}/{method}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running curl")?;
    child
        .stdin
        .take()
        .context("curl stdin")?
        .write_all(&framed)?;
    let out = child.wait_with_output()?;
    let head = std::fs::read_to_string(&headers).unwrap_or_default();
    let _ = std::fs::remove_file(&headers);
    if !out.status.success() {
        bail!("curl failed ({}) calling {method} on {socket}", out.status);
    }
    let header = |name: &str| {
        head.lines().rev().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    match header("grpc-status").as_deref() {
        Some("0") => {}
        Some(code) => bail!(
            "{method}: grpc-status {code}: {}",
            header("grpc-message").unwrap_or_default()
        ),
        None => bail!("{method}: no grpc-status in the reply: {head}"),
    }
    let msg = out.stdout;
    if msg.len() < 5 {
        return Ok(vec![]);
    }
    let n = u32::from_be_bytes([msg[1], msg[2], msg[3], msg[4]]) as usize;
    msg.get(5..5 + n)
        .map(<[u8]>::to_vec)
        .context("truncated gRPC message")
}

fn main() {
    if let Err(e) = run() {
        eprintln!("cri: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (socket, method) = match args.as_slice() {
        [s, m] | [s, m, _] => (s.as_str(), m.as_str()),
        _ => bail!("usage: cri SOCKET METHOD [REQUEST-JSON]"),
    };
    let &(_, service, req, resp) = METHODS
        .iter()
        .find(|(n, ..)| *n == method)
        .ok_or_else(|| anyhow!("unknown method {method:?}"))?;
    let text = match args.get(2) {
        Some(t) => t.clone(),
        None => {
            let mut t = String::new();
            std::io::stdin().read_to_string(&mut t)?;
            t
        }
    };
    let json: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(&text).context("request JSON")?
    };
    let body = encode(req, &json, "request")?;
    let reply = call(socket, service, method, &body)?;
    println!("{}", serde_json::to_string(&decode(resp, &reply)?)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_nested_messages_maps_and_negative_ints() {
        let v = json!({"id":"c1","state":"CONTAINER_EXITED","exit_code":-1,"metadata":{"name":"n","attempt":2}});
        let bytes = encode("ContainerStatus", &v, "x").unwrap();
        let back = decode("ContainerStatus", &bytes).unwrap();
        assert_eq!(back["id"], "c1");
        assert_eq!(back["state"], "CONTAINER_EXITED");
        assert_eq!(back["exit_code"], -1);
        assert_eq!(back["metadata"]["attempt"], 2);
        assert_eq!(back["reason"], "");
        let cfg = json!({"labels":{"a":"1","b":"2"},"metadata":{"name":"p"}});
        let back = decode(
            "PodSandboxConfig",
            &encode("PodSandboxConfig", &cfg, "x").unwrap(),
        )
        .unwrap();
        assert_eq!(back["labels"], json!({"a":"1","b":"2"}));
    }

    #[test]
    fn encodes_varints_like_protobuf() {
        // field 1 = 150 → 08 96 01 (the protobuf documentation's example value)
        assert_eq!(
            encode("Int64Value", &json!({"value":150}), "x").unwrap(),
            [0x08, 0x96, 0x01]
        );
    }

    #[test]
    fn names_the_bad_field_and_value() {
        let e = encode(
            "ContainerConfig",
            &json!({"metadata":{"nmae":"x"}}),
            "request",
        )
        .unwrap_err();
        assert!(e.to_string().contains("request.metadata.nmae"), "{e}");
        let e = encode("NamespaceOption", &json!({"network":"HOST"}), "request").unwrap_err();
        assert!(e.to_string().contains("\"HOST\""), "{e}");
    }
}
