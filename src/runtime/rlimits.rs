//! `process.rlimits` → setrlimit(2), with the trace line per limit.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::error::CredentialsError;
use crate::trace::Log;
use crate::Result;

/// The kernel resource number of a spec rlimit type.
pub fn resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => Resource::RLIMIT_CPU,
        RlimitFsize => Resource::RLIMIT_FSIZE,
        RlimitData => Resource::RLIMIT_DATA,
        RlimitStack => Resource::RLIMIT_STACK,
        RlimitCore => Resource::RLIMIT_CORE,
        RlimitRss => Resource::RLIMIT_RSS,
        RlimitNproc => Resource::RLIMIT_NPROC,
        RlimitNofile => Resource::RLIMIT_NOFILE,
        RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        RlimitAs => Resource::RLIMIT_AS,
        RlimitLocks => Resource::RLIMIT_LOCKS,
        RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        RlimitNice => Resource::RLIMIT_NICE,
        RlimitRtprio => Resource::RLIMIT_RTPRIO,
        RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// The spec name of a type, for messages (`RLIMIT_NOFILE`).
pub fn name(t: PosixRlimitType) -> &'static str {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => "RLIMIT_CPU",
        RlimitFsize => "RLIMIT_FSIZE",
        RlimitData => "RLIMIT_DATA",
        RlimitStack => "RLIMIT_STACK",
        RlimitCore => "RLIMIT_CORE",
        RlimitRss => "RLIMIT_RSS",
        RlimitNproc => "RLIMIT_NPROC",
        RlimitNofile => "RLIMIT_NOFILE",
        RlimitMemlock => "RLIMIT_MEMLOCK",
        RlimitAs => "RLIMIT_AS",
        RlimitLocks => "RLIMIT_LOCKS",
        RlimitSigpending => "RLIMIT_SIGPENDING",
        RlimitMsgqueue => "RLIMIT_MSGQUEUE",
        RlimitNice => "RLIMIT_NICE",
        RlimitRtprio => "RLIMIT_RTPRIO",
        RlimitRttime => "RLIMIT_RTTIME",
    }
}

/// The trace line of each limit, written by k3rt before the clone (the seed's trace
/// order: after the namespaces, before "Running container PID after fork").
pub fn trace(limits: &[PosixRlimit], log: &Log) {
    for r in limits {
        log.debug(format!(
            "Set rlimit: soft = `{}`, hard = `{}`",
            r.soft(),
            r.hard()
        ));
    }
}

/// Sets every limit on the calling process: the container init calls it as late as it
/// can (after its rootfs and files are done, before seccomp and the user switch), so
/// that a tiny `RLIMIT_NOFILE` or an `RLIMIT_FSIZE` of 0 binds the container, not
/// k3rt's own work. It writes nothing (with `RLIMIT_FSIZE` 0 a write to a log file
/// would raise SIGXFSZ): k3rt traced the limits before the clone.
pub fn apply(limits: &[PosixRlimit]) -> Result<()> {
    for r in limits {
        set(r.typ(), r.soft(), r.hard())?;
    }
    Ok(())
}

/// The limits but `RLIMIT_NOFILE`, and `RLIMIT_NOFILE` alone: the init sets the first
/// with the rest of its setup and the descriptor limit last, just before the exec, once
/// it has opened the exec fifo (a limit of 8 would refuse that open).
pub fn split_nofile(limits: &[PosixRlimit]) -> (Vec<PosixRlimit>, Vec<PosixRlimit>) {
    limits
        .iter()
        .partition(|r| r.typ() != PosixRlimitType::RlimitNofile)
}

/// Raises the caller's hard limits to those of `limits` that are higher, keeping every
/// soft limit: k3rt (root outside any user namespace) does this before the clone so
/// that an init inside a user namespace may later set them, which it could not raise
/// itself. Nothing is lowered here.
pub fn raise_hard(limits: &[PosixRlimit]) -> Result<()> {
    for r in limits {
        let (soft, hard) =
            getrlimit(resource(r.typ())).map_err(|e| CredentialsError::ReadRlimit {
                rlimit: name(r.typ()),
                source: e.into(),
            })?;
        if r.hard() > hard {
            set(r.typ(), soft, r.hard())?;
        }
    }
    Ok(())
}

fn set(t: PosixRlimitType, soft: u64, hard: u64) -> Result<()> {
    setrlimit(resource(t), soft, hard).map_err(|e| CredentialsError::SetRlimit {
        rlimit: name(t),
        soft,
        hard,
        source: e.into(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(name(PosixRlimitType::RlimitNofile), "RLIMIT_NOFILE");
        // the table says what the spec's Debug names say
        for t in [
            PosixRlimitType::RlimitCpu,
            PosixRlimitType::RlimitSigpending,
            PosixRlimitType::RlimitRttime,
        ] {
            let dbg = format!("{t:?}");
            let want = format!(
                "RLIMIT_{}",
                dbg.trim_start_matches("Rlimit").to_ascii_uppercase()
            );
            assert_eq!(name(t), want);
        }
        assert_eq!(
            resource(PosixRlimitType::RlimitNofile),
            Resource::RLIMIT_NOFILE
        );
        assert_eq!(
            resource(PosixRlimitType::RlimitRttime),
            Resource::RLIMIT_RTTIME
        );
    }
}
