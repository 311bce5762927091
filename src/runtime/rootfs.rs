//! The container's filesystem view, planned as data from the spec and applied in a
//! thin loop through [`Sys`]: root propagation, the rootfs bind, every spec mount
//! (resolved inside the rootfs), device nodes, pivot_root, then masked and
//! read-only paths and a read-only root.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::devices::{self, DeviceNode};
use crate::error::RootfsError;
use crate::mountopts::{self, MountOptions};
use crate::{Error, Result};
use k3_sys::{Kind, Sys};

/// What kind of mount a step is, when it needs more than one mount(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A filesystem mount (`proc`, `tmpfs`, `devpts` ...).
    Fs,
    /// A bind mount of a host path.
    Bind,
    /// sysfs: falls back to a recursive bind of the host's /sys where mounting is refused.
    Sysfs,
    /// mqueue: falls back to a bind of the host's /dev/mqueue.
    Mqueue,
    /// `cgroup`: cgroup2 on v2 hosts, a tmpfs of per-hierarchy binds on v1.
    Cgroup,
}

/// One spec mount, ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStep {
    /// Where it goes, in the container.
    pub dest: PathBuf,
    /// What is mounted (none for pseudo filesystems).
    pub source: Option<PathBuf>,
    /// The filesystem type (none for binds).
    pub fstype: Option<String>,
    /// Flags and data from `options`.
    pub opts: MountOptions,
    /// How it is applied.
    pub kind: StepKind,
}

/// Everything the rootfs setup will do, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The rootfs on the host.
    pub rootfs: PathBuf,
    /// Propagation for `/` before anything else (rootfsPropagation, default rslave).
    pub root_propagation: u64,
    /// The mounts, in order.
    pub steps: Vec<MountStep>,
    /// `/dev` is a mount of its own, so default devices and links are made.
    pub setup_dev: bool,
    /// Device nodes to create.
    pub devices: Vec<DeviceNode>,
    /// `root.readonly`.
    pub readonly_root: bool,
    /// `linux.maskedPaths`.
    pub masked: Vec<PathBuf>,
    /// `linux.readonlyPaths`.
    pub readonly_paths: Vec<PathBuf>,
}

/// Cgroup facts the `cgroup` mount needs.
#[derive(Debug, Clone, Default)]
pub struct CgroupView {
    /// The unified (v2) hierarchy.
    pub v2: bool,
    /// v2 without a cgroup namespace of the container's own: the host's mount of the
    /// hierarchy, bind-mounted. A new cgroup2 mount made from the host's cgroup
    /// namespace would apply its (empty) options to the whole hierarchy, clearing the
    /// host's `nsdelegate` and `memory_*` options for every process on the host.
    pub v2_host: Option<PathBuf>,
    /// v1: (hierarchy directory name, the container's cgroup directory on the host).
    pub v1_dirs: Vec<(String, PathBuf)>,
}

/// Host-side facts the apply step needs.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// A user namespace: device nodes are bind-mounted, not made.
    pub in_userns: bool,
    /// The container shares the host's mount namespace: mounts land in the rootfs on
    /// the host (removed by delete), `/` is left alone and the init only chroots.
    pub shared_mount_ns: bool,
    /// What the `cgroup` mount shows.
    pub cgroups: CgroupView,
}

fn step_from(m: &oci_spec::runtime::Mount) -> MountStep {
    let opts = mountopts::parse(m.options().as_deref().unwrap_or_default());
    let fstype = m.typ().clone().filter(|t| !t.is_empty());
    let kind = match fstype.as_deref() {
        _ if opts.is_bind() => StepKind::Bind,
        Some("bind") => StepKind::Bind,
        Some("sysfs") => StepKind::Sysfs,
        Some("mqueue") => StepKind::Mqueue,
        Some("cgroup") | Some("cgroup2") => StepKind::Cgroup,
        _ => StepKind::Fs,
    };
    let dest = if m.destination().is_absolute() {
        m.destination().clone()
    } else {
        Path::new("/").join(m.destination())
    };
    MountStep {
        dest,
        source: m.source().clone(),
        fstype,
        opts,
        kind,
    }
}

