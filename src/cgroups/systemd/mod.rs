//! The systemd cgroup driver: the container's cgroup is a transient scope that
//! systemd creates (`StartTransientUnit` with the init's pid and `Delegate=yes`),
//! with the limits systemd knows as unit properties, so `systemctl status` shows the
//! unit and its limits and systemd never undoes them. What systemd cannot express is
//! written to the delegated cgroup by the cgroupfs code, as runc does.

mod devices;
mod props;

pub use devices::device_properties;
pub use props::{resource_properties, scope_properties};

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use crate::dbus::{Conn, DbusError, Value, SYSTEM_BUS};
use crate::error::CgroupError;
use crate::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a job (start or stop of a scope) may take.
const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// A container's scope: its unit name, slice, and cgroup path in the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The scope's unit name, `PREFIX-NAME.scope`.
    pub unit: String,
    /// The slice the scope is placed in, e.g. `system.slice`.
    pub slice: String,
    /// `/system.slice/k3rt-ID.scope`: where the system manager puts it (a user's
    /// manager puts it below its own cgroup: [`placed`] reads where it is).
    pub cgroup: PathBuf,
}

impl Scope {
    /// The scope for a `slice:prefix:name` cgroupsPath (empty slice: `system.slice`,
    /// no path: `system.slice:k3rt:ID`).
    pub fn parse(spec_path: Option<&str>, id: &str) -> std::result::Result<Scope, String> {
        let cgroup = crate::systemd_path(spec_path, id)?;
        let unit = cgroup
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !unit.ends_with(".scope") {
            return Err(format!(
                "`{unit}` is a slice: the systemd driver makes a scope for the container (`slice:prefix:name`)"
            ));
        }
        let slice = match cgroup.parent().and_then(Path::file_name) {
            Some(s) => s.to_string_lossy().into_owned(),
            None => "-.slice".to_string(),
        };
        Ok(Scope {
            unit,
            slice,
            cgroup,
        })
    }
}

/// The bus the driver talks to: the system bus as root, the user's bus otherwise
/// (`DBUS_SESSION_BUS_ADDRESS` of the form `unix:path=…`, else `$XDG_RUNTIME_DIR/bus`).
pub fn bus_path() -> String {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    // root of the host: the system bus; root in a user namespace (rootless podman)
    // and other users: the user's own bus
    if euid == 0 && !crate::dbus::in_user_namespace() {
        return SYSTEM_BUS.to_string();
    }
    if let Ok(addr) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        if let Some(p) = addr
            .split(';')
            .find_map(|a| a.strip_prefix("unix:path="))
            .map(|p| p.split(',').next().unwrap_or(p))
        {
            return p.to_string();
        }
    }
    let dir = std::env::var("XDG_RUNTIME_DIR")
        .unwrap_or_else(|_| format!("/run/user/{}", crate::dbus::host_uid(euid)));
    format!("{dir}/bus")
}

/// systemd's own socket, for root when the system bus is not there.
pub const PRIVATE: &str = "/run/systemd/private";

/// A connection to systemd's manager.
#[derive(Debug)]
pub struct Systemd {
    conn: Conn,
    bus: String,
    /// On systemd's private socket: no bus driver to ask for signals.
    direct: bool,
}

impl Systemd {
    /// Connects to systemd over `bus` (see [`bus_path`]); a missing or refusing bus is
    /// an error naming it.
    pub fn connect(bus: &str) -> Result<Systemd> {
        let e = match Conn::connect(bus) {
            Ok(conn) => {
                return Ok(Systemd {
                    conn,
                    bus: bus.to_string(),
                    direct: false,
                })
            }
            Err(e) => e,
        };
        // as root without dbus-daemon: systemd's own socket (what runc's go-systemd uses)
        if bus == SYSTEM_BUS {
            if let Ok(conn) = Conn::connect_direct(PRIVATE) {
                return Ok(Systemd {
                    conn,
                    bus: PRIVATE.to_string(),
                    direct: true,
                });
            }
        }
        let also = if bus == SYSTEM_BUS {
            format!(" (nor over `{PRIVATE}`)")
        } else {
            String::new()
        };
        Err(Error::Cgroup(CgroupError::SystemdUnreachable {
            bus: bus.to_string(),
            also,
            reason: e.to_string(),
        }))
    }

    fn err(&self, what: &str, unit: &str, e: DbusError) -> Error {
        Error::Cgroup(CgroupError::Systemd {
            what: what.to_string(),
            unit: unit.to_string(),
            bus: self.bus.clone(),
            reason: e.to_string(),
        })
    }

