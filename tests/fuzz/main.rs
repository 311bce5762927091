//! Fuzz targets for every parser of untrusted input (issue 16): k3rt's
//! config.json path, seed 000's options (JSON and CLI flags), image
//! references, manifests and image configs, tar layers, and the API's router
//! and bodies. Properties: no panic, no hang, and an error names its field.
//!
//! `cargo test --test fuzz` runs a bounded number of cases per target (see
//! `harness.rs` for `K3_FUZZ_CASES` and friends); `make fuzz` runs many more.

mod harness;
mod tar_gen;

use std::path::Path;

use clap::Parser;
use harness::{run, run_with, Target};
use k3::cli::create::CreateArgs;
use k3_cgroups::{self as cgroups, plan as cgplan};
use k3_engine::image::digest::{Algorithm, Digest};
use k3_engine::image::manifest::{self, Manifest};
use k3_engine::image::reference::Reference;
use k3_engine::options::{self, CreateOptions};
use k3_oci::spec::{self, SpecError};
use k3_runtime::caps::CapSets;
use k3_runtime::namespaces::NsPlan;
use k3_runtime::trace::Log;
use k3_runtime::{mountopts, rlimits, rootfs, seccomp, security};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A runtime error that is `Invalid` must name its field in the message.
fn rt_named(e: &k3_runtime::Error) -> Result<(), String> {
    let msg = e.to_string();
    if let k3_runtime::Error::Invalid { field, .. } = e {
        if field.is_empty() || !msg.contains(field) {
            return Err(format!("error does not name its field: {msg}"));
        }
    }
    if msg.trim().is_empty() {
        return Err("empty error message".into());
    }
    Ok(())
}

const SPEC_KEYS: &[&str] = &[
    "ociVersion",
    "root",
    "path",
    "readonly",
    "process",
    "args",
    "cwd",
    "env",
    "user",
    "uid",
    "gid",
    "additionalGids",
    "umask",
    "terminal",
    "consoleSize",
    "height",
    "width",
    "capabilities",
    "bounding",
    "effective",
    "permitted",
    "inheritable",
    "ambient",
    "rlimits",
    "type",
    "soft",
    "hard",
    "noNewPrivileges",
    "apparmorProfile",
    "oomScoreAdj",
    "selinuxLabel",
    "ioPriority",
    "class",
    "priority",
    "scheduler",
    "policy",
    "nice",
    "execCPUAffinity",
    "hostname",
    "domainname",
    "mounts",
    "destination",
    "source",
    "options",
    "uidMappings",
    "gidMappings",
    "containerID",
    "hostID",
    "size",
    "hooks",
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
    "timeout",
    "linux",
    "namespaces",
    "devices",
    "major",
    "minor",
    "fileMode",
    "resources",
    "memory",
    "limit",
    "reservation",
    "swap",
    "kernel",
    "swappiness",
    "cpu",
    "shares",
    "quota",
    "period",
    "realtimeRuntime",
    "cpus",
    "mems",
    "pids",
    "blockIO",
    "weight",
    "hugepageLimits",
    "pageSize",
    "network",
    "classID",
    "unified",
    "cgroupsPath",
    "sysctl",
    "seccomp",
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "flags",
    "listenerPath",
    "syscalls",
    "names",
    "action",
    "errnoRet",
    "index",
    "value",
    "valueTwo",
    "op",
    "rootfsPropagation",
    "maskedPaths",
    "readonlyPaths",
    "mountLabel",
    "intelRdt",
    "personality",
    "domain",
    "timeOffsets",
    "annotations",
    "allow",
    "access",
];

