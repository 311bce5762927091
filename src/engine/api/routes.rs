//! Route matching: a method and a path (query string apart) to a [`Route`].
//! Pure, so every endpoint's path is unit-tested.

/// Every endpoint of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /` and `/index.html`: the dashboard (seed 001).
    Dashboard,
    /// `GET /api/containers` (seed 001).
    ApiContainers,
    /// `GET /api/system` (seed 001).
    ApiSystem,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `GET /containers[?all=true]`.
    ListContainers,
    /// `POST /containers`: seed 000's createContainer.
    CreateContainer,
    /// `GET /containers/{id}`.
    InspectContainer(String),
    /// `DELETE /containers/{id}[?force=1]`.
    RemoveContainer(String),
    /// `POST /containers/{id}/{start|stop|restart|kill|exec}`.
    ContainerAction(String, Action),
    /// `GET /containers/{id}/logs[?follow=1]`.
    Logs(String),
    /// `GET` or `POST /containers/{id}/wait` (docker's method is `POST`).
    Wait(String),
    /// `POST /containers/{id}/attach`: docker's hijacked stream.
    Attach(String),
    /// `POST /containers/{id}/resize?h=ROWS&w=COLS`: the pty's size.
    Resize(String),
    /// `GET /images`.
    ListImages,
    /// `POST /images/pull`: a progress stream.
    PullImage,
    /// `GET /volumes`.
    ListVolumes,
    /// `DELETE /volumes/{name}`.
    RemoveVolume(String),
    /// `GET /networks`.
    ListNetworks,
    /// `POST /networks`.
    CreateNetwork,
    /// `DELETE /networks/{name}`.
    RemoveNetwork(String),
    /// `GET /events`: a stream.
    Events,
    /// `GET /restarts`: the supervisor's record.
    Restarts,
}

/// A verb on one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST .../start`.
    Start,
    /// `POST .../stop`.
    Stop,
    /// `POST .../restart`.
    Restart,
    /// `POST .../kill`.
    Kill,
    /// `POST .../exec`.
    Exec,
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No such path (404).
    NotFound,
    /// The path exists with other methods (405).
    Method,
}

fn action(s: &str) -> Option<Action> {
    Some(match s {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "restart" => Action::Restart,
        "kill" => Action::Kill,
        "exec" => Action::Exec,
        _ => return None,
    })
}

/// Whether `s` is an API version segment as docker clients send it (`v1.41`).
fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Matches `method` and `path` (without the query string); a leading version
/// segment (`/v1.41/containers/...`, as docker clients send) is skipped.
pub fn route(method: &str, path: &str) -> Result<Route, Miss> {
    let mut parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if parts.first().is_some_and(|p| is_version(p)) {
        parts.remove(0);
    }
    let (get, post, delete) = (method == "GET", method == "POST", method == "DELETE");
    let want = |ok: bool, r: Route| if ok { Ok(r) } else { Err(Miss::Method) };
    let s = |x: &str| x.to_string();
    match parts.as_slice() {
        [] | ["index.html"] => want(get, Route::Dashboard),
        ["api", "containers"] => want(get, Route::ApiContainers),
        ["api", "system"] => want(get, Route::ApiSystem),
        ["metrics"] => want(get, Route::Metrics),
        ["containers"] if post => Ok(Route::CreateContainer),
        ["containers"] => want(get, Route::ListContainers),
        ["containers", id] if delete => Ok(Route::RemoveContainer(s(id))),
        ["containers", id] => want(get, Route::InspectContainer(s(id))),
        ["containers", id, "logs"] => want(get, Route::Logs(s(id))),
        ["containers", id, "wait"] => want(get || post, Route::Wait(s(id))),
        ["containers", id, "attach"] => want(post, Route::Attach(s(id))),
        ["containers", id, "resize"] => want(post, Route::Resize(s(id))),
        ["containers", id, verb] => match action(verb) {
            Some(a) => want(post, Route::ContainerAction(s(id), a)),
            None => Err(Miss::NotFound),
        },
        ["images"] => want(get, Route::ListImages),
        ["images", "pull"] => want(post, Route::PullImage),
        ["volumes"] => want(get, Route::ListVolumes),
        ["volumes", name] => want(delete, Route::RemoveVolume(s(name))),
        ["networks"] if post => Ok(Route::CreateNetwork),
        ["networks"] => want(get, Route::ListNetworks),
        ["networks", name] => want(delete, Route::RemoveNetwork(s(name))),
        ["events"] => want(get, Route::Events),
        ["restarts"] => want(get, Route::Restarts),
        _ => Err(Miss::NotFound),
    }
}

