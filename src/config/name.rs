//! Specialist and team names: parsed once at the edge, then trusted. Both
//! follow one grammar (a file stem that is also a URL path segment), so a
//! team can be addressed as `team/NAME` wherever a specialist is addressed
//! by its name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A valid specialist name: `[a-z0-9][a-z0-9-]{0,62}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpecialistName(String);

/// Why a string is not a specialist (or team) name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid {kind} name `{name}`: names are 1-63 characters of a-z, 0-9 and `-`, starting with a letter or digit"
)]
pub struct InvalidName {
    pub name: String,
    /// `specialist` or `team`.
    pub kind: &'static str,
}

/// The one name grammar: `[a-z0-9][a-z0-9-]{0,62}`.
fn valid(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

impl SpecialistName {
    pub fn parse(s: &str) -> Result<Self, InvalidName> {
        if valid(s) {
            Ok(SpecialistName(s.to_owned()))
        } else {
            Err(InvalidName {
                name: s.to_owned(),
                kind: "specialist",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SpecialistName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, InvalidName> {
        SpecialistName::parse(s)
    }
}

impl TryFrom<String> for SpecialistName {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        SpecialistName::parse(&s)
    }
}

impl From<SpecialistName> for String {
    fn from(n: SpecialistName) -> String {
        n.0
    }
}

impl fmt::Display for SpecialistName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SpecialistName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by name can be looked up with a plain `&str` (`Ord` agrees:
/// both compare the same bytes).
impl std::borrow::Borrow<str> for SpecialistName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for SpecialistName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SpecialistName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for SpecialistName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// A valid team name (`teams.d/NAME.toml`): the grammar of [`SpecialistName`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(s: &str) -> Result<Self, InvalidName> {
        if valid(s) {
            Ok(TeamName(s.to_owned()))
        } else {
            Err(InvalidName {
                name: s.to_owned(),
                kind: "team",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TeamName {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        TeamName::parse(&s)
    }
}

impl From<TeamName> for String {
    fn from(n: TeamName) -> String {
        n.0
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for TeamName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for TeamName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in ["numa", "tekton-core", "a", "0x", &"a".repeat(63)] {
            assert!(SpecialistName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Bad Name", "-x", "Numa", "a_b", "a.b", &"a".repeat(64)] {
            assert!(SpecialistName::parse(bad).is_err(), "{bad}");
            assert!(TeamName::parse(bad).is_err(), "{bad}");
        }
        let e = TeamName::parse("Bad").unwrap_err().to_string();
        assert!(e.starts_with("invalid team name `Bad`"), "{e}");
    }
}
