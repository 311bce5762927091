//! Cgroups v1, v2 and the hybrid layout: finding the hierarchies, the container's
//! directories, creating them with the limits applied, joining the init before it
//! runs anything, and removing them on delete. File writes come from [`plan`].

pub mod bpf;
pub mod dbus;
mod devprogs;
pub mod error;
pub mod plan;
pub mod stats;
pub mod systemd;

pub use error::{CgroupError, Error, Result};

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Controllers (`cpu`, `cpuacct`) or `name=systemd`.
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted.
    pub mount: PathBuf,
}

/// How cgroups are mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// v1 controller hierarchies (the unified v2 mount of a hybrid host is not used).
    V1(Vec<Hierarchy>),
    /// Pure v2 at this mount point.
    V2(PathBuf),
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Parses /proc/self/mountinfo text into a layout.
pub fn parse_mountinfo(text: &str, root_is_v2: bool) -> Layout {
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mount = pre.split_whitespace().nth(4).unwrap_or("");
        let mut post = post.split_whitespace();
        let fstype = post.next().unwrap_or("");
        let opts = post.nth(1).unwrap_or("");
        match fstype {
            "cgroup2" if v2.is_none() => v2 = Some(PathBuf::from(mount)),
            "cgroup" => {
                let controllers: Vec<String> = opts
                    .split(',')
                    .filter(|o| {
                        !matches!(
                            *o,
                            "rw" | "ro"
                                | "nosuid"
                                | "nodev"
                                | "noexec"
                                | "relatime"
                                | "noatime"
                                | "clone_children"
                                | "xattr"
                        ) && !o.starts_with("release_agent")
                    })
                    .map(String::from)
                    .collect();
                let mount = PathBuf::from(mount);
                // one mount per hierarchy: a second mount of the same one (a bind of
                // cgroupfs elsewhere, a test's private view) must not double every
                // write, nor be the one used; /sys/fs/cgroup wins, else the first seen
                match v1
                    .iter_mut()
                    .find(|h: &&mut Hierarchy| h.controllers == controllers)
                {
                    Some(h)
                        if !h.mount.starts_with("/sys/fs/cgroup")
                            && mount.starts_with("/sys/fs/cgroup") =>
                    {
                        h.mount = mount;
                    }
                    Some(_) => {}
                    None => v1.push(Hierarchy { controllers, mount }),
                }
            }
            _ => {}
        }
    }
    match (root_is_v2, v2) {
        // /sys/fs/cgroup itself, not the first cgroup2 line: a hybrid mount hidden
        // under it (or a nested one) may come first in mountinfo
        (true, _) => Layout::V2(PathBuf::from("/sys/fs/cgroup")),
        _ if !v1.is_empty() => Layout::V1(v1),
        (_, Some(p)) => Layout::V2(p),
        _ => Layout::V1(v1),
    }
}

/// Detects the layout of the running host.
pub fn detect() -> Result<Layout> {
    let text = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    Ok(parse_mountinfo(
        &text,
        is_v2_mount(Path::new("/sys/fs/cgroup")),
    ))
}

fn is_v2_mount(p: &Path) -> bool {
    let Ok(c) = k3_sys::linux::cstr(p.as_os_str()) else {
        return false;
    };
    // SAFETY: zeroed statfs is a valid out-parameter; c outlives the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC }
}

/// The cgroup path for a container: absolute as given, relative to our own cgroup, or
/// `/k3rt/ID`. Always an absolute path within the hierarchy: `..` is resolved
/// lexically and never climbs above the hierarchy's root (as runc's CleanPath), so
/// `../../../../x` is `/x`, never a directory outside cgroupfs.
pub fn container_path(spec_path: Option<&Path>, id: &str, own: &str) -> PathBuf {
    match spec_path {
        Some(p) if p.is_absolute() => beneath_root(p),
        Some(p) if !p.as_os_str().is_empty() => {
            beneath_root(&Path::new(own).join(beneath_root(p).strip_prefix("/").unwrap_or(p)))
        }
        _ => beneath_root(&Path::new("/k3rt").join(id)),
    }
}

/// The longest `linux.cgroupsPath` accepted (PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;

