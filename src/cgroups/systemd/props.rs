//! OCI resources → systemd unit properties (the names and units `systemctl show`
//! prints), as runc's systemd driver maps them.

use oci_spec::runtime::LinuxResources;

use super::Scope;
use crate::dbus::Value;
use crate::plan::{blkio_to_io_weight, shares_to_weight};

/// systemd's "infinity".
const INFINITY: u64 = u64::MAX;

fn prop(name: &str, v: Value) -> (String, Value) {
    (name.to_string(), v)
}

/// `a(sv)` of (name, value) pairs.
pub fn to_array(props: Vec<(String, Value)>) -> Value {
    Value::Array(
        "(sv)".into(),
        props
            .into_iter()
            .map(|(n, v)| Value::Struct(vec![Value::Str(n), Value::variant(v)]))
            .collect(),
    )
}

/// Every property of a new scope: where it lives, the init, delegation, accounting,
/// then the limits.
pub fn scope_properties(
    scope: &Scope,
    id: &str,
    pid: i32,
    resources: Option<&LinuxResources>,
) -> Vec<(String, Value)> {
    let mut p = vec![
        prop("Description", Value::Str(format!("k3rt container {id}"))),
        prop("Slice", Value::str(&scope.slice)),
        prop(
            "PIDs",
            Value::Array(
                "u".into(),
                vec![Value::U32(u32::from_le_bytes(pid.to_le_bytes()))],
            ),
        ),
        prop("Delegate", Value::Bool(true)),
        prop("DefaultDependencies", Value::Bool(false)),
        prop("MemoryAccounting", Value::Bool(true)),
        prop("CPUAccounting", Value::Bool(true)),
        prop("IOAccounting", Value::Bool(true)),
        prop("TasksAccounting", Value::Bool(true)),
    ];
    if let Some(r) = resources {
        p.extend(resource_properties(r));
    }
    p
}

/// The limits systemd can hold for a unit; the rest goes to the cgroup files.
pub fn resource_properties(r: &LinuxResources) -> Vec<(String, Value)> {
    let mut p = Vec::new();
    // negative is unlimited
    let bytes = |v: i64| Value::U64(u64::try_from(v).unwrap_or(INFINITY));
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            p.push(prop("MemoryMax", bytes(l)));
        }
        if let Some(v) = m.reservation() {
            p.push(prop("MemoryLow", bytes(v)));
        }
        // OCI swap is memory+swap; systemd's MemorySwapMax is swap alone
        match (m.swap(), m.limit()) {
            (Some(s), _) if s < 0 => p.push(prop("MemorySwapMax", Value::U64(INFINITY))),
            (Some(s), Some(l)) if l > 0 && s >= l => {
                p.push(prop("MemorySwapMax", Value::U64(s.abs_diff(l))))
            }
            _ => {}
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            p.push(prop("CPUWeight", Value::U64(shares_to_weight(s))));
        }
        let period = c.period().filter(|p| *p > 0);
        if c.quota().is_some_and(|q| q != 0) || period.is_some() {
            let per_sec = match c.quota() {
                Some(q) if q > 0 => {
                    let us = q.unsigned_abs() * 1_000_000 / period.unwrap_or(100_000);
                    // systemd keeps whole percents: round up to 10 ms, as runc does
                    us.div_ceil(10_000) * 10_000
                }
                _ => INFINITY,
            };
            if let Some(per) = period {
                p.push(prop("CPUQuotaPeriodUSec", Value::U64(per)));
            }
            p.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        }
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
            if let Some(mask) = list_to_mask(cpus) {
                p.push(prop("AllowedCPUs", mask));
            }
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.trim().is_empty()) {
            if let Some(mask) = list_to_mask(mems) {
                p.push(prop("AllowedMemoryNodes", mask));
            }
        }
    }
    if let Some(pids) = r.pids() {
        match pids.limit() {
            l if l > 0 => p.push(prop("TasksMax", Value::U64(l.unsigned_abs()))),
            l if l < 0 => p.push(prop("TasksMax", Value::U64(INFINITY))),
            _ => {}
        }
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        p.push(prop("IOWeight", Value::U64(blkio_to_io_weight(w))));
    }
    p
}

/// `0-2,7` → the bitmask systemd takes for AllowedCPUs (`ay`, cpu 0 in bit 0 of byte 0);
/// None for text that is not a list (the cgroup file write then names the field).
pub fn list_to_mask(list: &str) -> Option<Value> {
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.trim().split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let n = part.trim().parse::<usize>().ok()?;
                (n, n)
            }
        };
        if a > b || b >= 8192 {
            return None;
        }
        for n in a..=b {
            if bytes.len() <= n / 8 {
                bytes.resize(n / 8 + 1, 0);
            }
            bytes[n / 8] |= 1 << (n % 8);
        }
    }
    Some(Value::Array(
        "y".into(),
        bytes.into_iter().map(Value::Byte).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn get<'a>(p: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn limits_map_to_systemd_properties() {
        let p = resource_properties(&res(
            r#"{"memory":{"limit":67108864,"reservation":1048576,"swap":134217728},
                "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-2,9","mems":"0"},
                "pids":{"limit":42},"blockIO":{"weight":500}}"#,
        ));
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(67108864)));
        assert_eq!(get(&p, "MemoryLow"), Some(&Value::U64(1048576)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(67108864)));
        assert_eq!(get(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(42)));
        assert_eq!(get(&p, "IOWeight"), Some(&Value::U64(4950)));
        assert_eq!(
            get(&p, "AllowedCPUs"),
            Some(&Value::Array(
                "y".into(),
                vec![Value::Byte(0b111), Value::Byte(0b10)]
            ))
        );
        assert_eq!(
            get(&p, "AllowedMemoryNodes"),
            Some(&Value::Array("y".into(), vec![Value::Byte(1)]))
        );
    }

    #[test]
    fn unlimited_and_rounding() {
        let p = resource_properties(&res(
            r#"{"memory":{"limit":-1,"swap":-1},"cpu":{"quota":-1},"pids":{"limit":-1}}"#,
        ));
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), None);
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(u64::MAX)));
        // 1234/100000 of a second → 12340 µs, up to 20 ms
        let p = resource_properties(&res(r#"{"cpu":{"quota":1234,"period":100000}}"#));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(20_000)));
        // nothing given, nothing set
        assert!(resource_properties(&res("{}")).is_empty());
        assert!(list_to_mask("3-1").is_none() && list_to_mask("x").is_none());
    }

    #[test]
    fn a_scope_has_its_pid_and_delegation() {
        let s = Scope::parse(Some("machine.slice:k3:c"), "c").unwrap();
        let p = scope_properties(&s, "c", 77, Some(&res(r#"{"pids":{"limit":5}}"#)));
        assert_eq!(get(&p, "Slice"), Some(&Value::str("machine.slice")));
        assert_eq!(
            get(&p, "PIDs"),
            Some(&Value::Array("u".into(), vec![Value::U32(77)]))
        );
        assert_eq!(get(&p, "Delegate"), Some(&Value::Bool(true)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(5)));
        assert_eq!(to_array(p).signature(), "a(sv)");
    }
}
