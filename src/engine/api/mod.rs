//! The daemon's HTTP API (`k3 serve`): seed 000's operations as JSON
//! endpoints, seed 001's dashboard and `/api/*`, `/metrics`, streams for
//! logs, pulls and events. One file per resource; [`errors`] maps every
//! failure to seed 000's error object and its HTTP status; [`server`] runs
//! the listeners (unix socket, optional TCP with a bearer token) on the
//! HTTP/1.1 wire of [`http`]; [`attach`] is docker's hijacked attach stream.

pub mod attach;
pub mod auth;
pub mod body;
pub mod chart;
pub mod client;
pub mod containers;
pub mod dashboard;
pub mod errors;
pub mod events;
pub mod http;
pub mod images;
pub mod networks;
pub mod routes;
pub mod server;
pub mod session;
pub mod stream;
pub mod volumes;

use std::io::Write;

use crate::supervisor::Shared;
pub use errors::ApiError;
use routes::Route;

/// A handler that writes a streamed body (until it returns).
pub type StreamBody = Box<dyn FnOnce(&mut (dyn Write + Send)) + Send>;

/// A handler that owns a hijacked connection (until it returns; then it closes).
pub type HijackBody = Box<dyn FnOnce(Hijacked) + Send>;

/// A connection handed over after the hijack head (`101 UPGRADED`).
#[derive(Debug)]
pub struct Hijacked {
    /// What the client sent right after its request (read with the head).
    pub early: Vec<u8>,
    /// The connection, both ways.
    pub conn: http::Conn,
}

/// Shows the status and content type; a stream's writer is a closure.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Json(status, v) => f.debug_tuple("Json").field(status).field(v).finish(),
            Reply::Text(status, ct, body) => f
                .debug_tuple("Text")
                .field(status)
                .field(ct)
                .field(body)
                .finish(),
            Reply::Stream(ct, _) => f.debug_tuple("Stream").field(ct).finish_non_exhaustive(),
            Reply::Hijack(ct, _) => f.debug_tuple("Hijack").field(ct).finish_non_exhaustive(),
        }
    }
}

/// A handler's answer.
pub enum Reply {
    /// A JSON body with a status.
    Json(u16, serde_json::Value),
    /// A text body with its content type.
    Text(u16, &'static str, String),
    /// A body written as it comes (until the handler returns).
    Stream(&'static str, StreamBody),
    /// The connection itself, after the hijack head with this content type.
    Hijack(&'static str, HijackBody),
}

/// One request, as the handlers see it.
#[derive(Debug)]
pub struct Req<'a> {
    /// The query string, without the `?` (empty when none).
    pub query: &'a str,
    /// The request body, as sent.
    pub body: &'a [u8],
}

impl Req<'_> {
    /// The body as JSON (`{}` when empty).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        let b = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            self.body
        };
        // the same reader as config.json: an object only, the bad value's path named
        k3_oci::spec::parse_object(b).map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

/// Runs the handler of `route`.
pub fn handle(shared: &Shared, route: Route, req: &Req<'_>) -> Result<Reply, ApiError> {
    match route {
        Route::Dashboard => dashboard::page(shared),
        Route::ApiContainers => dashboard::api_containers(shared),
        Route::ApiSystem => dashboard::api_system(shared),
        Route::Metrics => dashboard::metrics(shared),
        Route::Restarts => dashboard::restarts(shared),
        Route::ListContainers => containers::list(shared, req),
        Route::CreateContainer => containers::create(shared, req),
        Route::InspectContainer(id) => containers::inspect(shared, &id),
        Route::RemoveContainer(id) => containers::remove(shared, &id, req),
        Route::ContainerAction(id, a) => containers::action(shared, &id, a, req),
        Route::Logs(id) => containers::logs(shared, &id, req),
        Route::Wait(id) => containers::wait(shared, &id, req),
        Route::Attach(id) => attach::attach(shared, &id, req),
        Route::Resize(id) => attach::resize(shared, &id, req),
        Route::ListImages => images::list(shared, req),
        Route::PullImage => images::pull(shared, req),
        Route::ListVolumes => volumes::list(shared),
        Route::RemoveVolume(name) => volumes::remove(shared, &name),
        Route::ListNetworks => networks::list(shared),
        Route::CreateNetwork => networks::create(shared, req),
        Route::RemoveNetwork(name) => networks::remove(shared, &name),
        Route::Events => events::stream(shared, req),
    }
}