/// `p` made absolute and clean, read as if `/` were the root: `.` dropped, `..` pops a
/// component and stops at `/`.
pub fn beneath_root(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The cgroupfs path systemd gives a `slice:prefix:name` cgroupsPath (the form
/// `--systemd-cgroup` takes, as containerd's `SystemdCgroup` and the kubelet's systemd
/// driver send it): `kubepods-besteffort-pod1.slice:cri-containerd:ID` →
/// `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ID.scope`.
/// An empty slice is `system.slice`; no path at all is `system.slice:k3rt:ID`; a name
/// ending in `.slice` is a sub-slice rather than a scope.
pub fn systemd_path(spec_path: Option<&str>, id: &str) -> std::result::Result<PathBuf, String> {
    let text = spec_path.filter(|p| !p.is_empty()).unwrap_or("");
    let (slice, prefix, name) = match text.split(':').collect::<Vec<_>>()[..] {
        [""] => ("", "k3rt", id),
        [s, p, n] => (s, p, n),
        _ => return Err("want `slice:prefix:name` with --systemd-cgroup".into()),
    };
    if name.is_empty() || name.contains('/') || prefix.contains('/') {
        return Err("the name and prefix must be non-empty and contain no `/`".into());
    }
    let mut path = expand_slice(if slice.is_empty() {
        "system.slice"
    } else {
        slice
    })?;
    let unit = match (name.ends_with(".slice"), prefix) {
        (true, _) => return Ok(path.join(expand_slice(name)?.file_name().unwrap_or_default())),
        (false, "") => format!("{name}.scope"),
        (false, p) => format!("{p}-{name}.scope"),
    };
    path.push(unit);
    Ok(path)
}

/// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (`-.slice` is the root slice).
fn expand_slice(slice: &str) -> std::result::Result<PathBuf, String> {
    let Some(base) = slice.strip_suffix(".slice") else {
        return Err(format!("slice `{slice}` does not end in `.slice`"));
    };
    if base == "-" {
        return Ok(PathBuf::from("/"));
    }
    if base.is_empty()
        || base.contains('/')
        || base.starts_with('-')
        || base.ends_with('-')
        || base.contains("--")
    {
        return Err(format!("`{slice}` is not a valid slice name"));
    }
    let mut path = PathBuf::from("/");
    let mut prefix = String::new();
    for part in base.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

/// Our own cgroup in a hierarchy from /proc/self/cgroup text (`0::/x` for v2).
pub fn own_cgroup(text: &str, controller: Option<&str>) -> String {
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or("/"));
        let hit = match controller {
            None => ctrls.is_empty(),
            Some(c) => ctrls.split(',').any(|x| x == c),
        };
        if hit {
            return path.to_string();
        }
    }
    "/".to_string()
}

/// Where a relative cgroupsPath starts on v2: the parent of our own cgroup.
pub fn v2_relative_base(self_cgroup: &str) -> String {
    let own = own_cgroup(self_cgroup, None);
    Path::new(&own)
        .parent()
        .map_or_else(|| "/".to_string(), |p| p.to_string_lossy().into_owned())
}

/// The container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// The unified (v2) hierarchy rather than v1 ones.
    pub v2: bool,
    /// (controllers of the hierarchy, directory) — on v2 a single entry.
    pub dirs: Vec<(Vec<String>, PathBuf)>,
}

impl Cgroup {
    /// Where the container's cgroup lives, without creating anything.
    pub fn locate(layout: &Layout, spec_path: Option<&Path>, id: &str) -> Cgroup {
        let self_cg = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let rel = |own: &str| {
            let p = container_path(spec_path, id, own);
            p.strip_prefix("/").map(Path::to_path_buf).unwrap_or(p)
        };
        match layout {
            // v2: relative to our cgroup's parent, as runc does. Our own cgroup holds
            // processes (this one at least), and the no-internal-process rule forbids
            // enabling controllers for children of such a cgroup (EBUSY).
            Layout::V2(mount) => Cgroup {
                v2: true,
                dirs: vec![(vec![], mount.join(rel(&v2_relative_base(&self_cg))))],
            },
            Layout::V1(hs) => Cgroup {
                v2: false,
                dirs: hs
                    .iter()
                    .filter(|h| !h.controllers.iter().any(|c| c.starts_with("name=")))
                    .map(|h| {
                        let own = own_cgroup(&self_cg, h.controllers.first().map(String::as_str));
                        (h.controllers.clone(), h.mount.join(rel(&own)))
                    })
                    .collect(),
            },
        }
    }

