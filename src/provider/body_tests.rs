//! The system prompt in each wire format's body: written from its escaped
//! form kept beside the text (issue 15), it must read back exactly as the
//! text, whatever it holds, and `[params.extra]` still overrides any field.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::anthropic::Anthropic;
use super::ollama::Ollama;
use super::openai::OpenAi;
use super::tools::tests::cfg;
use super::wire::Wire;
use super::{ChatRequest, Message, Role};
use crate::config::{Params, ProviderKind, SystemPrompt};

fn request(system: &str, history: Vec<Message>) -> ChatRequest {
    let mut messages = history;
    messages.push(Message {
        role: Role::User,
        content: "what now?".into(),
    });
    ChatRequest {
        model: "m".into(),
        system: SystemPrompt::from(system),
        messages,
        params: Params::default(),
        stream: false,
        tools: Default::default(),
    }
}

fn body(kind: ProviderKind, req: &ChatRequest) -> Value {
    let wire: &dyn Wire = match kind {
        ProviderKind::Ollama => &Ollama,
        ProviderKind::Openai => &OpenAi,
        ProviderKind::Anthropic => &Anthropic,
    };
    serde_json::from_slice(&wire.chat_body(&cfg(kind), req)).expect("a JSON body")
}

/// The system prompt as the provider reads it, and the other messages' roles.
fn system_of(kind: ProviderKind, b: &Value) -> (Option<String>, Vec<String>) {
    let messages = b["messages"].as_array().expect("messages");
    let roles = |ms: &[Value]| {
        ms.iter()
            .map(|m| m["role"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    match kind {
        ProviderKind::Anthropic => (
            b.get("system").and_then(Value::as_str).map(str::to_owned),
            roles(messages),
        ),
        _ => match messages.first() {
            Some(m) if m["role"] == "system" => (
                m["content"].as_str().map(str::to_owned),
                roles(&messages[1..]),
            ),
            _ => (None, roles(messages)),
        },
    }
}

const KINDS: [ProviderKind; 3] = [
    ProviderKind::Ollama,
    ProviderKind::Openai,
    ProviderKind::Anthropic,
];

proptest! {
    /// Quotes, backslashes, control characters, `</script>`, surrogate-pair
    /// characters: every prompt reads back byte for byte, first, in every format.
    #[test]
    fn any_prompt_reads_back_exactly(prompt in "\\PC{1,64}|[\"\\\\\n\t\u{0}-\u{1f}\u{7f}\u{2028}😀]{1,32}") {
        for kind in KINDS {
            let b = body(kind, &request(&prompt, Vec::new()));
            let (system, rest) = system_of(kind, &b);
            prop_assert_eq!(system.as_deref(), Some(prompt.as_str()), "{:?}", kind);
            prop_assert_eq!(rest, vec!["user".to_owned()]);
        }
    }
}

#[test]
fn an_empty_prompt_sends_no_system_message() {
    for kind in KINDS {
        let b = body(kind, &request("", Vec::new()));
        assert_eq!(
            system_of(kind, &b),
            (None, vec!["user".to_owned()]),
            "{kind:?}"
        );
    }
}

#[test]
fn history_system_turns_join_the_prompt_on_anthropic_and_follow_it_elsewhere() {
    let history = vec![Message {
        role: Role::System,
        content: "Be brief.".into(),
    }];
    let req = request("You are numa.", history);
    let b = body(ProviderKind::Anthropic, &req);
    assert_eq!(b["system"], "You are numa.\n\nBe brief.");
    for kind in [ProviderKind::Ollama, ProviderKind::Openai] {
        let b = body(kind, &req);
        let (system, rest) = system_of(kind, &b);
        assert_eq!(system.as_deref(), Some("You are numa."));
        assert_eq!(rest, ["system", "user"]);
    }
}

/// `[params.extra]` overrides any body field, the one written from the
/// prompt's escaped form too, and appears once.
#[test]
fn extra_overrides_the_spliced_field_once() {
    let mut req = request("You are numa.", Vec::new());
    req.params
        .extra
        .insert("system".into(), toml::Value::String("from extra".into()));
    let text = String::from_utf8(Anthropic.chat_body(&cfg(ProviderKind::Anthropic), &req)).unwrap();
    assert_eq!(text.matches("\"system\"").count(), 1, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["system"],
        "from extra"
    );

    let mut req = request("You are numa.", Vec::new());
    req.params
        .extra
        .insert("messages".into(), toml::Value::Array(Vec::new()));
    let text = String::from_utf8(OpenAi.chat_body(&cfg(ProviderKind::Openai), &req)).unwrap();
    assert_eq!(text.matches("\"messages\"").count(), 1, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["messages"],
        json!([])
    );
}

/// The escaped form is made once per prompt and shared by its clones.
#[test]
fn the_escaped_prompt_is_made_once() {
    let p = SystemPrompt::from("a \"quoted\" line\n");
    let q = p.clone();
    assert_eq!(p.json().get(), r#""a \"quoted\" line\n""#);
    assert!(std::ptr::eq(p.json(), q.json()));
}
