//! How the container's process starts, as docker's flags set it: the user,
//! the working directory, the entrypoint, environment files and labels.

use std::path::Path;

use super::{bad, env, OptionsError};

/// `--user`: `name`, `uid`, `name:group` or `uid:gid` (resolved in the image's
/// `/etc/passwd` and `/etc/group` when the bundle is made).
pub fn user(s: &str) -> Result<String, OptionsError> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 32
            && !p.starts_with('-')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-$".contains(c))
    };
    let ok = match s.split_once(':') {
        Some((u, g)) => part_ok(u) && part_ok(g),
        None => part_ok(s),
    };
    if !ok {
        return Err(bad(
            "user",
            s,
            "use a name or uid, optionally with `:group` or `:gid`",
        ));
    }
    Ok(s.to_string())
}

/// `--workdir`: an absolute path in the container.
pub fn workdir(s: &str) -> Result<String, OptionsError> {
    if !s.starts_with('/') || s.contains('\0') {
        return Err(bad("workdir", s, "use an absolute path"));
    }
    Ok(s.to_string())
}

/// `--entrypoint`: one program (`sh`), or a JSON array of words
/// (`["sh","-c"]`) as podman takes it; empty: no entrypoint (the image's is
/// dropped).
pub fn entrypoint(s: &str) -> Result<Vec<String>, OptionsError> {
    if s.trim_start().starts_with('[') {
        let words: Vec<String> = serde_json::from_str(s)
            .map_err(|e| bad("entrypoint", s, format!("not a JSON array of strings: {e}")))?;
        if words.iter().any(|w| w.contains('\0')) {
            return Err(bad("entrypoint", s, "a word holds a NUL byte"));
        }
        return Ok(words);
    }
    if s.contains('\0') {
        return Err(bad("entrypoint", s, "holds a NUL byte"));
    }
    Ok(if s.is_empty() {
        Vec::new()
    } else {
        vec![s.to_string()]
    })
}

/// One `env` entry: `KEY=VALUE`, or `KEY` alone taking the value `lookup`
/// gives (the caller's environment), dropped when it gives none, as docker.
pub fn env_entry(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, OptionsError> {
    if s.contains('=') {
        return env(s).map(Some);
    }
    // the key's grammar, checked as a `KEY=` entry
    env(&format!("{s}=")).map_err(|_| bad("env", s, "use `KEY=VALUE` or `KEY`"))?;
    Ok(lookup(s).map(|v| (s.to_string(), v)))
}

/// The entries of an `--env-file`: one `KEY=VALUE` or `KEY` a line; blank
/// lines and lines starting with `#` are skipped (docker's format).
pub fn env_file_entries(path: &str) -> Result<Vec<String>, OptionsError> {
    if path.is_empty() {
        return Err(bad("envFile", path, "empty path"));
    }
    let text = std::fs::read_to_string(Path::new(path))
        .map_err(|e| bad("envFile", path, format!("cannot read it: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, _) = l.split_once('=').unwrap_or((l, ""));
        if k.is_empty() || k.contains(char::is_whitespace) {
            let why = format!("line {}: `{line}` is not `KEY=VALUE`", n + 1);
            return Err(bad("envFile", path, why));
        }
        out.push(l.to_string());
    }
    Ok(out)
}

/// `--label KEY[=VALUE]`.
pub fn label(s: &str) -> Result<(String, String), OptionsError> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    if k.is_empty() || k.contains(char::is_whitespace) || s.contains('\0') {
        return Err(bad("label", s, "use `KEY=VALUE` (a non-empty key)"));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_workdirs_entrypoints() {
        for ok in ["node", "1000", "1000:50", "node:staff", "www-data"] {
            assert_eq!(user(ok).unwrap(), ok);
        }
        for b in ["", ":", "a:", ":b", "a b", "-x", "a:b:c", "x/y"] {
            assert_eq!(user(b).unwrap_err().option, "user", "{b}");
        }
        assert_eq!(workdir("/app/x").unwrap(), "/app/x");
        assert_eq!(workdir("/usr/../tmp").unwrap(), "/usr/../tmp");
        for b in ["", "app", "a/../b"] {
            assert_eq!(workdir(b).unwrap_err().option, "workdir", "{b}");
        }
        assert_eq!(entrypoint("sh").unwrap(), vec!["sh"]);
        assert_eq!(entrypoint("echo hi").unwrap(), vec!["echo hi"]);
        assert_eq!(entrypoint(r#"["sh","-c"]"#).unwrap(), vec!["sh", "-c"]);
        assert!(entrypoint("").unwrap().is_empty());
        assert_eq!(entrypoint("[1]").unwrap_err().option, "entrypoint");
    }

    #[test]
    fn env_from_the_caller_and_files() {
        let look = |k: &str| (k == "HOME_X").then(|| "v".to_string());
        assert_eq!(
            env_entry("HOME_X", &look).unwrap(),
            Some(("HOME_X".into(), "v".into()))
        );
        assert_eq!(env_entry("UNSET_X", &look).unwrap(), None);
        assert_eq!(
            env_entry("A=1", &look).unwrap(),
            Some(("A".into(), "1".into()))
        );
        assert_eq!(env_entry("1A", &look).unwrap_err().option, "env");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("e");
        std::fs::write(&f, "# c\n\nA=1 2\nB\n  C=x=y\n").unwrap();
        let p = f.to_str().unwrap();
        assert_eq!(env_file_entries(p).unwrap(), vec!["A=1 2", "B", "C=x=y"]);
        std::fs::write(&f, "A B=1\n").unwrap();
        let e = env_file_entries(p).unwrap_err();
        assert!(e.option == "envFile" && e.reason.contains("line 1"), "{e}");
        assert_eq!(
            env_file_entries("/nonexistent-k3").unwrap_err().option,
            "envFile"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(label("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(label("tier").unwrap(), ("tier".into(), "".into()));
        assert!(label("=x").is_err());
        assert!(label("").is_err());
    }
}