/// Splits a request URL into path and query.
pub fn split_url(url: &str) -> (&str, &str) {
    url.split_once('?').unwrap_or((url, ""))
}

/// The value of `key` in a query string (`a=1&b`; a bare key is `""`).
pub fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

/// Whether a query flag is on (`1`, `true`, or bare).
pub fn query_flag(query: &str, key: &str) -> bool {
    matches!(query_param(query, key), Some("" | "1" | "true" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_001_endpoints() {
        assert_eq!(route("GET", "/"), Ok(Route::Dashboard));
        assert_eq!(route("GET", "/index.html"), Ok(Route::Dashboard));
        assert_eq!(route("GET", "/api/containers"), Ok(Route::ApiContainers));
        assert_eq!(route("GET", "/api/system"), Ok(Route::ApiSystem));
        assert_eq!(route("GET", "/metrics"), Ok(Route::Metrics));
        assert_eq!(route("POST", "/api/system"), Err(Miss::Method));
    }

    #[test]
    fn container_routes() {
        assert_eq!(route("POST", "/containers"), Ok(Route::CreateContainer));
        assert_eq!(route("GET", "/containers/"), Ok(Route::ListContainers));
        assert_eq!(
            route("GET", "/containers/a-1"),
            Ok(Route::InspectContainer("a-1".into()))
        );
        assert_eq!(
            route("DELETE", "/containers/a"),
            Ok(Route::RemoveContainer("a".into()))
        );
        assert_eq!(
            route("POST", "/containers/a/kill"),
            Ok(Route::ContainerAction("a".into(), Action::Kill))
        );
        assert_eq!(route("GET", "/containers/a/stop"), Err(Miss::Method));
        assert_eq!(route("POST", "/containers/a/explode"), Err(Miss::NotFound));
        assert_eq!(
            route("GET", "/containers/a/logs"),
            Ok(Route::Logs("a".into()))
        );
        assert_eq!(route("GET", "/nope"), Err(Miss::NotFound));
        assert_eq!(route("GET", "/containers/a/b/c"), Err(Miss::NotFound));
    }

    #[test]
    fn attach_resize_wait_and_versions() {
        assert_eq!(
            route("POST", "/containers/a/attach"),
            Ok(Route::Attach("a".into()))
        );
        assert_eq!(route("GET", "/containers/a/attach"), Err(Miss::Method));
        assert_eq!(
            route("POST", "/containers/a/resize"),
            Ok(Route::Resize("a".into()))
        );
        assert_eq!(route("PUT", "/containers/a/resize"), Err(Miss::Method));
        assert_eq!(
            route("POST", "/containers/a/wait"),
            Ok(Route::Wait("a".into()))
        );
        assert_eq!(
            route("GET", "/containers/a/wait"),
            Ok(Route::Wait("a".into()))
        );
        assert_eq!(
            route("POST", "/v1.41/containers/a/attach"),
            Ok(Route::Attach("a".into()))
        );
        assert_eq!(route("GET", "/v2/containers"), Ok(Route::ListContainers));
        assert_eq!(route("GET", "/v/containers"), Err(Miss::NotFound));
        assert_eq!(route("GET", "/vx1/containers"), Err(Miss::NotFound));
    }

    #[test]
    fn other_resources() {
        assert_eq!(route("POST", "/images/pull"), Ok(Route::PullImage));
        assert_eq!(route("GET", "/images"), Ok(Route::ListImages));
        assert_eq!(
            route("DELETE", "/volumes/v"),
            Ok(Route::RemoveVolume("v".into()))
        );
        assert_eq!(route("POST", "/networks"), Ok(Route::CreateNetwork));
        assert_eq!(route("GET", "/events"), Ok(Route::Events));
    }

    #[test]
    fn queries() {
        assert_eq!(
            split_url("/containers?all=true"),
            ("/containers", "all=true")
        );
        assert!(query_flag("all=true", "all"));
        assert!(query_flag("x=1&follow", "follow"));
        assert!(!query_flag("all=0", "all"));
        assert_eq!(query_param("t=5&force=1", "t"), Some("5"));
        assert_eq!(query_param("", "t"), None);
    }
}