    /// The directories, one per hierarchy (what the state file keeps).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, p)| p.clone()).collect()
    }

    /// Creates the directories and applies the limits (no process yet). On failure
    /// removes whatever it created.
    pub fn prepare(
        &self,
        resources: Option<&LinuxResources>,
        nodes: &[oci_spec::runtime::LinuxDevice],
    ) -> Result<()> {
        let r = self.prepare_inner(resources, nodes);
        if r.is_err() {
            let _ = destroy(&self.paths());
        }
        r
    }

    fn prepare_inner(
        &self,
        resources: Option<&LinuxResources>,
        nodes: &[oci_spec::runtime::LinuxDevice],
    ) -> Result<()> {
        for (ctrls, dir) in &self.dirs {
            mkdir_levels(dir, ctrls, self.v2)?;
        }
        if self.v2 {
            let writes = resources.map(plan::v2).unwrap_or_default();
            // what the config sets, and memory and pids where they can be had (OOM
            // events and stats read them; systemd's default accounting)
            let needed = controllers_of(&writes);
            for (_, dir) in &self.dirs {
                enable_along(dir, &needed, &BASE)?;
            }
            self.write_all(&writes)?;
        } else if let Some(r) = resources {
            self.apply(&plan::v1(r))?;
        } else {
            self.apply(&plan::v1_devices(&[]))?;
        }
        if self.v2 {
            let spec_rules = resources
                .and_then(|r| r.devices().as_deref())
                .unwrap_or_default();
            for (_, dir) in &self.dirs {
                match bpf::attach(dir, &bpf::rules(spec_rules, nodes)) {
                    // in a user namespace (rootless podman) bpf(2) needs privileges of
                    // the host k3rt does not have; runc and crun go on without the
                    // program too: the container can only open the host's device
                    // nodes bound in, and the host's file modes guard them
                    Err(e) if bpf::refused(&e) && dbus::in_user_namespace() => {}
                    r => r?,
                }
            }
        } else {
            self.apply(&plan::device_node_rules(nodes))?;
        }
        Ok(())
    }

    /// Moves `pid` (all its threads) in, through `cgroup.procs`. This takes the kernel's
    /// global threadgroup lock, which waits for an RCU grace period (milliseconds on a
    /// busy host); [`Placement`] avoids it where it can.
    pub fn add_process(&self, pid: i32, memory: bool) -> Result<()> {
        for (ctrls, dir) in &self.dirs {
            let is_mem = ctrls.iter().any(|c| c == "memory");
            let wanted = if self.v2 { !memory } else { is_mem == memory };
            if wanted {
                write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
            }
        }
        Ok(())
    }

    /// The (v2) cgroup directory opened for `clone3`'s CLONE_INTO_CGROUP.
    pub fn open_dir(&self) -> Result<std::os::fd::OwnedFd> {
        let dir = self
            .dirs
            .first()
            .map_or(Path::new("/"), |(_, d)| d.as_path());
        k3_sys::linux::open_path(dir, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .map_err(|e| Error::io("open cgroup", dir, e))
    }

    /// `tasks` files opened for writing, for a single-threaded process to move itself
    /// (v1): (memory hierarchy?, file).
    pub fn open_tasks(&self) -> Result<Vec<(bool, fs::File)>> {
        self.dirs
            .iter()
            .map(|(ctrls, dir)| {
                let p = dir.join("tasks");
                let f = fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(|source| CgroupError::Open { path: p, source })?;
                Ok((ctrls.iter().any(|c| c == "memory"), f))
            })
            .collect()
    }

    /// Applies planned writes to the right directories; on v2 first turns on, in every
    /// ancestor, the controllers they need (an update may set a limit create did not).
    pub fn apply(&self, writes: &[plan::Write]) -> Result<()> {
        if self.v2 {
            let needed = controllers_of(writes);
            for (_, dir) in &self.dirs {
                enable_along(dir, &needed, &[])?;
            }
        }
        self.write_all(writes)
    }

    fn write_all(&self, writes: &[plan::Write]) -> Result<()> {
        // only a v1 memsw write needs reordering (and the current limit read)
        let ordered;
        let writes = if !self.v2
            && writes
                .iter()
                .any(|w| w.file == "memory.memsw.limit_in_bytes")
        {
            let current = self
                .dir_for("memory")
                .and_then(|d| fs::read_to_string(d.join("memory.limit_in_bytes")).ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(i64::MAX);
            let mut w = writes.to_vec();
            plan::order_v1_memory(&mut w, current);
            ordered = w;
            &ordered[..]
        } else {
            writes
        };
        for w in writes {
            let dir = self
                .dir_for(w.controller)
                .ok_or_else(|| CgroupError::NoController {
                    controller: w.controller,
                    file: w.file.clone(),
                    value: w.value.clone(),
                })?;
            let path = dir.join(&w.file);
            if !path.exists() {
                if optional(&w.file) {
                    continue;
                }
                if self.v2 {
                    missing_v2_controller(dir, w)?;
                }
            }
            // name the spec field the value came from, not only the cgroup file
            write_file(&path, &w.value).map_err(|e| match plan::spec_field(&w.file) {
                Some(field) => Error::Field { field, source: e },
                None => Error::Cgroup(e),
            })?;
        }
        Ok(())
    }

    fn dir_for(&self, controller: &str) -> Option<&Path> {
        if self.v2 {
            return self.dirs.first().map(|(_, p)| p.as_path());
        }
        self.dirs
            .iter()
            .find(|(c, _)| c.iter().any(|x| x == controller))
            .map(|(_, p)| p.as_path())
    }
}

/// How the init gets into its cgroup.
///
/// On v1 the init moves itself: writing `0` (itself, one thread) to a `tasks` file
/// skips the kernel's global threadgroup lock and its RCU grace period, which would
/// otherwise cost milliseconds per container start. It joins the memory hierarchy
/// last, once its setup is done, just before the user's program can run: what k3rt's
/// own code touched while setting up stays charged to k3rt (charges do not move with
/// a task), so a container with a tiny limit (512k) still starts.
/// Elsewhere (v2, or a user namespace that may not write host cgroup files) k3rt
/// moves the init through `cgroup.procs`.
#[derive(Debug)]
pub enum Placement {
    /// The init writes `0` to these: (memory hierarchy?, `tasks` file).
    SelfMove(Vec<(bool, fs::File)>),
    /// k3rt writes the init's pid to `cgroup.procs`.
    ByParent,
}

impl Placement {
    /// Moves the calling thread into the non-memory (`memory == false`) or memory hierarchies.
    pub fn move_self(&self, memory: bool) -> Result<()> {
        let Placement::SelfMove(files) = self else {
            return Ok(());
        };
        for (is_mem, f) in files {
            if *is_mem == memory {
                (&*f).write_all(b"0").map_err(CgroupError::Join)?;
            }
        }
        Ok(())
    }
}

/// A v2 interface file is missing: when its controller is not in the cgroup's
/// `cgroup.controllers` (not enabled by the parent, or bound to a v1 hierarchy), say
/// so rather than "no such file".
fn missing_v2_controller(dir: &Path, w: &plan::Write) -> Result<()> {
    let Some((controller, _)) = w.file.split_once('.') else {
        return Ok(());
    };
    let enabled = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    if controller == "cgroup" || enabled.split_whitespace().any(|c| c == controller) {
        return Ok(());
    }
    Err(
        CgroupError::ControllerDisabled(Box::new(error::ControllerDisabled {
            file: w.file.clone(),
            value: w.value.clone(),
            controller: controller.to_string(),
            dir: dir.to_path_buf(),
            enabled: enabled.trim().to_string(),
        }))
        .into(),
    )
}

/// Files some kernels lack, which are skipped rather than failing.
fn optional(file: &str) -> bool {
    matches!(
        file,
        "memory.kmem.tcp.limit_in_bytes" | "cpu.idle" | "cpu.cfs_burst_us" | "memory.swappiness"
    )
}

fn write_file(path: &Path, value: &str) -> std::result::Result<(), CgroupError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| CgroupError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    f.write_all(value.as_bytes())
        .map_err(|source| CgroupError::Write {
            value: value.to_string(),
            path: path.to_path_buf(),
            source,
        })
}

