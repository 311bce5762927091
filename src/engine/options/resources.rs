//! What the container may use: CPU, memory, disk, pids and cgroup settings.

use super::{bad, CgroupNs, OptionsError, CPU_PERIOD};

/// `--cgroupns`: `private` or `host`.
pub fn cgroupns(s: &str) -> Result<CgroupNs, OptionsError> {
    match s {
        "private" => Ok(CgroupNs::Private),
        "host" => Ok(CgroupNs::Host),
        _ => Err(bad("cgroupns", s, "use `private` or `host`")),
    }
}

/// `--cgroup-conf KEY=VALUE`: KEY a cgroup v2 interface file (`memory.high`,
/// `cpu.weight`: a controller, a dot, a name; no path), VALUE one line.
pub fn cgroup_conf(s: &str) -> Result<(String, String), OptionsError> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(bad("cgroupConf", s, "use KEY=VALUE (`memory.high=64m`)"));
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match k.split_once('.') {
        Some((ctrl, file)) if part_ok(ctrl) && file.split('.').all(part_ok) => {}
        _ => {
            return Err(bad(
                "cgroupConf",
                s,
                format!("`{k}` is not a cgroup v2 file name (`memory.high`, `cpu.weight`)"),
            ))
        }
    }
    if v.is_empty() || v.contains('\n') || v.contains('\0') {
        return Err(bad("cgroupConf", s, "the value must be one non-empty line"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--pids-limit`: a positive count, or `0`/`-1` for unlimited (as podman).
pub fn pids_limit(n: i64) -> Result<Option<i64>, OptionsError> {
    match n {
        -1 | 0 => Ok(None),
        n if n > 0 => Ok(Some(n)),
        _ => Err(bad(
            "pidsLimit",
            n,
            "use a positive number, or 0 or -1 for unlimited",
        )),
    }
}

/// CPUs as a CFS quota for [`CPU_PERIOD`] (0.01 and up).
pub fn cpus(n: f64) -> Result<i64, OptionsError> {
    if !n.is_finite() || !(0.01..=1024.0).contains(&n) {
        return Err(bad("cpus", n, "use a number from 0.01 to 1024"));
    }
    // n is at most 1024, so the quota is at most 1024 periods: far inside i64
    #[allow(clippy::cast_possible_truncation)]
    let quota = (n * CPU_PERIOD as f64).round() as i64;
    Ok(quota)
}

/// A size in bytes: a number with an optional binary unit (`512m`, `1GB`,
/// `1.5g`, `100k`, plain bytes); `None` when it is not one or too large.
pub(super) fn bytes(s: &str) -> Option<i64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    let bytes = (n * mult).round();
    if !(0.0..=i64::MAX as f64).contains(&bytes) {
        return None;
    }
    // checked above: 0..=i64::MAX, and already rounded
    #[allow(clippy::cast_possible_truncation)]
    let bytes = bytes as i64;
    Some(bytes)
}

/// Memory sizes: `512m`, `1GB`, `2048MB`, `512MB`, `1g`, `100k`, `1048576`
/// (bytes). Binary units (`1GB` = 2^30 bytes), as docker.
pub fn memory(s: &str) -> Result<i64, OptionsError> {
    let bytes =
        bytes(s).ok_or_else(|| bad("memory", s, "use a number with a unit: `512m`, `1GB`"))?;
    // Docker's minimum is 6 MB; below that the runtime's own init may not fit.
    if bytes < 6 * 1024 * 1024 {
        return Err(bad("memory", s, "the minimum is `6m`"));
    }
    Ok(bytes)
}

/// The largest `diskLimit`: 16 TiB in MB, ext4's largest file (and far from the
/// overflow of MB × 2^20 in a u64, which once made a 6 MB disk of a huge limit).
const MAX_DISK_LIMIT_MB: u64 = 16 << 20;

pub(super) fn disk_limit(mb: u64) -> Result<u64, OptionsError> {
    if mb < 8 {
        return Err(bad("diskLimit", mb, "the minimum is `8` MB"));
    }
    if mb > MAX_DISK_LIMIT_MB {
        return Err(bad(
            "diskLimit",
            mb,
            format!("the maximum is `{MAX_DISK_LIMIT_MB}` MB (16 TiB)"),
        ));
    }
    Ok(mb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CreateOptions;

    #[test]
    fn cgroupns_and_pids_limit() {
        assert_eq!(cgroupns("private").unwrap(), CgroupNs::Private);
        assert_eq!(cgroupns("host").unwrap(), CgroupNs::Host);
        for b in ["", "Private", "none", "container:x"] {
            let e = cgroupns(b).unwrap_err();
            assert_eq!(e.option, "cgroupns", "{b}");
            assert!(e.to_string().contains(&format!("`{b}`")), "{e}");
        }
        assert_eq!(
            cgroup_conf("memory.high=50000000").unwrap(),
            ("memory.high".into(), "50000000".into())
        );
        assert_eq!(
            cgroup_conf("cgroup.max.descendants=5").unwrap().0,
            "cgroup.max.descendants"
        );
        assert_eq!(cgroup_conf("cpu.max=max 100000").unwrap().1, "max 100000");
        for b in [
            "bogus",
            "memory=1",
            "../x.y=1",
            "memory.high/x=1",
            ".high=1",
            "memory.high=",
            "memory.high=a\nb",
        ] {
            let e = cgroup_conf(b).unwrap_err();
            assert_eq!(e.option, "cgroupConf", "{b}");
        }
        assert_eq!(pids_limit(50).unwrap(), Some(50));
        assert_eq!(pids_limit(0).unwrap(), None);
        assert_eq!(pids_limit(-1).unwrap(), None);
        assert_eq!(pids_limit(-2).unwrap_err().option, "pidsLimit");
        let o = CreateOptions {
            container_id: "c".into(),
            image: "alpine".into(),
            cgroupns: Some("bogus".into()),
            ..Default::default()
        };
        assert_eq!(o.validate().unwrap_err().option, "cgroupns");
    }

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(memory("512m").unwrap(), 512 << 20);
        assert_eq!(memory("512MB").unwrap(), 512 << 20);
        assert_eq!(memory("2048MB").unwrap(), 2048 << 20);
        assert_eq!(memory("1GB").unwrap(), 1 << 30);
        assert_eq!(memory("1g").unwrap(), 1 << 30);
        assert_eq!(memory("1.5g").unwrap(), 3 << 29);
        assert_eq!(memory("8388608").unwrap(), 8 << 20);
        for b in ["", "abc", "12x", "1m", "-5m", "m"] {
            let e = memory(b).unwrap_err();
            assert_eq!(e.option, "memory", "{b}");
        }
    }

    #[test]
    fn disk_limits_are_bounded() {
        assert_eq!(disk_limit(8).unwrap(), 8);
        assert_eq!(disk_limit(16 << 20).unwrap(), 16 << 20);
        for mb in [0, 7, (16 << 20) + 1, 17_592_186_044_424, u64::MAX] {
            let e = disk_limit(mb).unwrap_err();
            assert_eq!(e.option, "diskLimit", "{mb}");
        }
    }

    #[test]
    fn cpus_become_a_quota() {
        assert_eq!(cpus(1.0).unwrap(), 100_000);
        assert_eq!(cpus(0.5).unwrap(), 50_000);
        assert_eq!(cpus(2.0).unwrap(), 200_000);
        assert_eq!(cpus(0.25).unwrap(), 25_000);
        assert!(cpus(0.0).is_err());
        assert!(cpus(-1.0).is_err());
        assert!(cpus(f64::NAN).is_err());
    }
}
