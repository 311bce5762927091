//! Finding the program to exec (PATH of the container's env) and preparing argv/envp
//! before the point of no return.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Call, ProcessError, Protocol};
use crate::{Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Looks `name` up like execvp would, with the container's `PATH`. The messages carry
/// execve's own words, which engines map to exit codes (podman, docker: `no such file or
/// directory` and `executable file not found` are 127, anything else 126).
pub fn lookup(name: &str, env: &[String], cwd: &Path) -> Result<PathBuf> {
    let probe = |p: &Path| match std::fs::metadata(p) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Found::Executable,
        Ok(_) => Found::NotExecutable,
        Err(_) => Found::Missing,
    };
    if name.contains('/') {
        let p = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            cwd.join(name)
        };
        return match probe(&p) {
            Found::Executable => Ok(p),
            Found::NotExecutable => Err(Error::invalid(
                "process.args[0]",
                name,
                "exec: permission denied",
            )),
            Found::Missing => Err(Error::invalid(
                "process.args[0]",
                name,
                "exec: no such file or directory",
            )),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let mut denied = false;
    for d in path.split(':') {
        let p = Path::new(if d.is_empty() { "." } else { d }).join(name);
        match probe(&p) {
            Found::Executable => return Ok(p),
            Found::NotExecutable => denied = true,
            Found::Missing => {}
        }
    }
    // execvp: EACCES when a candidate existed but could not be executed
    Err(Error::invalid(
        "process.args[0]",
        name,
        if denied {
            "exec: permission denied"
        } else {
            "executable file not found in $PATH"
        },
    ))
}

enum Found {
    Executable,
    NotExecutable,
    Missing,
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
        let e = lookup("/etc/passwd", &[], Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{e}");
        let e = lookup("/nonexistent", &[], Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("no such file or directory"), "{e}");
    }
}

/// The program to exec, resolved and converted before the point of no return.
#[derive(Debug)]
pub struct Program {
    /// The program, resolved against `PATH`.
    pub path: PathBuf,
    /// argv, argv[0] included.
    pub argv: Vec<CString>,
    /// The environment, `KEY=VALUE`.
    pub envp: Vec<CString>,
}

impl Program {
    /// Resolves `process.args[0]` with the process's PATH (call inside the container's root).
    pub fn for_process(process: &oci_spec::runtime::Process) -> Result<Program> {
        let mut env = dedup_env(process.env().clone().unwrap_or_default());
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        add_home(&mut env, process.user().uid(), &passwd);
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

/// One entry per variable: the value of the last, in the place of the first (as runc
/// 1.1, whose exec goes through Go's dedupEnv).
pub fn dedup_env(env: Vec<String>) -> Vec<String> {
    let mut at = std::collections::HashMap::new();
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for kv in env {
        let k = kv.split('=').next().unwrap_or_default().to_string();
        match at.get(&k) {
            Some(&i) => out[i] = kv,
            None => {
                at.insert(k, out.len());
                out.push(kv);
            }
        }
    }
    out
}

/// Without HOME in the env, sets it as runc and crun do: the home of `uid` in the
/// container's /etc/passwd, else `/`.
pub fn add_home(env: &mut Vec<String>, uid: u32, passwd: &str) {
    if env.iter().any(|e| e.starts_with("HOME=")) {
        return;
    }
    let home = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse() == Ok(uid))
        .map(|f| f[5].to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string());
    env.push(format!("HOME={home}"));
}

#[cfg(test)]
mod home_tests {
    use super::add_home;

    #[test]
    fn home_from_passwd_else_root_dir() {
        let pw = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
        let mut env = vec!["PATH=/bin".to_string()];
        add_home(&mut env, 0, pw);
        assert_eq!(env, ["PATH=/bin", "HOME=/root"]);
        let mut env = vec![];
        add_home(&mut env, 1000, pw);
        assert_eq!(env, ["HOME=/"]);
        let mut env = vec!["HOME=/tmp".to_string()];
        add_home(&mut env, 0, pw);
        assert_eq!(env, ["HOME=/tmp"]);
    }

    #[test]
    fn dedup_env_keeps_the_last() {
        let env = ["A=1", "B=2", "A=3", "C"].map(String::from).to_vec();
        assert_eq!(super::dedup_env(env), ["A=3", "B=2", "C"]);
    }
}

/// k3rt-dmz (see `dmz/dmz.c`), built by build.rs.
const DMZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/k3rt-dmz"));

/// A sealed, read-only memfd holding k3rt-dmz.
#[derive(Debug)]
pub struct Dmz(std::os::fd::OwnedFd);

const MFD_EXEC: libc::c_uint = 0x10;
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// A new close-on-exec memfd called `name`, filled by `fill`, then sealed against
/// every change (a writer gets EPERM, through /proc/PID/exe too).
fn sealed_memfd(
    name: &std::ffi::CStr,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a C string name; flags are valid memfd flags.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 {
        // kernels before 6.3 do not know MFD_EXEC
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(
            ProcessError::last(Call::CreateMemfd(name.to_string_lossy().into_owned())).into(),
        );
    }
    // SAFETY: new descriptor owned by nobody else.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    fill(&mut file).map_err(|source| ProcessError::Call {
        call: Call::FillMemfd(name.to_string_lossy().into_owned()),
        source,
    })?;
    // the kernel refuses the write seal (EBUSY) while a page is still pinned by someone
    // else for a moment: try again briefly before giving up
    let mut tries = 0;
    // SAFETY: fcntl on our descriptor.
    while unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        tries += 1;
        if tries < 20 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBUSY) {
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        }
        return Err(
            ProcessError::last(Call::SealMemfd(name.to_string_lossy().into_owned())).into(),
        );
    }
    Ok(file.into())
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): returns only on failure.
fn exec_fd(fd: &std::os::fd::OwnedFd, argv: &[*const libc::c_char], envp: &[CString]) {
    use std::os::fd::AsRawFd;
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: valid fd, empty path with AT_EMPTY_PATH, null-terminated arrays of C
    // strings that outlive the call (argv's last element is null, checked by callers).
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
}

