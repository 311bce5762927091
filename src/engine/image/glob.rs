//! The shell patterns of `images --filter reference=`, with the rules docker's
//! reference filter has: `*` any run of characters but `/`, `?` one character but
//! `/`, `[a-z]` / `[^a-z]` a class, `\` quotes the next character. A pattern is
//! checked whole when it is read, so a bad one fails before anything is matched.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Star,
    One,
    Char(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A checked pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob(Vec<Piece>);

impl Glob {
    /// Reads `pattern`; the reason it is malformed otherwise.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let mut it = pattern.chars();
        let mut pieces = Vec::new();
        while let Some(c) = it.next() {
            let p = match c {
                '*' if pieces.last() == Some(&Piece::Star) => continue,
                '*' => Piece::Star,
                '?' => Piece::One,
                '\\' => Piece::Char(it.next().ok_or("a `\\` ends the pattern")?),
                '[' => class(&mut it)?,
                c => Piece::Char(c),
            };
            pieces.push(p);
        }
        Ok(Glob(pieces))
    }

    /// Whether the pattern matches all of `s` (in time pattern length times `s`'s,
    /// whatever the stars).
    pub fn matches(&self, s: &str) -> bool {
        let s: Vec<char> = s.chars().collect();
        // after[j]: whether the pieces after the one at hand match s[j..]
        let mut after = vec![false; s.len() + 1];
        after[s.len()] = true;
        for piece in self.0.iter().rev() {
            let mut here = vec![false; s.len() + 1];
            for j in (0..=s.len()).rev() {
                here[j] = match (piece, s.get(j)) {
                    // a star takes nothing more, or one more character but `/`
                    (Piece::Star, c) => after[j] || (c.is_some_and(|&c| c != '/') && here[j + 1]),
                    (p, Some(&c)) => one(p, c) && after[j + 1],
                    (_, None) => false,
                };
            }
            after = here;
        }
        after[0]
    }
}

/// A class after its `[`, through its `]`.
fn class(it: &mut std::str::Chars<'_>) -> Result<Piece, String> {
    let unclosed = || "a `[` without its `]`".to_string();
    let negated = it.clone().next() == Some('^');
    if negated {
        it.next();
    }
    let mut ranges = Vec::new();
    loop {
        let lo = match it.next().ok_or_else(unclosed)? {
            ']' if !ranges.is_empty() => return Ok(Piece::Class { negated, ranges }),
            c => class_char(c, it)?,
        };
        let mut ahead = it.clone();
        let hi = if ahead.next() == Some('-') && ahead.next() != Some(']') {
            it.next();
            let c = it.next().ok_or_else(unclosed)?;
            class_char(c, it)?
        } else {
            lo
        };
        if hi < lo {
            return Err(format!("the range `{lo}-{hi}` is backwards"));
        }
        ranges.push((lo, hi));
    }
}

/// One character of a class (`\` quotes); `-` and `]` must be quoted there.
fn class_char(c: char, it: &mut std::str::Chars<'_>) -> Result<char, String> {
    match c {
        '\\' => it
            .next()
            .ok_or_else(|| "a `\\` ends the pattern".to_string()),
        '-' | ']' => Err(format!("a bare `{c}` in a `[...]` class")),
        c => Ok(c),
    }
}

fn one(p: &Piece, c: char) -> bool {
    match p {
        Piece::Star => false,
        Piece::One => c != '/',
        Piece::Char(x) => *x == c,
        Piece::Class { negated, ranges } => {
            c != '/' && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn stars_stop_at_slashes() {
        assert!(m("busybox", "busybox"));
        assert!(!m("busybox", "busybox:latest"));
        assert!(m("*box:latest", "busybox:latest"));
        assert!(!m("*box:latest", "r/busybox:latest"));
        assert!(m("*/busy*", "r/busybox:v2"));
        assert!(m("127.0.0.1:5000/busy*", "127.0.0.1:5000/busybox"));
        assert!(!m("127.0.0.1:5000/busy*", "127.0.0.1:5000/busy/x"));
        assert!(m("b?sy***", "busy"));
        assert!(!m("?", "/"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        let many = format!("{}b", "*a".repeat(40));
        assert!(!m(&many, &"a".repeat(200)));
    }

    #[test]
    fn classes_and_quotes() {
        assert!(m("v[0-9]", "v7"));
        assert!(!m("v[^0-9]", "v7"));
        assert!(m("v[^0-9]", "vx"));
        assert!(m("a[\\]]", "a]"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
    }

    #[test]
    fn bad_patterns_are_refused_whole() {
        for p in [
            "[", "a[", "a[x-]", "a[]", "a[b", "a\\", "[z-a]", "[-a]", "x[^",
        ] {
            assert!(Glob::new(p).is_err(), "{p}");
        }
    }
}
