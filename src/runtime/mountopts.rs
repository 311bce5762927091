//! Mount option strings → kernel flags, propagation flags, filesystem data, and the
//! options that are not kernel flags at all (`tmpcopyup`, `rro`, `idmap` ...), which the
//! runtime handles itself instead of passing them raw to mount(2).

use libc::{
    MS_BIND, MS_DIRSYNC, MS_LAZYTIME, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC,
    MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SILENT,
    MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
};

/// `MS_NOSYMFOLLOW` (Linux 5.10), not in every libc.
pub const MS_NOSYMFOLLOW: u64 = 256;

/// A parsed `options` list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for mount(2).
    pub flags: u64,
    /// Flags cleared by an option (`rw`, `suid` ...), for remounts.
    pub cleared: u64,
    /// Propagation to apply after the mount (`rprivate`, `shared` ...).
    pub propagation: u64,
    /// Filesystem-specific data (`mode=755,size=65536k`).
    pub data: String,
    /// `tmpcopyup` / `copyup`: copy the directory's old content into the new tmpfs.
    pub copyup: bool,
    /// Recursive read-only (`rro`): the runtime makes every submount read-only too.
    pub recursive_ro: bool,
    /// `idmap` / `ridmap`: an id-mapped mount was asked for.
    pub idmap: bool,
}

impl MountOptions {
    /// A bind mount (`bind` or `rbind` among the options).
    pub fn is_bind(&self) -> bool {
        self.flags & MS_BIND != 0
    }
}

fn flag(name: &str) -> Option<(bool, u64)> {
    // (clear, flag)
    Some(match name {
        "ro" => (false, MS_RDONLY),
        "rw" => (true, MS_RDONLY),
        "nosuid" => (false, MS_NOSUID),
        "suid" => (true, MS_NOSUID),
        "nodev" => (false, MS_NODEV),
        "dev" => (true, MS_NODEV),
        "noexec" => (false, MS_NOEXEC),
        "exec" => (true, MS_NOEXEC),
        "sync" => (false, MS_SYNCHRONOUS),
        "async" => (true, MS_SYNCHRONOUS),
        "dirsync" => (false, MS_DIRSYNC),
        "remount" => (false, MS_REMOUNT),
        "mand" => (false, MS_MANDLOCK),
        "nomand" => (true, MS_MANDLOCK),
        "atime" => (true, MS_NOATIME),
        "noatime" => (false, MS_NOATIME),
        "diratime" => (true, MS_NODIRATIME),
        "nodiratime" => (false, MS_NODIRATIME),
        "relatime" => (false, MS_RELATIME),
        "norelatime" => (true, MS_RELATIME),
        "strictatime" => (false, MS_STRICTATIME),
        "nostrictatime" => (true, MS_STRICTATIME),
        "lazytime" => (false, MS_LAZYTIME),
        "nolazytime" => (true, MS_LAZYTIME),
        "silent" => (false, MS_SILENT),
        "loud" => (true, MS_SILENT),
        "bind" => (false, MS_BIND),
        "rbind" => (false, MS_BIND | MS_REC),
        "nosymfollow" => (false, MS_NOSYMFOLLOW),
        "symfollow" => (true, MS_NOSYMFOLLOW),
        _ => return None,
    })
}

/// Propagation option → flags.
pub fn propagation(name: &str) -> Option<u64> {
    Some(match name {
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => return None,
    })
}

/// Parses an OCI `options` list.
pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut o = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in options.iter().map(AsRef::as_ref) {
        if let Some((clear, f)) = flag(opt) {
            if clear {
                o.flags &= !f;
                o.cleared |= f;
            } else {
                o.flags |= f;
                o.cleared &= !f;
            }
        } else if let Some(p) = propagation(opt) {
            o.propagation |= p;
        } else {
            match opt {
                "tmpcopyup" | "copyup" => o.copyup = true,
                "rro" => {
                    o.flags |= MS_RDONLY;
                    o.recursive_ro = true;
                }
                "rrw" | "rnosuid" | "rsuid" | "rnodev" | "rdev" | "rnoexec" | "rexec"
                | "rnoatime" | "ratime" | "rrelatime" | "rstrictatime" | "rnodiratime"
                | "rdiratime" | "rnosymfollow" | "rsymfollow" => {
                    // recursive attributes: the plain flag applies to the top mount
                    if let Some((clear, f)) = flag(&opt[1..]) {
                        if clear {
                            o.flags &= !f;
                        } else {
                            o.flags |= f;
                        }
                    }
                }
                "idmap" | "ridmap" => o.idmap = true,
                "" | "defaults" => {}
                other => data.push(other),
            }
        }
    }
    o.data = data.join(",");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_data_and_propagation_are_split() {
        let o = parse(&[
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "rprivate",
        ]);
        assert_eq!(o.flags, MS_NOSUID | MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, MS_PRIVATE | MS_REC);
    }

    #[test]
    fn later_options_win() {
        let o = parse(&["ro", "rw"]);
        assert_eq!(o.flags & MS_RDONLY, 0);
        assert_eq!(o.cleared & MS_RDONLY, MS_RDONLY);
    }

    #[test]
    fn engine_only_options_never_reach_data() {
        let o = parse(&["rbind", "tmpcopyup", "rro", "idmap", "nosymfollow"]);
        assert!(o.is_bind() && o.copyup && o.recursive_ro && o.idmap);
        assert_eq!(o.flags & MS_REC, MS_REC);
        assert_eq!(o.flags & MS_NOSYMFOLLOW, MS_NOSYMFOLLOW);
        assert_eq!(o.data, "");
    }
}
