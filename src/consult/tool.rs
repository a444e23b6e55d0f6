//! The one tool a consulting model is offered, `ask_colleague {name,
//! question}`: its definition (a JSON Schema naming exactly whom it may ask)
//! and the reading of a call's arguments.

use serde_json::{Value, json};

use crate::provider::Tool;

pub const TOOL_NAME: &str = "ask_colleague";

/// Longest question passed on; a model that writes more is refused (the
/// colleague's own request would carry it whole).
pub const MAX_QUESTION: usize = 16 * 1024;

/// One colleague as the tool describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    pub name: String,
    /// What it is for, in a few words (its title, or "remote agent").
    pub about: String,
}

/// A well-formed call: whom to ask, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub name: String,
    pub question: String,
}

/// The tool offering `colleagues` (in this order; the schema's `enum`).
pub fn definition(colleagues: &[Colleague]) -> Tool {
    let list: Vec<String> = colleagues
        .iter()
        .map(|c| format!("{} ({})", c.name, c.about))
        .collect();
    let names: Vec<&str> = colleagues.iter().map(|c| c.name.as_str()).collect();
    Tool {
        name: TOOL_NAME.to_owned(),
        description: format!(
            "Ask a colleague on your team a question and get their answer, before you answer \
             yourself. Use it when part of the question belongs to a colleague's field. \
             Colleagues: {}.",
            list.join("; ")
        ),
        parameters: json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "enum": names, "description": "The colleague to ask."},
                "question": {"type": "string",
                    "description": "The question, complete on its own: the colleague sees nothing else of this conversation."}
            },
            "required": ["name", "question"],
            "additionalProperties": false
        }),
    }
}

/// A call's arguments as an [`Ask`], or what is wrong with them.
pub fn parse(arguments: &Value) -> Result<Ask, String> {
    let obj = match arguments {
        Value::Object(o) => o,
        Value::String(raw) => return Err(format!("the arguments are not a JSON object: {raw}")),
        other => return Err(format!("the arguments are not a JSON object: {other}")),
    };
    let text = |key: &str| match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) => Err(format!("`{key}` is empty")),
        Some(other) => Err(format!("`{key}` must be a string, got {other}")),
        None => Err(format!("`{key}` is missing")),
    };
    let name = text("name")?;
    let question = text("question")?;
    if question.len() > MAX_QUESTION {
        return Err(format!(
            "the question is {} bytes; at most {MAX_QUESTION}",
            question.len()
        ));
    }
    Ok(Ask { name, question })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let ok = parse(&json!({"name": " penia ", "question": "Is it paid?"})).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.question.as_str()),
            ("penia", "Is it paid?")
        );
        for (args, why) in [
            (json!({"question": "q"}), "`name` is missing"),
            (
                json!({"name": "penia", "question": "  "}),
                "`question` is empty",
            ),
            (
                json!({"name": 3, "question": "q"}),
                "`name` must be a string, got 3",
            ),
            (json!("{\"name\":"), "not a JSON object"),
        ] {
            let e = parse(&args).unwrap_err();
            assert!(e.contains(why), "{args}: {e}");
        }
        let long = "x".repeat(MAX_QUESTION + 1);
        assert!(parse(&json!({"name": "p", "question": long})).is_err());
    }

    #[test]
    fn the_schema_names_exactly_the_colleagues() {
        let t = definition(&[
            Colleague {
                name: "penia".into(),
                about: "Penia, budgets".into(),
            },
            Colleague {
                name: "scout".into(),
                about: "remote agent".into(),
            },
        ]);
        assert_eq!(t.name, "ask_colleague");
        assert_eq!(
            t.parameters["properties"]["name"]["enum"],
            json!(["penia", "scout"])
        );
        assert_eq!(t.parameters["required"], json!(["name", "question"]));
        assert!(
            t.description
                .contains("penia (Penia, budgets); scout (remote agent)")
        );
    }
}