/// Computes the plan for a spec whose root filesystem is at `rootfs`.
pub fn plan(spec: &Spec, rootfs: &Path) -> Result<Plan> {
    let linux = spec.linux().as_ref();
    let root_propagation = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        None | Some("") => libc::MS_SLAVE | libc::MS_REC,
        // as given: `shared` makes `/` shared, not what is mounted under it (runc, crun)
        Some(p) => mountopts::propagation(p)
            .ok_or_else(|| Error::invalid("linux.rootfsPropagation", p, "unknown propagation"))?,
    };
    let steps: Vec<MountStep> = spec.mounts().iter().flatten().map(step_from).collect();
    // a bind source is resolved in this mount namespace unless one is joined
    let joins_mount_ns = linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Mount && n.path().is_some());
    for s in &steps {
        if s.kind == StepKind::Bind && s.source.is_none() {
            return Err(Error::invalid(
                "mounts.source",
                s.dest.display(),
                "a bind mount needs a source",
            ));
        }
        if let Some(src) = s.source.as_deref().filter(|p| p.is_absolute()) {
            if s.kind == StepKind::Bind && !joins_mount_ns && src.symlink_metadata().is_err() {
                return Err(Error::invalid(
                    "mounts.source",
                    src.display(),
                    "the bind mount's source does not exist",
                ));
            }
        }
    }
    let setup_dev = steps
        .iter()
        .any(|s| s.dest == Path::new("/dev") && s.kind != StepKind::Bind);
    let spec_devices = linux
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default();
    let paths = |v: Option<&Vec<String>>| -> Vec<PathBuf> {
        v.into_iter().flatten().map(PathBuf::from).collect()
    };
    Ok(Plan {
        rootfs: rootfs.to_path_buf(),
        root_propagation,
        steps,
        setup_dev,
        devices: devices::plan(spec_devices)?,
        readonly_root: spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        masked: paths(linux.and_then(|l| l.masked_paths().as_ref())),
        readonly_paths: paths(linux.and_then(|l| l.readonly_paths().as_ref())),
    })
}

/// The id-mapped mounts k3rt made (detached trees), by index in `plan.steps`.
pub type Trees = std::collections::BTreeMap<usize, OwnedFd>;

/// Everything before the pivot: propagation, the rootfs bind, mounts, devices.
pub fn prepare(sys: &dyn Sys, plan: &Plan, facts: &HostFacts, trees: &Trees) -> Result<()> {
    let root = &plan.rootfs;
    if !facts.shared_mount_ns {
        set_up_root(sys, plan)?;
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let tree = trees.get(&i);
        if step.opts.idmap && tree.is_none() {
            return Err(Error::invalid(
                "mounts.options",
                format!("{}: idmap", step.dest.display()),
                "no id-mapped mount was made for it",
            ));
        }
        apply_step(sys, root, step, facts, tree)?;
    }
    if plan.setup_dev {
        for node in &plan.devices {
            devices::create(sys, root, node, facts.in_userns)?;
        }
        devices::symlinks(sys, root, Path::new("/proc/kcore").exists())?;
    } else {
        // devices the spec lists explicitly are made even without a /dev mount
        for node in plan.devices.iter().skip(devices::defaults().len()) {
            devices::create(sys, root, node, facts.in_userns)?;
        }
    }
    Ok(())
}

fn mount_err(step: &MountStep, e: std::io::Error) -> Error {
    RootfsError::Mount {
        src: step.source.clone().unwrap_or_else(|| PathBuf::from("none")),
        dest: step.dest.clone(),
        fstype: step.fstype.as_deref().unwrap_or("none").to_string(),
        source: e,
    }
    .into()
}