/// Set in the environment of the sealed copy so that a kernel that hides the seals
/// cannot make k3rt re-exec itself for ever.
const SEALED_ENV: &str = "_K3RT_SEALED_EXE";

/// Makes sure this process runs from a copy of k3rt that nobody can write, re-executing
/// itself from one if not (CVE-2019-5736: a container process that reaches a waiting
/// init or a joining `exec` through a shared PID namespace opens `/proc/PID/exe`; that
/// must never be the host's k3rt binary). The copy is, cheapest first: the binary
/// itself when it sits on a read-only mount; the binary seen through a read-only
/// overlayfs mounted nowhere ([`k3_sys::linux::readonly_overlay_file`], no data copied;
/// its second, hidden layer is the state root `root` when it exists, else `/dev`); a
/// sealed memfd copy (4 MB written at each start) where the kernel refuses that
/// overlay. As root the process also becomes non-dumpable, which every child inherits
/// from its first instruction: no container process may ptrace it or open its
/// `/proc/PID` files before the final exec.
/// Call first thing in the verbs that make container processes (create, run, exec).
pub fn ensure_sealed_self(root: &Path) -> Result<()> {
    set_undumpable();
    let exe = std::fs::File::open("/proc/self/exe")
        .map_err(|e| Error::io("open own binary", "/proc/self/exe", e))?;
    if unwritable(&exe) {
        std::env::remove_var(SEALED_ENV);
        return Ok(());
    }
    if std::env::var_os(SEALED_ENV).is_some() {
        return Err(Protocol::NotSealed.into());
    }
    let copy = match overlay_self(root) {
        Some(fd) => fd,
        None => memfd_self(&exe)?,
    };
    drop(exe);
    reexec(&copy)
}

