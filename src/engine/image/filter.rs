//! `images --filter KEY=VALUE` and `GET /images?filters=` (docker's JSON): which
//! image records to list. Docker's rules: values of one key are OR-ed and different
//! keys AND-ed, except `label`, whose values must all match, and `before`/`since`,
//! where the strictest image counts; `dangling` takes one of `true`/`false`/`1`/`0`.
//! `reference` is a shell pattern (`*` never crosses a `/`) matched against a
//! record's `NAME:TAG` and `NAME`, the full name and the name without the default
//! registry (as docker's short names leave out `docker.io/library/`); a tagless
//! (dangling) record has only its names. `id` (podman's) is a prefix of the image id.

use crate::container::when::parse_rfc3339;
use crate::db::images::ImageRecord;
use crate::db::Db;
use crate::filters::{self, bad, Filters, Keys, Label};
use crate::image::glob::Glob;
use crate::image::reference::DOCKER_HUB;
use crate::images::{self, ImagesError};
use crate::options::OptionsError;

/// The keys `--filter` accepts.
pub const KEYS: [&str; 6] = ["reference", "dangling", "before", "since", "label", "id"];

/// The values of image filters.
#[derive(Debug, Default, Clone)]
pub struct ImageKeys {
    references: Vec<Glob>,
    dangling: Option<bool>,
    /// `before`/`since` images as given, with the whole `KEY=VALUE` for errors.
    before: Vec<(String, String)>,
    since: Vec<(String, String)>,
    labels: Vec<Label>,
    ids: Vec<String>,
}

impl Keys for ImageKeys {
    const KEYS: &'static [&'static str] = &KEYS;

    fn add(&mut self, key: &str, val: &str, arg: &str) -> Result<(), OptionsError> {
        let image = |v: &str| {
            if v.is_empty() {
                return Err(bad(arg, "want an image name, `NAME:TAG` or an image id"));
            }
            Ok((v.to_string(), arg.to_string()))
        };
        match key {
            "reference" => self
                .references
                .push(Glob::new(val).map_err(|e| bad(arg, format!("not a name pattern: {e}")))?),
            "dangling" => {
                let b = match val {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(bad(arg, "want `true` or `false`")),
                };
                if self.dangling.is_some_and(|d| d != b) {
                    return Err(bad(arg, "`dangling` given both `true` and `false`"));
                }
                self.dangling = Some(b);
            }
            "before" => self.before.push(image(val)?),
            "since" => self.since.push(image(val)?),
            "label" => self.labels.push(filters::label(arg, val)?),
            "id" => {
                let hex = val.strip_prefix("sha256:").unwrap_or(val);
                if hex.is_empty()
                    || hex.len() > 64
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(bad(arg, "want an image id (a prefix of its hex digest)"));
                }
                self.ids.push(hex.to_string());
            }
            _ => return Err(filters::unknown(arg, key, &KEYS)),
        }
        Ok(())
    }
}

/// Parsed image filters.
pub type ImageFilter = Filters<ImageKeys>;

impl ImageFilter {
    /// The records of `all` these filters keep; a `before`/`since` image that is
    /// not there is an error naming the filter, as in docker and podman.
    pub fn select(
        &self,
        db: &Db,
        all: Vec<ImageRecord>,
        default_registry: &str,
    ) -> Result<Vec<ImageRecord>, ImagesError> {
        let created = |list: &[(String, String)]| -> Result<Vec<i64>, ImagesError> {
            list.iter()
                .map(
                    |(name, arg)| match images::find(db, name, default_registry) {
                        Ok(r) => Ok(created_ns(&r)),
                        Err(ImagesError::NotFound(_) | ImagesError::Reference(_)) => {
                            Err(self.bad(arg, format!("no image `{name}`")).into())
                        }
                        Err(e) => Err(e),
                    },
                )
                .collect()
        };
        let before = created(&self.keys.before)?.into_iter().min();
        let since = created(&self.keys.since)?.into_iter().max();
        Ok(all
            .into_iter()
            .filter(|r| self.keeps(r, default_registry))
            .filter(|r| before.is_none_or(|t| created_ns(r) < t))
            .filter(|r| since.is_none_or(|t| created_ns(r) > t))
            .collect())
    }

