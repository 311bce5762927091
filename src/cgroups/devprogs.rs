//! Device programs on a cgroup: k3rt's attached (BPF_PROG_ATTACH, several allowed),
//! those attached before found (BPF_PROG_QUERY, then a descriptor for each by id)
//! and detached once k3rt's own is in place. Under the
//! systemd driver, systemd attaches its program (from `DevicePolicy=`/`DeviceAllow=`)
//! when it starts the scope; k3rt's program then takes its place, as runc's does, so
//! one program with the container's whole rule list decides.

use std::os::fd::{AsRawFd, OwnedFd};

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: [u32; 9],
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
    pad: [u32; 5],
}

/// The attributes of BPF_PROG_ATTACH and BPF_PROG_DETACH (one layout for both).
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    pad: [u32; 11],
}

const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_ATTACH: libc::c_long = 8;
/// Several programs of a type on one cgroup (what systemd and runc use).
const BPF_F_ALLOW_MULTI: u32 = 2;
/// The kernel's limit of programs of one type on a cgroup.
const MAX_PROGS: u32 = 64;

fn u32_of(fd: &impl AsRawFd) -> u32 {
    // descriptors are never negative
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialised struct of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size_of::<T>()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(r)
}

/// Descriptors of the programs of `attach_type` attached to the cgroup `cg`. A
/// program the kernel will not open for k3rt (EPERM/EACCES: an LSM's label) is left
/// out: it can only deny more, never allow.
pub fn attached(cg: &OwnedFd, attach_type: u32) -> std::io::Result<Vec<OwnedFd>> {
    let mut ids = [0u32; MAX_PROGS as usize];
    let mut q = QueryAttr {
        target_fd: u32_of(cg),
        attach_type,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: MAX_PROGS,
        ..QueryAttr::default()
    };
    bpf(BPF_PROG_QUERY, &mut q)?;
    let n = usize::try_from(q.prog_cnt.min(MAX_PROGS)).unwrap_or(0);
    let mut out = Vec::with_capacity(n);
    for id in &ids[..n] {
        let mut g = GetFdAttr {
            prog_id: *id,
            ..GetFdAttr::default()
        };
        match bpf(BPF_PROG_GET_FD_BY_ID, &mut g) {
            Ok(fd) => out.push(k3_sys::linux::owned_fd(fd)?),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {}
            // gone since the query: nothing to detach
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Attaches `prog` to the cgroup `cg` beside any program of `attach_type` there
/// (`BPF_F_ALLOW_MULTI`).
pub fn attach(cg: &OwnedFd, prog: &OwnedFd, attach_type: u32) -> std::io::Result<()> {
    let mut a = AttachAttr {
        target_fd: u32_of(cg),
        attach_bpf_fd: u32_of(prog),
        attach_type,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..AttachAttr::default()
    };
    bpf(BPF_PROG_ATTACH, &mut a).map(|_| ())
}

/// Detaches `prog` (attached by [`attach`]) from the cgroup `cg`; one that is gone
/// already is detached.
pub fn detach(cg: &OwnedFd, prog: &OwnedFd, attach_type: u32) -> std::io::Result<()> {
    let mut d = AttachAttr {
        target_fd: u32_of(cg),
        attach_bpf_fd: u32_of(prog),
        attach_type,
        ..AttachAttr::default()
    };
    match bpf(BPF_PROG_DETACH, &mut d) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r.map(|_| ()),
    }
}
