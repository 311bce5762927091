//! `k3-docgen OUT`: writes the man pages and the bash, zsh and fish completions of
//! `k3rt` and `k3`, generated from their clap definitions, under `OUT`:
//!
//! ```text
//! OUT/man/man1/k3rt.1, k3rt-create.1, ..., k3.1, k3-run.1, ...
//! OUT/completions/bash/k3rt, k3
//! OUT/completions/zsh/_k3rt, _k3
//! OUT/completions/fish/k3rt.fish, k3.fish
//! ```
//!
//! A separate binary, so that neither k3rt nor k3 links the generators.
//! `make man` runs it; `make install` copies the result.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

/// The binaries and their command lines.
fn commands() -> [clap::Command; 2] {
    [k3rt::command(), k3::command()]
}

/// Writes every page and completion under `out`.
fn generate(out: &Path) -> std::io::Result<()> {
    let man = out.join("man/man1");
    std::fs::create_dir_all(&man)?;
    for cmd in commands() {
        clap_mangen::generate_to(cmd, &man)?;
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let dir = out.join("completions").join(shell.to_string());
        std::fs::create_dir_all(&dir)?;
        for mut cmd in commands() {
            let name = cmd.get_name().to_string();
            clap_complete::generate_to(shell, &mut cmd, name, &dir)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: k3-docgen OUT-DIR");
        return ExitCode::from(2);
    };
    match generate(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("k3-docgen: write under `{}`: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verb below `cmd`, as the path of names (`["network", "create"]`).
    fn verbs(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            verbs(sub, &p, out);
            out.push(p);
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read `{}`: {e}", p.display()))
    }

    #[test]
    fn pages_and_completions_cover_every_verb() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        for cmd in commands() {
            let bin = cmd.get_name().to_string();
            let top = read(&dir.path().join(format!("man/man1/{bin}.1")));
            assert!(top.contains(".TH"), "{bin}.1 is not a man page");
            let bash = read(&dir.path().join(format!("completions/bash/{bin}.bash")));
            let zsh = read(&dir.path().join(format!("completions/zsh/_{bin}")));
            let fish = read(&dir.path().join(format!("completions/fish/{bin}.fish")));
            let mut all = Vec::new();
            verbs(&cmd, &[], &mut all);
            assert!(all.len() > 10, "{bin}: only {} verbs", all.len());
            for path in &all {
                let page = dir
                    .path()
                    .join(format!("man/man1/{bin}-{}.1", path.join("-")));
                let text = read(&page);
                let last = path.last().unwrap();
                assert!(
                    text.contains(last.as_str()),
                    "{} lacks `{last}`",
                    page.display()
                );
                if path.len() == 1 {
                    assert!(top.contains(last.as_str()), "{bin}.1 lacks `{last}`");
                }
                for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
                    assert!(
                        text.contains(last.as_str()),
                        "{shell} completion of {bin} lacks `{last}`"
                    );
                }
            }
        }
    }
}
