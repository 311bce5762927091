//! `ps --filter KEY=VALUE` and `GET /containers?filters=` (docker's JSON): which
//! rows of [`list`](crate::container::list::list) to keep. Docker's rules: values of
//! one key are OR-ed, different keys AND-ed, except `label`, whose values must all
//! match; `name` and `id` are unanchored regular expressions; a `status` filter also
//! looks at stopped containers.

use regex::Regex;

use crate::container::list::Summary;
use crate::db::container_state::Status;
use crate::db::Db;
use crate::filters::{self, bad, Filters, Keys, Label};
use crate::images;
use crate::options::OptionsError;

/// The states `status=` accepts (docker's; k3 never shows `restarting`,
/// `removing` or `dead`, so those keep nothing).
pub const STATUSES: [&str; 7] = [
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// The keys `--filter` accepts.
pub const KEYS: [&str; 6] = ["label", "name", "id", "status", "ancestor", "exited"];

/// Parsed container filters.
pub type PsFilter = Filters<ContainerKeys>;

/// The values of container filters.
#[derive(Debug, Default, Clone)]
pub struct ContainerKeys {
    labels: Vec<Label>,
    names: Vec<Regex>,
    ids: Vec<Regex>,
    statuses: Vec<String>,
    ancestors: Vec<String>,
    exited: Vec<i64>,
}

impl Keys for ContainerKeys {
    const KEYS: &'static [&'static str] = &KEYS;

    fn add(&mut self, key: &str, val: &str, arg: &str) -> Result<(), OptionsError> {
        let regex =
            |v: &str| Regex::new(v).map_err(|e| bad(arg, format!("not a regular expression: {e}")));
        match key {
            "label" => self.labels.push(filters::label(arg, val)?),
            "name" => self.names.push(regex(val)?),
            "id" => self.ids.push(regex(val)?),
            "status" => {
                if !STATUSES.contains(&val) {
                    return Err(bad(arg, format!("want one of {}", STATUSES.join(", "))));
                }
                self.statuses.push(val.to_string());
            }
            "ancestor" => {
                if val.is_empty() {
                    return Err(bad(
                        arg,
                        "want an image name, `NAME:TAG`, `NAME@DIGEST` or an image id",
                    ));
                }
                self.ancestors.push(val.to_string());
            }
            "exited" => {
                let code = val
                    .parse::<i64>()
                    .map_err(|_| bad(arg, "want an exit code (an integer)"))?;
                self.exited.push(code);
            }
            _ => return Err(filters::unknown(arg, key, &KEYS)),
        }
        Ok(())
    }
}

impl PsFilter {
    /// Whether stopped containers are candidates even without `--all`, as a
    /// `status` filter makes them in docker and podman.
    pub fn wants_all(&self) -> bool {
        !self.keys.statuses.is_empty()
    }

    /// The image ids (config digests) the `ancestor` values name; a name no image
    /// has keeps nothing, as in docker.
    pub fn ancestor_ids(&self, db: &Db, default_registry: &str) -> Vec<String> {
        self.keys
            .ancestors
            .iter()
            .filter_map(|a| images::find(db, a, default_registry).ok())
            .map(|r| r.config_digest)
            .collect()
    }

    /// Whether `row` passes every filter; `ancestor_ids` from [`Self::ancestor_ids`].
    pub fn keeps(&self, row: &Summary, ancestor_ids: &[String]) -> bool {
        let labels_ok =
            filters::labels_match(&self.keys.labels, |k| row.labels.get(k).map(String::as_str));
        let any = |res: &[Regex], s: &str| res.is_empty() || res.iter().any(|r| r.is_match(s));
        let state = state_word(row);
        let stopped_code = match row.status {
            Status::Stopped | Status::Destroyed => row.exit_code,
            Status::Created | Status::Running => None,
        };
        labels_ok
            && any(&self.keys.names, &row.name)
            && any(&self.keys.ids, &row.id)
            && (self.keys.statuses.is_empty() || self.keys.statuses.iter().any(|s| s == state))
            && (self.keys.ancestors.is_empty() || ancestor_ids.contains(&row.image_id))
            && (self.keys.exited.is_empty()
                || stopped_code.is_some_and(|c| self.keys.exited.contains(&c)))
    }
}