    /// Whether `r` passes every filter but `before` and `since`.
    fn keeps(&self, r: &ImageRecord, default_registry: &str) -> bool {
        let labels = &r.config["config"]["Labels"];
        let hex = r.config_digest.strip_prefix("sha256:").unwrap_or("");
        let names = reference_candidates(r, default_registry);
        filters::labels_match(&self.keys.labels, |k| labels[k].as_str())
            && self.keys.dangling.is_none_or(|d| d == r.tag.is_empty())
            && (self.keys.ids.is_empty()
                || self.keys.ids.iter().any(|p| hex.starts_with(p.as_str())))
            && (self.keys.references.is_empty()
                || self
                    .keys
                    .references
                    .iter()
                    .any(|g| names.iter().any(|n| g.matches(n))))
    }
}

/// What a `reference` pattern is matched against: `NAME:TAG` and `NAME`, in full
/// and without the default registry (a tagless record: only the names).
fn reference_candidates(r: &ImageRecord, default_registry: &str) -> Vec<String> {
    let mut names = vec![r.name.clone()];
    if let Some(short) = r.name.strip_prefix(&format!("{default_registry}/")) {
        names.push(short.to_string());
        if default_registry == DOCKER_HUB {
            if let Some(s) = short.strip_prefix("library/") {
                names.push(s.to_string());
            }
        }
    }
    if r.tag.is_empty() {
        return names;
    }
    let tagged: Vec<String> = names.iter().map(|n| format!("{n}:{}", r.tag)).collect();
    names.extend(tagged);
    names
}

