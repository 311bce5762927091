//! `k3 cp`: copy files and directories between a container and the host,
//! as `docker cp` does:
//!
//! ```text
//! k3 cp CONTAINER:SRC HOST_DEST     k3 cp CONTAINER:SRC -   (a tar on stdout)
//! k3 cp HOST_SRC CONTAINER:DEST     k3 cp - CONTAINER:DIR   (a tar from stdin)
//! ```
//!
//! A directory is copied into an existing directory under its own name, or
//! becomes the destination when that does not exist; `SRC/.` copies the
//! content only. A file goes into an existing directory, or to the
//! destination path. Paths in the container are resolved inside its rootfs, or
//! inside the host source of the bind mount or named volume mounted at the
//! deepest prefix of the path (as podman does), by [`RootDir`]: `..` and
//! symlinks there never lead out. A read-only mount and a bind-mounted file
//! take no copy. Files copied in belong to root, as with docker.

use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::globals::{other, Failure, Root};
use k3_engine::db::{containers, snapshots, volumes as volume_records};
use k3_engine::store::copy::{self, CopyError, Kind, RootDir};
use k3_engine::store::volumes;

/// `k3 cp` arguments.
#[derive(Args, Debug)]
pub struct CpArgs {
    /// `CONTAINER:PATH`, a host path, or `-` (a tar stream on stdin)
    pub source: String,
    /// `CONTAINER:PATH`, a host path, or `-` (a tar stream on stdout)
    pub destination: String,
}

/// One side of a copy.
#[derive(Debug, PartialEq)]
enum Side {
    /// `-`: a tar stream.
    Stream,
    /// A host path.
    Host(PathBuf),
    /// A path in a container.
    Container { id: String, path: String },
}

/// docker's rule: a path starting with `/` or `.` is the host's; else
/// `NAME:PATH` names a container.
fn side(arg: &str) -> Side {
    if arg == "-" {
        return Side::Stream;
    }
    if !arg.starts_with('/') && !arg.starts_with('.') {
        if let Some((id, path)) = arg.split_once(':') {
            if !id.is_empty() {
                let path = if path.starts_with('/') {
                    path.to_string()
                } else {
                    format!("/{path}")
                };
                return Side::Container {
                    id: id.to_string(),
                    path,
                };
            }
        }
    }
    Side::Host(PathBuf::from(arg))
}

fn fail(msg: String) -> Failure {
    other(anyhow::anyhow!(msg))
}

/// The last name of `path` (`.` for `/` or a path ending in `/.`).
fn base_name(path: &str) -> String {
    if path.ends_with("/.") || path == "." {
        return ".".to_string();
    }
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(".")
        .to_string()
}

/// A mount of the container whose host source `k3 cp` reads and writes (as
/// podman does): a `-v /host:/path` bind or a named volume.
#[derive(Debug, PartialEq)]
struct HostMount {
    /// The path in the container.
    at: String,
    /// The host directory (or file) mounted there.
    source: PathBuf,
    /// Mounted read-only: nothing is copied into it.
    readonly: bool,
}

impl HostMount {
    /// Whether `path` (in the container) is this mount or under it; a file is
    /// only its own mount point.
    fn holds(&self, path: &str, is_dir: bool) -> bool {
        let at = self.at.trim_end_matches('/');
        path == self.at
            || path.trim_end_matches('/') == at
            || (is_dir && (at.is_empty() || path.starts_with(&format!("{at}/"))))
    }
}

