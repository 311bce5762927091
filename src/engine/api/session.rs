//! Browser sessions of the TCP listener: the one-time login token printed by
//! `k3 serve` (or the bearer token itself) is exchanged for a random session
//! id kept in memory and sent as an HttpOnly, SameSite=Strict cookie that
//! expires; [`Sessions::gate`] decides what a request without the bearer
//! token gets (its page, a redirect that sets the cookie, the login page, or
//! a 401).

use std::io::Read;
use std::sync::Mutex;

use crate::api::auth;

/// Sessions kept at most (the oldest goes first).
pub const MAX_SESSIONS: usize = 64;

/// What a TCP request gets before any route runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The request is authorized: route it.
    Pass,
    /// 303 to `location`, setting (or clearing) the cookie.
    Redirect {
        /// Where to.
        location: String,
        /// The `Set-Cookie` value.
        cookie: String,
    },
    /// The login page (HTML) with a status and a note.
    Login(u16, &'static str),
    /// 401 for an API client.
    Unauthorized,
}

/// A request as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// `GET`, `POST` ...
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The body (read for `POST /login` only).
    pub body: &'a [u8],
}

#[derive(Debug)]
struct Inner {
    /// The one-time login token, until used.
    once: Option<String>,
    /// Session id and its expiry (seconds since the epoch), oldest first.
    live: Vec<(String, i64)>,
}

/// The bearer token and the live sessions.
#[derive(Debug)]
pub struct Sessions {
    token: String,
    ttl: u64,
    inner: Mutex<Inner>,
}

/// 32 random bytes from the kernel, hex.
pub fn random_id() -> std::io::Result<String> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Whether `path` is a page a browser opens (the login page answers it).
fn is_page(path: &str) -> bool {
    matches!(path.trim_end_matches('/'), "" | "/index.html" | "/login")
}

impl Sessions {
    /// Sessions for `token`, living `ttl` seconds, with the one-time token `once`.
    pub fn new(token: String, ttl: u64, once: String) -> Sessions {
        Sessions {
            token,
            ttl,
            inner: Mutex::new(Inner {
                once: Some(once),
                live: Vec::new(),
            }),
        }
    }

    /// The one-time login token, while unused.
    pub fn one_time(&self) -> Option<String> {
        self.lock().once.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `given` is the bearer token or the unused one-time token
    /// (which it then uses up).
    fn accept(&self, given: &str) -> bool {
        if !self.token.is_empty() && auth::constant_eq(given.as_bytes(), self.token.as_bytes()) {
            return true;
        }
        let mut g = self.lock();
        let once = g
            .once
            .as_deref()
            .is_some_and(|o| auth::constant_eq(given.as_bytes(), o.as_bytes()));
        if once {
            g.once = None;
        }
        once
    }

    /// A new session id, expiring `ttl` after `now`.
    fn open(&self, id: String, now: i64) -> String {
        let mut g = self.lock();
        g.live.retain(|(_, exp)| *exp > now);
        if g.live.len() >= MAX_SESSIONS {
            g.live.remove(0);
        }
        let exp = now.saturating_add(i64::try_from(self.ttl).unwrap_or(i64::MAX));
        g.live.push((id.clone(), exp));
        id
    }

    /// Whether session `id` is live at `now` (every live id is compared).
    pub fn valid(&self, id: &str, now: i64) -> bool {
        let g = self.lock();
        g.live.iter().fold(false, |hit, (s, exp)| {
            hit | (auth::constant_eq(s.as_bytes(), id.as_bytes()) && *exp > now)
        })
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.lock()
            .live
            .retain(|(s, _)| !auth::constant_eq(s.as_bytes(), id.as_bytes()));
    }

    fn login(&self, given: &str, location: String, now: i64) -> Gate {
        if !self.accept(given) {
            return Gate::Login(401, "That token is not valid (a one-time URL works once).");
        }
        match random_id() {
            Ok(id) => Gate::Redirect {
                location,
                cookie: auth::session_cookie(&self.open(id, now), self.ttl),
            },
            Err(_) => Gate::Login(500, "No session could be made: /dev/urandom is unreadable."),
        }
    }

    /// What request `r` gets at `now` (seconds since the epoch).
    pub fn gate(&self, r: &Seen<'_>, now: i64) -> Gate {
        if auth::authorized(r.authorization, &self.token) {
            return Gate::Pass;
        }
        let session = auth::cookie(r.cookie, auth::COOKIE);
        if r.path == "/logout" {
            if let Some(id) = session {
                self.close(id);
            }
            return Gate::Redirect {
                location: "/login".into(),
                cookie: auth::clear_cookie(),
            };
        }
        if r.path == "/login" && r.method == "POST" {
            let body = String::from_utf8_lossy(r.body);
            let given = auth::form_value(&body, "token").unwrap_or_default();
            return self.login(given.trim(), "/".into(), now);
        }
        if let Some(given) = auth::form_value(r.query, "token") {
            let rest = auth::without_param(r.query, "token");
            let path = if r.path == "/login" { "/" } else { r.path };
            let location = if rest.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{rest}")
            };
            return self.login(&given, location, now);
        }
        let live = session.is_some_and(|id| self.valid(id, now));
        match (live, r.path == "/login", is_page(r.path)) {
            (true, true, _) => Gate::Redirect {
                location: "/".into(),
                cookie: auth::session_cookie(session.unwrap_or_default(), self.ttl),
            },
            (true, false, _) => Gate::Pass,
            (false, true, _) => Gate::Login(200, ""),
            (false, false, true) if session.is_some() => {
                Gate::Login(401, "Your session has expired: log in again.")
            }
            (false, false, true) => Gate::Login(401, "Log in to see the dashboard."),
            (false, false, false) => Gate::Unauthorized,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen<'a>(path: &'a str, query: &'a str, cookie: Option<&'a str>) -> Seen<'a> {
        Seen {
            method: "GET",
            path,
            query,
            authorization: None,
            cookie,
            body: b"",
        }
    }

