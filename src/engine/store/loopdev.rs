//! Disk-limited writable layers: a sparse file formatted as ext4
//! (`mkfs.ext4` from e2fsprogs) attached to a free loop device with the
//! `LOOP_CTL_GET_FREE` and `LOOP_CONFIGURE` ioctls (no `losetup`).
//!
//! The device is configured with `LO_FLAGS_AUTOCLEAR`, so it detaches by
//! itself when the filesystem on it is unmounted.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
/// Tries before giving up when another process takes the free device first.
const ATTACH_TRIES: usize = 8;

/// `struct loop_info64` from `<linux/loop.h>`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` from `<linux/loop.h>`.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// A disk-limit failure.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    /// Creating the backing file failed.
    #[error("cannot create backing file `{path}` of `{size_mb}` MB")]
    Backing {
        /// The file.
        path: PathBuf,
        /// The size.
        size_mb: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `mkfs.ext4` could not run or failed.
    #[error("`mkfs.ext4` on `{path}` failed: {reason}")]
    Mkfs {
        /// The file.
        path: PathBuf,
        /// What it said.
        reason: String,
    },
    /// A loop ioctl failed.
    #[error("cannot {op} loop device `{device}`")]
    Ioctl {
        /// What was tried.
        op: &'static str,
        /// The device.
        device: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Creates a sparse `size_mb` MB file at `path` holding an empty ext4.
pub fn make_ext4_image(path: &Path, size_mb: u64) -> Result<(), LoopError> {
    let backing = |source| LoopError::Backing {
        path: path.to_path_buf(),
        size_mb,
        source,
    };
    let file = File::create(path).map_err(backing)?;
    file.set_len(size_mb << 20).map_err(backing)?;
    drop(file);
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-m", "0", "-E", "nodiscard"])
        .arg(path)
        .output()
        .map_err(|e| LoopError::Mkfs {
            path: path.to_path_buf(),
            reason: format!("cannot run it ({e}); install e2fsprogs"),
        })?;
    if !out.status.success() {
        return Err(LoopError::Mkfs {
            path: path.to_path_buf(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// An attached loop device; keep it until the filesystem on it is mounted
/// (autoclear detaches the device at its last close).
#[derive(Debug)]
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub path: PathBuf,
    _fd: File,
}

/// Attaches `backing` to a free loop device with autoclear.
pub fn attach(backing: &Path) -> Result<LoopDevice, LoopError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(backing)
        .map_err(|source| LoopError::Backing {
            path: backing.to_path_buf(),
            size_mb: 0,
            source,
        })?;
    let ctl_err = |op| {
        move |source| LoopError::Ioctl {
            op,
            device: "/dev/loop-control".into(),
            source,
        }
    };
    let ctl = File::open("/dev/loop-control").map_err(ctl_err("open"))?;
    let mut last = None;
    for _ in 0..ATTACH_TRIES {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if n < 0 {
            return Err(ctl_err("find a free")(io::Error::last_os_error()));
        }
        let dev = PathBuf::from(format!("/dev/loop{n}"));
        match configure(&dev, &file) {
            Ok(fd) => return Ok(LoopDevice { path: dev, _fd: fd }),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => last = Some(e),
            Err(source) => {
                return Err(LoopError::Ioctl {
                    op: "configure",
                    device: dev.display().to_string(),
                    source,
                })
            }
        }
    }
    Err(LoopError::Ioctl {
        op: "configure a free",
        device: "/dev/loop*".into(),
        source: last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EBUSY)),
    })
}

fn configure(dev: &Path, backing: &File) -> io::Result<File> {
    let loop_dev = OpenOptions::new().read(true).write(true).open(dev)?;
    // SAFETY: the struct is plain old data; all-zero is a valid value.
    let mut cfg: LoopConfig = unsafe { std::mem::zeroed() };
    let fd = backing.as_raw_fd();
    cfg.fd = u32::try_from(fd)
        .map_err(|_| io::Error::other(format!("backing file descriptor `{fd}`")))?;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    // SAFETY: LOOP_CONFIGURE reads a `struct loop_config` we own for the call.
    let ret = unsafe {
        libc::ioctl(
            loop_dev.as_raw_fd(),
            LOOP_CONFIGURE,
            &cfg as *const LoopConfig,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(loop_dev)
}
