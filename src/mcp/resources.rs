//! The MCP resources: the roster (`cadre://roster`, JSON: every specialist,
//! then every team, each with its `kind`) and each specialist's rendered
//! system prompt (`cadre://specialists/NAME/prompt`, exactly what `cadre
//! render NAME` prints).

use serde_json::{Value, json};

use crate::agent::{AgentError, AgentInfo};
use crate::jsonrpc::RpcError;

pub const ROSTER: &str = "cadre://roster";
const PROMPT_PREFIX: &str = "cadre://specialists/";
const PROMPT_SUFFIX: &str = "/prompt";

/// "Resource not found" (MCP 2025-11-25 server/resources, error handling).
pub const NOT_FOUND: i64 = -32002;

fn prompt_uri(name: &str) -> String {
    format!("{PROMPT_PREFIX}{name}{PROMPT_SUFFIX}")
}

pub fn list(agents: &[AgentInfo]) -> Value {
    let mut all = vec![json!({
        "uri": ROSTER, "name": "roster", "title": "The team's roster",
        "description": "Every specialist (name, title, role, expertise, focus, model, state), then every team (for ask_team: its members, mode and state).",
        "mimeType": "application/json"})];
    all.extend(agents.iter().filter(|a| !a.id.is_team()).map(|a| {
        json!({"uri": prompt_uri(&a.name), "name": format!("{}-prompt", a.name),
            "title": format!("{}'s system prompt", a.name),
            "description": format!("The rendered system prompt {} answers with (`cadre render {}`).", a.name, a.name),
            "mimeType": "text/plain"})
    }));
    json!({"resources": all})
}

pub fn templates() -> Value {
    json!({"resourceTemplates": [{
        "uriTemplate": format!("{PROMPT_PREFIX}{{name}}{PROMPT_SUFFIX}"),
        "name": "specialist-prompt", "title": "A specialist's system prompt",
        "mimeType": "text/plain"}]})
}

/// `resources/read`.
pub fn read(agents: &[AgentInfo], uri: &str) -> Result<Value, RpcError> {
    let content = |mime: &str, text: String| json!({"contents": [{"uri": uri, "mimeType": mime, "text": text}]});
    if uri == ROSTER {
        let roster: Vec<Value> = agents
            .iter()
            .map(|a| {
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["kind"] = json!(if a.id.is_team() { "team" } else { "specialist" });
                v
            })
            .collect();
        let text = serde_json::to_string_pretty(&roster).unwrap_or_default();
        return Ok(content("application/json", text));
    }
    let name = uri
        .strip_prefix(PROMPT_PREFIX)
        .and_then(|r| r.strip_suffix(PROMPT_SUFFIX));
    match name.and_then(|n| agents.iter().find(|a| a.name == n && !a.id.is_team())) {
        Some(a) => Ok(content("text/plain", a.system_prompt.to_string())),
        None => Err(
            RpcError::new(NOT_FOUND, format!("resource not found: {uri}"))
                .with_data(json!({"uri": uri})),
        ),
    }
}

pub fn unavailable(e: &AgentError) -> RpcError {
    RpcError::new(crate::jsonrpc::INTERNAL_ERROR, e.to_string())
}