    fn session_of(g: &Gate) -> String {
        let Gate::Redirect { cookie, .. } = g else {
            panic!("not a redirect: {g:?}")
        };
        auth::cookie(Some(cookie.split(';').next().unwrap()), auth::COOKIE)
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_one_time_token_works_once_and_drops_from_the_url() {
        let s = Sessions::new("bearer".into(), 60, "once".into());
        let g = s.gate(&seen("/", "token=once&x=1", None), 100);
        let Gate::Redirect { location, cookie } = &g else {
            panic!("{g:?}")
        };
        assert_eq!(location, "/?x=1");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(matches!(
            s.gate(&seen("/", "token=once", None), 100),
            Gate::Login(401, _)
        ));
        // the bearer token itself also logs in, any number of times
        assert!(matches!(
            s.gate(&seen("/", "token=bearer", None), 100),
            Gate::Redirect { .. }
        ));
        let id = session_of(&g);
        let c = format!("k3_session={id}");
        assert_eq!(
            s.gate(&seen("/api/containers", "", Some(&c)), 159),
            Gate::Pass
        );
    }

    #[test]
    fn no_credentials_get_the_login_page_or_401_and_sessions_expire() {
        let s = Sessions::new("bearer".into(), 60, "once".into());
        assert!(matches!(
            s.gate(&seen("/", "", None), 1),
            Gate::Login(401, _)
        ));
        assert_eq!(
            s.gate(&seen("/containers", "", None), 1),
            Gate::Unauthorized
        );
        assert_eq!(s.gate(&seen("/login", "", None), 1), Gate::Login(200, ""));
        let id = session_of(&s.gate(&seen("/", "token=once", None), 100));
        let c = format!("a=b; k3_session={id}");
        assert_eq!(s.gate(&seen("/", "", Some(&c)), 159), Gate::Pass);
        assert!(matches!(
            s.gate(&seen("/", "", Some(&c)), 160),
            Gate::Login(401, m) if m.contains("expired")
        ));
        assert_eq!(
            s.gate(&seen("/metrics", "", Some(&c)), 160),
            Gate::Unauthorized
        );
        // a forged cookie is as good as an expired one
        assert!(matches!(
            s.gate(&seen("/", "", Some("k3_session=forged")), 100),
            Gate::Login(401, m) if m.contains("expired")
        ));
    }

    #[test]
    fn login_form_bearer_header_and_logout() {
        let s = Sessions::new("be+arer".into(), 60, "once".into());
        let mut r = seen("/login", "", None);
        r.method = "POST";
        r.body = b"token=wrong";
        assert!(matches!(s.gate(&r, 1), Gate::Login(401, _)));
        r.body = b"token=be%2Barer";
        let id = session_of(&s.gate(&r, 1));
        let c = format!("k3_session={id}");
        assert_eq!(s.gate(&seen("/", "", Some(&c)), 2), Gate::Pass);
        let mut b = seen("/containers", "", None);
        b.authorization = Some("Bearer be+arer");
        assert_eq!(s.gate(&b, 2), Gate::Pass);
        let out = s.gate(&seen("/logout", "", Some(&c)), 3);
        assert!(matches!(&out, Gate::Redirect { cookie, .. } if cookie.contains("Max-Age=0")));
        assert!(!s.valid(&id, 3));
        assert!(matches!(
            s.gate(&seen("/", "", Some(&c)), 3),
            Gate::Login(401, _)
        ));
    }

    #[test]
    fn sessions_are_bounded_and_random() {
        let s = Sessions::new("t".into(), 60, "o".into());
        let first = s.open("s0".into(), 1);
        for i in 1..=MAX_SESSIONS {
            s.open(format!("s{i}"), 1);
        }
        assert!(!s.valid(&first, 1), "the oldest went first");
        assert!(s.valid(&format!("s{MAX_SESSIONS}"), 1));
        let (a, b) = (random_id().unwrap(), random_id().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
