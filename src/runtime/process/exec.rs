//! Finding the program to exec (PATH of the container's env) and preparing argv/envp
//! before the point of no return.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::runtime::{Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Looks `name` up like execvp would, with the container's `PATH`.
pub fn lookup(name: &str, env: &[String], cwd: &Path) -> Result<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            cwd.join(name)
        };
        return if executable(&p) {
            Ok(p)
        } else {
            Err(Error::invalid(
                "process.args[0]",
                name,
                "no such executable in the container",
            ))
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(name))
        .find(|p| executable(p))
        .ok_or_else(|| {
            Error::invalid(
                "process.args[0]",
                name,
                "executable file not found in $PATH",
            )
        })
}

/// argv/envp as C strings, built before the exec.
pub fn cstrings(v: &[String], field: &'static str) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| Error::invalid(field, s, "contains a NUL byte"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(lookup("sh", &env, Path::new("/")).unwrap().ends_with("sh"));
        let e = lookup("no-such-prog-k3", &env, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`no-such-prog-k3`") && e.contains("$PATH"),
            "{e}"
        );
        assert!(lookup("/bin/sh", &[], Path::new("/")).is_ok());
        assert!(lookup("/etc/passwd", &[], Path::new("/")).is_err());
    }
}

/// The program to exec, resolved and converted before the point of no return.
#[derive(Debug)]
pub struct Program {
    pub path: PathBuf,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

impl Program {
    /// Resolves `process.args[0]` with the process's PATH (call inside the container's root).
    pub fn for_process(process: &oci_spec::runtime::Process) -> Result<Program> {
        let env: Vec<String> = process.env().clone().unwrap_or_default();
        let args = process.args().as_deref().unwrap_or_default();
        let first = args
            .first()
            .ok_or_else(|| Error::invalid("process.args", "[]", "must name the program to run"))?;
        Ok(Program {
            path: lookup(first, &env, process.cwd())?,
            argv: cstrings(args, "process.args")?,
            envp: cstrings(&env, "process.env")?,
        })
    }
}

/// k3rt-dmz (see `dmz/dmz.c`), built by build.rs.
const DMZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/k3rt-dmz"));

/// A sealed, read-only memfd holding k3rt-dmz.
#[derive(Debug)]
pub struct Dmz(std::os::fd::OwnedFd);

const MFD_EXEC: libc::c_uint = 0x10;

impl Dmz {
    /// Writes k3rt-dmz into a new memfd and seals it against every change.
    pub fn new() -> Result<Dmz> {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        let name = c"k3rt-dmz";
        let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: static name; flags are valid memfd flags.
        let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
        if fd < 0 {
            // kernels before 6.3 do not know MFD_EXEC
            // SAFETY: as above.
            fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
        }
        if fd < 0 {
            return Err(Error::last("create memfd for k3rt-dmz"));
        }
        // SAFETY: new descriptor owned by nobody else.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(DMZ)
            .map_err(|e| Error::sys("write k3rt-dmz", e))?;
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on our descriptor.
        if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } < 0 {
            return Err(Error::last("seal k3rt-dmz memfd"));
        }
        Ok(Dmz(file.into()))
    }

    /// Execs the program through the dmz; returns only on failure.
    pub fn exec(&self, prog: &Program) -> Error {
        use std::os::fd::AsRawFd;
        let (path, argv, envp) = (&prog.path, &prog.argv, &prog.envp);
        let Ok(p) = CString::new(path.as_os_str().as_encoded_bytes()) else {
            return Error::invalid("process.args[0]", path.display(), "contains a NUL byte");
        };
        let mut a: Vec<*const libc::c_char> = vec![p.as_ptr()];
        a.extend(argv.iter().map(|c| c.as_ptr()));
        a.push(std::ptr::null());
        let mut e: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
        e.push(std::ptr::null());
        // SAFETY: valid fd, empty path with AT_EMPTY_PATH, null-terminated arrays of C strings.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.0.as_raw_fd(),
                c"".as_ptr(),
                a.as_ptr(),
                e.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        Error::last(format!("exec `{}`", path.display()))
    }
}
