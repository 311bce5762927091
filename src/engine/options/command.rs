//! What the container runs: its command line, environment and the signals
//! it may be sent.

use super::{bad, OptionsError};

const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
    "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

/// A signal as `kill` takes it: `9`, `KILL`, `SIGKILL`, `sigterm`, `RTMIN+3`
/// (the runtimes' grammar, checked before one is run).
pub fn signal(s: &str) -> Result<(), OptionsError> {
    let err = || {
        bad(
            "signal",
            s,
            "use a number from 1 to 64 or a name like `TERM`",
        )
    };
    if let Ok(n) = s.parse::<i64>() {
        return if (1..=64).contains(&n) {
            Ok(())
        } else {
            Err(err())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if SIGNALS.contains(&name) {
        return Ok(());
    }
    let (min, max) = (i64::from(libc::SIGRTMIN()), i64::from(libc::SIGRTMAX()));
    let rt = |base: i64, off: &str| {
        let o: i64 = if off.is_empty() {
            0
        } else {
            off.parse().map_err(|_| err())?
        };
        if (min..=max).contains(&(base + o)) {
            Ok(())
        } else {
            Err(err())
        }
    };
    if let Some(off) = name.strip_prefix("RTMIN") {
        return rt(min, off.strip_prefix('+').unwrap_or(off));
    }
    if let Some(off) = name.strip_prefix("RTMAX") {
        return rt(max, off);
    }
    Err(err())
}

/// Splits a command line like a POSIX shell (`shlex`: quotes, backslashes,
/// `#` comments; no expansion).
pub fn args(s: &str) -> Result<Vec<String>, OptionsError> {
    let Some(words) = shlex::split(s) else {
        let why = "has an unterminated quote or ends with a backslash";
        return Err(bad("args", s, why));
    };
    if words.is_empty() {
        return Err(bad("args", s, "empty command"));
    }
    Ok(words)
}

/// `KEY=VALUE` with a POSIX-ish key.
pub fn env(s: &str) -> Result<(String, String), OptionsError> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| bad("env", s, "use `KEY=VALUE`"))?;
    let key_ok = !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !key_ok || v.contains('\0') {
        return Err(bad("env", s, "the key must be letters, digits and `_`"));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_as_the_runtimes_take_them() {
        for ok in [
            "9", "KILL", "SIGTERM", "sigusr1", "RTMIN+2", "RTMAX-1", "64",
        ] {
            assert!(signal(ok).is_ok(), "{ok}");
        }
        for b in [
            "",
            "0",
            "-1",
            "65",
            "99999999999",
            "NOSUCH",
            "SIG",
            "é",
            "RTMIN+99",
            "1e3",
        ] {
            assert_eq!(signal(b).unwrap_err().option, "signal", "{b}");
        }
    }

    #[test]
    fn args_split_like_a_shell() {
        assert_eq!(args("npm start").unwrap(), vec!["npm", "start"]);
        assert_eq!(
            args(r#"sh -c 'echo "a b"; exit 3'"#).unwrap(),
            vec!["sh", "-c", r#"echo "a b"; exit 3"#]
        );
        assert_eq!(args(r#"a\ b "c\"d" ''"#).unwrap(), vec!["a b", "c\"d", ""]);
        assert!(args("'open").is_err());
        assert!(args("\"open").is_err());
        assert!(args("   ").is_err());
        let e = args("echo \\").unwrap_err();
        assert!(e.to_string().contains("ends with a backslash"), "{e}");
        assert!(args("echo \"a\\").is_err());
        // POSIX: `#` starting a word is a comment, a backslash-newline joins lines
        assert_eq!(args("echo a#b # c").unwrap(), vec!["echo", "a#b"]);
        assert_eq!(args("echo a\\\nb").unwrap(), vec!["echo", "ab"]);
        assert!(args("# only a comment").is_err());
    }
}
