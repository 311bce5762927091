//! The cgroup v2 device policy: v2 has no devices controller, so the rules become a
//! small eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the container's
//! cgroup, as runc and crun do. Rules are checked last to first and the first match
//! decides, which is the v1 rule list's "last rule wins"; nothing matching is denied.

use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{CgroupError, Error, Result};

/// One device rule with wildcards as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Allow (`true`) or deny the matching accesses.
    pub allow: bool,
    /// 1 block, 2 char (BPF_DEVCG_DEV_*); `None` for both.
    pub kind: Option<u32>,
    /// The major number; `None` for any.
    pub major: Option<u32>,
    /// The minor number; `None` for any.
    pub minor: Option<u32>,
    /// BPF_DEVCG_ACC_* bits: 1 mknod, 2 read, 4 write.
    pub access: u32,
}

fn access_bits(s: &str) -> u32 {
    s.chars().fold(0, |a, c| {
        a | match c {
            'm' => 1,
            'r' => 2,
            'w' => 4,
            _ => 0,
        }
    })
}

impl Rule {
    /// The rule of one `linux.resources.devices[]` entry.
    pub fn from_spec(d: &LinuxDeviceCgroup) -> Rule {
        let kind = match d.typ() {
            Some(LinuxDeviceType::B) => Some(1),
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(2),
            _ => None,
        };
        // a number past u32 names no device: u32::MAX matches nothing real either
        let n = |v: Option<i64>| {
            v.filter(|v| *v >= 0)
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
        };
        Rule {
            allow: d.allow(),
            kind,
            major: n(d.major()),
            minor: n(d.minor()),
            access: access_bits(d.access().as_deref().unwrap_or("rwm")),
        }
    }

    /// `c 1:3 rwm` / `b *:* m` as in the v1 rule strings.
    pub fn parse(allow: bool, s: &str) -> Option<Rule> {
        let mut it = s.split_whitespace();
        let kind = match it.next()? {
            "a" => {
                return Some(Rule {
                    allow,
                    kind: None,
                    major: None,
                    minor: None,
                    access: 7,
                })
            }
            "b" => Some(1),
            "c" => Some(2),
            _ => return None,
        };
        let (maj, min) = it.next()?.split_once(':')?;
        let n = |s: &str| if s == "*" { None } else { s.parse().ok() };
        Some(Rule {
            allow,
            kind,
            major: n(maj),
            minor: n(min),
            access: access_bits(it.next().unwrap_or("rwm")),
        })
    }
}

/// A raw eBPF instruction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// The opcode.
    pub code: u8,
    /// dst in the low nibble, src in the high nibble
    pub regs: u8,
    /// The jump offset (instructions after the next one) or load offset.
    pub off: i16,
    /// The immediate operand.
    pub imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// The 32 bits of `v` as an instruction's immediate (the kernel compares the bits).
fn imm(v: u32) -> i32 {
    i32::from_ne_bytes(v.to_ne_bytes())
}

/// An immediate as a 64-bit operand: sign-extended, as the kernel does for ALU64/JMP.
fn imm64(v: i32) -> u64 {
    u64::from_ne_bytes(i64::from(v).to_ne_bytes())
}

/// A jump offset as a forward distance (the programs built here only jump forward).
fn forward(off: i16) -> usize {
    usize::try_from(off).unwrap_or(0)
}

const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
const AND_K: u8 = 0x57;
const RSH_K: u8 = 0x77;
const MOV_K: u8 = 0xb7;
const MOV_X: u8 = 0xbf;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

