//! Who the container is: its id, image reference and host name.

use super::{bad, OptionsError};

/// `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`: docker's and podman's names.
pub fn container_id(s: &str) -> Result<String, OptionsError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            "containerId",
            s,
            "use 1 to 64 letters, digits, `_`, `.` and `-` (a letter or digit first)",
        ))
    }
}

pub(super) fn image_ref(image: &str, tag: Option<&str>) -> Result<String, OptionsError> {
    let r = image_ref_chars(image, tag)?;
    // the registry grammar (lowercase repository, 255 at most): refused here as
    // the caller's value, not later as a failed pull
    crate::image::reference::parse(&r, "docker.io").map_err(|e| bad("image", image, e))?;
    Ok(r)
}

fn image_ref_chars(image: &str, tag: Option<&str>) -> Result<String, OptionsError> {
    let img_ok = !image.is_empty()
        && !image.starts_with(['-', '/', '.'])
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if !img_ok {
        return Err(bad("image", image, "not an image name"));
    }
    match tag {
        None if image.contains('@') || has_tag(image) => Ok(image.to_string()),
        None => Ok(format!("{image}:latest")),
        Some(t) => {
            let ok = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                return Err(bad("tag", t, "use letters, digits, `.`, `_`, `-`"));
            }
            if has_tag(image) || image.contains('@') {
                return Err(bad("tag", t, format!("image `{image}` already names one")));
            }
            Ok(format!("{image}:{t}"))
        }
    }
}

fn has_tag(image: &str) -> bool {
    image
        .rsplit_once('/')
        .map_or(image, |(_, last)| last)
        .contains(':')
}

/// An RFC 1123 host name label sequence.
pub fn hostname(s: &str) -> Result<String, OptionsError> {
    if host_name_ok(s) {
        Ok(s.to_string())
    } else {
        Err(bad("hostname", s, "not a valid host name"))
    }
}

/// Whether `s` is an RFC 1123 host name: dot-separated labels of 1 to 63
/// letters, digits and `-` (not first or last), 253 characters at most.
pub(super) fn host_name_ok(s: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    s.len() <= 253 && s.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::env;
    use crate::options::tests::opts;

    #[test]
    fn images_follow_the_reference_grammar() {
        for (img, tag) in [("UPPER", None), ("a//b", None), ("x", Some("é"))] {
            let e = image_ref(img, tag).unwrap_err();
            assert!(e.option == "image" || e.option == "tag", "{img}: {e}");
        }
        let e = image_ref(&"a".repeat(300), None).unwrap_err();
        assert_eq!(e.option, "image");
        assert_eq!(image_ref("busybox", None).unwrap(), "busybox:latest");
    }

    #[test]
    fn ids_envs_hostnames() {
        for ok in ["simple-app", "a_b", "my.app_1", "x"] {
            assert!(container_id(ok).is_ok(), "{ok}");
        }
        for b in [
            "",
            "-x",
            "_x",
            ".x",
            "..",
            "a/b",
            "a b",
            "a:b",
            &"a".repeat(65),
        ] {
            assert!(container_id(b).is_err(), "{b}");
        }
        assert_eq!(env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(env("NOEQ").is_err());
        assert!(env("1A=x").is_err());
        assert!(env("A-B=x").is_err());
        assert!(hostname("app-server").is_ok());
        assert!(hostname("bad_host").is_err());
        assert!(hostname("-x").is_err());
    }

    #[test]
    fn image_and_tag() {
        let mut o = opts();
        assert_eq!(o.validate().unwrap().image_ref, "alpine:latest");
        o.tag = Some("3.19".into());
        assert_eq!(o.validate().unwrap().image_ref, "alpine:3.19");
        o.image = "127.0.0.1:5000/node".into();
        o.tag = Some("18".into());
        assert_eq!(o.validate().unwrap().image_ref, "127.0.0.1:5000/node:18");
        o.tag = None;
        assert_eq!(
            o.validate().unwrap().image_ref,
            "127.0.0.1:5000/node:latest"
        );
        o.tag = Some("bad tag".into());
        assert_eq!(o.validate().unwrap_err().option, "tag");
        o.image = "x:1".into();
        o.tag = Some("2".into());
        assert_eq!(o.validate().unwrap_err().option, "tag");
    }
}