#[test]
fn fuzz_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    let log = Log::open(Some(Path::new("/dev/null")), false, false).unwrap();
    let bundle = dir.path().to_path_buf();
    let check = |b: &[u8]| -> Result<(), String> {
        let spec = match spec::parse(b) {
            Ok(s) => s,
            Err(e) => {
                let at = spec::json_path_at(b, e.source.line(), e.source.column());
                if at != e.at {
                    return Err("json_path_at is not deterministic".into());
                }
                return Ok(());
            }
        };
        let rootfs = match spec::validate(&spec, &bundle) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.to_string();
                if let SpecError::Invalid { field, .. } = &e {
                    if !msg.contains(field) {
                        return Err(format!("error does not name its field: {msg}"));
                    }
                }
                return Ok(());
            }
        };
        // what `create` checks before it makes anything
        let ns = NsPlan::from_spec(&spec);
        if let Err(e) = security::validate(&spec, &ns, &log) {
            return rt_named(&e);
        }
        if let Err(e) = rootfs::plan(&spec, &rootfs) {
            return rt_named(&e);
        }
        let process = spec.process().as_ref();
        let _ = CapSets::from_spec(process.and_then(|p| p.capabilities().as_ref()), &log);
        for r in process
            .and_then(|p| p.rlimits().as_ref())
            .into_iter()
            .flatten()
        {
            let _ = rlimits::name(r.typ());
        }
        for m in spec.mounts().iter().flatten() {
            let _ = mountopts::parse(m.options().as_deref().unwrap_or_default());
        }
        let linux = spec.linux().as_ref();
        if let Some(s) = linux.and_then(|l| l.seccomp().as_ref()) {
            match seccomp::plan(s) {
                Ok(p) => {
                    if let Err(e) = seccomp::compile(&p, &log) {
                        rt_named(&e)?;
                    }
                }
                Err(e) => rt_named(&e)?,
            }
        }
        if let Some(r) = linux.and_then(|l| l.resources().as_ref()) {
            let _ = cgplan::v1(r);
            let _ = cgplan::v2(r);
            let _ = cgplan::v1_devices(r.devices().as_deref().unwrap_or_default());
        }
        let cg = linux.and_then(|l| l.cgroups_path().as_ref());
        let _ = cgroups::container_path(cg.map(|p| p.as_path()), "fuzz", "/user.slice");
        let _ = cgroups::systemd_path(cg.and_then(|p| p.to_str()), "fuzz");
        harness::accepted();
        Ok(())
    };
    run(
        Target {
            name: "spec",
            keys: SPEC_KEYS,
            dict: &[
                "\"", "{", "}", "[", "]", ",", ":", "null", "\\u0000", "1e999", "-",
            ],
            max_len: 1 << 16,
            json: true,
            extra: vec![],
        },
        &check,
    );
}

const OPTION_KEYS: &[&str] = &[
    "containerId",
    "image",
    "tag",
    "hostname",
    "args",
    "env",
    "cpus",
    "memory",
    "diskLimit",
    "mount",
    "volume",
    "network",
    "ip",
    "mac",
    "publish",
    "privileged",
    "capAdd",
    "capDrop",
    "restart",
    "restartDelay",
    "restartWindow",
    "maxAttempts",
    "noNewKeyring",
    "noPivot",
    "noShared",
    "debug",
];

fn options_named(e: &options::OptionsError) -> Result<(), String> {
    let msg = e.to_string();
    if e.option.is_empty() || !msg.contains(e.option) {
        return Err(format!("error does not name its option: {msg}"));
    }
    Ok(())
}

#[test]
fn fuzz_options_json() {
    let check = |b: &[u8]| -> Result<(), String> {
        let Ok(o) = serde_json::from_slice::<CreateOptions>(b) else {
            return Ok(());
        };
        match o.validate() {
            Ok(v) => {
                // what was accepted serializes and reads back the same
                let j = serde_json::to_vec(&o).map_err(|e| e.to_string())?;
                let back: CreateOptions = serde_json::from_slice(&j).map_err(|e| e.to_string())?;
                if back.validate().map(|w| w.id) != Ok(v.id) {
                    return Err("options do not round-trip".into());
                }
                harness::accepted();
                Ok(())
            }
            Err(e) => options_named(&e),
        }
    };
    run(
        Target {
            name: "options_json",
            keys: OPTION_KEYS,
            dict: &[
                "\"", ":", "/", "=", "m", "g", "k", "b", "udp", "tcp", "ro", "rw",
            ],
            max_len: 1 << 16,
            json: true,
            extra: vec![],
        },
        &check,
    );
}

/// One option value through every single-value parser.
#[test]
fn fuzz_option_values() {
    let check = |b: &[u8]| -> Result<(), String> {
        let s = text(b);
        let results = [
            options::container_id(&s).err(),
            options::hostname(&s).err(),
            options::args(&s).err(),
            options::env(&s).err(),
            options::memory(&s).err(),
            options::bind_mount(&s).err(),
            options::ip(&s).err(),
            options::mac(&s).err(),
            options::port_mapping(&s).err(),
            options::caps("capAdd", std::slice::from_ref(&s)).err(),
            s.parse::<f64>().ok().and_then(|f| options::cpus(f).err()),
        ];
        for e in results.iter().flatten() {
            options_named(e)?;
        }
        if results.iter().any(Option::is_none) {
            harness::accepted();
        }
        if let Ok(m) = options::memory(&s) {
            if m <= 0 {
                return Err(format!("memory `{s}` accepted as {m}"));
            }
        }
        Ok(())
    };
    run(
        Target {
            name: "option_values",
            keys: &[],
            dict: &[
                ":",
                "/",
                "=",
                ".",
                "-",
                "m",
                "MB",
                "g",
                "GiB",
                "k",
                "b",
                "e",
                "udp",
                "tcp",
                ":ro",
                ":rw",
                "'",
                "\"",
                "\\",
                " ",
                "CAP_",
                "ALL",
                "0x",
                "1e9",
                "9999999999",
                "18446744073709551615",
                "255.255.255.256",
                "ff:ff:ff:ff:ff:ff",
            ],
            max_len: 4096,
            json: false,
            extra: vec![],
        },
        &check,
    );
}

