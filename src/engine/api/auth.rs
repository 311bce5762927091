//! Credentials of the TCP listener (the unix socket relies on its file mode,
//! 0660): the bearer token, the browser's session cookie and the `token`
//! query parameter of a login URL. Pure parsing; every secret is compared in
//! constant time.

/// The session cookie's name.
pub const COOKIE: &str = "k3_session";

/// Whether an `Authorization` header value carries `token`.
pub fn authorized(header: Option<&str>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("Bearer ")) else {
        return false;
    };
    !token.is_empty() && constant_eq(given.trim().as_bytes(), token.as_bytes())
}

/// `a == b` in a time that depends on the lengths only.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token in a token file: its first line, trimmed.
pub fn parse_token_file(text: &str) -> Option<String> {
    let t = text.lines().next()?.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v.trim())
    })
}

/// `%XX` and `+` decoded (form bodies and query strings); `None` when a
/// `%` is not followed by two hex digits or the result is not UTF-8.
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The decoded value of `key` in `a=1&b=2` (a query string or a form body).
pub fn form_value(text: &str, key: &str) -> Option<String> {
    text.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| url_decode(v)).flatten()
    })
}

/// `query` without its `key` parameters (the rest kept in order).
pub fn without_param(query: &str, key: &str) -> String {
    query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split_once('=').map_or(*kv, |(k, _)| k) != key)
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Set-Cookie` value of a new session living `max_age` seconds.
pub fn session_cookie(id: &str, max_age: u64) -> String {
    format!("{COOKIE}={id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The login page: one password field, POSTed to `/login`; `note` says why
/// it is shown (escaped by the caller's choice of fixed texts).
pub fn login_page(note: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>k3 login</title>\
<style>body{{font-family:sans-serif;margin:2em}}input{{padding:4px}}.note{{color:#c92a2a}}</style></head>\
<body><h1>k3</h1><p id=\"login-note\" class=\"note\">{note}</p>\
<form id=\"login\" method=\"post\" action=\"/login\"><label>Token \
<input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus></label> \
<button type=\"submit\">Log in</button></form>\
<p>The token is the first line of the daemon's <code>--token-file</code>, or use the \
one-time URL <code>k3 serve</code> printed.</p></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_only_with_the_right_token() {
        assert!(authorized(Some("Bearer s3cret"), "s3cret"));
        assert!(!authorized(Some("Bearer s3cre"), "s3cret"));
        assert!(!authorized(Some("Basic s3cret"), "s3cret"));
        assert!(!authorized(Some("s3cret"), "s3cret"));
        assert!(!authorized(None, "s3cret"));
        assert!(!authorized(Some("Bearer "), ""));
    }

    #[test]
    fn token_file_first_line() {
        assert_eq!(parse_token_file("abc\nrest").as_deref(), Some("abc"));
        assert_eq!(parse_token_file("  \n"), None);
        assert_eq!(parse_token_file(""), None);
    }

    #[test]
    fn cookie_header_values() {
        let h = Some("a=1; k3_session=abc123 ;b=x=y");
        assert_eq!(cookie(h, COOKIE), Some("abc123"));
        assert_eq!(cookie(h, "b"), Some("x=y"));
        assert_eq!(cookie(h, "k3"), None);
        assert_eq!(cookie(None, COOKIE), None);
        assert_eq!(cookie(Some("k3_session"), COOKIE), None);
    }

    #[test]
    fn form_and_query_values() {
        assert_eq!(
            form_value("token=a%2Bb+c&x=1", "token").as_deref(),
            Some("a+b c")
        );
        assert_eq!(form_value("x=1", "token"), None);
        assert_eq!(form_value("token=%zz", "token"), None);
        assert_eq!(form_value("token=%4", "token"), None);
        assert_eq!(url_decode("%41%42"), Some("AB".into()));
        assert_eq!(without_param("token=s&all=1", "token"), "all=1");
        assert_eq!(without_param("token=s", "token"), "");
        assert_eq!(without_param("a=1&tokens=2&token", "token"), "a=1&tokens=2");
    }

    #[test]
    fn cookies_are_http_only_strict_and_expire() {
        let c = session_cookie("abc", 60);
        for part in [
            "k3_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
        let p = login_page("wrong token");
        assert!(p.contains("action=\"/login\"") && p.contains("type=\"password\""));
        assert!(p.contains("wrong token"));
    }
}