/// When the image was made (its config's `created`; else when it was pulled), in
/// nanoseconds since the epoch.
fn created_ns(r: &ImageRecord) -> i64 {
    r.config["created"]
        .as_str()
        .and_then(parse_rfc3339)
        .unwrap_or_else(|| r.created_at.saturating_mul(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::images::tests::sample;
    use crate::db::images::upsert;

    const REG: &str = "127.0.0.1:5000";

    fn rec(
        name: &str,
        tag: &str,
        id: &str,
        created: &str,
        labels: serde_json::Value,
    ) -> ImageRecord {
        ImageRecord {
            name: format!("{REG}/{name}"),
            tag: tag.into(),
            config_digest: format!("sha256:{}", id.repeat(64 / id.len())),
            config: serde_json::json!({"created": created, "config": {"Labels": labels}}),
            ..sample(tag)
        }
    }

    fn db() -> Db {
        let db = Db::open_in_memory().unwrap();
        let none = serde_json::Value::Null;
        for r in [
            rec(
                "busybox",
                "latest",
                "a1",
                "2026-01-01T00:00:01Z",
                serde_json::json!({"app": "web", "tier": "front"}),
            ),
            rec(
                "busybox",
                "v2",
                "b2",
                "2026-01-01T00:00:02Z",
                serde_json::json!({"app": "db"}),
            ),
            rec(
                "sub/busy",
                "latest",
                "c3",
                "2026-01-01T00:00:03Z",
                serde_json::json!({"app": "web"}),
            ),
            rec("app", "v1", "d4", "2026-01-01T00:00:04Z", none.clone()),
            rec("app", "", "e5", "2026-01-01T00:00:05Z", none),
        ] {
            upsert(db.conn(), &r).unwrap();
        }
        db
    }

    fn names(args: &[&str]) -> Vec<String> {
        let db = db();
        let f =
            ImageFilter::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let mut out: Vec<String> = f
            .select(&db, images::list(&db).unwrap(), REG)
            .unwrap()
            .into_iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r.name.trim_start_matches(&format!("{REG}/")),
                    r.tag
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn references_match_full_and_short_names_per_record() {
        assert_eq!(
            names(&["reference=busybox"]),
            ["busybox:latest", "busybox:v2"]
        );
        assert_eq!(names(&["reference=*box:latest"]), ["busybox:latest"]);
        assert_eq!(
            names(&[&format!("reference={REG}/busy*")]),
            ["busybox:latest", "busybox:v2"]
        );
        assert_eq!(names(&["reference=*/busy"]), ["sub/busy:latest"]);
        assert!(
            names(&["reference=busy"]).is_empty(),
            "no last-component match, as docker"
        );
        assert_eq!(names(&["reference=app"]), ["app:", "app:v1"]);
        assert_eq!(
            names(&["reference=busybox:v2", "reference=app:v1"]),
            ["app:v1", "busybox:v2"]
        );
    }

    #[test]
    fn dangling_labels_ids_and_their_and() {
        assert_eq!(names(&["dangling=true"]), ["app:"]);
        assert_eq!(names(&["dangling=0"]).len(), 4);
        assert_eq!(
            names(&["label=app"]),
            ["busybox:latest", "busybox:v2", "sub/busy:latest"]
        );
        assert_eq!(names(&["label=app=web", "label=tier"]), ["busybox:latest"]);
        assert!(names(&["label=app=web", "label=app=db"]).is_empty());
        assert_eq!(names(&["id=b2b2"]), ["busybox:v2"]);
        assert_eq!(
            names(&["id=sha256:c3", "id=d4"]),
            ["app:v1", "sub/busy:latest"]
        );
        assert_eq!(
            names(&["reference=busybox", "label=app=db"]),
            ["busybox:v2"]
        );
    }

    #[test]
    fn before_and_since_take_the_strictest_image() {
        let r = |n: &str| format!("{REG}/{n}");
        assert_eq!(
            names(&[&format!("before={}", r("sub/busy"))]),
            ["busybox:latest", "busybox:v2"]
        );
        assert_eq!(names(&[&format!("since={}", r("app:v1"))]), ["app:"]);
        assert_eq!(
            names(&[
                &format!("before={}", r("app:v1")),
                &format!("before={}", r("busybox:v2"))
            ]),
            ["busybox:latest"]
        );
        assert_eq!(
            names(&[&format!("since={}", r("busybox")), "since=c3c3c3"]),
            ["app:", "app:v1"]
        );
        let db = db();
        let f = ImageFilter::parse(&["before=nosuch".to_string()]).unwrap();
        let e = f.select(&db, images::list(&db).unwrap(), REG).unwrap_err();
        assert!(
            e.to_string()
                .contains("`--filter` value `before=nosuch`: no image `nosuch`"),
            "{e}"
        );
        let f = ImageFilter::from_json(r#"{"since":["nosuch"]}"#).unwrap();
        let e = f.select(&db, images::list(&db).unwrap(), REG).unwrap_err();
        assert!(
            e.to_string().contains("`filters` value `since=nosuch`"),
            "{e}"
        );
    }

    #[test]
    fn bad_filters_name_the_flag_and_value() {
        for (arg, needle) in [
            ("colour=red", "unknown filter `colour`"),
            ("reference", "KEY=VALUE"),
            ("reference=[", "not a name pattern"),
            ("dangling=yes", "want `true` or `false`"),
            ("id=xyz", "image id"),
            ("before=", "image name"),
            ("label==1", "label=KEY"),
        ] {
            let e = ImageFilter::parse(&[arg.to_string()])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("`--filter`") && e.contains(arg) && e.contains(needle),
                "{arg}: {e}"
            );
        }
        let both = ["dangling=true".to_string(), "dangling=false".to_string()];
        assert!(ImageFilter::parse(&both).is_err());
        let e = ImageFilter::from_json(r#"{"reference":["["]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`filters`"), "{e}");
        let j =
            ImageFilter::from_json(r#"{"reference":["busybox"],"dangling":["false"]}"#).unwrap();
        assert_eq!(
            j.to_json(),
            r#"{"dangling":["false"],"reference":["busybox"]}"#
        );
    }
}