/// `k3 create`/`k3 run` flags: argv (one per line) through clap, the
/// CreateArgs to options conversion and the validation; a command line that
/// is accepted comes back word for word.
#[test]
fn fuzz_cli_create() {
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        a: CreateArgs,
    }
    let check = |b: &[u8]| -> Result<(), String> {
        let s = text(b);
        let argv = std::iter::once("k3").chain(s.split('\n'));
        let Ok(cli) = Cli::try_parse_from(argv) else {
            return Ok(());
        };
        let Ok(o) = cli.a.options() else {
            return Ok(());
        };
        match o.validate() {
            Ok(v) => {
                if cli.a.options_json.is_none()
                    && !cli.a.args.is_empty()
                    && v.args.as_ref() != Some(&cli.a.args)
                {
                    return Err(format!(
                        "command {:?} came back as {:?}",
                        cli.a.args, v.args
                    ));
                }
                harness::accepted();
                Ok(())
            }
            Err(e) => options_named(&e),
        }
    };
    run(
        Target {
            name: "cli_create",
            keys: &[],
            dict: &[
                "\n",
                "--name\n",
                "--memory\n",
                "--cpus\n",
                "--publish\n",
                "--mount\n",
                "--volume\n",
                "--env\n",
                "--ip\n",
                "--mac\n",
                "--cap-add\n",
                "--restart\n",
                "--options-json\n",
                "--hostname\n",
                "--tag\n",
                "--disk-limit\n",
                "-e\n",
                "'",
                "\"",
                "\\",
                " ",
                "$",
                "=",
                ":",
                "--",
                "-1",
                "1e308",
                "NaN",
            ],
            max_len: 4096,
            json: false,
            extra: vec![],
        },
        &check,
    );
}

#[test]
fn fuzz_reference() {
    let check = |b: &[u8]| -> Result<(), String> {
        let s = text(b);
        let Ok(r) = Reference::parse(&s, "docker.io") else {
            return Ok(());
        };
        let (name, m, tag, host) = (
            r.name(),
            r.manifest_reference(),
            r.record_tag(),
            r.api_host(),
        );
        if name.is_empty() || m.is_empty() || host.is_empty() {
            return Err(format!("`{s}` parsed into an empty part"));
        }
        // the canonical form parses to the same reference
        let canon = if m.contains(':') && m.starts_with("sha") {
            format!("{name}@{m}")
        } else {
            format!("{name}:{m}")
        };
        match Reference::parse(&canon, "docker.io") {
            Ok(r2) if r2.name() == name && r2.manifest_reference() == m => {
                harness::accepted();
                Ok(())
            }
            other => Err(format!("`{s}` -> `{canon}` (tag {tag}) -> {other:?}")),
        }
    };
    run(
        Target {
            name: "reference",
            keys: &[],
            dict: &[
                "/",
                ":",
                "@",
                "sha256:",
                ".",
                "-",
                "_",
                "__",
                "localhost",
                ":5000",
                "[::1]",
                "docker.io/",
                "library/",
                "latest",
                "A",
                "é",
                "..",
                "@sha512:",
            ],
            max_len: 1024,
            json: false,
            extra: vec![],
        },
        &check,
    );
}

const MANIFEST_KEYS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "manifests",
    "config",
    "layers",
    "digest",
    "size",
    "platform",
    "os",
    "architecture",
    "variant",
    "annotations",
    "rootfs",
    "diff_ids",
    "created",
    "urls",
    "subject",
    "artifactType",
];

#[test]
fn fuzz_manifest() {
    let d = Digest::of(Algorithm::Sha256, b"fuzz");
    let check = |b: &[u8]| -> Result<(), String> {
        for ct in [
            None,
            Some("application/vnd.oci.image.index.v1+json; x=y"),
            Some(""),
        ] {
            match manifest::parse(b, ct, &d) {
                Ok(Manifest::Index(entries)) => {
                    let _ = manifest::select_platform(&entries, manifest::host_platform(), &d);
                    for e in &entries {
                        let _ = manifest::layer_compression(e);
                    }
                }
                Ok(Manifest::Image(m)) => {
                    for l in &m.layers {
                        let _ = manifest::layer_compression(l);
                    }
                    let _ = manifest::parse_config(b, &d, m.layers.len());
                }
                Err(e) if e.to_string().trim().is_empty() => return Err("empty error".into()),
                Err(_) => {}
            }
        }
        for layers in [0, 1, usize::MAX] {
            let _ = manifest::parse_config(b, &d, layers);
        }
        if let Ok(s) = std::str::from_utf8(b) {
            let _ = s.trim_matches('"').parse::<Digest>();
        }
        Ok(())
    };
    run(
        Target {
            name: "manifest",
            keys: MANIFEST_KEYS,
            dict: &[
                "sha256:", "sha512:", "\"", "{", "}", "[", "]", "+gzip", "+zstd", "0",
            ],
            max_len: 1 << 16,
            json: true,
            extra: vec![],
        },
        &check,
    );
}