fn apply_step(
    sys: &dyn Sys,
    root: &Path,
    step: &MountStep,
    facts: &HostFacts,
    tree: Option<&OwnedFd>,
) -> Result<()> {
    let kind = match (&step.kind, &step.source) {
        (StepKind::Bind, Some(src)) if !src.is_dir() => Kind::File,
        _ => Kind::Dir,
    };
    let target = sys
        .resolve_in_root(root, &step.dest, Some(kind))
        .map_err(|e| Error::io("create mount point", step.dest.clone(), e))?;
    let t = target.path.as_path();
    if matches!(step.fstype.as_deref(), Some("proc") | Some("sysfs")) {
        ensure_not_redirected(t, root, &step.dest)?;
    }
    let o = &step.opts;
    let fs_flags = o.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    match step.kind {
        StepKind::Bind => bind(
            sys,
            tree.map_or(Source::Path(step.source.as_deref()), Source::Tree),
            t,
            (root, &step.dest),
            o.flags & libc::MS_REC != 0,
            fs_flags,
            o,
        )
        .map_err(|e| mount_err(step, e))?,
        StepKind::Cgroup => mount_cgroup(sys, root, step, t, facts)?,
        StepKind::Sysfs | StepKind::Mqueue => {
            let r = sys.mount(
                step.source.as_deref(),
                t,
                step.fstype.as_deref(),
                o.flags,
                data(o),
            );
            match r {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    let host = if step.kind == StepKind::Sysfs {
                        "/sys"
                    } else {
                        "/dev/mqueue"
                    };
                    bind(
                        sys,
                        Source::Path(Some(Path::new(host))),
                        t,
                        (root, &step.dest),
                        true,
                        fs_flags,
                        o,
                    )
                    .map_err(|e| mount_err(step, e))?
                }
                other => other.map_err(|e| mount_err(step, e))?,
            }
        }
        StepKind::Fs => {
            // keep a handle on the old directory: after the mount it still shows what was there
            let old = if o.copyup {
                std::fs::File::open(t).ok()
            } else {
                None
            };
            // a read-only tmpfs is filled first and made read-only after, as runc does:
            // the mount read-only, the filesystem not
            let ro_later = if old.is_some() || step.fstype.as_deref() == Some("tmpfs") {
                o.flags & libc::MS_RDONLY
            } else {
                0
            };
            sys.mount(
                step.source.as_deref(),
                t,
                step.fstype.as_deref(),
                o.flags & !ro_later,
                data(o),
            )
            .map_err(|e| mount_err(step, e))?;
            if let Some(old) = old {
                copy_up(sys, root, step, &old)?;
            }
            if ro_later != 0 {
                remount_bind(sys, root, step, o.flags)?;
            }
        }
    }
    if o.propagation != 0 {
        let top = sys
            .resolve_in_root(root, &step.dest, None)
            .map_err(|e| mount_err(step, e))?;
        sys.mount(None, &top.path, None, o.propagation, None)
            .map_err(|e| mount_err(step, e))?;
    }
    if o.rec_set | o.rec_clr != 0 {
        // `rro`, `rnosuid` ...: the mount and everything under it
        let top = sys
            .resolve_in_root(root, &step.dest, None)
            .map_err(|e| mount_err(step, e))?;
        sys.set_attrs_recursive(&top.path, o.rec_set, o.rec_clr)
            .map_err(|e| {
                Error::invalid(
                    "mounts.options",
                    step.dest.display(),
                    format!(
                        "the kernel refused its recursive options (mount_setattr, Linux 5.12): {e}"
                    ),
                )
            })?;
    }
    Ok(())
}

/// procfs and sysfs may only land on their own path: a symlink in the rootfs must not
/// move them elsewhere (runc's CVE-2019-19921 class of checks).
fn ensure_not_redirected(resolved: &Path, root: &Path, dest: &Path) -> Result<()> {
    let Ok(real) = std::fs::read_link(resolved) else {
        return Ok(()); // not a /proc/self/fd handle (recording fake)
    };
    let want = root.join(dest.strip_prefix("/").unwrap_or(dest));
    if real != want {
        return Err(Error::invalid(
            "mounts.destination",
            dest.display(),
            format!("resolves to `{}` through a symlink; procfs and sysfs must mount on a real directory", real.display()),
        ));
    }
    Ok(())
}

fn data(o: &MountOptions) -> Option<&str> {
    (!o.data.is_empty()).then_some(o.data.as_str())
}

/// `/` gets its propagation and the rootfs becomes a mount point of its own.
fn set_up_root(sys: &dyn Sys, plan: &Plan) -> Result<()> {
    let root = &plan.rootfs;
    // while setting up, "/" must not be shared (our mounts would leak to the host) nor
    // unbindable (the rootfs could not be bound); those are applied after the pivot
    let late = plan.root_propagation & (libc::MS_SHARED | libc::MS_UNBINDABLE) != 0;
    // recursive during setup whatever was asked, so that nothing leaks to the host
    let first = if late {
        libc::MS_SLAVE | libc::MS_REC
    } else {
        plan.root_propagation | libc::MS_REC
    };
    sys.mount(None, Path::new("/"), None, first, None)
        .map_err(|e| Error::io("set propagation of", "/", e))?;
    sys.mount(
        Some(root),
        root,
        Some("bind"),
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|e| Error::io("bind-mount rootfs", root, e))
}

