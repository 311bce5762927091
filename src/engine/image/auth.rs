//! Registry authentication: `WWW-Authenticate` challenge parsing and the
//! credentials file (docker's `config.json` shape:
//! `{"auths": {"HOST": {"auth": "base64(user:pass)"}}}` or
//! `{"username", "password"}` per host).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// A challenge or credentials file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The header is not a challenge we understand.
    #[error("malformed `WWW-Authenticate` header `{0}`")]
    Challenge(String),
    /// A bearer challenge without `realm`.
    #[error("bearer challenge `{0}` has no `realm`")]
    NoRealm(String),
    /// The credentials file could not be read.
    #[error("cannot read credentials file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file is not valid JSON of the expected shape.
    #[error("malformed credentials file `{path}`")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The credentials file could not be written.
    #[error("cannot write credentials file `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `logout` of a registry the file has no credentials for.
    #[error("not logged in to `{host}` (no entry in `{path}`)")]
    NotLoggedIn {
        /// The registry host.
        host: String,
        /// The file.
        path: PathBuf,
    },
    /// An `auth` entry is not base64 of `user:password`.
    #[error("credentials for `{host}` in `{path}`: `auth` is not base64 of `user:password`")]
    AuthField {
        /// The registry host.
        host: String,
        /// The file.
        path: PathBuf,
    },
}

/// An authentication scheme asked for by a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm=...`: send the user's credentials.
    Basic,
    /// `Bearer realm=...,service=...,scope=...`: get a token from `realm`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter, if any.
        service: Option<String>,
        /// The `scope` parameter, if any.
        scope: Option<String>,
    },
}

/// Parses one `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Result<Challenge, AuthError> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest).ok_or_else(|| AuthError::Challenge(header.to_string()))?;
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Ok(Challenge::Basic),
        "bearer" => {
            let realm = params
                .get("realm")
                .cloned()
                .ok_or_else(|| AuthError::NoRealm(header.to_string()))?;
            Ok(Challenge::Bearer {
                realm,
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            })
        }
        _ => Err(AuthError::Challenge(header.to_string())),
    }
}

/// `key=value, key="quoted \"value\""` into a map (keys lowercased).
fn parse_params(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut chars = s.trim().chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | ',' | '\t')) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || key.contains(' ') {
            return None;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            quoted(&mut chars)?
        } else {
            chars.by_ref().take_while(|c| *c != ',').collect::<String>()
        };
        out.insert(key, value.trim().to_string());
    }
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut value = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
}

/// A user name and password for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl Credentials {
    /// The `Authorization` header value for basic auth.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

#[derive(serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The credentials for `host` in the file at `path`; `None` when the file
/// does not exist or has no entry for the host.
pub fn load_credentials(path: &Path, host: &str) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let file: AuthFile = serde_json::from_str(&text).map_err(|source| AuthError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    let entry = file.auths.get(host).or_else(|| {
        file.auths
            .iter()
            .find(|(k, _)| strip_scheme(k) == host)
            .map(|(_, v)| v)
    });
    entry.map(|e| entry_credentials(e, host, path)).transpose()
}

/// The file as JSON (an empty object when it does not exist), keeping every
/// field k3 does not use (`credHelpers`, other tools' settings).
fn read_document(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::Map::new()),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text).map_err(|source| AuthError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the file whole (tmp file, mode 0600, renamed into place).
fn write_document(
    path: &Path,
    doc: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), AuthError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| AuthError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}

/// Records `creds` for `host` in the file at `path` (`login`), as docker
/// does: `auths.HOST.auth` = base64 of `user:password`.
pub fn save_credentials(path: &Path, host: &str, creds: &Credentials) -> Result<(), AuthError> {
    let mut doc = read_document(path)?;
    let auths = doc.entry("auths").or_insert_with(|| serde_json::json!({}));
    if !auths.is_object() {
        *auths = serde_json::json!({});
    }
    let raw = format!("{}:{}", creds.username, creds.password);
    if let Some(map) = auths.as_object_mut() {
        map.retain(|k, _| k == host || strip_scheme(k) != host);
        map.insert(
            host.to_string(),
            serde_json::json!({"auth": base64::engine::general_purpose::STANDARD.encode(raw)}),
        );
    }
    write_document(path, &doc)
}