#[test]
fn fuzz_tar_layer() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    let dest = base.path().join("root");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("sentinel"), b"untouched").unwrap();
    let extra = tar_gen::seeds(&outside);
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(outside.join("sentinel")).unwrap().uid()
    };
    let check = |b: &[u8]| -> Result<(), String> {
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::create_dir(&dest).map_err(|e| e.to_string())?;
        let res = k3_engine::image::unpack::unpack(b, &dest, Default::default());
        if let Err(e) = &res {
            if e.to_string().trim().is_empty() {
                return Err("empty error".into());
            }
        }
        // nothing written outside the target directory
        let mut top: Vec<String> = std::fs::read_dir(base.path())
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        if res.is_ok() {
            harness::accepted();
        }
        if top != ["outside", "root"] {
            return Err(format!(
                "unpack wrote next to the target: {top:?} ({res:?})"
            ));
        }
        let out: Vec<_> = std::fs::read_dir(&outside)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let sentinel = std::fs::symlink_metadata(outside.join("sentinel"));
        let content = std::fs::read(outside.join("sentinel")).unwrap_or_default();
        let meta_ok = sentinel.as_ref().is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.is_file() && m.nlink() == 1 && m.mode() & 0o7777 == 0o644 && m.uid() == owner
        });
        if out.len() != 1 || content != b"untouched" || !meta_ok {
            return Err(format!(
                "unpack wrote outside the target: {out:?} {content:?} {sentinel:?} ({res:?})"
            ));
        }
        Ok(())
    };
    // the sentinel's mode as created (umask may differ)
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            outside.join("sentinel"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    run_with(
        Target {
            name: "tar_layer",
            keys: &[],
            dict: &[
                "../",
                "/",
                "./",
                ".wh.",
                ".wh..wh..opq",
                "\0",
                "0000777\0",
                "ustar\0",
                "00000000000\0",
                "77777777777\0",
            ],
            max_len: 1 << 16,
            json: false,
            extra,
        },
        &mut |_, b| tar_gen::fix_headers(b),
        &check,
    );
}

/// The router, the query helpers and every API body parser.
#[test]
fn fuzz_api() {
    use k3_engine::api::routes::{query_flag, query_param, route, split_url};
    use k3_engine::api::{body, Req};
    let check = |b: &[u8]| -> Result<(), String> {
        let s = text(b);
        // METHOD URL\nBODY
        let (head, raw_body) = s.split_once('\n').unwrap_or((&s, ""));
        let (method, url) = head.split_once(' ').unwrap_or(("GET", head));
        let (path, query) = split_url(url);
        if route(method, path).is_ok() {
            harness::accepted();
        }
        for k in ["t", "signal", "since", "follow", "all", "force"] {
            let _ = query_param(query, k);
            let _ = query_flag(query, k);
        }
        for r in [
            body::grace(query).err(),
            body::wait_timeout(query).err(),
            body::since(query).err(),
        ]
        .into_iter()
        .flatten()
        {
            if !r.to_string().contains('`') {
                return Err(format!("query error names no field: {r}"));
            }
        }
        let req = Req {
            query,
            body: raw_body.as_bytes(),
        };
        if let Ok(o) = req.json::<CreateOptions>() {
            if let Err(e) = o.validate() {
                options_named(&e)?;
            }
        }
        for e in [
            body::exec(&req).err(),
            body::network(&req).err(),
            body::pull(&req).err(),
        ]
        .into_iter()
        .flatten()
        {
            if e.to_string().trim().is_empty() {
                return Err("empty error".into());
            }
        }
        Ok(())
    };
    run(
        Target {
            name: "api",
            keys: &[],
            dict: &[
                "GET ",
                "POST ",
                "DELETE ",
                "/containers",
                "/images/pull",
                "/networks",
                "/volumes",
                "/events",
                "/logs",
                "/wait",
                "/exec",
                "/kill",
                "?",
                "&",
                "t=",
                "signal=",
                "since=",
                "follow",
                "=",
                "/",
                "%00",
                "..",
                "\n",
                "{",
                "}",
                "\"cmd\":",
                "\"name\":",
                "\"subnet\":",
                "\"reference\":",
                "18446744073709551615",
                "-1",
            ],
            max_len: 1 << 14,
            json: false,
            extra: vec![],
        },
        &check,
    );
}