/// Creates a cgroup directory and its missing parents; on v1 cpuset copies
/// `cpus`/`mems` from the parent. On v2 each directory made is marked as k3rt's
/// ([`MADE`]) so that the last container's delete removes it again.
fn mkdir_levels(dir: &Path, controllers: &[String], v2: bool) -> Result<()> {
    // a parent the delete of another container removes between our mkdirs: again
    let mut tries = 3;
    loop {
        match mkdir_levels_once(dir, controllers, v2) {
            Err(Error::Cgroup(CgroupError::Create { source, .. }))
                if source.kind() == ErrorKind::NotFound && tries > 1 =>
            {
                tries -= 1;
            }
            r => return r,
        }
    }
}

fn mkdir_levels_once(dir: &Path, controllers: &[String], v2: bool) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("/"));
    mkdir_levels_once(parent, controllers, v2)?;
    match fs::create_dir(dir) {
        Ok(()) if v2 => xattr::set(dir, MADE, ""),
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(CgroupError::Create {
                path: dir.to_path_buf(),
                source,
            }
            .into())
        }
    }
    if !v2 && controllers.iter().any(|c| c == "cpuset") {
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let mine = fs::read_to_string(dir.join(f)).unwrap_or_default();
            if mine.trim().is_empty() {
                let up = fs::read_to_string(parent.join(f)).unwrap_or_default();
                write_file(&dir.join(f), up.trim())?;
            }
        }
    }
    Ok(())
}

