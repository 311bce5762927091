//! `--detach-keys` of `run`, `start -a`, `attach` and `exec`: docker's key list
//! (see [`k3_engine::detach`]), ctrl-p ctrl-q when not given, `""` for none. A
//! list that does not parse is refused before the verb does anything (125).

use k3_engine::container::ContainerError;
use k3_engine::detach::Keys;
use k3_engine::options::OptionsError;

use crate::cli::{ContainerCmd, Failure};

/// The keys of the flag's value (`None`: not given).
pub fn parse(flag: Option<&str>) -> Result<Keys, OptionsError> {
    flag.map_or_else(
        || Ok(Keys::default()),
        |v| {
            Keys::parse(v).map_err(|e| OptionsError {
                option: "--detach-keys",
                value: e.value,
                reason: e.reason,
            })
        },
    )
}

/// The verb's `--detach-keys` checked up front (nothing else has run yet).
pub fn check(cmd: &ContainerCmd) -> Result<(), OptionsError> {
    let flag = match cmd {
        ContainerCmd::Run(a) => a.detach_keys.as_deref(),
        ContainerCmd::Start(a) => a.detach_keys.as_deref(),
        ContainerCmd::Attach(a) => a.detach_keys.as_deref(),
        ContainerCmd::Exec(a) => a.detach_keys.as_deref(),
        _ => None,
    };
    parse(flag).map(drop)
}

/// As [`parse`], the error a [`Failure`] about `id`.
pub fn keys(flag: Option<&str>, id: &str, json: bool) -> Result<Keys, Failure> {
    parse(flag).map_err(|e| Failure::about(id, json)(ContainerError::from(e).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_none_and_a_named_refusal() {
        assert_eq!(parse(None).unwrap(), Keys::default());
        assert!(parse(Some("")).unwrap().is_none());
        assert_eq!(parse(Some("ctrl-a,x")).unwrap().bytes(), [1, b'x']);
        let e = parse(Some("ctrl-zz")).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid `--detach-keys` value `ctrl-zz`: `ctrl-zz` is not a key"),
            "{e}"
        );
    }
}
