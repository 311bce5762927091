//! AUFS-style whiteout names in layer tars and their overlayfs form: a
//! `.wh.NAME` entry becomes a 0/0 character device `NAME`, a `.wh..wh..opq`
//! entry marks its directory opaque with `trusted.overlay.opaque=y`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// The prefix of whiteout entries.
pub const PREFIX: &str = ".wh.";
/// The opaque-directory marker.
pub const OPAQUE: &str = ".wh..wh..opq";
/// The xattr overlayfs reads for opaque directories.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What a tar entry's base name means.
#[derive(Debug, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// A normal entry.
    None,
    /// Mark the parent directory opaque.
    Opaque,
    /// Hide `NAME` of the lower layers.
    Remove(&'a OsStr),
    /// AUFS metadata (`.wh..wh.plnk` ...): ignore.
    Skip,
}

/// Classifies a base name.
pub fn classify(name: &OsStr) -> Whiteout<'_> {
    let bytes = name.as_bytes();
    if bytes == OPAQUE.as_bytes() {
        return Whiteout::Opaque;
    }
    let Some(rest) = bytes.strip_prefix(PREFIX.as_bytes()) else {
        return Whiteout::None;
    };
    if rest.starts_with(PREFIX.as_bytes()) {
        return Whiteout::Skip;
    }
    if rest.is_empty() || rest == b"." || rest == b".." {
        return Whiteout::Skip;
    }
    Whiteout::Remove(OsStr::from_bytes(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify(OsStr::new("file")), Whiteout::None);
        assert_eq!(classify(OsStr::new(".whatever")), Whiteout::None);
        assert_eq!(classify(OsStr::new(".wh..wh..opq")), Whiteout::Opaque);
        assert_eq!(
            classify(OsStr::new(".wh.foo")),
            Whiteout::Remove(OsStr::new("foo"))
        );
        assert_eq!(
            classify(OsStr::new(".wh..hidden")),
            Whiteout::Remove(OsStr::new(".hidden"))
        );
        assert_eq!(classify(OsStr::new(".wh..wh.plnk")), Whiteout::Skip);
        assert_eq!(classify(OsStr::new(".wh.")), Whiteout::Skip);
        assert_eq!(classify(OsStr::new(".wh...")), Whiteout::Skip);
    }
}