/// The xattr marking a v2 cgroup directory k3rt created (removed with the last
/// container in it).
const MADE: &str = "trusted.k3rt.made";
/// The xattr listing the controllers k3rt turned on in a v2 directory's
/// `cgroup.subtree_control` (turned off again once no child is left).
const ENABLED: &str = "trusted.k3rt.controllers";

/// The v2 controllers every container gets where its ancestors may pass them on.
const BASE: [&str; 2] = ["memory", "pids"];

/// The v2 controllers planned writes need (the interface file's prefix: `memory.max`
/// → `memory`; the core `cgroup.*` files need none).
fn controllers_of(writes: &[plan::Write]) -> std::collections::BTreeSet<String> {
    writes
        .iter()
        .filter_map(|w| w.file.split_once('.').map(|(c, _)| c))
        .filter(|c| *c != "cgroup")
        .map(String::from)
        .collect()
}

/// Turns on `needed` for the children of every ancestor of `dir`, from the root down,
/// where the ancestor has the controller and does not pass it on yet (runc and crun
/// turn on every controller there is; systemd only those its units use); then
/// `optional` the same way where allowed (a delegated subtree may not touch the
/// parents it does not own). What this turned on is recorded in the ancestor
/// ([`ENABLED`]) for [`tidy_parents`].
fn enable_along(
    dir: &Path,
    needed: &std::collections::BTreeSet<String>,
    optional: &[&str],
) -> Result<()> {
    let mut ancestors: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .filter(|a| a.join("cgroup.controllers").exists())
        .collect();
    ancestors.reverse();
    for a in ancestors {
        let avail = fs::read_to_string(a.join("cgroup.controllers")).unwrap_or_default();
        let on = fs::read_to_string(a.join("cgroup.subtree_control")).unwrap_or_default();
        let off = |c: &&str| !on.split_whitespace().any(|o| o == *c);
        let must: Vec<&str> = avail
            .split_whitespace()
            .filter(|c| needed.contains(*c))
            .filter(off)
            .collect();
        let mut done = Vec::new();
        if !must.is_empty() {
            turn_on(a, &must)?;
            done.extend(must);
        }
        let may: Vec<&str> = avail
            .split_whitespace()
            .filter(|c| optional.contains(c) && !needed.contains(*c))
            .filter(off)
            .collect();
        if !may.is_empty() && turn_on(a, &may).is_ok() {
            done.extend(may);
        }
        if !done.is_empty() {
            let mut ours: Vec<String> = xattr::get(a, ENABLED)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
            ours.extend(done.iter().map(|c| c.to_string()));
            ours.sort();
            ours.dedup();
            xattr::set(a, ENABLED, &ours.join(" "));
        }
    }
    Ok(())
}

fn turn_on(dir: &Path, controllers: &[&str]) -> std::result::Result<(), CgroupError> {
    let plus: Vec<String> = controllers.iter().map(|c| format!("+{c}")).collect();
    write_file(&dir.join("cgroup.subtree_control"), &plus.join(" "))
}

