//! Bearer-token check for the TCP listener (the unix socket relies on its
//! file mode, 0660). Constant-time comparison.

/// Whether an `Authorization` header value carries `token`.
pub fn authorized(header: Option<&str>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("Bearer ")) else {
        return false;
    };
    !token.is_empty() && constant_eq(given.trim().as_bytes(), token.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
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
}