/// The bind mounts and volumes of a container's validated options; volumes'
/// sources from their records (`volume_dirs`: name to host directory).
fn host_mounts(
    validated: &serde_json::Value,
    volume_dirs: &[(String, String, PathBuf)],
) -> Vec<HostMount> {
    let ro = |m: &serde_json::Value| m["readonly"].as_bool().unwrap_or(false);
    let mut out: Vec<HostMount> = validated["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some(HostMount {
                at: m["container"].as_str()?.to_string(),
                source: PathBuf::from(m["host"].as_str()?),
                readonly: ro(m),
            })
        })
        .collect();
    for (name, at, dir) in volume_dirs {
        let readonly = validated["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| {
                v["name"].as_str() == Some(name) && v["container"].as_str() == Some(at) && ro(v)
            });
        out.push(HostMount {
            at: at.clone(),
            source: dir.clone(),
            readonly,
        });
    }
    out
}

/// The deepest mount that holds `path`, and the path within its source.
fn mount_for<'a>(mounts: &'a [HostMount], path: &str) -> Option<(&'a HostMount, String)> {
    mounts
        .iter()
        .filter(|m| m.holds(path, m.source.is_dir()))
        .max_by_key(|m| m.at.trim_end_matches('/').len())
        .map(|m| {
            let rest = path
                .get(m.at.trim_end_matches('/').len()..)
                .unwrap_or_default()
                .trim_end_matches('/');
            (
                m,
                if rest.is_empty() {
                    "/".to_string()
                } else {
                    rest.to_string()
                },
            )
        })
}

/// Where a container path lives on the host.
struct Located {
    /// The root every path is resolved in (the rootfs or a mount's source).
    root: RootDir,
    /// The path within it.
    path: String,
    /// In a read-only mount.
    readonly: bool,
    /// The mount point when it is a bind-mounted file (the path is its name).
    file_bind: Option<String>,
}

/// Where in the container `path` lives: the rootfs, or the host source of a
/// bind mount or named volume the container mounts at a prefix of it, opened so
/// that `..` and symlinks never lead out of that source.
fn container_root(ctx: &Root, id: &str, path: &str) -> Result<Located, Failure> {
    let rec = containers::get(ctx.db.conn(), id)?
        .ok_or_else(|| fail(format!("container `{id}` does not exist")))?;
    let volume_dirs: Vec<(String, String, PathBuf)> = volume_records::mounts_of(ctx.db.conn(), id)?
        .into_iter()
        .map(|(name, at)| {
            let dir = volumes::data_dir(&ctx.store, &name);
            (name, at, dir)
        })
        .collect();
    let mounts = host_mounts(&rec.validated, &volume_dirs);
    if let Some((m, rest)) = mount_for(&mounts, path) {
        if !m.source.is_dir() {
            // a bind-mounted file: its directory on the host, and its name there
            let name = m
                .source
                .file_name()
                .map(|n| n.to_string_lossy().to_string());
            let parent = m.source.parent().map(Path::to_path_buf);
            let (Some(name), Some(parent)) = (name, parent) else {
                return Err(fail(format!(
                    "invalid bind source `{}`",
                    m.source.display()
                )));
            };
            return Ok(Located {
                root: RootDir::open(&parent).map_err(other)?,
                path: format!("/{name}"),
                readonly: m.readonly,
                file_bind: Some(m.at.clone()),
            });
        }
        return Ok(Located {
            root: RootDir::open(&m.source).map_err(other)?,
            path: rest,
            readonly: m.readonly,
            file_bind: None,
        });
    }
    let snap = snapshots::get(ctx.db.conn(), &rec.hash)?
        .ok_or_else(|| fail(format!("container `{id}` has no rootfs (no snapshot)")))?;
    Ok(Located {
        root: RootDir::open(Path::new(&snap.rootfs)).map_err(other)?,
        path: path.to_string(),
        readonly: false,
        file_bind: None,
    })
}

/// `k3 cp`.
pub fn run(ctx: &Root, a: &CpArgs) -> Result<(), Failure> {
    match (side(&a.source), side(&a.destination)) {
        (Side::Container { id, path }, dest @ (Side::Host(_) | Side::Stream)) => {
            copy_out(ctx, &id, &path, dest)
        }
        (src @ (Side::Host(_) | Side::Stream), Side::Container { id, path }) => {
            copy_in(ctx, src, &id, &path)
        }
        (Side::Container { .. }, Side::Container { .. }) => Err(fail(
            "copying between containers is not supported: copy to the host first".into(),
        )),
        _ => Err(fail(format!(
            "invalid arguments `{}` `{}`: one of them must be `CONTAINER:PATH`",
            a.source, a.destination
        ))),
    }
}