/// docker's state word of a row: `created`, `running`, `paused` or `exited`.
pub fn state_word(r: &Summary) -> &'static str {
    match r.status {
        Status::Running if r.paused => "paused",
        Status::Running => "running",
        Status::Created => "created",
        Status::Stopped | Status::Destroyed => "exited",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, status: Status, labels: &[(&str, &str)]) -> Summary {
        Summary {
            id: id.into(),
            name: id.into(),
            image: "r/alpine:latest".into(),
            command: "true".into(),
            status,
            pid: None,
            exit_code: Some(3),
            created_at: 0,
            started_at: None,
            stopped_at: None,
            ip: None,
            ports: vec![],
            paused: false,
            port_text: String::new(),
            restart_count: 0,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            image_id: "sha256:aa".into(),
        }
    }

    fn f(args: &[&str]) -> PsFilter {
        PsFilter::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn labels_all_match_other_keys_or_within_and_across() {
        let web = row("web1", Status::Running, &[("a", "1"), ("b", "2")]);
        let db = row("db", Status::Stopped, &[("a", "2")]);
        assert!(f(&["label=a=1", "label=b"]).keeps(&web, &[]));
        assert!(!f(&["label=a=1", "label=a=2"]).keeps(&web, &[]));
        assert!(!f(&["label=c"]).keeps(&web, &[]));
        let names = f(&["name=web", "name=^db$"]);
        assert!(names.keeps(&web, &[]) && names.keeps(&db, &[]));
        assert!(!f(&["name=^web$"]).keeps(&web, &[]));
        let and = f(&["name=web", "status=exited"]);
        assert!(!and.keeps(&web, &[]) && !and.keeps(&db, &[]));
        assert!(f(&["status=running", "status=exited"]).keeps(&db, &[]));
        assert!(f(&["exited=3"]).keeps(&db, &[]) && !f(&["exited=3"]).keeps(&web, &[]));
        assert!(f(&["id=^we"]).keeps(&web, &[]));
    }

    #[test]
    fn ancestor_compares_image_ids() {
        let web = row("web", Status::Running, &[]);
        let a = f(&["ancestor=alpine"]);
        assert!(a.keeps(&web, &["sha256:aa".into()]));
        assert!(!a.keeps(&web, &["sha256:bb".into()]));
        assert!(!a.keeps(&web, &[]));
    }

    #[test]
    fn bad_filters_name_the_filter() {
        for (arg, needle) in [
            ("foo=bar", "unknown filter `foo`"),
            ("name", "KEY=VALUE"),
            ("status=Running", "want one of"),
            ("exited=x", "exit code"),
            ("name=[", "regular expression"),
            ("label==1", "label=KEY"),
        ] {
            let e = PsFilter::parse(&[arg.to_string()]).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("`--filter`") && msg.contains(needle),
                "{arg}: {msg}"
            );
        }
    }

    #[test]
    fn docker_json_round_trip() {
        let a = f(&["label=a=1", "status=running", "label=b"]);
        let j = a.to_json();
        assert_eq!(j, r#"{"label":["a=1","b"],"status":["running"]}"#);
        let b = PsFilter::from_json(&j).unwrap();
        assert_eq!(b.len(), 3);
        let m = PsFilter::from_json(r#"{"status":{"exited":true}}"#).unwrap();
        assert_eq!(m.keys.statuses, vec!["exited".to_string()]);
        assert!(PsFilter::from_json(r#"{"colour":["red"]}"#).is_err());
        assert!(PsFilter::from_json("[1]").is_err());
    }
}