/// Mount points under `rootfs` in the caller's mount namespace, deepest first.
pub fn mounts_under(rootfs: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(rootfs) && m != rootfs)
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    out
}

/// Detaches what a container without its own mount namespace mounted into its rootfs.
pub fn unmount_all_under(rootfs: &Path) {
    for m in mounts_under(rootfs) {
        let _ = k3_sys::linux::LinuxSys.umount(&m, libc::MNT_DETACH);
    }
}

/// What a bind mount binds.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// A path in this mount namespace.
    Path(Option<&'a Path>),
    /// A detached tree k3rt made (an id-mapped mount).
    Tree(&'a OwnedFd),
}

/// A bind mount, then a remount for flags (bind ignores them), keeping the flags
/// the kernel locked (a user namespace may not clear them). `root`/`dest` find the
/// new mount again: `t` still names the directory underneath it.
fn bind(
    sys: &dyn Sys,
    src: Source<'_>,
    t: &Path,
    at: (&Path, &Path),
    rec: bool,
    flags: u64,
    o: &MountOptions,
) -> std::io::Result<()> {
    let rec_flag = if rec { libc::MS_REC } else { 0 };
    match src {
        Source::Path(src) => sys.mount(src, t, Some("bind"), libc::MS_BIND | rec_flag, None)?,
        // the clone already holds the submounts of an `rbind`
        Source::Tree(tree) => sys.attach_tree(tree, t)?,
    }
    if flags == 0 {
        return Ok(());
    }
    let top = sys.resolve_in_root(at.0, at.1, None)?;
    let locked = statvfs_to_ms(sys.mount_flags(&top.path).unwrap_or(0)) & !o.cleared;
    sys.mount(
        None,
        &top.path,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | flags | locked,
        None,
    )
}

fn statvfs_to_ms(f: u64) -> u64 {
    let map = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    map.iter()
        .filter(|(st, _)| f & *st != 0)
        .fold(0, |acc, (_, ms)| acc | ms)
}

fn mount_cgroup(
    sys: &dyn Sys,
    root: &Path,
    step: &MountStep,
    t: &Path,
    facts: &HostFacts,
) -> Result<()> {
    let o = &step.opts;
    if facts.cgroups.v2 {
        if let Some(host) = &facts.cgroups.v2_host {
            return bind(
                sys,
                Source::Path(Some(host)),
                t,
                (root, &step.dest),
                false,
                o.flags,
                o,
            )
            .map_err(|e| mount_err(step, e));
        }
        return sys
            .mount(
                Some(Path::new("cgroup2")),
                t,
                Some("cgroup2"),
                o.flags,
                None,
            )
            .map_err(|e| mount_err(step, e));
    }
    let ro = o.flags & libc::MS_RDONLY;
    let base = o.flags & (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC);
    sys.mount(
        Some(Path::new("tmpfs")),
        t,
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )
    .map_err(|e| mount_err(step, e))?;
    for (name, host) in &facts.cgroups.v1_dirs {
        let dest = step.dest.join(name);
        let sub = sys
            .resolve_in_root(root, &dest, Some(Kind::Dir))
            .map_err(|e| Error::io("create cgroup mount point", dest.clone(), e))?;
        bind(
            sys,
            Source::Path(Some(host)),
            &sub.path,
            (root, &dest),
            false,
            base | ro,
            o,
        )
        .map_err(|e| mount_err(step, e))?;
    }
    if ro != 0 {
        remount_bind(sys, root, step, base | ro)?;
    }
    Ok(())
}

/// Remounts the mount at `step.dest` with `flags` as a bind remount: the mount
/// read-only, not the filesystem under it (as runc does).
fn remount_bind(sys: &dyn Sys, root: &Path, step: &MountStep, flags: libc::c_ulong) -> Result<()> {
    let top = sys
        .resolve_in_root(root, &step.dest, None)
        .map_err(|e| mount_err(step, e))?;
    sys.mount(
        None,
        &top.path,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | flags,
        None,
    )
    .map_err(|e| mount_err(step, e))
}

/// `tmpcopyup`: copy what the mount point held before into the new tmpfs, read
/// through a descriptor opened before the mount.
fn copy_up(sys: &dyn Sys, root: &Path, step: &MountStep, old: &std::fs::File) -> Result<()> {
    use std::os::fd::AsRawFd;
    let src = PathBuf::from(format!("/proc/self/fd/{}", old.as_raw_fd()));
    let dst = sys
        .resolve_in_root(root, &step.dest, None)
        .map_err(|e| Error::io("resolve", step.dest.clone(), e))?;
    copy_tree(&src, &dst.path).map_err(|e| Error::io("copy up into tmpfs", step.dest.clone(), e))
}

/// Copies a directory tree with modes, owners and symlinks.
fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let top = std::fs::metadata(src)?;
    // the new root takes the old directory's mode but keeps its owner, as runc's does
    // (`dst` is a magic link in /proc/self/fd: an lchown would change the link, which a
    // user namespace refuses)
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(top.mode() & 0o7777))?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let md = std::fs::symlink_metadata(&from)?;
        if md.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if md.is_dir() {
            std::fs::create_dir(&to)?;
            copy_tree(&from, &to)?;
            continue;
        } else if md.is_file() {
            std::fs::copy(&from, &to)?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
        } else {
            continue;
        }
        std::os::unix::fs::lchown(&to, Some(md.uid()), Some(md.gid()))?;
    }
    Ok(())
}