    fn watch_jobs(&mut self) -> std::result::Result<(), DbusError> {
        if self.direct {
            return Ok(());
        }
        let rule = format!(
            "type='signal',sender='{DEST}',path='{PATH}',interface='{MANAGER}',member='JobRemoved'"
        );
        self.conn
            .call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                &[Value::Str(rule)],
            )
            .map(|_| ())
    }

    /// Waits for the job's `JobRemoved` and fails unless its result is `done`.
    fn wait_job(&mut self, job: &str) -> std::result::Result<(), DbusError> {
        let m = self.conn.wait_signal(JOB_TIMEOUT, |m| {
            m.member.as_deref() == Some("JobRemoved")
                && matches!(m.body.get(1), Some(Value::Path(p)) if p == job)
        })?;
        match m.body.get(3) {
            Some(Value::Str(r)) if r == "done" => Ok(()),
            Some(Value::Str(r)) => Err(DbusError::Remote(
                "job".into(),
                format!("job `{job}` finished with `{r}` (journalctl has systemd's reason)"),
            )),
            _ => Err(DbusError::Protocol("a JobRemoved without a result".into())),
        }
    }

    fn job_of(body: &[Value]) -> std::result::Result<String, DbusError> {
        match body.first() {
            Some(Value::Path(p)) => Ok(p.clone()),
            _ => Err(DbusError::Protocol("a reply without a job path".into())),
        }
    }

    /// Starts the scope with `pid` in it, the limits and the device rules `devices`
    /// ([`crate::bpf::rules`]) as properties; returns when systemd has finished the
    /// job (the pid is then in the scope's cgroup).
    pub fn start_scope(
        &mut self,
        scope: &Scope,
        id: &str,
        pid: i32,
        resources: Option<&LinuxResources>,
        devices: &[crate::bpf::Rule],
    ) -> Result<()> {
        let mut props = scope_properties(scope, id, pid, resources);
        // the group names of majors (`char-pts`); none read: the numbers (`char-136`)
        let proc_devices = std::fs::read_to_string("/proc/devices").unwrap_or_default();
        props.extend(device_properties(devices, &proc_devices).map_err(|why| {
            Error::Cgroup(CgroupError::SystemdDevices {
                unit: scope.unit.clone(),
                why,
            })
        })?);
        let r = (|| {
            self.watch_jobs()?;
            let body = self.conn.call(
                DEST,
                PATH,
                MANAGER,
                "StartTransientUnit",
                &[
                    Value::str(&scope.unit),
                    Value::str("fail"),
                    props::to_array(props),
                    Value::Array("(sa(sv))".into(), vec![]),
                ],
            )?;
            let job = Self::job_of(&body)?;
            self.wait_job(&job)
        })();
        r.map_err(|e| self.err("start transient unit", &scope.unit, e))
    }

    /// Changes a running unit's limits (runtime only, as runc's update).
    pub fn set_properties(&mut self, unit: &str, resources: &LinuxResources) -> Result<()> {
        let props = resource_properties(resources);
        if props.is_empty() {
            return Ok(());
        }
        let r = self.conn.call(
            DEST,
            PATH,
            MANAGER,
            "SetUnitProperties",
            &[Value::str(unit), Value::Bool(true), props::to_array(props)],
        );
        r.map(|_| ())
            .map_err(|e| self.err("set properties of", unit, e))
    }

    /// Stops the unit and waits for it; a unit systemd no longer knows is stopped.
    pub fn stop_unit(&mut self, unit: &str) -> Result<()> {
        let r = (|| {
            self.watch_jobs()?;
            let body = match self.conn.call(
                DEST,
                PATH,
                MANAGER,
                "StopUnit",
                &[Value::str(unit), Value::str("replace")],
            ) {
                Err(DbusError::Remote(name, _))
                    if name == "org.freedesktop.systemd1.NoSuchUnit" =>
                {
                    return Ok(())
                }
                r => r?,
            };
            let job = Self::job_of(&body)?;
            self.wait_job(&job)
        })();
        r.map_err(|e| self.err("stop unit", unit, e))
    }
}

/// Where systemd put the scope's process `pid` on v2: the scope's cgroup as
/// /proc/PID/cgroup says, read back after the start as runc does. The slice's name
/// gives it only under the system manager: a user's manager (rootless) puts it below
/// its own `user@UID.service`. A process outside a cgroup named for the unit is an
/// error rather than a guess.
pub fn placed(scope: &Scope, pid: i32) -> Result<PathBuf> {
    let found = crate::v2_cgroup_of(pid)?;
    match found {
        Some(p) if p.file_name().is_some_and(|n| *n == *scope.unit) => Ok(p),
        other => Err(Error::Cgroup(CgroupError::ScopeElsewhere {
            unit: scope.unit.clone(),
            pid,
            found: other.map(|p| p.display().to_string()).unwrap_or_default(),
        })),
    }
}

/// Stops `unit` over the default bus (delete, and undo of a failed create).
pub fn stop(unit: &str) -> Result<()> {
    Systemd::connect(&bus_path())?.stop_unit(unit)
}

/// Sets `unit`'s limits over the default bus (update).
pub fn set(unit: &str, resources: &LinuxResources) -> Result<()> {
    Systemd::connect(&bus_path())?.set_properties(unit, resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names() {
        let s = Scope::parse(Some("system.slice:k3test:c1"), "x").unwrap();
        assert_eq!(s.unit, "k3test-c1.scope");
        assert_eq!(s.slice, "system.slice");
        assert_eq!(s.cgroup, Path::new("/system.slice/k3test-c1.scope"));
        let s = Scope::parse(Some(":libpod:abc"), "x").unwrap();
        assert_eq!(
            (s.unit.as_str(), s.slice.as_str()),
            ("libpod-abc.scope", "system.slice")
        );
        let s = Scope::parse(None, "c2").unwrap();
        assert_eq!(s.unit, "k3rt-c2.scope");
        let s = Scope::parse(Some("-.slice:p:n"), "x").unwrap();
        assert_eq!(
            (s.unit.as_str(), s.slice.as_str()),
            ("p-n.scope", "-.slice")
        );
        let s = Scope::parse(Some("a-b.slice::n"), "x").unwrap();
        assert_eq!(
            (s.unit.as_str(), s.slice.as_str()),
            ("n.scope", "a-b.slice")
        );
        assert_eq!(s.cgroup, Path::new("/a.slice/a-b.slice/n.scope"));
        assert!(Scope::parse(Some("a.slice:p:b.slice"), "x")
            .unwrap_err()
            .contains("slice"));
        assert!(Scope::parse(Some("/abs/path"), "x").is_err());
    }

    #[test]
    fn a_missing_bus_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let bus = dir.path().join("no_bus_socket");
        let e = Systemd::connect(bus.to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&format!("`{}`", bus.display())), "{e}");
    }
}
