//! A container's device rules → systemd's `DevicePolicy=` and `DeviceAllow=` (`a(ss)`),
//! as runc's systemd driver maps them, so that systemd, which re-applies a unit's
//! properties on a daemon-reload or a property change, holds the same rules as the
//! device program k3rt attaches and neither drops nor widens them.
//!
//! The rules are first reduced as the v1 devices controller would hold them: a
//! default (deny or allow all) and exceptions with their accesses. systemd only has
//! allow lists, so:
//! * deny by default (the usual list): `DevicePolicy=strict` and one `DeviceAllow=`
//!   per exception: `/dev/char/M:N` (`/dev/block/M:N`) for a device; for every minor
//!   of a major the major's group in /proc/devices, `char-pts` for 136 (what runc 1.1
//!   sends, and what every systemd version reads), or `char-M` (systemd 240 and later;
//!   runc 1.2's form) for a major with no group; `char-*` (`block-*`) for every device
//!   of a type; `*:N` (any major, one minor) cannot be written and is left to k3rt's
//!   own program;
//! * allow everything: `DevicePolicy=auto` and no `DeviceAllow=`;
//! * allow by default with exceptions (a deny list): systemd cannot hold it; it gets
//!   a deny-all `strict` policy and k3rt's program, which replaces systemd's at
//!   create, is what applies (runc does the same).
//!
//! The list always starts with an empty `DeviceAllow=`, which clears what a unit
//! had before.

use std::collections::BTreeMap;

use crate::bpf::Rule;
use crate::dbus::Value;

/// An exception's device: (major, minor, type) with a wildcard as `None`, ordered as
/// runc orders them (wildcards first, then by number, block before char).
type Key = (Option<u32>, Option<u32>, u32);

/// The v1 devices controller's view of a rule list: its default and its exceptions.
#[derive(Debug, Default, PartialEq, Eq)]
struct Reduced {
    /// Everything not listed is allowed (a deny list).
    allow_by_default: bool,
    /// The listed devices and their access bits (1 mknod, 2 read, 4 write).
    except: BTreeMap<Key, u32>,
}

impl Reduced {
    /// Applies the rules in order, as writes to devices.allow / devices.deny would.
    fn of(rules: &[Rule]) -> Result<Reduced, String> {
        let mut r = Reduced::default();
        for rule in rules {
            r.apply(rule)?;
        }
        Ok(r)
    }

    fn apply(&mut self, rule: &Rule) -> Result<(), String> {
        let Some(kind) = rule.kind else {
            // `a`: a new default, no exceptions
            *self = Reduced {
                allow_by_default: rule.allow,
                except: BTreeMap::new(),
            };
            return Ok(());
        };
        let key = (rule.major, rule.minor, kind);
        if rule.allow == self.allow_by_default {
            self.remove(key, rule)
        } else {
            *self.except.entry(key).or_insert(0) |= rule.access;
            Ok(())
        }
    }

    /// Takes `rule`'s accesses off the exception for `key`. A wider exception that
    /// covers some of them cannot be cut (the v1 controller refuses it too).
    fn remove(&mut self, key: Key, rule: &Rule) -> Result<(), String> {
        let (major, minor, kind) = key;
        for wider in [(None, minor, kind), (major, None, kind), (None, None, kind)] {
            if wider == key {
                continue;
            }
            if self
                .except
                .get(&wider)
                .is_some_and(|a| a & rule.access != 0)
            {
                return Err(format!(
                    "the rule `{}` cuts a hole in the wider rule `{}`, which the device policy cannot hold",
                    show(key, rule.access),
                    show(wider, self.except.get(&wider).copied().unwrap_or(0)),
                ));
            }
        }
        if let Some(a) = self.except.get_mut(&key) {
            *a &= !rule.access;
            if *a == 0 {
                self.except.remove(&key);
            }
        }
        Ok(())
    }
}

/// `c 1:3 rwm` for messages.
fn show((major, minor, kind): Key, access: u32) -> String {
    let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
    let t = if kind == 1 { 'b' } else { 'c' };
    format!("{t} {}:{} {}", n(major), n(minor), perms(access))
}

