//! A seccomp profile from a file (`--security-opt seccomp=PATH`): docker's
//! format (`archMap`, per-rule `includes`/`excludes` of capabilities and
//! architectures), which podman also reads, or OCI's `linux.seccomp` as is.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Map, Value};

use super::BundleError;

/// The seccomp name of this machine's architecture.
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "SCMP_ARCH_X86_64",
        "aarch64" => "SCMP_ARCH_AARCH64",
        "x86" => "SCMP_ARCH_X86",
        "arm" => "SCMP_ARCH_ARM",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390x" => "SCMP_ARCH_S390X",
        "powerpc64" => "SCMP_ARCH_PPC64LE",
        _ => "SCMP_ARCH_NATIVE",
    }
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether a docker rule applies to a container with `caps` on this machine.
fn applies(rule: &Value, caps: &[String], arch: &str) -> bool {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let inc = &rule["includes"];
    let exc = &rule["excludes"];
    let inc_caps = strs(&inc["caps"]);
    let inc_arches = strs(&inc["arches"]);
    (inc_caps.iter().all(|c| has(c)))
        && (inc_arches.is_empty() || inc_arches.iter().any(|a| arch_matches(a, arch)))
        && !strs(&exc["caps"]).iter().any(|c| has(c))
        && !strs(&exc["arches"]).iter().any(|a| arch_matches(a, arch))
}

/// Docker names arches both ways (`amd64`, `SCMP_ARCH_X86_64`).
fn arch_matches(name: &str, arch: &str) -> bool {
    let short = match arch {
        "SCMP_ARCH_X86_64" => "amd64",
        "SCMP_ARCH_AARCH64" => "arm64",
        "SCMP_ARCH_X86" => "x86",
        _ => "",
    };
    name == arch || name == short || name == std::env::consts::ARCH
}

/// The OCI filter for `profile` given the container's capabilities.
pub fn from_file(profile: &Value, caps: &[String]) -> Result<LinuxSeccomp, BundleError> {
    let arch = native_arch();
    let mut out = Map::new();
    for k in ["defaultAction", "defaultErrnoRet", "flags", "listenerPath"] {
        if let Some(v) = profile.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let arches: Vec<Value> = match profile.get("archMap").and_then(Value::as_array) {
        Some(map) => map
            .iter()
            .filter(|m| m["architecture"] == arch)
            .flat_map(|m| {
                std::iter::once(m["architecture"].clone()).chain(
                    m["subArchitectures"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                )
            })
            .collect(),
        None => profile["architectures"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    if !arches.is_empty() {
        out.insert("architectures".into(), Value::Array(arches));
    }
    let mut syscalls = Vec::new();
    for rule in profile["syscalls"].as_array().into_iter().flatten() {
        if !applies(rule, caps, arch) {
            continue;
        }
        let mut names: Vec<Value> = rule["names"].as_array().cloned().unwrap_or_default();
        if let Some(n) = rule.get("name").filter(|n| n.is_string()) {
            names.push(n.clone());
        }
        if names.is_empty() {
            continue;
        }
        let mut r = json!({"names": names, "action": rule["action"]});
        for k in ["errnoRet", "args"] {
            if let Some(v) = rule.get(k).filter(|v| !v.is_null()) {
                r[k] = v.clone();
            }
        }
        syscalls.push(r);
    }
    if !syscalls.is_empty() {
        out.insert("syscalls".into(), Value::Array(syscalls));
    }
    serde_json::from_value(Value::Object(out)).map_err(|e| BundleError::Seccomp(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_profiles_convert() {
        let p = json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": native_arch(), "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_MIPS", "subArchitectures": []}],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "x"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["chown"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
        ]});
        let s = serde_json::to_value(from_file(&p, &["CAP_CHOWN".into()]).unwrap()).unwrap();
        let names: Vec<String> = s["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                strs(&r["names"])
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(names, vec!["read", "write", "chown", "mkdir"]);
        assert_eq!(s["architectures"].as_array().unwrap().len(), 2);
        assert_eq!(s["syscalls"][2]["errnoRet"], 13);
        let s = serde_json::to_value(from_file(&p, &["CAP_SYS_ADMIN".into()]).unwrap()).unwrap();
        assert!(s.to_string().contains("mount") && !s.to_string().contains("chown"));
        let e = from_file(&json!({"defaultAction": "NOPE"}), &[]).unwrap_err();
        assert!(matches!(e, BundleError::Seccomp(_)), "{e}");
    }

    #[test]
    fn oci_profiles_pass_through() {
        let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]});
        let s = serde_json::to_value(from_file(&p, &[]).unwrap()).unwrap();
        assert_eq!(s["syscalls"][0]["names"][0], "mkdir");
        assert_eq!(s["defaultAction"], "SCMP_ACT_ALLOW");
    }
}
