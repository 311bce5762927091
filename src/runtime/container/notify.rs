//! sd_notify passthrough, as runc and crun do it: with `NOTIFY_SOCKET` in `create`'s
//! environment the container gets a socket of k3rt's (the state dir's `notify/`
//! bound read-only at /run/notify, `NOTIFY_SOCKET=/run/notify/notify.sock` in its
//! environment); `start` binds it before releasing the init and forwards what the
//! container sends to the caller's socket until `READY=1` (or the init is gone).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{MountBuilder, Spec};

use crate::statedir::{pid_alive, ContainerDir};
use crate::{Error, Result};
use k3_oci::state::ContainerState;

/// Where the container finds its socket.
pub const IN_CONTAINER_DIR: &str = "/run/notify";
const SOCKET: &str = "notify.sock";

/// The caller's socket: `NOTIFY_SOCKET` when it names a path (an abstract `@name`
/// cannot be bind-mounted; it is left alone, as runc does).
pub fn host_socket() -> Option<PathBuf> {
    let v = std::env::var_os("NOTIFY_SOCKET")?;
    let p = PathBuf::from(v);
    p.is_absolute().then_some(p)
}

fn dir_of(state_dir: &Path) -> PathBuf {
    state_dir.join("notify")
}

/// At create: the bind mount of the state dir's `notify/` and the environment
/// variable, added to the spec (the config.json kept in the state dir is unchanged).
pub fn setup_spec(spec: &mut Spec, state_dir: &Path) -> Result<()> {
    let mount = MountBuilder::default()
        .destination(IN_CONTAINER_DIR)
        .typ("bind")
        .source(dir_of(state_dir))
        .options(
            ["bind", "nosuid", "noexec", "nodev", "ro"]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .map_err(|e| Error::invalid("NOTIFY_SOCKET", IN_CONTAINER_DIR, e.to_string()))?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process().clone() {
        let mut p = p;
        let mut env: Vec<String> = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={IN_CONTAINER_DIR}/{SOCKET}"));
        p.set_env(Some(env));
        spec.set_process(Some(p));
    }
    Ok(())
}

/// At create, once the state dir exists: the directory the mount shows.
pub fn make_dir(state_dir: &Path) -> Result<()> {
    let d = dir_of(state_dir);
    std::fs::create_dir(&d).map_err(|e| Error::io("create notify dir", &d, e))?;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod notify dir", &d, e))
}

/// The bound socket `start` reads, and where it forwards.
#[derive(Debug)]
pub struct Forwarder {
    sock: UnixDatagram,
    host: PathBuf,
}

/// At start: binds the container's socket when create set one up and the caller
/// gave `NOTIFY_SOCKET`; None otherwise.
pub fn bind(dir: &ContainerDir) -> Result<Option<Forwarder>> {
    let Some(host) = host_socket() else {
        return Ok(None);
    };
    let d = dir_of(&dir.path);
    if !d.is_dir() {
        return Ok(None);
    }
    let path = d.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).map_err(|e| Error::io("bind notify socket", &path, e))?;
    // any user in the container may notify
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| Error::io("chmod notify socket", &path, e))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| Error::io("notify socket timeout", &path, e))?;
    Ok(Some(Forwarder { sock, host }))
}

impl Forwarder {
    /// Forwards each message to the caller's socket until one says `READY=1`, or the
    /// container's init is gone.
    pub fn forward_until_ready(&self, st: &ContainerState) -> Result<()> {
        let mut buf = vec![0u8; 4096];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let msg = &buf[..n];
                    let out = UnixDatagram::unbound()
                        .map_err(|e| Error::io("notify socket", &self.host, e))?;
                    out.send_to(msg, &self.host)
                        .map_err(|e| Error::io("forward to NOTIFY_SOCKET", &self.host, e))?;
                    if String::from_utf8_lossy(msg).lines().any(|l| l == "READY=1") {
                        return Ok(());
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if !pid_alive(st.pid, st.pid_start_time) {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read notify socket", &self.host, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_gets_the_mount_and_the_variable() {
        let mut spec = Spec::default();
        setup_spec(&mut spec, Path::new("/run/k3rt/c1")).unwrap();
        let m = spec.mounts().as_ref().unwrap().last().unwrap().clone();
        assert_eq!(m.destination(), Path::new("/run/notify"));
        assert_eq!(
            m.source().as_deref(),
            Some(Path::new("/run/k3rt/c1/notify"))
        );
        let env = spec.process().as_ref().unwrap().env().clone().unwrap();
        assert_eq!(
            env.iter()
                .filter(|e| e.starts_with("NOTIFY_SOCKET="))
                .collect::<Vec<_>>(),
            ["NOTIFY_SOCKET=/run/notify/notify.sock"]
        );
    }
}