/// Access bits as systemd's permission string, in its order (`rwm`).
fn perms(access: u32) -> String {
    [(2, 'r'), (4, 'w'), (1, 'm')]
        .iter()
        .filter(|(bit, _)| access & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// The name /proc/devices (its text `proc_devices`) gives the `major` of a type
/// (1 block, 2 char); the first when several share it.
fn group_name(proc_devices: &str, kind: u32, major: u32) -> Option<&str> {
    let mut in_kind = false;
    for line in proc_devices.lines().map(str::trim) {
        match line {
            "Character devices:" => in_kind = kind == 2,
            "Block devices:" => in_kind = kind == 1,
            _ if in_kind => {
                if let Some((n, name)) = line.split_once(char::is_whitespace) {
                    if n.parse() == Ok(major) {
                        return Some(name.trim());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The `DeviceAllow=` path of an exception; `None` for `*:N` (systemd has no syntax
/// for one minor of every major).
fn allow_path((major, minor, kind): Key, proc_devices: &str) -> Option<String> {
    let group = if kind == 1 { "block" } else { "char" };
    match (major, minor) {
        (None, None) => Some(format!("{group}-*")),
        (None, Some(_)) => None,
        (Some(m), None) => match group_name(proc_devices, kind, m) {
            Some(name) => Some(format!("{group}-{name}")),
            None => Some(format!("{group}-{m}")),
        },
        (Some(m), Some(n)) => Some(format!("/dev/{group}/{m}:{n}")),
    }
}

/// `a(ss)` of (path, permissions) pairs.
fn allow_list(entries: Vec<(String, String)>) -> Value {
    Value::Array(
        "(ss)".into(),
        entries
            .into_iter()
            .map(|(p, a)| Value::Struct(vec![Value::Str(p), Value::Str(a)]))
            .collect(),
    )
}

/// The device properties of a unit whose cgroup gets `rules` (in the order k3rt's
/// own program checks them: [`crate::bpf::rules`]); `proc_devices` is the text of
/// /proc/devices (the group names of majors). An error names a rule systemd's policy
/// cannot hold (a hole cut in a wider exception).
pub fn device_properties(
    rules: &[Rule],
    proc_devices: &str,
) -> Result<Vec<(String, Value)>, String> {
    let reduced = Reduced::of(rules)?;
    let clear = ("DeviceAllow".to_string(), allow_list(Vec::new()));
    let policy = |p: &str| ("DevicePolicy".to_string(), Value::str(p));
    if reduced.allow_by_default {
        if reduced.except.is_empty() {
            return Ok(vec![clear, policy("auto")]);
        }
        // a deny list: deny everything here; k3rt's program holds the real rules
        return Ok(vec![clear, policy("strict")]);
    }
    let entries = reduced
        .except
        .iter()
        .filter_map(|(k, a)| allow_path(*k, proc_devices).map(|p| (p, perms(*a))))
        .collect();
    Ok(vec![
        clear,
        policy("strict"),
        ("DeviceAllow".to_string(), allow_list(entries)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(bool, &str)]) -> Vec<Rule> {
        list.iter()
            .map(|(allow, s)| Rule::parse(*allow, s).unwrap())
            .collect()
    }

    /// The (path, perms) pairs of the last `DeviceAllow`, and the policy.
    fn shown(p: &[(String, Value)]) -> (String, Vec<(String, String)>) {
        let policy = p
            .iter()
            .find_map(|(n, v)| match (n.as_str(), v) {
                ("DevicePolicy", Value::Str(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap();
        let allow = p
            .iter()
            .rev()
            .find_map(|(n, v)| match (n.as_str(), v) {
                ("DeviceAllow", Value::Array(_, items)) => Some(items.clone()),
                _ => None,
            })
            .unwrap()
            .into_iter()
            .map(|s| match s {
                Value::Struct(f) => match (&f[0], &f[1]) {
                    (Value::Str(a), Value::Str(b)) => (a.clone(), b.clone()),
                    _ => panic!("{f:?}"),
                },
                v => panic!("{v:?}"),
            })
            .collect();
        (policy, allow)
    }

    const PROC_DEVICES: &str = "Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n136 pts\n\nBlock devices:\n  8 sd\n259 blkext\n";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_default_list_maps_to_a_strict_policy_with_runcs_paths() {
        // deny all, one extra device, the nodes and defaults (crate::bpf::rules)
        let mut r = rules(&[(false, "a"), (true, "c 10:229 rwm")]);
        r.extend(crate::bpf::rules(&[], &[]));
        let p = device_properties(&r, PROC_DEVICES).unwrap();
        // an empty DeviceAllow first clears what the unit had
        assert_eq!(p[0].0, "DeviceAllow");
        assert_eq!(p[0].1, Value::Array("(ss)".into(), vec![]));
        assert_eq!(p[2].1.signature(), "a(ss)");
        let (policy, allow) = shown(&p);
        assert_eq!(policy, "strict");
        assert_eq!(
            allow,
            pairs(&[
                ("block-*", "m"),
                ("char-*", "m"),
                ("/dev/char/1:3", "rwm"),
                ("/dev/char/1:5", "rwm"),
                ("/dev/char/1:7", "rwm"),
                ("/dev/char/1:8", "rwm"),
                ("/dev/char/1:9", "rwm"),
                ("/dev/char/5:0", "rwm"),
                ("/dev/char/5:2", "rwm"),
                ("/dev/char/10:200", "rwm"),
                ("/dev/char/10:229", "rwm"),
                ("char-pts", "rwm"),
            ])
        );
    }

    #[test]
    fn accesses_merge_and_denies_take_them_back() {
        let r = rules(&[
            (false, "a"),
            (true, "c 1:3 r"),
            (true, "c 1:3 w"),
            (true, "b 8:0 rwm"),
            (false, "b 8:0 w"),
            (true, "c 4:1 rw"),
            (false, "c 4:1 rw"),
        ]);
        let (policy, allow) = shown(&device_properties(&r, PROC_DEVICES).unwrap());
        assert_eq!(policy, "strict");
        assert_eq!(
            allow,
            pairs(&[("/dev/char/1:3", "rw"), ("/dev/block/8:0", "rm")])
        );
    }

    #[test]
    fn a_wildcard_major_with_one_minor_is_left_out() {
        let r = rules(&[(false, "a"), (true, "c *:3 rwm"), (true, "c 1:* r")]);
        let (_, allow) = shown(&device_properties(&r, PROC_DEVICES).unwrap());
        assert_eq!(allow, pairs(&[("char-mem", "r")]));
    }

    #[test]
    fn a_major_is_its_group_in_proc_devices_or_its_number() {
        let r = rules(&[
            (false, "a"),
            (true, "b 8:* rw"),
            (true, "c 8:* rw"),
            (true, "c 5:* rwm"),
            (true, "b 250:* r"),
        ]);
        let (_, allow) = shown(&device_properties(&r, PROC_DEVICES).unwrap());
        // the type's own section, the first name of a major, the number without a name
        assert_eq!(
            allow,
            pairs(&[
                ("char-/dev/tty", "rwm"),
                ("block-sd", "rw"),
                ("char-8", "rw"),
                ("block-250", "r"),
            ])
        );
        assert_eq!(group_name("", 2, 136), None);
    }

    #[test]
    fn allow_all_is_the_auto_policy_and_a_deny_list_denies_all() {
        // a later `a` resets everything before it
        let r = rules(&[(false, "a"), (true, "c 1:3 rwm"), (true, "a")]);
        let p = device_properties(&r, PROC_DEVICES).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(shown(&p), ("auto".to_string(), vec![]));
        // allow all but one: systemd cannot say it; deny all there (runc's fallback)
        let r = rules(&[(true, "a"), (false, "b 8:0 rwm")]);
        let p = device_properties(&r, PROC_DEVICES).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(shown(&p), ("strict".to_string(), vec![]));
        // an allow that undoes the deny list's only exception: allow all again
        let r = rules(&[(true, "a"), (false, "b 8:0 rwm"), (true, "b 8:0 rwm")]);
        assert_eq!(
            shown(&device_properties(&r, PROC_DEVICES).unwrap()).0,
            "auto"
        );
    }

    #[test]
    fn a_hole_in_a_wider_rule_is_refused_naming_both() {
        let r = rules(&[(false, "a"), (true, "c 1:* rwm"), (false, "c 1:3 w")]);
        let e = device_properties(&r, PROC_DEVICES).unwrap_err();
        assert!(e.contains("`c 1:3 w`") && e.contains("`c 1:* rwm`"), "{e}");
        // no overlap in accesses: nothing to cut
        let r = rules(&[(false, "a"), (true, "c 1:* r"), (false, "c 1:3 w")]);
        assert!(device_properties(&r, PROC_DEVICES).is_ok());
    }

    #[test]
    fn no_rules_deny_everything() {
        // the kernel's default for a program with no rule: nothing allowed
        assert_eq!(
            shown(&device_properties(&[], PROC_DEVICES).unwrap()),
            ("strict".to_string(), vec![])
        );
    }
}
