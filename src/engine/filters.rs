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

/// What one kind of filter (containers', images') takes: its keys, and each value.
pub trait Keys: Default {
    /// The keys it takes.
    const KEYS: &'static [&'static str];
    /// Takes the value of `key` (`arg` is the whole `KEY=VALUE`, for errors).
    fn add(&mut self, key: &str, val: &str, arg: &str) -> Result<(), OptionsError>;
}

/// Filters: the `KEY=VALUE` pairs as given, where they came from, and `keys`, what
/// the kind made of them.
#[derive(Debug, Default, Clone)]
pub struct Filters<K> {
    given: Vec<(String, String)>,
    source: Source,
    /// The parsed values.
    pub keys: K,
}

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

impl<K: Keys> Filters<K> {
    /// Parses `KEY=VALUE` arguments (`--filter`, repeatable).
    pub fn parse(args: &[String]) -> Result<Filters<K>, OptionsError> {
        let mut f = Filters::<K>::default();
        for a in args {
            let (k, v) = a.split_once('=').ok_or_else(|| {
                f.bad(
                    a,
                    format!("want `KEY=VALUE` with KEY one of {}", K::KEYS.join(", ")),
                )
            })?;
            f.push(k, v)?;
        }
        Ok(f)
    }

    /// Parses docker's `filters` query value: `{"KEY": ["VALUE", ...]}` or
    /// `{"KEY": {"VALUE": true}}`.
    pub fn from_json(text: &str) -> Result<Filters<K>, OptionsError> {
        let mut f = Filters::<K> {
            source: Source::Query,
            ..Filters::default()
        };
        f.read_json(text).map_err(|e| Source::Query.named(e))?;
        Ok(f)
    }

    fn read_json(&mut self, text: &str) -> Result<(), OptionsError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(text, format!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(text, "want an object of KEY to a list of values"))?;
        for (k, vals) in obj {
            let list: Vec<&str> = match vals {
                serde_json::Value::Array(a) => a.iter().filter_map(|s| s.as_str()).collect(),
                serde_json::Value::Object(m) => m.keys().map(String::as_str).collect(),
                _ => return Err(bad(text, format!("the values of `{k}` are not a list"))),
            };
            for val in list {
                self.push(k, val)?;
            }
        }
        Ok(())
    }

    fn push(&mut self, key: &str, val: &str) -> Result<(), OptionsError> {
        let arg = format!("{key}={val}");
        self.keys
            .add(key, val, &arg)
            .map_err(|e| self.source.named(e))?;
        self.given.push((key.to_string(), val.to_string()));
        Ok(())
    }

    /// docker's `filters` JSON of these filters (what the CLI sends the daemon).
    pub fn to_json(&self) -> String {
        let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.given {
            m.entry(k.as_str()).or_default().push(v.as_str());
        }
        serde_json::to_string(&m).unwrap_or_default()
    }

    /// No filter at all.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    /// How many filters were given.
    pub fn len(&self) -> usize {
        self.given.len()
    }

    /// A bad filter found after parsing (as a `before` image not there), naming
    /// `--filter` or `filters` as the filters came.
    pub fn bad(&self, arg: &str, reason: impl ToString) -> OptionsError {
        self.source.named(bad(arg, reason))
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

    /// Takes keys `a` and `b`, any value but `bad`.
    #[derive(Debug, Default)]
    struct Ab;

    impl Keys for Ab {
        const KEYS: &'static [&'static str] = &["a", "b"];
        fn add(&mut self, key: &str, val: &str, arg: &str) -> Result<(), OptionsError> {
            if !Self::KEYS.contains(&key) {
                return Err(unknown(arg, key, Self::KEYS));
            }
            if val == "bad" {
                return Err(bad(arg, "bad value"));
            }
            Ok(())
        }
    }

    #[test]
    fn flags_and_json_read_the_same_pairs() {
        let args = ["a=1".to_string(), "b=x=y".to_string(), "a=2".to_string()];
        let f = Filters::<Ab>::parse(&args).unwrap();
        assert_eq!(f.to_json(), r#"{"a":["1","2"],"b":["x=y"]}"#);
        let back = Filters::<Ab>::from_json(&f.to_json()).unwrap();
        assert_eq!(back.len(), 3);
        let m = Filters::<Ab>::from_json(r#"{"a":{"1":true}}"#).unwrap();
        assert_eq!(m.to_json(), r#"{"a":["1"]}"#);
        for bad_json in [
            "[1]",
            "{",
            r#"{"a":1}"#,
            r#"{"z":["1"]}"#,
            r#"{"a":["bad"]}"#,
        ] {
            let e = Filters::<Ab>::from_json(bad_json).unwrap_err();
            assert!(e.to_string().contains("`filters`"), "{e}");
        }
        let e = Filters::<Ab>::parse(&["nokey".to_string()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("`--filter` value `nokey`: want `KEY=VALUE` with KEY one of a, b"),
            "{e}"
        );
        let e = Filters::<Ab>::parse(&["z=1".to_string()]).unwrap_err();
        assert!(e.to_string().contains("unknown filter `z`"), "{e}");
        let e = Filters::<Ab>::parse(&["b=bad".to_string()]).unwrap_err();
        assert!(e.to_string().contains("`--filter` value `b=bad`"), "{e}");
        assert!(f.bad("a=1", "x").to_string().contains("`--filter`"));
        assert!(back.bad("a=1", "x").to_string().contains("`filters`"));
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