/// Pivots into the rootfs (or moves it onto `/` with `--no-pivot`).
pub fn enter(sys: &dyn Sys, plan: &Plan, no_pivot: bool) -> Result<()> {
    if no_pivot {
        sys.move_root(&plan.rootfs)
            .map_err(|e| Error::io("move rootfs onto /", plan.rootfs.clone(), e))?;
    } else {
        sys.pivot_root(&plan.rootfs)
            .map_err(|e| Error::io("pivot_root into", plan.rootfs.clone(), e))?;
    }
    Ok(())
}

/// After the pivot: read-only paths, masked paths, then the read-only root.
pub fn finalize(sys: &dyn Sys, plan: &Plan) -> Result<()> {
    for p in &plan.readonly_paths {
        readonly_path(sys, p)?;
    }
    for p in &plan.masked {
        mask_path(sys, p)?;
    }
    // a mount asked to be shared lost it when the pivot made the old root's tree a
    // slave (a shared mount with no peer left becomes private): share it again, as
    // runc's and crun's containers see it
    for step in plan
        .steps
        .iter()
        .filter(|s| s.opts.propagation & libc::MS_SHARED != 0)
    {
        sys.mount(None, &step.dest, None, step.opts.propagation, None)
            .map_err(|e| Error::io("set propagation of", step.dest.clone(), e))?;
    }
    // shared/private/unbindable were held back during setup (unbindable mounts cannot be bound)
    if plan.root_propagation & (libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_UNBINDABLE) != 0 {
        sys.mount(None, Path::new("/"), None, plan.root_propagation, None)
            .map_err(|e| Error::io("set propagation of", "/", e))?;
    }
    if plan.readonly_root {
        let locked = statvfs_to_ms(sys.mount_flags(Path::new("/")).unwrap_or(0));
        sys.mount(
            None,
            Path::new("/"),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked,
            None,
        )
        .map_err(|e| Error::io("remount read-only", "/", e))?;
    }
    Ok(())
}

fn missing(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOENT)
}

fn readonly_path(sys: &dyn Sys, p: &Path) -> Result<()> {
    let t = match sys.resolve_in_root(Path::new("/"), p, None) {
        Ok(t) => t,
        Err(e) if missing(&e) => return Ok(()),
        Err(e) => return Err(Error::io("resolve read-only path", p, e)),
    };
    sys.mount(
        Some(&t.path),
        &t.path,
        Some("bind"),
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|e| Error::io("bind read-only path", p, e))?;
    let top = sys
        .resolve_in_root(Path::new("/"), p, None)
        .map_err(|e| Error::io("resolve read-only path", p, e))?;
    let locked = statvfs_to_ms(sys.mount_flags(&top.path).unwrap_or(0));
    let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked;
    sys.mount(None, &top.path, None, flags, None)
        .map_err(|e| Error::io("remount read-only path", p, e))
}

