//! What the `--filter KEY=VALUE` flags and docker's `filters` query share, whatever
//! they select (containers, images): reading the flags and the JSON, writing the JSON
//! back for the daemon, the error naming the bad filter, and `label` filters.

use std::collections::BTreeMap;

use crate::options::OptionsError;

/// A bad filter: `invalid `filter` value `ARG`: REASON` (`--filter` once read from
/// the command line, `filters` from the query).
pub fn bad(arg: &str, reason: impl ToString) -> OptionsError {
    OptionsError {
        option: "filter",
        value: arg.to_string(),
        reason: reason.to_string(),
    }
}

/// The error of a key none of `keys` is.
pub fn unknown(arg: &str, key: &str, keys: &[&str]) -> OptionsError {
    bad(
        arg,
        format!("unknown filter `{key}`: want one of {}", keys.join(", ")),
    )
}

/// Filters as given, in order: `KEY=VALUE` pairs, and where they came from.
#[derive(Debug, Default, Clone)]
pub struct Raw(Vec<(String, String)>, Source);

/// Where filters came from, which their errors name.
#[derive(Debug, Default, Clone, Copy)]
enum Source {
    /// `--filter` flags.
    #[default]
    Flags,
    /// The `filters` query.
    Query,
}

impl Source {
    fn named(self, e: OptionsError) -> OptionsError {
        let option = match self {
            Source::Flags => "--filter",
            Source::Query => "filters",
        };
        OptionsError { option, ..e }
    }
}

impl Raw {
    /// Reads `KEY=VALUE` arguments (`--filter`, repeatable), handing each pair to
    /// `add` (which checks the key and value) and keeping those it accepts.
    pub fn parse(
        args: &[String],
        keys: &[&str],
        mut add: impl FnMut(&str, &str, &str) -> Result<(), OptionsError>,
    ) -> Result<Raw, OptionsError> {
        let mut raw = Raw::default();
        let flag = |e| Source::Flags.named(e);
        for a in args {
            let (k, v) = a.split_once('=').ok_or_else(|| {
                flag(bad(
                    a,
                    format!("want `KEY=VALUE` with KEY one of {}", keys.join(", ")),
                ))
            })?;
            raw.push(k, v, &mut add).map_err(flag)?;
        }
        Ok(raw)
    }

    /// Reads docker's `filters` query value: `{"KEY": ["VALUE", ...]}` or
    /// `{"KEY": {"VALUE": true}}`, as [`Raw::parse`].
    pub fn from_json(
        text: &str,
        mut add: impl FnMut(&str, &str, &str) -> Result<(), OptionsError>,
    ) -> Result<Raw, OptionsError> {
        Raw::read_json(text, &mut add).map_err(|e| Source::Query.named(e))
    }

    fn read_json(
        text: &str,
        add: &mut impl FnMut(&str, &str, &str) -> Result<(), OptionsError>,
    ) -> Result<Raw, OptionsError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(text, format!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(text, "want an object of KEY to a list of values"))?;
        let mut raw = Raw(Vec::new(), Source::Query);
        for (k, vals) in obj {
            let list: Vec<&str> = match vals {
                serde_json::Value::Array(a) => a.iter().filter_map(|s| s.as_str()).collect(),
                serde_json::Value::Object(m) => m.keys().map(String::as_str).collect(),
                _ => return Err(bad(text, format!("the values of `{k}` are not a list"))),
            };
            for val in list {
                raw.push(k, val, add)?;
            }
        }
        Ok(raw)
    }

    fn push(
        &mut self,
        key: &str,
        val: &str,
        add: &mut impl FnMut(&str, &str, &str) -> Result<(), OptionsError>,
    ) -> Result<(), OptionsError> {
        add(key, val, &format!("{key}={val}"))?;
        self.0.push((key.to_string(), val.to_string()));
        Ok(())
    }

    /// docker's `filters` JSON of these filters (what the CLI sends the daemon).
    pub fn to_json(&self) -> String {
        let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.0 {
            m.entry(k.as_str()).or_default().push(v.as_str());
        }
        serde_json::to_string(&m).unwrap_or_default()
    }

    /// No filter at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A bad filter found after parsing (as a `before` image not there), naming
    /// `--filter` or `filters` as the filters came.
    pub fn bad(&self, arg: &str, reason: impl ToString) -> OptionsError {
        self.1.named(bad(arg, reason))
    }

    /// How many filters were given.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// `label=KEY` or `label=KEY=VALUE`.
pub type Label = (String, Option<String>);

/// The value of a `label` filter (`arg` is the whole `label=...` for the error).
pub fn label(arg: &str, val: &str) -> Result<Label, OptionsError> {
    let (k, v) = match val.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (val, None),
    };
    if k.is_empty() {
        return Err(bad(arg, "want `label=KEY` or `label=KEY=VALUE`"));
    }
    Ok((k.to_string(), v))
}

/// Whether labels (`have` looks one up) match every `label` filter, as docker's do.
pub fn labels_match<'a>(want: &[Label], have: impl Fn(&str) -> Option<&'a str>) -> bool {
    want.iter().all(|(k, v)| match (have(k), v) {
        (Some(have), Some(want)) => have == want,
        (Some(_), None) => true,
        (None, _) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(_: &str, _: &str, _: &str) -> Result<(), OptionsError> {
        Ok(())
    }

    #[test]
    fn flags_and_json_read_the_same_pairs() {
        let args = ["a=1".to_string(), "b=x=y".to_string(), "a=2".to_string()];
        let raw = Raw::parse(&args, &["a", "b"], accept).unwrap();
        assert_eq!(raw.to_json(), r#"{"a":["1","2"],"b":["x=y"]}"#);
        let back = Raw::from_json(&raw.to_json(), accept).unwrap();
        assert_eq!(back.len(), 3);
        let m = Raw::from_json(r#"{"a":{"1":true}}"#, accept).unwrap();
        assert_eq!(m.to_json(), r#"{"a":["1"]}"#);
        for bad_json in ["[1]", "{", r#"{"a":1}"#] {
            let e = Raw::from_json(bad_json, accept).unwrap_err();
            assert!(e.to_string().contains("`filters`"), "{e}");
        }
        let e = Raw::parse(&["nokey".to_string()], &["a"], accept).unwrap_err();
        assert!(
            e.to_string()
                .contains("`--filter` value `nokey`: want `KEY=VALUE`"),
            "{e}"
        );
        let refuse = |k: &str, _: &str, arg: &str| Err(unknown(arg, k, &["a"]));
        let e = Raw::parse(&["z=1".to_string()], &["a"], refuse).unwrap_err();
        assert!(e.to_string().contains("unknown filter `z`"), "{e}");
    }

    #[test]
    fn labels_all_match() {
        let have = |k: &str| match k {
            "a" => Some("1"),
            "b" => Some("2"),
            _ => None,
        };
        let l = |v: &str| label(&format!("label={v}"), v).unwrap();
        assert!(labels_match(&[l("a=1"), l("b")], have));
        assert!(!labels_match(&[l("a=1"), l("a=2")], have));
        assert!(!labels_match(&[l("c")], have));
        assert!(label("label==1", "=1").is_err());
    }
}