/// After a v2 container cgroup `dir` is gone: its parents left without a child give
/// back what k3rt did there, bottom up — the controllers it turned on are turned off,
/// a directory it made is removed. A parent still holding a child (another container,
/// a systemd unit) stops the walk; so does one k3rt did not make.
fn tidy_parents(dir: &Path) {
    for p in dir.ancestors().skip(1) {
        if !p.join("cgroup.subtree_control").exists() || has_child_dir(p) {
            return;
        }
        if let Some(ours) = xattr::get(p, ENABLED) {
            let minus: Vec<String> = ours.split_whitespace().map(|c| format!("-{c}")).collect();
            if minus.is_empty()
                || write_file(&p.join("cgroup.subtree_control"), &minus.join(" ")).is_ok()
            {
                xattr::remove(p, ENABLED);
            }
        }
        if xattr::get(p, MADE).is_none() || fs::remove_dir(p).is_err() {
            return;
        }
    }
}

fn has_child_dir(p: &Path) -> bool {
    fs::read_dir(p).map_or(true, |mut d| {
        d.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir())))
    })
}

/// Extended attributes of cgroup directories (cgroupfs keeps `trusted.*` ones, as
/// systemd's `trusted.delegate`); failures only mean nothing is recorded.
mod xattr {
    use std::path::Path;

    pub fn get(p: &Path, name: &str) -> Option<String> {
        let path = k3_sys::linux::cstr(p.as_os_str()).ok()?;
        let name = std::ffi::CString::new(name).ok()?;
        let mut buf = [0u8; 256];
        // SAFETY: both strings are NUL-terminated and outlive the call; buf is writable for its length.
        let n = unsafe {
            libc::getxattr(
                path.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).ok()?;
        Some(String::from_utf8_lossy(buf.get(..n)?).into_owned())
    }

    pub fn set(p: &Path, name: &str, value: &str) {
        let (Ok(path), Ok(name)) = (
            k3_sys::linux::cstr(p.as_os_str()),
            std::ffi::CString::new(name),
        ) else {
            return;
        };
        // SAFETY: NUL-terminated strings and a value buffer of the given length.
        unsafe {
            libc::setxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            );
        }
    }

    pub fn remove(p: &Path, name: &str) {
        let (Ok(path), Ok(name)) = (
            k3_sys::linux::cstr(p.as_os_str()),
            std::ffi::CString::new(name),
        ) else {
            return;
        };
        // SAFETY: NUL-terminated strings.
        unsafe {
            libc::removexattr(path.as_ptr(), name.as_ptr());
        }
    }
}

/// Pids in the container's cgroup (the first hierarchy that has them).
pub fn procs(paths: &[PathBuf]) -> Vec<i32> {
    for p in paths {
        if let Ok(s) = fs::read_to_string(p.join("cgroup.procs")) {
            return s.lines().filter_map(|l| l.trim().parse().ok()).collect();
        }
    }
    Vec::new()
}

/// True when the freezer says the cgroup is frozen.
pub fn is_frozen(dir: &Path) -> bool {
    if let Ok(s) = fs::read_to_string(dir.join("freezer.state")) {
        return s.trim() == "FROZEN";
    }
    fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
}