/// Removes the credentials for `host` (`logout`); an error when there are none.
pub fn remove_credentials(path: &Path, host: &str) -> Result<(), AuthError> {
    let mut doc = read_document(path)?;
    let removed = doc
        .get_mut("auths")
        .and_then(|a| a.as_object_mut())
        .map(|map| {
            let before = map.len();
            map.retain(|k, _| k != host && strip_scheme(k) != host);
            before != map.len()
        })
        .unwrap_or(false);
    if !removed {
        return Err(AuthError::NotLoggedIn {
            host: host.to_string(),
            path: path.to_path_buf(),
        });
    }
    write_document(path, &doc)
}

fn strip_scheme(s: &str) -> &str {
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.trim_end_matches('/')
}

fn entry_credentials(e: &AuthEntry, host: &str, path: &Path) -> Result<Credentials, AuthError> {
    let err = || AuthError::AuthField {
        host: host.to_string(),
        path: path.to_path_buf(),
    };
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Ok(Credentials {
            username: u.clone(),
            password: p.clone(),
        });
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(e.auth.as_deref().unwrap_or("").trim())
        .map_err(|_| err())?;
    let text = String::from_utf8(raw).map_err(|_| err())?;
    let (u, p) = text.split_once(':').ok_or_else(err)?;
    Ok(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_bearer() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull".into()),
            }
        );
    }

    #[test]
    fn parses_unquoted_and_escaped_params() {
        let c = parse_challenge(r#"bearer realm=http://127.0.0.1:1/t, service="a\"b""#).unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: Some("a\"b".into()),
                scope: None,
            }
        );
    }

    #[test]
    fn parses_basic() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic
        );
    }

    #[test]
    fn rejects_bad_challenges() {
        assert!(matches!(
            parse_challenge("Bearer service=x"),
            Err(AuthError::NoRealm(_))
        ));
        assert!(matches!(
            parse_challenge("Negotiate abc"),
            Err(AuthError::Challenge(_))
        ));
        assert!(matches!(
            parse_challenge(r#"Bearer realm="unterminated"#),
            Err(AuthError::Challenge(_))
        ));
    }

    #[test]
    fn credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(
            &path,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYTpzcw=="},"https://r.example/":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        let c = load_credentials(&path, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("user", "pa:ss")
        );
        assert_eq!(c.basic_header(), "Basic dXNlcjpwYTpzcw==");
        let c = load_credentials(&path, "r.example").unwrap().unwrap();
        assert_eq!(c.username, "a");
        assert_eq!(load_credentials(&path, "other").unwrap(), None);
        assert_eq!(
            load_credentials(&dir.path().join("none"), "x").unwrap(),
            None
        );
        std::fs::write(&path, r#"{"auths":{"h":{"auth":"!!"}}}"#).unwrap();
        assert!(matches!(
            load_credentials(&path, "h"),
            Err(AuthError::AuthField { .. })
        ));
    }

    #[test]
    fn login_and_logout_write_dockers_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/auth.json");
        let creds = Credentials {
            username: "user".into(),
            password: "pa:ss".into(),
        };
        save_credentials(&path, "127.0.0.1:5000", &creds).unwrap();
        save_credentials(&path, "r.example", &creds).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["auths"]["127.0.0.1:5000"]["auth"], "dXNlcjpwYTpzcw==");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            load_credentials(&path, "127.0.0.1:5000").unwrap(),
            Some(creds)
        );
        remove_credentials(&path, "127.0.0.1:5000").unwrap();
        assert_eq!(load_credentials(&path, "127.0.0.1:5000").unwrap(), None);
        assert!(load_credentials(&path, "r.example").unwrap().is_some());
        assert!(matches!(
            remove_credentials(&path, "127.0.0.1:5000"),
            Err(AuthError::NotLoggedIn { .. })
        ));
        // other fields of the file stay
        std::fs::write(&path, r#"{"credHelpers":{"x":"y"},"auths":{}}"#).unwrap();
        save_credentials(
            &path,
            "h",
            &Credentials {
                username: "a".into(),
                password: "b".into(),
            },
        )
        .unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["credHelpers"]["x"], "y");
        std::fs::write(&path, r#"{"auths":{"h":{"auth":"!!"}}}"#).unwrap();
        assert!(matches!(
            load_credentials(&path, "h"),
            Err(AuthError::AuthField { .. })
        ));
    }
}