/// The program for a rule list: r2 type, r3 access, r4 major, r5 minor.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let b = block(r);
        // a rule without a test (`a *:* rwm` allowed: what a privileged container
        // gets) decides every request; the verifier refuses the unreachable rest
        let decides_all = !b.iter().any(|i| matches!(i.code, JNE_K | JEQ_K));
        p.extend(b);
        if decides_all {
            return p;
        }
    }
    p.push(insn(MOV_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// One rule: jumps past itself unless the request matches, else returns the verdict.
fn block(r: &Rule) -> Vec<Insn> {
    // (test, value) pairs; each becomes a jump to the end of the block
    let mut tests: Vec<Vec<Insn>> = Vec::new();
    if let Some(k) = r.kind {
        tests.push(vec![insn(JNE_K, 2, 0, 0, imm(k))]);
    }
    if r.access != 7 || !r.allow {
        // allow: every requested bit must be allowed; deny: any requested bit denied
        let (mask, jump) = if r.allow {
            (!r.access & 7, JNE_K)
        } else {
            (r.access, JEQ_K)
        };
        tests.push(vec![
            insn(MOV_X, 6, 3, 0, 0),
            insn(AND_K, 6, 0, 0, imm(mask)),
            insn(jump, 6, 0, 0, 0),
        ]);
    }
    if let Some(m) = r.major {
        tests.push(vec![insn(JNE_K, 4, 0, 0, imm(m))]);
    }
    if let Some(m) = r.minor {
        tests.push(vec![insn(JNE_K, 5, 0, 0, imm(m))]);
    }
    let total: usize = tests.iter().map(Vec::len).sum::<usize>() + 2;
    let mut out = Vec::with_capacity(total);
    for t in tests {
        for mut i in t {
            if matches!(i.code, JNE_K | JEQ_K) {
                // jump over what is left of the block (offsets count from the next insn)
                // a block is at most 7 instructions: the offset always fits
                i.off = i16::try_from(total - out.len() - 1).unwrap_or(i16::MAX);
            }
            out.push(i);
        }
    }
    out.push(insn(MOV_K, 0, 0, 0, i32::from(r.allow)));
    out.push(insn(EXIT, 0, 0, 0, 0));
    out
}

/// Evaluates a program the way the kernel would (for tests): 1 allow, 0 deny.
pub fn run(prog: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | kind, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    while pc < prog.len() {
        let i = prog[pc];
        let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
        pc += 1;
        match i.code {
            LDX_W => r[dst] = u64::from(ctx[forward(i.off / 4)]),
            AND_K => r[dst] &= imm64(i.imm),
            RSH_K => r[dst] >>= i.imm,
            MOV_K => r[dst] = imm64(i.imm),
            MOV_X => r[dst] = r[src],
            JNE_K if r[dst] != imm64(i.imm) => pc += forward(i.off),
            JEQ_K if r[dst] == imm64(i.imm) => pc += forward(i.off),
            EXIT => return r[0],
            _ => {}
        }
    }
    r[0]
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    pad: [u64; 12],
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// A program or log larger than the kernel's 32-bit counts.
fn too_big() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::E2BIG)
}

fn load_prog(prog: &[Insn], log: Option<&mut Vec<u8>>) -> std::io::Result<i64> {
    let license = c"Apache-2.0";
    let (level, size, buf) = match log {
        Some(l) => (
            1,
            u32::try_from(l.len()).map_err(|_| too_big())?,
            l.as_mut_ptr() as u64,
        ),
        None => (0, 0, 0),
    };
    let load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len()).map_err(|_| too_big())?,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: level,
        log_size: size,
        log_buf: buf,
        ..Default::default()
    };
    // SAFETY: the attr points at buffers that outlive the call; size is the struct's.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &load as *const ProgLoadAttr,
            size_of::<ProgLoadAttr>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Loads the program for `rules` and attaches it to the cgroup directory `dir`
/// (BPF_F_ALLOW_MULTI, as runc and systemd do), in the place of any device program
/// attached there before.
pub fn attach(dir: &Path, rules: &[Rule]) -> Result<()> {
    let prog = program(rules);
    let fd = match load_prog(&prog, None) {
        Ok(fd) => fd,
        Err(e) => {
            // load again only to read the verifier's reason
            let mut log = vec![0u8; 1 << 20];
            let _ = load_prog(&prog, Some(&mut log));
            let verifier = String::from_utf8_lossy(&log)
                .trim_matches(char::from(0))
                .trim()
                .to_string();
            // the reason, not the closing statistics line ("processed N insns ...")
            let last = verifier
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("processed "))
                .or_else(|| verifier.lines().last())
                .unwrap_or("")
                .to_string();
            return Err(CgroupError::BpfLoad {
                rules: rules.len(),
                source: e,
                verifier: last,
            }
            .into());
        }
    };
    let prog_fd =
        k3_sys::linux::owned_fd(fd).map_err(|e| Error::io("load device program", dir, e))?;
    let cg = k3_sys::linux::open_path(dir, libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(|e| Error::io("open cgroup", dir, e))?;
    let attach_err = |source| -> Error {
        CgroupError::BpfAttach {
            dir: dir.to_path_buf(),
            source,
        }
        .into()
    };
    // another manager's program (systemd's, from DevicePolicy=) is replaced: found
    // now, detached once ours is in
    let old = crate::devprogs::attached(&cg, BPF_CGROUP_DEVICE).map_err(attach_err)?;
    crate::devprogs::attach(&cg, &prog_fd, BPF_CGROUP_DEVICE).map_err(attach_err)?;
    for p in &old {
        crate::devprogs::detach(&cg, p, BPF_CGROUP_DEVICE).map_err(attach_err)?;
    }
    Ok(())
}

