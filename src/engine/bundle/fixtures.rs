//! `config.json` for a set of option combinations, compared with fixtures in
//! `testdata/bundle/` (written from the generator before it was typed, so a
//! change in what the bundle says fails here). Capability lists are compared
//! as sets. `K3_BLESS=1` rewrites the fixtures.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::bundle::{self, BundleInputs, ImageConfig, NetMode};
use crate::options::{CreateOptions, Validated};

fn image() -> ImageConfig {
    ImageConfig::from_image_json(&serde_json::json!({"config": {
        "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["node"],
        "Env": ["PATH=/usr/local/bin:/bin", "NODE_ENV=dev"],
        "WorkingDir": "/app", "User": "node",
    }}))
}

struct Case {
    name: &'static str,
    opts: fn(&mut CreateOptions),
    uid: u32,
    gid: u32,
    net: NetMode,
    volumes: Vec<(PathBuf, String, bool)>,
    devices: bool,
    cpuset: Option<u32>,
    cap_bounding: u64,
    cgroup_v2: bool,
}

fn case(name: &'static str, opts: fn(&mut CreateOptions)) -> Case {
    Case {
        name,
        opts,
        uid: 0,
        gid: 0,
        net: NetMode::None,
        volumes: Vec::new(),
        devices: false,
        cpuset: None,
        cap_bounding: u64::MAX,
        cgroup_v2: false,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("default", |_| {}),
        Case {
            cgroup_v2: true,
            uid: 1000,
            gid: 1001,
            ..case("v2_user", |_| {})
        },
        Case {
            devices: true,
            cap_bounding: 0x1ff_feff_ffff,
            net: NetMode::Host,
            ..case("privileged_host_net", |o| o.privileged = true)
        },
        Case {
            cpuset: Some(3),
            net: NetMode::Path("/run/netns/k3-abc".into()),
            ..case("limits", |o| {
                o.memory = Some("512MB".into());
                o.cpus = Some(1.5);
                o.pids_limit = Some(50);
            })
        },
        Case {
            cgroup_v2: true,
            ..case("cgroup_conf_private", |o| {
                o.cgroup_conf = vec!["memory.high=50000000".into(), "pids.max=9".into()];
                o.cgroupns = Some("private".into());
            })
        },
        Case {
            cgroup_v2: true,
            ..case("cgroupns_host", |o| o.cgroupns = Some("host".into()))
        },
        case("caps", |o| {
            o.cap_add = vec!["NET_ADMIN".into(), "SYS_TIME".into()];
            o.cap_drop = vec!["NET_RAW".into(), "CHOWN".into()];
        }),
        case("caps_drop_all", |o| {
            o.cap_drop = vec!["ALL".into()];
            o.cap_add = vec!["CHOWN".into()];
        }),
        Case {
            volumes: vec![
                ("/var/lib/k3/volumes/data".into(), "/data".into(), false),
                ("/var/lib/k3/volumes/ro".into(), "/ro".into(), true),
            ],
            ..case("mounts_env_args", |o| {
                o.mount = vec!["/tmp:/host-tmp:ro".into(), "/:/hostroot".into()];
                o.env = vec!["NODE_ENV=production".into(), "A=b c".into()];
                o.args = Some("sh -c 'echo hi'".into());
                o.hostname = Some("web".into());
            })
        },
    ]
}

fn devices() -> Vec<oci_spec::runtime::LinuxDevice> {
    serde_json::from_value(serde_json::json!([
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3,
         "fileMode": 0o666, "uid": 0, "gid": 0},
        {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0,
         "fileMode": 0o660, "uid": 0, "gid": 6},
    ]))
    .unwrap()
}

fn generate(c: &Case) -> Value {
    let mut o = CreateOptions {
        container_id: "c1".into(),
        image: "node".into(),
        ..Default::default()
    };
    (c.opts)(&mut o);
    let v: Validated = o.validate().unwrap();
    let hostname = v.hostname.clone().unwrap_or_else(|| "abcdef".into());
    let p = bundle::merge_process(&image(), &v, &hostname).unwrap();
    let devices = if c.devices { devices() } else { Vec::new() };
    let config = bundle::generate(
        &v,
        &BundleInputs {
            rootfs: Path::new("/var/lib/k3/overlays/abc/rootfs"),
            bundle: Path::new("/var/lib/k3/bundles/abc"),
            hash: "abc",
            hostname: &hostname,
            process: &p,
            uid: c.uid,
            gid: c.gid,
            groups: &[],
            init: None,
            net: &c.net,
            volumes: &c.volumes,
            host_devices: &devices,
            cpuset: c.cpuset,
            cap_bounding: c.cap_bounding,
            cgroup_v2: c.cgroup_v2,
        },
    );
    config.unwrap()
}

/// Capability lists are sets: sorted before comparing.
fn normalize(mut v: Value) -> Value {
    if let Some(caps) = v["process"]["capabilities"].as_object_mut() {
        for list in caps.values_mut() {
            if let Some(a) = list.as_array_mut() {
                a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
            }
        }
    }
    v
}

#[test]
fn config_json_matches_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bundle");
    let bless = std::env::var_os("K3_BLESS").is_some();
    let mut failed = Vec::new();
    for c in cases() {
        let got = normalize(generate(&c));
        let path = dir.join(format!("{}.json", c.name));
        if bless {
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture `{}`: {e}", path.display()));
        let want = normalize(serde_json::from_str(&text).unwrap());
        if got != want {
            eprintln!(
                "config.json of `{}` differs from `{}`:\n{}",
                c.name,
                path.display(),
                serde_json::to_string_pretty(&got).unwrap()
            );
            failed.push(c.name);
        }
    }
    assert!(failed.is_empty(), "cases differ: {failed:?}");
}
