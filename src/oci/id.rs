//! Container id rules: what runc accepts, minus anything that could escape the state root.

use thiserror::Error;

/// Why an id was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    /// The id is empty.
    #[error("container id must not be empty")]
    Empty,
    /// A character outside letters, digits and `_ + . -`.
    #[error("invalid container id `{0}`: only letters, digits and `_ + . -` are allowed")]
    BadChar(String),
    /// `.` or `..`.
    #[error("invalid container id `{0}`: `.` and `..` are not container ids")]
    Dots(String),
    /// More than 1024 bytes.
    #[error("invalid container id `{0}`: longer than 1024 bytes")]
    TooLong(String),
    /// Starts with `-`.
    #[error("invalid container id `{0}`: must not start with `-` (it would read as an option)")]
    LeadingDash(String),
}

/// Checks a container id: alphanumerics plus `_ + . -`, not `.`/`..`, at most 1024 bytes.
pub fn validate(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > 1024 {
        return Err(IdError::TooLong(
            id.chars().take(32).collect::<String>() + "...",
        ));
    }
    if id == "." || id == ".." {
        return Err(IdError::Dots(id.to_string()));
    }
    if id.starts_with('-') {
        return Err(IdError::LeadingDash(id.to_string()));
    }
    let ok = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'-'));
    if !ok {
        return Err(IdError::BadChar(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_style_ids() {
        for id in ["a", "abc-123", "x_y.z+1", "5018594e25b3c2a5", "..a"] {
            assert_eq!(validate(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_path_tricks_and_odd_bytes() {
        assert_eq!(validate(""), Err(IdError::Empty));
        assert_eq!(validate(".."), Err(IdError::Dots("..".into())));
        assert_eq!(validate("-x"), Err(IdError::LeadingDash("-x".into())));
        assert!(validate("x-").is_ok());
        assert_eq!(validate("."), Err(IdError::Dots(".".into())));
        for id in ["a/b", "../x", "a b", "a\0b", "ä", "a:b", "/abs"] {
            assert!(matches!(validate(id), Err(IdError::BadChar(_))), "{id}");
        }
        assert!(matches!(
            validate(&"a".repeat(1025)),
            Err(IdError::TooLong(_))
        ));
    }
}
