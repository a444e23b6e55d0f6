//! Agent Cards (A2A §4.4, §8): one per agent at
//! `<base>/.well-known/agent-card.json`, and the team's at the root.
//!
//! A card lists a v1.0 and a v0.3 JSON-RPC interface at the same URL (the
//! version header selects between them) and, for v0.3 clients that predate
//! `supportedInterfaces`, the legacy `url`/`preferredTransport`/`protocolVersion`
//! fields too (v1.0 readers ignore them). With a bearer token configured the
//! card declares the scheme and requires it.

use serde_json::{Value, json};

use crate::agent::AgentInfo;

/// The URI of the root card's extension that lists the team's agents.
pub const ROSTER_EXTENSION: &str = "urn:cadre:a2a:roster:v1";

fn interfaces(url: &str) -> Value {
    json!([
        {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
        {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
    ])
}

fn security(card: &mut Value, secured: bool) {
    if secured {
        card["securitySchemes"] = json!({"bearer": {"httpAuthSecurityScheme": {
            "scheme": "Bearer",
            "description": "the token named by [http] token_env of cadre.toml"}}});
        card["securityRequirements"] = json!([{"schemes": {"bearer": {"list": []}}}]);
    }
}

fn skill(a: &AgentInfo) -> Value {
    let mut tags: Vec<String> = a
        .expertise
        .iter()
        .chain(&a.focus)
        .chain(&a.members)
        .cloned()
        .collect();
    if tags.is_empty() {
        tags.push(a.name.clone());
    }
    let description = match (a.role.is_empty(), a.description.is_empty()) {
        (false, false) => format!("{}: {}", a.role, a.description),
        (false, true) => a.role.clone(),
        _ => describe(a),
    };
    let mut examples: Vec<String> = a
        .expertise
        .iter()
        .take(3)
        .map(|e| format!("What should I know about {e}?"))
        .collect();
    if examples.is_empty() {
        examples.push(format!("Ask {} a question.", a.name));
    }
    json!({
        "id": a.name,
        "name": if a.title.is_empty() { &a.name } else { &a.title },
        "description": description,
        "tags": tags,
        "examples": examples,
        "inputModes": ["text/plain"],
        "outputModes": ["text/plain"],
    })
}

fn describe(a: &AgentInfo) -> String {
    [&a.description, &a.title, &a.role]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("the cadre specialist {}", a.name))
}

/// The card of one agent; `base` is `http://host:port`.
pub fn agent_card(a: &AgentInfo, base: &str, secured: bool) -> Value {
    let url = format!("{base}{}", a.id.a2a_path());
    let mut card = json!({
        "name": a.name,
        "description": describe(a),
        "supportedInterfaces": interfaces(&url),
        "provider": {"organization": "cadre", "url": base},
        "version": a.generation,
        "capabilities": {"streaming": true, "pushNotifications": false, "extendedAgentCard": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [skill(a)],
        "url": url,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3.0",
    });
    security(&mut card, secured);
    card
}

/// The whole daemon's card: a skill per agent, and the roster extension
/// naming each agent's own card and endpoint. Its interfaces are the
/// agents' endpoints in roster order; `agents` lists the teams first, so a
/// client that takes the first interface talks to a team.
pub fn team_card(agents: &[AgentInfo], base: &str, secured: bool) -> Value {
    let mut supported = Vec::new();
    let mut roster = Vec::new();
    for a in agents {
        let url = format!("{base}{}", a.id.a2a_path());
        supported.push(json!({"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}));
        let mut entry = json!({
            "name": a.name,
            "kind": if a.id.is_team() { "team" } else { "specialist" },
            "description": describe(a),
            "state": a.state,
            "url": url,
            "agentCard": format!("{url}/.well-known/agent-card.json"),
        });
        if a.id.is_team() {
            entry["members"] = json!(a.members);
        }
        roster.push(entry);
    }
    let names = |team: bool| -> Vec<&str> {
        agents
            .iter()
            .filter(|a| a.id.is_team() == team)
            .map(|a| a.name.as_str())
            .collect()
    };
    let (specialists, teams) = (names(false), names(true));
    let mut description = format!(
        "A team of {} specialists: {}.",
        specialists.len(),
        specialists.join(", ")
    );
    if !teams.is_empty() {
        description.push_str(&format!(" Teams that confer: {}.", teams.join(", ")));
    }
    description.push_str(" Each is an A2A agent with its own card.");
    let mut card = json!({
        "name": "cadre team",
        "description": description,
        "supportedInterfaces": supported,
        "provider": {"organization": "cadre", "url": base},
        "version": env!("CARGO_PKG_VERSION"),
        "capabilities": {
            "streaming": true, "pushNotifications": false, "extendedAgentCard": false,
            "extensions": [{
                "uri": ROSTER_EXTENSION,
                "description": "The team's agents, each with its card and JSON-RPC endpoint.",
                "required": false,
                "params": {"agents": roster},
            }],
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": agents.iter().map(skill).collect::<Vec<_>>(),
    });
    security(&mut card, secured);
    card
}