/// As root, makes this process non-dumpable (every child inherits it from its first
/// instruction): a container process can then neither ptrace it nor open its
/// `/proc/PID` files (`exe` included) without CAP_SYS_PTRACE on the host.
pub fn set_undumpable() {
    // SAFETY: geteuid has no failure mode.
    if unsafe { libc::geteuid() } == 0 {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    }
}

/// Whether `k3rt run` of `spec` needs the unwritable copy of k3rt
/// ([`ensure_sealed_self`]) before it clones the init. It does not when no container
/// process can ever see k3rt's code running: the container gets a new PID namespace
/// (its init is pid 1 there, alone until its own exec, which `run` does at once: no
/// created state for another container to join meanwhile) and has no
/// `createContainer` or `startContainer` hook (those run in the container's namespaces
/// while the init waits). Processes of the host's PID namespace see k3rt either way;
/// there the non-dumpable flag ([`set_undumpable`]) is the guard, as for every other
/// verb. `create` and `exec` always need the copy.
pub fn run_needs_sealed_copy(spec: &oci_spec::runtime::Spec) -> bool {
    use oci_spec::runtime::LinuxNamespaceType;
    let new_pid_ns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Pid && n.path().is_none())
        });
    let hooks_inside = spec.hooks().as_ref().is_some_and(|h| {
        h.create_container().as_ref().is_some_and(|v| !v.is_empty())
            || h.start_container().as_ref().is_some_and(|v| !v.is_empty())
    });
    !new_pid_ns || hooks_inside
}

/// Whether the file `exe` cannot be written by anyone: a memfd sealed against writes,
/// or a file on a read-only mount (a plain read-only bind, or the overlay of
/// [`overlay_self`]).
fn unwritable(exe: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on our descriptor; a file that is no memfd answers EINVAL.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & SEALS == SEALS {
        return true;
    }
    // SAFETY: fstatvfs fills the struct we pass.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; our descriptor and a valid out pointer.
    (unsafe { libc::fstatvfs(exe.as_raw_fd(), &mut vfs) }) == 0 && vfs.f_flag & libc::ST_RDONLY != 0
}

/// This binary opened through a read-only overlayfs of its directory; `None` where the
/// kernel or the layout refuses one (no overlayfs, no right to mount, a deleted or
/// replaced binary, layers that overlap), and the caller falls back to a memfd copy.
fn overlay_self(root: &Path) -> Option<std::os::fd::OwnedFd> {
    let path = std::fs::read_link("/proc/self/exe").ok()?;
    if !path.is_absolute() || path.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
        return None;
    }
    let (dir, name) = (path.parent()?, path.file_name()?);
    [root, Path::new("/dev")]
        .into_iter()
        .filter(|f| f.is_dir())
        .find_map(|filler| k3_sys::linux::readonly_overlay_file(dir, filler, name).ok())
}

/// A sealed memfd copy of this binary (`exe`).
fn memfd_self(exe: &std::fs::File) -> Result<std::os::fd::OwnedFd> {
    let len = exe
        .metadata()
        .map_err(|e| Error::io("stat own binary", "/proc/self/exe", e))?
        .len();
    // plain read/write: sendfile/splice would leave pages pinned for a moment, and
    // sealing against writes fails with EBUSY while any page is pinned
    sealed_memfd(c"k3rt", |dst| {
        use std::io::{Read, Write};
        let mut src = exe;
        let mut buf = vec![0u8; 256 << 10];
        let mut left = len;
        while left > 0 {
            let n = src.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            dst.write_all(&buf[..n])?;
            left = left.saturating_sub(n as u64);
        }
        Ok(())
    })
}