fn copy_out(ctx: &Root, id: &str, src: &str, dest: Side) -> Result<(), Failure> {
    let Located { root, path, .. } = container_root(ctx, id, src)?;
    let follow = src.ends_with('/') || src.ends_with("/.");
    let kind = root.kind(&path, follow).map_err(other)?.ok_or_else(|| {
        fail(format!(
            "no such file or directory `{src}` in container `{id}`"
        ))
    })?;
    let Side::Host(dest) = dest else {
        let stdout = io::stdout();
        if stdout.is_terminal() {
            return Err(fail(
                "refusing to write a tar stream to a terminal: redirect stdout".into(),
            ));
        }
        let top = match base_name(src).as_str() {
            "." => ".".to_string(),
            b => b.to_string(),
        };
        return root
            .archive(&path, &top, follow, BufWriter::new(stdout.lock()))
            .map_err(other);
    };
    let dest_meta = std::fs::metadata(&dest).ok();
    let dest_str = dest.to_string_lossy().to_string();
    let (dir, top) = match (kind, dest_meta.as_ref().map(|m| m.is_dir())) {
        (Kind::Dir, Some(true)) => (dest.clone(), base_name(src)),
        (Kind::Dir, Some(false)) => {
            return Err(fail(format!(
                "cannot copy directory `{src}` to file `{dest_str}`"
            )))
        }
        (_, Some(true)) => (dest.clone(), base_name(src)),
        (_, None) if dest_str.ends_with('/') => {
            return Err(fail(format!(
                "destination directory `{dest_str}` does not exist"
            )))
        }
        (_, _) => host_parent(&dest)?,
    };
    let top = if top == "." && kind != Kind::Dir {
        // `/.` of a file is an error in docker too
        return Err(fail(format!("`{src}` is not a directory")));
    } else {
        top
    };
    // the container side writes a tar into a pipe; the host side unpacks it
    let (reader, writer) = copy::pipe().map_err(other)?;
    std::thread::scope(|s| {
        let producer = s.spawn(|| {
            let w = BufWriter::new(writer);
            root.archive(&path, &top, follow, w)
        });
        // the reader is dropped as this returns: a failed unpack stops the producer
        let unpacked = copy::unpack_on_host(reader, &dir);
        let produced = producer
            .join()
            .map_err(|_| fail("the archive thread panicked".into()))?;
        produced.map_err(other)?;
        unpacked.map_err(|e| {
            other(anyhow::anyhow!(e).context(format!("cannot write into `{}`", dir.display())))
        })
    })
}

/// The existing parent of a host destination and the new last name.
fn host_parent(dest: &Path) -> Result<(PathBuf, String), Failure> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| fail(format!("invalid destination `{}`", dest.display())))?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(fail(format!(
            "destination directory `{}` does not exist",
            parent.display()
        )));
    }
    Ok((parent, name))
}

