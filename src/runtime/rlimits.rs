//! `process.rlimits` → setrlimit(2), with the trace line per limit.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::runtime::trace::Log;
use crate::runtime::{Error, Result};

/// The kernel resource number of a spec rlimit type.
pub fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// The spec name of a type, for messages (`RLIMIT_NOFILE`).
pub fn name(t: PosixRlimitType) -> String {
    let dbg = format!("{t:?}"); // RlimitNofile
    format!(
        "RLIMIT_{}",
        dbg.trim_start_matches("Rlimit").to_ascii_uppercase()
    )
}

/// Sets every limit on the calling process (inherited by the container init).
pub fn apply(limits: &[PosixRlimit], log: &Log) -> Result<()> {
    for r in limits {
        log.debug(format!(
            "Set rlimit: soft = `{}`, hard = `{}`",
            r.soft(),
            r.hard()
        ));
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: lim outlives the call.
        if unsafe { libc::setrlimit(resource(r.typ()), &lim) } < 0 {
            return Err(Error::last(format!(
                "set rlimit `{}` to soft `{}` hard `{}`",
                name(r.typ()),
                r.soft(),
                r.hard()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(name(PosixRlimitType::RlimitNofile), "RLIMIT_NOFILE");
        assert_eq!(resource(PosixRlimitType::RlimitNofile), libc::RLIMIT_NOFILE);
        assert_eq!(resource(PosixRlimitType::RlimitRttime), libc::RLIMIT_RTTIME);
    }
}
