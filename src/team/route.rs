//! The moderator's routing reply, parsed strictly: a JSON list of 1 to
//! [`MAX_ROUTED`] distinct names of the team's members, nothing else. The
//! only leniency is what surrounds the list: whitespace, and one Markdown
//! code fence around the whole reply (```` ```json … ``` ````), which models
//! add unasked. Anything else is refused with why, never guessed at.

use crate::config::SpecialistName;
use crate::config::team::MAX_ROUTED;

/// The members `text` names, in its order, or why it names none.
pub fn parse(text: &str, members: &[SpecialistName]) -> Result<Vec<SpecialistName>, String> {
    let body = unfence(text.trim());
    let names: Vec<String> = serde_json::from_str(body)
        .map_err(|_| "the routing reply is not a JSON list of member names".to_owned())?;
    if names.is_empty() || names.len() > MAX_ROUTED {
        return Err(format!(
            "the routing reply names {} members; it must name 1 to {MAX_ROUTED}",
            names.len()
        ));
    }
    let mut out: Vec<SpecialistName> = Vec::with_capacity(names.len());
    for n in &names {
        let Some(m) = members.iter().find(|m| m.as_str() == n) else {
            return Err(format!(
                "the routing reply names {n:?}, who is not a member of the team"
            ));
        };
        if out.contains(m) {
            return Err(format!("the routing reply names {n:?} twice"));
        }
        out.push(m.clone());
    }
    Ok(out)
}

/// The inside of a reply that is one fenced code block, else the reply.
fn unfence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(inner) = rest.strip_suffix("```") else {
        return text;
    };
    // The info string (`json`) runs to the end of the first line.
    match inner.split_once('\n') {
        Some((info, body)) if !info.contains('[') => body.trim(),
        _ => inner.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<SpecialistName> {
        ["penia", "telos", "numa", "metis"]
            .iter()
            .map(|n| SpecialistName::parse(n).unwrap())
            .collect()
    }

    fn ok(text: &str) -> Vec<String> {
        parse(text, &team())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn accepts_a_list_of_members() {
        assert_eq!(ok(r#"["penia"]"#), ["penia"]);
        assert_eq!(ok(" [\"telos\", \"penia\"]\n"), ["telos", "penia"]);
        assert_eq!(ok("```json\n[\"numa\"]\n```"), ["numa"]);
        assert_eq!(
            ok("```\n[\"numa\", \"metis\", \"penia\"]\n```"),
            ["numa", "metis", "penia"]
        );
    }

    #[test]
    fn refuses_anything_else() {
        for (text, why) in [
            ("penia", "not a JSON list"),
            (
                "I think penia should answer: [\"penia\"]",
                "not a JSON list",
            ),
            (r#"{"members": ["penia"]}"#, "not a JSON list"),
            ("[]", "names 0 members"),
            (r#"["penia","telos","numa","metis"]"#, "names 4 members"),
            (r#"["hermes"]"#, "\"hermes\", who is not a member"),
            (r#"["penia","penia"]"#, "twice"),
            ("[1]", "not a JSON list"),
            ("", "not a JSON list"),
        ] {
            let e = parse(text, &team()).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    proptest::proptest! {
        /// Whatever the moderator says, parsing never panics, and what it
        /// accepts is always 1 to 3 distinct members.
        #[test]
        fn never_panics_and_accepts_only_members(text in ".{0,80}") {
            if let Ok(names) = parse(&text, &team()) {
                proptest::prop_assert!((1..=MAX_ROUTED).contains(&names.len()));
                let t = team();
                proptest::prop_assert!(names.iter().all(|n| t.contains(n)));
            }
        }
    }
}