fn copy_in(ctx: &Root, src: Side, id: &str, dest: &str) -> Result<(), Failure> {
    let Located {
        root,
        path,
        readonly,
        file_bind,
    } = container_root(ctx, id, dest)?;
    if readonly {
        return Err(fail(format!(
            "cannot copy into `{dest}` in container `{id}`: a read-only mount"
        )));
    }
    if let Some(at) = file_bind {
        // replacing the file would leave the container with the old one
        return Err(fail(format!(
            "cannot copy onto `{at}` in container `{id}`: a bind-mounted file (write it on the host)"
        )));
    }
    let Side::Host(src) = src else {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            return Err(fail("no tar stream on stdin: redirect stdin".into()));
        }
        root.extract(&path, stdin.lock()).map_err(other)?;
        return Ok(());
    };
    let meta = std::fs::symlink_metadata(&src).map_err(|e| {
        other(anyhow::anyhow!(e).context(format!("cannot read `{}`", src.display())))
    })?;
    let src_str = src.to_string_lossy().to_string();
    let dest_kind = root.kind(&path, true).map_err(other)?;
    let (dir, top) = match (meta.is_dir(), dest_kind) {
        (true, Some(Kind::Dir)) | (false, Some(Kind::Dir)) => (path.clone(), base_name(&src_str)),
        (true, Some(_)) => {
            return Err(fail(format!(
                "cannot copy directory `{src_str}` to file `{dest}` in container `{id}`"
            )))
        }
        (false, None) if dest.ends_with('/') => {
            return Err(fail(format!(
                "destination directory `{dest}` does not exist in container `{id}`"
            )))
        }
        (_, _) => {
            let trimmed = path.trim_end_matches('/');
            let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
            let parent = if parent.is_empty() { "/" } else { parent };
            (parent.to_string(), name.to_string())
        }
    };
    if top == "." && !meta.is_dir() {
        return Err(fail(format!("`{src_str}` is not a directory")));
    }
    let (reader, writer) = copy::pipe().map_err(other)?;
    std::thread::scope(|s| {
        let producer = s.spawn(|| copy::archive_host(&src, &top, BufWriter::new(writer)));
        let extracted = root.extract(&dir, reader);
        let produced = producer
            .join()
            .map_err(|_| fail("the archive thread panicked".into()))?;
        let host_err =
            |e: io::Error| other(anyhow::anyhow!(e).context(format!("cannot read `{src_str}`")));
        match (extracted, produced) {
            (Ok(_), Ok(())) => Ok(()),
            // a host read error cut the stream short: that is the cause
            (Err(CopyError::Stream { .. }), Err(e)) | (Ok(_), Err(e)) => Err(host_err(e)),
            // the container side refused: the host side's broken pipe follows from it
            (Err(e), _) => Err(other(e)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_as_docker_reads_them() {
        assert_eq!(side("-"), Side::Stream);
        assert_eq!(side("./a:b"), Side::Host("./a:b".into()));
        assert_eq!(side("/x:y"), Side::Host("/x:y".into()));
        assert_eq!(side("plain"), Side::Host("plain".into()));
        assert_eq!(
            side("web:etc/hosts"),
            Side::Container {
                id: "web".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(base_name("/etc/"), "etc");
        assert_eq!(base_name("/etc/."), ".");
        assert_eq!(base_name("/"), ".");
        assert_eq!(base_name("a/b"), "b");
    }

    #[test]
    fn the_deepest_mount_holds_a_path() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let validated = serde_json::json!({
            "mounts": [
                {"host": a.to_str().unwrap(), "container": "/mnt", "readonly": false},
                {"host": f.to_str().unwrap(), "container": "/etc/app.conf", "readonly": true},
            ],
            "volumes": [{"name": "v", "container": "/mnt/data", "readonly": true}],
        });
        let m = host_mounts(&validated, &[("v".into(), "/mnt/data".into(), b.clone())]);
        let (at, rest) = mount_for(&m, "/mnt/x/y").unwrap();
        assert_eq!((at.source.as_path(), rest.as_str()), (a.as_path(), "/x/y"));
        let (at, rest) = mount_for(&m, "/mnt/data/").unwrap();
        assert_eq!(
            (at.source.as_path(), rest.as_str(), at.readonly),
            (b.as_path(), "/", true)
        );
        assert_eq!(mount_for(&m, "/mnt").unwrap().1, "/");
        assert!(mount_for(&m, "/mntx").is_none());
        assert!(mount_for(&m, "/etc/app.conf").is_some());
        assert!(mount_for(&m, "/etc/app.conf/x").is_none());
    }
}