fn mask_path(sys: &dyn Sys, p: &Path) -> Result<()> {
    let t = match sys.resolve_in_root(Path::new("/"), p, None) {
        Ok(t) => t,
        Err(e) if missing(&e) => return Ok(()),
        Err(e) => return Err(Error::io("resolve masked path", p, e)),
    };
    let is_dir = std::fs::metadata(&t.path)
        .map(|m| m.is_dir())
        .unwrap_or(false);
    let r = if is_dir {
        sys.mount(
            Some(Path::new("tmpfs")),
            &t.path,
            Some("tmpfs"),
            libc::MS_RDONLY,
            None,
        )
    } else {
        sys.mount(
            Some(Path::new("/dev/null")),
            &t.path,
            Some("bind"),
            libc::MS_BIND,
            None,
        )
    };
    r.map_err(|e| Error::io("mask path", p, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3_sys::fake::RecordingSys;

    fn spec(extra: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs","readonly":true}},
            "mounts":[
              {{"destination":"/proc","type":"proc","source":"proc"}},
              {{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}},
              {{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}},
              {{"destination":"/data","type":"bind","source":"/srv","options":["rbind","ro","rprivate"]}}
            ]{extra}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn plan_classifies_mounts() {
        let p = plan(&spec(""), Path::new("/r")).unwrap();
        let kinds: Vec<_> = p.steps.iter().map(|s| s.kind.clone()).collect();
        assert_eq!(
            kinds,
            [StepKind::Fs, StepKind::Fs, StepKind::Sysfs, StepKind::Bind]
        );
        assert!(p.setup_dev && p.readonly_root);
        assert_eq!(p.root_propagation, libc::MS_SLAVE | libc::MS_REC);
        assert_eq!(p.steps[1].opts.data, "mode=755,size=65536k");
    }

    #[test]
    fn an_id_mapped_bind_attaches_its_tree_then_remounts() {
        let mut sp = spec("");
        let mut mounts = sp.mounts().clone().unwrap();
        let mut m = mounts[3].clone();
        m.set_options(Some(vec!["rbind".into(), "ro".into(), "idmap".into()]));
        mounts[3] = m;
        sp.set_mounts(Some(mounts));
        let p = plan(&sp, Path::new("/r")).unwrap();
        let sys = RecordingSys::default();
        let e = prepare(&sys, &p, &HostFacts::default(), &Trees::new()).unwrap_err();
        assert!(e.to_string().contains("mounts.options"), "{e}");
        let sys = RecordingSys::default();
        let tree = OwnedFd::from(std::fs::File::open("/").unwrap());
        prepare(&sys, &p, &HostFacts::default(), &Trees::from([(3, tree)])).unwrap();
        let calls = sys.calls();
        let at = calls
            .iter()
            .position(|c| c == "attach tree -> /r/data")
            .expect("attached");
        assert!(
            calls[at + 1].starts_with("mount  -> /r/data type= flags=0x1021"),
            "{calls:?}"
        );
        assert!(
            !calls.iter().any(|c| c.starts_with("mount /srv")),
            "{calls:?}"
        );
    }

    #[test]
    fn recursive_options_go_to_the_whole_tree_after_the_mount() {
        let mut sp = spec("");
        let mut mounts = sp.mounts().clone().unwrap();
        let mut m = mounts[3].clone();
        m.set_options(Some(vec!["rbind".into(), "rro".into(), "rnosuid".into()]));
        mounts[3] = m;
        sp.set_mounts(Some(mounts));
        let p = plan(&sp, Path::new("/r")).unwrap();
        let sys = RecordingSys::default();
        prepare(&sys, &p, &HostFacts::default(), &Trees::new()).unwrap();
        let calls = sys.calls();
        let bind = calls
            .iter()
            .position(|c| c.starts_with("mount /srv -> /r/data"))
            .unwrap();
        let at = calls
            .iter()
            .position(|c| c == "setattr -R /r/data set=0x3 clear=0x0");
        assert!(at.is_some_and(|a| a > bind), "{calls:?}");
    }

    #[test]
    fn bad_propagation_is_named() {
        let e = plan(
            &spec(r#","linux":{"rootfsPropagation":"sideways"}"#),
            Path::new("/r"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`sideways`"), "{e}");
    }

    #[test]
    fn prepare_mounts_in_order_inside_the_rootfs() {
        let p = plan(&spec(""), Path::new("/r")).unwrap();
        let sys = RecordingSys::default();
        prepare(&sys, &p, &HostFacts::default(), &Trees::new()).unwrap();
        let mounts: Vec<String> = sys
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("mount"))
            .collect();
        assert_eq!(mounts[0], "mount  -> / type= flags=0x84000 data=");
        assert_eq!(mounts[1], "mount /r -> /r type=bind flags=0x5000 data=");
        assert!(
            mounts[2].starts_with("mount proc -> /r/proc type=proc"),
            "{mounts:?}"
        );
        assert!(
            mounts[3].contains("-> /r/dev type=tmpfs")
                && mounts[3].ends_with("data=mode=755,size=65536k")
        );
        assert!(mounts[4].starts_with("mount sysfs -> /r/sys type=sysfs"));
        // bind, then remount read-only, then propagation
        assert_eq!(
            mounts[5],
            "mount /srv -> /r/data type=bind flags=0x5000 data="
        );
        assert!(
            mounts[6].starts_with("mount  -> /r/data type= flags=0x1021"),
            "{}",
            mounts[6]
        );
        assert!(
            mounts[7].starts_with("mount  -> /r/data type= flags=0x44000"),
            "{}",
            mounts[7]
        );
        let calls = sys.calls();
        assert!(calls.iter().any(|c| c.starts_with("mknod /r/dev/null")));
        assert!(calls.iter().any(|c| c == "symlink /r/dev/ptmx -> pts/ptmx"));
    }

    #[test]
    fn sysfs_falls_back_to_a_bind_when_refused() {
        let p = plan(&spec(""), Path::new("/r")).unwrap();
        let sys = RecordingSys {
            fail_prefixes: vec!["mount sysfs".into()],
            ..Default::default()
        };
        prepare(&sys, &p, &HostFacts::default(), &Trees::new()).unwrap();
        assert!(sys
            .calls()
            .iter()
            .any(|c| c.starts_with("mount /sys -> /r/sys type=bind flags=0x5000")));
    }

    fn cgroup_mounts(view: CgroupView) -> Vec<String> {
        let mut s = spec("");
        let mut mounts = s.mounts().clone().unwrap_or_default();
        mounts.push(
            serde_json::from_str(
                r#"{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}"#,
            )
            .unwrap(),
        );
        s.set_mounts(Some(mounts));
        let p = plan(&s, Path::new("/r")).unwrap();
        let sys = RecordingSys::default();
        let facts = HostFacts {
            cgroups: view,
            ..Default::default()
        };
        prepare(&sys, &p, &facts, &Trees::new()).unwrap();
        sys.calls()
            .into_iter()
            .filter(|c| c.contains("-> /r/sys/fs/cgroup "))
            .collect()
    }

    #[test]
    fn cgroup2_is_mounted_in_a_private_namespace_and_bound_in_the_hosts() {
        let private = cgroup_mounts(CgroupView {
            v2: true,
            ..Default::default()
        });
        assert_eq!(
            private,
            ["mount cgroup2 -> /r/sys/fs/cgroup type=cgroup2 flags=0xf data="]
        );
        let host = cgroup_mounts(CgroupView {
            v2: true,
            v2_host: Some(PathBuf::from("/sys/fs/cgroup")),
            ..Default::default()
        });
        assert_eq!(
            host[0],
            "mount /sys/fs/cgroup -> /r/sys/fs/cgroup type=bind flags=0x1000 data="
        );
        assert!(
            host[1].starts_with("mount  -> /r/sys/fs/cgroup type= flags=0x102f"),
            "{host:?}"
        );
        assert_eq!(host.len(), 2, "{host:?}");
    }

    #[test]
    fn shared_root_is_set_after_the_pivot() {
        let p = plan(
            &spec(r#","linux":{"rootfsPropagation":"shared"}"#),
            Path::new("/r"),
        )
        .unwrap();
        let sys = RecordingSys::default();
        prepare(&sys, &p, &HostFacts::default(), &Trees::new()).unwrap();
        enter(&sys, &p, false).unwrap();
        finalize(&sys, &p).unwrap();
        let calls = sys.calls();
        assert_eq!(calls[0], "mount  -> / type= flags=0x84000 data=");
        let pivot = calls.iter().position(|c| c == "pivot_root /r").unwrap();
        assert_eq!(calls[pivot + 1], "mount  -> / type= flags=0x100000 data=");
    }

    #[test]
    fn rshared_root_stays_recursive() {
        let p = plan(
            &spec(r#","linux":{"rootfsPropagation":"rshared"}"#),
            Path::new("/r"),
        )
        .unwrap();
        assert_eq!(p.root_propagation, libc::MS_SHARED | libc::MS_REC);
    }
}
