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

/// execve; returns only on failure.
pub fn execve(path: &Path, argv: &[CString], envp: &[CString]) -> Error {
    let Ok(p) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return Error::invalid("process.args[0]", path.display(), "contains a NUL byte");
    };
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: all pointers are valid NUL-terminated strings in null-terminated arrays.
    unsafe { libc::execve(p.as_ptr(), a.as_ptr(), e.as_ptr()) };
    Error::last(format!("exec `{}`", path.display()))
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