/// Freezes (`true`) or thaws the cgroup and waits until the kernel reports it.
pub fn freeze(paths: &[PathBuf], frozen: bool) -> Result<()> {
    for p in paths {
        let (file, value, want) = if p.join("freezer.state").exists() {
            (
                "freezer.state",
                if frozen { "FROZEN" } else { "THAWED" },
                if frozen { "FROZEN" } else { "THAWED" },
            )
        } else if p.join("cgroup.freeze").exists() {
            (
                "cgroup.freeze",
                if frozen { "1" } else { "0" },
                if frozen { "1" } else { "0" },
            )
        } else {
            continue;
        };
        write_file(&p.join(file), value)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = fs::read_to_string(p.join(file)).unwrap_or_default();
            let done = if file == "cgroup.freeze" {
                fs::read_to_string(p.join("cgroup.events"))
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l == format!("frozen {want}"))
            } else {
                now.trim() == want
            };
            if done {
                break;
            }
            if Instant::now() > deadline {
                return Err(CgroupError::FreezeTimeout {
                    path: p.join(file),
                    want,
                }
                .into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        return Ok(());
    }
    Err(CgroupError::NoFreezer.into())
}

/// Rebuilds a container's cgroup from the directories in its state.
pub fn from_paths(layout: &Layout, paths: &[PathBuf]) -> Cgroup {
    match layout {
        Layout::V2(_) => Cgroup {
            v2: true,
            dirs: paths.iter().map(|p| (vec![], p.clone())).collect(),
        },
        Layout::V1(hs) => Cgroup {
            v2: false,
            dirs: paths
                .iter()
                .map(|p| {
                    let ctrls = hs
                        .iter()
                        .find(|h| p.starts_with(&h.mount))
                        .map(|h| h.controllers.clone());
                    (ctrls.unwrap_or_default(), p.clone())
                })
                .collect(),
        },
    }
}

/// Removes the directories (children first), retrying while the last tasks leave.
pub fn destroy(paths: &[PathBuf]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    for p in paths {
        loop {
            match fs::remove_dir(p) {
                Ok(()) => {
                    tidy_parents(p);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    tidy_parents(p);
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(source) => {
                    return Err(CgroupError::Remove {
                        path: p.clone(),
                        source,
                    }
                    .into())
                }
            }
        }
    }
    Ok(())
}

/// The cgroup directories a running process is in (v1 hierarchies or the v2 one), from
/// /proc/PID/cgroup: for a container restored by CRIU, which recreated them.
pub fn procs_dirs(pid: i32) -> Vec<PathBuf> {
    let Ok(layout) = detect() else {
        return Vec::new();
    };
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    dirs_in(&layout, &text)
}

/// The directories of `layout` that /proc/PID/cgroup `text` names.
fn dirs_in(layout: &Layout, text: &str) -> Vec<PathBuf> {
    match layout {
        Layout::V2(mount) => vec![mount.join(own_cgroup(text, None).trim_start_matches('/'))],
        Layout::V1(hs) => hs
            .iter()
            .filter(|h| !h.controllers.iter().any(|c| c.starts_with("name=")))
            .map(|h| {
                let own = own_cgroup(text, h.controllers.first().map(String::as_str));
                h.mount.join(own.trim_start_matches('/'))
            })
            .collect(),
    }
}

/// The v2 cgroup (path within the hierarchy, `/…`) of `pid`, from /proc/PID/cgroup:
/// where systemd really put a scope's process. Under a user's manager that is below
/// `user@UID.service`, not where the slice's name alone would put it. `None` when the
/// file has no v2 line.
pub fn v2_cgroup_of(pid: i32) -> Result<Option<PathBuf>> {
    let file = format!("/proc/{pid}/cgroup");
    let text = fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
30 24 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_uses_v1_controllers() {
        match parse_mountinfo(HYBRID, false) {
            Layout::V1(hs) => {
                assert_eq!(hs.len(), 3);
                assert_eq!(hs[0].controllers, ["cpu"]);
                assert_eq!(hs[2].controllers, ["name=systemd"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_mount_of_a_hierarchy_is_not_a_second_hierarchy() {
        let text = "\
40 30 0:35 / /tmp/view/sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
41 30 0:35 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset
42 30 0:36 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
43 30 0:36 / /mnt/memory rw - cgroup cgroup rw,memory
";
        let Layout::V1(hs) = parse_mountinfo(text, false) else {
            panic!("v1 expected")
        };
        let mounts: Vec<_> = hs.iter().map(|h| h.mount.to_str().unwrap()).collect();
        assert_eq!(mounts, ["/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory"]);
    }

    #[test]
    fn pure_v2() {
        let t = "34 30 0:30 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            parse_mountinfo(t, true),
            Layout::V2("/sys/fs/cgroup".into())
        );
        // a v2 mount over a hybrid layout: the hidden /sys/fs/cgroup/unified comes first
        assert_eq!(
            parse_mountinfo(
                &format!("{HYBRID}40 30 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
                true
            ),
            Layout::V2("/sys/fs/cgroup".into())
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            container_path(Some(Path::new("/a/b")), "x", "/own"),
            Path::new("/a/b")
        );
        assert_eq!(
            container_path(Some(Path::new("a")), "x", "/own"),
            Path::new("/own/a")
        );
        assert_eq!(container_path(None, "x", "/own"), Path::new("/k3rt/x"));
        // `..` never leaves the hierarchy, absolute or relative (runc's CleanPath)
        for (p, want) in [
            ("../../../../x", "/own/x"),
            ("/../../x", "/x"),
            ("/a/../../b/./c", "/b/c"),
            ("a/../../..", "/own"),
        ] {
            assert_eq!(
                container_path(Some(Path::new(p)), "x", "/own"),
                Path::new(want),
                "{p}"
            );
        }
        let self_cg = "12:memory:/m\n4:cpu,cpuacct:/c\n0::/u\n";
        assert_eq!(own_cgroup(self_cg, Some("cpuacct")), "/c");
        assert_eq!(own_cgroup(self_cg, None), "/u");
        // v2: a relative path goes beside our cgroup, never under it
        assert_eq!(
            v2_relative_base("0::/user.slice/session-1.scope\n"),
            "/user.slice"
        );
        assert_eq!(v2_relative_base("0::/\n"), "/");
    }

    #[test]
    fn v2_writes_land_in_files_of_a_temp_dir() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("cgroup.controllers"), "cpu memory pids").unwrap();
        fs::write(root.path().join("cgroup.subtree_control"), "").unwrap();
        let dir = root.path().join("k3rt/c1");
        let cg = Cgroup {
            v2: true,
            dirs: vec![(vec![], dir.clone())],
        };
        for (ctrls, d) in &cg.dirs {
            mkdir_levels(d, ctrls, true).unwrap();
        }
        // only what is needed, and only in ancestors with cgroup files (the temp dir)
        let needed = ["hugetlb", "memory", "pids"].map(String::from).into();
        enable_along(&dir, &needed, &[]).unwrap();
        assert_eq!(
            fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap(),
            "+memory +pids"
        );
        for f in ["memory.max", "cpu.max", "pids.max", "cgroup.procs"] {
            fs::write(dir.join(f), "").unwrap();
        }
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":524288},"cpu":{"quota":6250,"period":100000},"pids":{"limit":10}}"#,
        )
        .unwrap();
        cg.apply(&plan::v2(&r)).unwrap();
        let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(read("memory.max"), "524288");
        assert_eq!(read("cpu.max"), "6250 100000");
        assert_eq!(read("pids.max"), "10");
        destroy(&cg.paths()).unwrap_err(); // files inside: rmdir of a real dir fails, named
    }

    #[test]
    fn controllers_of_writes() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"cpu":{"quota":6250},"hugepageLimits":[{"pageSize":"2MB","limit":0}],"unified":{"cgroup.max.depth":"3","io.max":"8:0 rbps=1"}}"#,
        )
        .unwrap();
        let c: Vec<String> = controllers_of(&plan::v2(&r)).into_iter().collect();
        assert_eq!(c, ["cpu", "hugetlb", "io"]);
    }

    #[test]
    fn systemd_paths() {
        let p = |s: Option<&str>| systemd_path(s, "c1").map(|p| p.display().to_string());
        assert_eq!(
            p(Some("kubepods-besteffort-pod1.slice:cri-containerd:abc")).unwrap(),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope"
        );
        assert_eq!(p(None).unwrap(), "/system.slice/k3rt-c1.scope");
        assert_eq!(p(Some(":crio:x")).unwrap(), "/system.slice/crio-x.scope");
        assert_eq!(p(Some("-.slice::x")).unwrap(), "/x.scope");
        assert_eq!(
            p(Some("a.slice:p:b-c.slice")).unwrap(),
            "/a.slice/b-c.slice"
        );
        for bad in [
            "/a/b",
            "a.slice:p",
            "nodot:p:x",
            "a--b.slice:p:x",
            "a.slice:p:",
            "-a.slice:p:x",
        ] {
            assert!(p(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn v2_missing_controller_is_named() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("cgroup.controllers"), "cpu\n").unwrap();
        let cg = Cgroup {
            v2: true,
            dirs: vec![(vec![], root.path().to_path_buf())],
        };
        let r: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":524288}}"#).unwrap();
        let e = cg.apply(&plan::v2(&r)).unwrap_err().to_string();
        assert!(
            e.contains("`memory` controller is not available")
                && e.contains("`memory.max` = `524288`"),
            "{e}"
        );
        assert!(e.contains("cgroup.controllers: `cpu`"), "{e}");
    }

    #[test]
    fn a_missing_controller_is_named() {
        let cg = Cgroup {
            v2: false,
            dirs: vec![(vec!["cpu".into()], PathBuf::from("/nonexistent"))],
        };
        let r: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":1}}"#).unwrap();
        let e = cg.apply(&plan::v1(&r)).unwrap_err().to_string();
        assert!(
            e.contains("`memory`") && e.contains("memory.limit_in_bytes"),
            "{e}"
        );
    }
}