/// True when `e` is the kernel refusing to load or attach a device program for lack
/// of privilege (EPERM, EACCES).
pub fn refused(e: &Error) -> bool {
    let source = match e {
        Error::Cgroup(CgroupError::BpfLoad { source, .. })
        | Error::Cgroup(CgroupError::BpfAttach { source, .. }) => source,
        _ => return false,
    };
    matches!(source.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

/// The rule list of a container: the spec's, the nodes it creates, then the defaults.
pub fn rules(
    spec_rules: &[LinuxDeviceCgroup],
    nodes: &[oci_spec::runtime::LinuxDevice],
) -> Vec<Rule> {
    let mut out: Vec<Rule> = spec_rules.iter().map(Rule::from_spec).collect();
    for d in nodes {
        let kind = match d.typ() {
            LinuxDeviceType::B => 1,
            LinuxDeviceType::C | LinuxDeviceType::U => 2,
            _ => continue,
        };
        out.push(Rule {
            allow: true,
            kind: Some(kind),
            major: Some(u32::try_from(d.major()).unwrap_or(u32::MAX)),
            minor: Some(u32::try_from(d.minor()).unwrap_or(u32::MAX)),
            access: 7,
        });
    }
    out.extend(
        super::plan::DEFAULT_ALLOWED
            .iter()
            .filter_map(|r| Rule::parse(true, r)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: u32 = 2;

    #[test]
    fn only_a_privilege_refusal_is_refused() {
        let load = |errno| {
            Error::Cgroup(CgroupError::BpfLoad {
                rules: 1,
                source: std::io::Error::from_raw_os_error(errno),
                verifier: String::new(),
            })
        };
        assert!(refused(&load(libc::EPERM)));
        assert!(!refused(&load(libc::EINVAL)));
        let attach = Error::Cgroup(CgroupError::BpfAttach {
            dir: "/x".into(),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        });
        assert!(refused(&attach));
    }
    const W: u32 = 4;
    const M: u32 = 1;

    fn default_prog() -> Vec<Insn> {
        let deny_all: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap();
        program(&rules(&[deny_all], &[]))
    }

    #[test]
    fn defaults_allow_the_usual_nodes_and_deny_disks() {
        let p = default_prog();
        assert_eq!(run(&p, 2, R | W, 1, 3), 1, "/dev/null rw");
        assert_eq!(run(&p, 2, R, 1, 9), 1, "/dev/urandom r");
        assert_eq!(run(&p, 2, R | W, 136, 4), 1, "/dev/pts/4");
        assert_eq!(run(&p, 1, R, 8, 0), 0, "/dev/sda read");
        assert_eq!(
            run(&p, 1, M, 8, 0),
            1,
            "mknod of any block device is allowed (b *:* m)"
        );
        assert_eq!(run(&p, 2, R, 10, 229), 0, "/dev/fuse");
        // the host's console (a container's /dev/console is its pty, 136:N), as runc
        assert_eq!(run(&p, 2, R | W, 5, 1), 0, "/dev/console c 5:1");
    }

    #[test]
    fn later_rules_win_and_access_is_a_subset() {
        let rs = vec![
            Rule::parse(true, "a").unwrap(),
            Rule::parse(false, "c 10:229 w").unwrap(),
            Rule::parse(true, "c 10:200 r").unwrap(),
        ];
        let p = program(&rs);
        assert_eq!(run(&p, 2, R, 10, 229), 1, "read of fuse allowed by `a`");
        assert_eq!(
            run(&p, 2, W, 10, 229),
            0,
            "write of fuse denied by the later rule"
        );
        assert_eq!(run(&p, 2, R, 10, 200), 1);
        let p = program(&[Rule::parse(true, "c 10:200 r").unwrap()]);
        assert_eq!(run(&p, 2, R | W, 10, 200), 0, "rw is not within r");
        assert_eq!(run(&p, 2, R, 10, 201), 0, "nothing matches: deny");
    }

    /// Every instruction can run: the kernel's verifier refuses a program with one that
    /// cannot (`unreachable insn`, EINVAL before it checks anything else).
    fn all_reachable(p: &[Insn]) -> bool {
        let mut seen = vec![false; p.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            if pc >= p.len() || seen[pc] {
                continue;
            }
            seen[pc] = true;
            match p[pc].code {
                EXIT => {}
                JNE_K | JEQ_K => todo.extend([pc + 1, pc + 1 + forward(p[pc].off)]),
                _ => todo.push(pc + 1),
            }
        }
        seen.iter().all(|s| *s)
    }

    #[test]
    fn allow_all_ends_the_program() {
        // a privileged container: `a rwm` allowed, then its host's nodes and the defaults
        let allow_all: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":true,"access":"rwm"}"#).unwrap();
        let kmsg: oci_spec::runtime::LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/kmsg","type":"c","major":1,"minor":11}"#)
                .unwrap();
        let p = program(&rules(&[allow_all], &[kmsg]));
        assert!(all_reachable(&p), "{p:?}");
        assert_eq!(run(&p, 1, R | W | M, 8, 0), 1, "/dev/sda");
        assert_eq!(run(&p, 2, R, 10, 229), 1, "/dev/fuse");
        // in the middle of a list: what comes later still decides first
        let p = program(&[
            Rule::parse(false, "c 10:229 rwm").unwrap(),
            Rule::parse(true, "a").unwrap(),
            Rule::parse(false, "b 8:0 w").unwrap(),
        ]);
        assert!(all_reachable(&p), "{p:?}");
        assert_eq!(run(&p, 2, R, 10, 229), 1, "the earlier deny is overruled");
        assert_eq!(run(&p, 1, W, 8, 0), 0, "the later deny wins");
        assert_eq!(run(&p, 1, R, 8, 0), 1);
        assert!(all_reachable(&default_prog()));
    }

    #[test]
    fn spec_devices_are_allowed() {
        let n: oci_spec::runtime::LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/fuse","type":"c","major":10,"minor":229}"#)
                .unwrap();
        let deny_all: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap();
        assert_eq!(
            run(&program(&rules(&[deny_all], &[n])), 2, R | W, 10, 229),
            1
        );
    }
}