/// Executes `copy` with this process's arguments and environment, marked with
/// [`SEALED_ENV`]; returns only on failure.
fn reexec(copy: &std::os::fd::OwnedFd) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Protocol::NulInArgument)?;
    let mut envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    envp.extend(CString::new(format!("{SEALED_ENV}=1")).ok());
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    a.push(std::ptr::null());
    exec_fd(copy, &a, &envp);
    Err(ProcessError::last(Call::Reexec).into())
}

/// Every catchable signal back to SIG_DFL (SIGKILL and SIGSTOP cannot be changed).
pub fn reset_signal_dispositions() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; numbers the kernel reserves
        // (glibc's internal real-time signals) fail with EINVAL, which is fine.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

impl Dmz {
    /// Writes k3rt-dmz into a new memfd and seals it against every change.
    pub fn new() -> Result<Dmz> {
        use std::io::Write;
        sealed_memfd(c"k3rt-dmz", |f| f.write_all(DMZ)).map(Dmz)
    }

    /// Execs the program through the dmz; returns only on failure. The program starts
    /// as runc's and crun's do: every signal at its default action (a signal ignored by
    /// k3rt's caller — a shell's `&` job ignores SIGINT and SIGQUIT — or by the Rust
    /// runtime — SIGPIPE — would otherwise stay ignored across the exec).
    pub fn exec(&self, prog: &Program) -> Error {
        reset_signal_dispositions();
        let (path, argv, envp) = (&prog.path, &prog.argv, &prog.envp);
        let Ok(p) = CString::new(path.as_os_str().as_encoded_bytes()) else {
            return Error::invalid("process.args[0]", path.display(), "contains a NUL byte");
        };
        let mut a: Vec<*const libc::c_char> = vec![p.as_ptr()];
        a.extend(argv.iter().map(|c| c.as_ptr()));
        a.push(std::ptr::null());
        exec_fd(&self.0, &a, envp);
        ProcessError::last(Call::Exec(path.clone())).into()
    }
}

#[cfg(test)]
mod sealed_copy_tests {
    use super::run_needs_sealed_copy;

    fn spec(linux_and_hooks: &str) -> oci_spec::runtime::Spec {
        let json =
            format!(r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}}{linux_and_hooks}}}"#);
        k3_oci::spec::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn run_with_its_own_pid_namespace_needs_no_copy() {
        let s = spec(r#","linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}"#);
        assert!(!run_needs_sealed_copy(&s));
        // hooks that run in the runtime's namespaces change nothing
        let s = spec(
            r#","linux":{"namespaces":[{"type":"pid"}]},"hooks":{"prestart":[{"path":"/bin/true"}],"createRuntime":[{"path":"/bin/true"}],"poststart":[{"path":"/bin/true"}]}"#,
        );
        assert!(!run_needs_sealed_copy(&s));
    }

    #[test]
    fn run_sharing_a_pid_namespace_needs_the_copy() {
        // joined by path: the namespace has container processes in it
        let s = spec(r#","linux":{"namespaces":[{"type":"pid","path":"/proc/1/ns/pid"}]}"#);
        assert!(run_needs_sealed_copy(&s));
        // no PID namespace: the host's, shared with every host-PID container
        let s = spec(r#","linux":{"namespaces":[{"type":"mount"}]}"#);
        assert!(run_needs_sealed_copy(&s));
        assert!(run_needs_sealed_copy(&spec("")));
    }

    #[test]
    fn run_with_hooks_inside_the_container_needs_the_copy() {
        for hook in ["createContainer", "startContainer"] {
            let s = spec(&format!(
                r#","linux":{{"namespaces":[{{"type":"pid"}}]}},"hooks":{{"{hook}":[{{"path":"/bin/true"}}]}}"#
            ));
            assert!(run_needs_sealed_copy(&s), "{hook}");
        }
        let s = spec(r#","linux":{"namespaces":[{"type":"pid"}]},"hooks":{"startContainer":[]}"#);
        assert!(!run_needs_sealed_copy(&s));
    }
}
