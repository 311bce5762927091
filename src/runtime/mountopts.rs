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

/// `MOUNT_ATTR_*` of mount_setattr(2).
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// See [`MOUNT_ATTR_RDONLY`].
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// See [`MOUNT_ATTR_RDONLY`].
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
/// See [`MOUNT_ATTR_RDONLY`].
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// The atime mode field (an enum, not bits: cleared whole to change it).
pub const MOUNT_ATTR_ATIME: u64 = 0x70;
/// See [`MOUNT_ATTR_ATIME`].
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
/// See [`MOUNT_ATTR_ATIME`].
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
/// See [`MOUNT_ATTR_ATIME`].
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
/// See [`MOUNT_ATTR_RDONLY`].
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
/// See [`MOUNT_ATTR_RDONLY`].
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// A recursive option → (set, clear) of `MOUNT_ATTR_*` bits.
pub fn recursive(name: &str) -> Option<(u64, u64)> {
    let atime = |mode| (mode, MOUNT_ATTR_ATIME);
    Some(match name {
        "rro" => (MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, MOUNT_ATTR_RDONLY),
        "rnosuid" => (MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, MOUNT_ATTR_NOSUID),
        "rnodev" => (MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, MOUNT_ATTR_NODEV),
        "rnoexec" => (MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, MOUNT_ATTR_NOEXEC),
        "rnoatime" => atime(MOUNT_ATTR_NOATIME),
        "rstrictatime" => atime(MOUNT_ATTR_STRICTATIME),
        // back to the default mode
        "rrelatime" | "ratime" | "rnorelatime" | "rnostrictatime" => atime(MOUNT_ATTR_RELATIME),
        "rnodiratime" => (MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, MOUNT_ATTR_NODIRATIME),
        "rnosymfollow" => (MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// Every recursive option [`recursive`] knows.
pub const RECURSIVE: [&str; 18] = [
    "ratime",
    "rdev",
    "rdiratime",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "rrelatime",
    "rro",
    "rrw",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
];

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
    /// Recursive attributes (`rro`, `rnosuid`, `rnoatime` ...): `MOUNT_ATTR_*` bits to
    /// set and to clear on the mount and every submount with mount_setattr(2).
    pub rec_set: u64,
    /// See `rec_set`.
    pub rec_clr: u64,
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
        } else if let Some((set, clr)) = recursive(opt) {
            // later options win, as for the plain flags; an atime mode replaces the last
            if clr & MOUNT_ATTR_ATIME != 0 {
                o.rec_set &= !MOUNT_ATTR_ATIME;
            }
            o.rec_set = (o.rec_set & !clr) | set;
            o.rec_clr = (o.rec_clr & !set) | clr;
        } else {
            match opt {
                "tmpcopyup" | "copyup" => o.copyup = true,
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
        assert!(o.is_bind() && o.copyup && o.rec_set == MOUNT_ATTR_RDONLY && o.idmap);
        assert_eq!(o.flags & MS_REC, MS_REC);
        assert_eq!(o.flags & MS_NOSYMFOLLOW, MS_NOSYMFOLLOW);
        assert_eq!(o.data, "");
    }

    #[test]
    fn recursive_options_set_and_clear_attributes_later_ones_winning() {
        let o = parse(&["rbind", "rro", "rnosuid", "rnoatime", "rrw"]);
        assert_eq!(o.rec_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
        assert_eq!(o.rec_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_ATIME);
        assert_eq!(
            o.flags & MS_RDONLY,
            0,
            "recursive options leave the plain flags"
        );
        let o = parse(&["rnoatime", "rstrictatime"]);
        assert_eq!(o.rec_set, MOUNT_ATTR_STRICTATIME);
        for r in RECURSIVE {
            assert!(recursive(r).is_some(), "{r}");
            assert_eq!(parse(&[r]).data, "", "{r}");
        }
    }
}
