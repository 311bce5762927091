//! Every request body and query value the handlers read, parsed in one place
//! (pure, so fuzzed): a malformed value is a 400 naming the field and the
//! value, never a silent default.

use std::time::Duration;

use crate::api::routes::{percent_decode, query_param};
use crate::api::{ApiError, Req};

fn bad(field: &str, value: &str, why: &str) -> ApiError {
    let value: String = value.chars().take(200).collect();
    ApiError::BadRequest(format!("invalid `{field}` value `{value}`: {why}"))
}

/// A whole number of seconds in query parameter `key`, or `default`.
fn secs(query: &str, key: &str, default: u64) -> Result<Duration, ApiError> {
    match query_param(query, key) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad(key, v, "a whole number of seconds is required")),
    }
}

/// `?t=SECS` of stop/restart: the grace period (default 10).
pub fn grace(query: &str) -> Result<Duration, ApiError> {
    secs(query, "t", 10)
}

/// `?t=SECS` of wait (default one hour).
pub fn wait_timeout(query: &str) -> Result<Duration, ApiError> {
    secs(query, "t", 3600)
}

/// `?filters=JSON` of the listings, %-decoded, read by `parse` (docker's JSON into a
/// filter); `None` without one. A bad one is a 400 naming `filters`.
pub fn filters<F>(
    query: &str,
    parse: impl FnOnce(&str) -> Result<F, crate::options::OptionsError>,
) -> Result<Option<F>, ApiError> {
    match query_param(query, "filters") {
        None | Some("") => Ok(None),
        Some(raw) => {
            let text =
                percent_decode(raw).ok_or_else(|| bad("filters", raw, "broken %-escapes"))?;
            parse(&text)
                .map(Some)
                .map_err(|e| ApiError::BadRequest(e.to_string()))
        }
    }
}

/// `?since=ID` of the event stream (`None`: from now).
pub fn since(query: &str) -> Result<Option<i64>, ApiError> {
    match query_param(query, "since") {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(bad("since", v, "an event id (0 or more) is required")),
        },
    }
}

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecBody {
    /// The command and its arguments, run in the container.
    pub cmd: Vec<String>,
}

/// Parses and checks an exec body.
pub fn exec(req: &Req<'_>) -> Result<ExecBody, ApiError> {
    let body: ExecBody = req.json()?;
    if body.cmd.first().is_none_or(|p| p.is_empty()) {
        return Err(bad("cmd", "[]", "must name the program to run"));
    }
    if let Some(a) = body.cmd.iter().find(|a| a.contains('\0')) {
        return Err(bad("cmd", &a.replace('\0', "\\0"), "contains a NUL byte"));
    }
    Ok(body)
}

/// The body of `POST /networks`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetBody {
    /// The network's name.
    pub name: String,
    /// The subnet in CIDR form, e.g. `10.89.0.0/24`.
    pub subnet: String,
    /// The bridge's address (default: the subnet's first host).
    pub gateway: Option<String>,
}

/// Parses a network body (the values are checked by the network code).
pub fn network(req: &Req<'_>) -> Result<NetBody, ApiError> {
    req.json()
}

/// The body of `POST /images/pull`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullBody {
    /// The image reference to pull (`name[:tag]` or `name@digest`).
    pub reference: String,
}

/// Parses a pull body; the reference must parse, before the stream starts.
pub fn pull(req: &Req<'_>) -> Result<PullBody, ApiError> {
    let b: PullBody = req.json()?;
    if let Err(e) = crate::image::reference::parse(&b.reference, "docker.io") {
        return Err(bad("reference", &b.reference, &e.to_string()));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> Req<'_> {
        Req {
            query: "",
            body: body.as_bytes(),
        }
    }

    #[test]
    fn query_values_are_refused_not_defaulted() {
        assert_eq!(grace("").unwrap(), Duration::from_secs(10));
        assert_eq!(grace("t=3").unwrap(), Duration::from_secs(3));
        for q in ["t=abc", "t=-1", "t=", "t=1e3", "t=99999999999999999999"] {
            let e = grace(q).unwrap_err().to_string();
            assert!(e.contains("`t`"), "{q}: {e}");
        }
        assert_eq!(wait_timeout("").unwrap(), Duration::from_secs(3600));
        assert_eq!(since("").unwrap(), None);
        assert_eq!(since("since=4").unwrap(), Some(4));
        for q in ["since=-1", "since=x", "since"] {
            assert!(since(q).unwrap_err().to_string().contains("`since`"), "{q}");
        }
    }

    #[test]
    fn bodies_name_the_field() {
        let e = exec(&req(r#"{"cmd":[]}"#)).unwrap_err().to_string();
        assert!(e.contains("`cmd`"), "{e}");
        let e = exec(&req(r#"{"cmd":["a\u0000b"]}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NUL"), "{e}");
        let e = exec(&req(r#"{"cmd":["x"],"zz":1}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zz"), "{e}");
        let e = network(&req(r#"{"name":"n"}"#)).unwrap_err().to_string();
        assert!(e.contains("subnet"), "{e}");
        let e = pull(&req(r#"{"reference":"UPPER/x"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`reference`"), "{e}");
        let e = pull(&req(r#"{"reference":5}"#)).unwrap_err().to_string();
        assert!(e.contains("invalid type"), "{e}");
    }
}
