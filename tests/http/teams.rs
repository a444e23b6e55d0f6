//! Teams that confer, through `POST /api/teams/NAME` on the real `cadre up`,
//! each member's provider a loopback server of one wire format (the
//! scenarios are written once and stamped onto all three formats). The
//! assertions are on what each member's provider received, round by round,
//! and on the events the client saw.
//! Port range of this file: 48000-48099 (specialists); HTTP on port 0.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixture::http::{Web, post_sse, up_http};
use crate::fixture::provider::Kind;
use crate::fixture::team::{Act, TeamProvider, title};

const QUESTION: &str = "What should we ship first?";

async fn team_up(
    kind: Kind,
    range: [u16; 2],
    members: &[&str],
    team_toml: &str,
) -> (TeamProvider, crate::fixture::Project, Web) {
    let provider = TeamProvider::start(kind).await;
    let p = provider.project(range, members);
    p.put("teams.d/t.toml", team_toml);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(members).await;
    (provider, p, web)
}

async fn ask(web: &Web) -> Vec<Value> {
    let (status, events) = post_sse(&web.url("/api/teams/t"), &json!({"content": QUESTION})).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("summary")),
        "{events:?}"
    );
    events
}

/// `## name (Title)` then the answer: how the default template quotes an answer.
fn quoted(name: &str, answer: &str) -> String {
    format!("## {name} ({})\n{answer}", title(name))
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Discussion, 4 members, 3 rounds: from round 2 on each member's provider
/// receives the other three's previous answers by name and never its own; a
/// member failing in round 1 is named as silent in round 2; the summary
/// counts answers per round; the moderator's request holds every final
/// answer by name.
pub async fn discussion(kind: Kind, range: [u16; 2]) {
    let members = ["penia", "telos", "metis", "apollo", "numa"];
    let toml = "title = \"Council\"\nmembers = [\"penia\", \"telos\", \"metis\", \"apollo\"]\n\
                mode = \"discussion\"\nrounds = 3\nmoderator = \"numa\"\nmember_timeout = \"30s\"\n";
    let provider = TeamProvider::start(kind).await;
    provider.script(
        "telos",
        vec![
            Act::Fail(400),
            Act::Say("telos answers (2)".into()),
            Act::Say("telos answers (3)".into()),
        ],
    );
    let p = provider.project(range, &members);
    p.put("teams.d/t.toml", toml);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&members).await;
    let events = ask(&web).await;

    let four = ["penia", "telos", "metis", "apollo"];
    for m in four {
        let asked = provider.asked(m);
        assert_eq!(asked.len(), 3, "{m} was asked once per round: {asked:?}");
        assert_eq!(asked[0], QUESTION, "round 1 is the question itself");
        assert!(
            provider
                .systems(m)
                .iter()
                .all(|s| s.contains(&format!("You are {m}."))),
            "{m}'s own prompt"
        );
        for round in [2usize, 3] {
            let text = &asked[round - 1];
            assert!(text.contains(&format!("round {round} of 3")), "{text}");
            for other in four.iter().filter(|o| **o != m) {
                let answered_before = !(*other == "telos" && round == 2);
                let answer = format!("{other} answers ({})", round - 1);
                assert_eq!(
                    text.contains(&quoted(other, &answer)),
                    answered_before,
                    "{m} round {round} reading {other}: {text}"
                );
            }
            assert!(
                !text.contains(&format!("{m} answers")),
                "{m} never reads its own answer: {text}"
            );
        }
        let silent_named = asked[1].contains("Silent in round 1: telos (failed)");
        assert_eq!(silent_named, m != "telos", "{m}: {}", asked[1]);
        assert!(!asked[2].contains("Silent in round 2"), "{}", asked[2]);
    }
    let moderator = provider.asked("numa");
    assert_eq!(moderator.len(), 1);
    for m in four {
        assert!(
            moderator[0].contains(&quoted(m, &format!("{m} answers (3)"))),
            "{}",
            moderator[0]
        );
    }

    let silent: Vec<&Value> = of_type(&events, "error");
    assert_eq!(silent.len(), 1, "{silent:?}");
    assert_eq!(
        (silent[0]["specialist"].clone(), silent[0]["round"].clone()),
        (json!("telos"), json!(1))
    );
    let starts: Vec<(u64, String)> = of_type(&events, "round_start")
        .iter()
        .map(|e| {
            (
                e["round"].as_u64().unwrap(),
                e["part"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        [
            (1, "answer".into()),
            (2, "answer".into()),
            (3, "answer".into()),
            (4, "synthesis".into())
        ]
    );
    let summary = events.last().unwrap();
    let per_round: Vec<u64> = summary["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["answered"].as_u64().unwrap())
        .collect();
    assert_eq!(per_round, [3, 4, 4, 1], "{summary}");
    assert_eq!(summary["silent"], json!(["telos"]));
    assert_eq!(summary["synthesis"], json!(true));
    let synthesis = of_type(&events, "synthesis");
    assert_eq!(synthesis.len(), 1);
    assert_eq!(synthesis[0]["specialist"], "numa");
    assert_eq!(synthesis[0]["content"], "numa answers (1)");
    for e in &events {
        assert_eq!(e["team"], "t", "{e}");
    }
}

/// Synthesis: the moderator's request holds every answer by name, and its
/// answer reaches the client as chunks before the `synthesis`.
pub async fn synthesis(kind: Kind, range: [u16; 2]) {
    let toml = "title = \"Sum\"\nmembers = [\"penia\", \"telos\"]\nmode = \"synthesis\"\nmoderator = \"numa\"\n";
    let (provider, _p, web) = team_up(kind, range, &["penia", "telos", "numa"], toml).await;
    provider.script(
        "numa",
        vec![Act::Slow(
            Duration::from_millis(50),
            "The team says: ship the budget view.".into(),
        )],
    );
    let events = ask(&web).await;
    let moderator = provider.asked("numa");
    assert_eq!(moderator.len(), 1);
    for m in ["penia", "telos"] {
        assert!(
            moderator[0].contains(&quoted(m, &format!("{m} answers (1)"))),
            "{}",
            moderator[0]
        );
    }
    let chunks: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "chunk" && e["part"] == "synthesis")
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    assert!(chunks.len() >= 2, "streamed: {chunks:?}");
    assert_eq!(chunks.concat(), "The team says: ship the budget view.");
    let at = |t: &str| events.iter().position(|e| e["type"] == t).unwrap();
    assert!(at("chunk") < at("synthesis"));
    assert_eq!(
        of_type(&events, "synthesis")[0]["content"],
        "The team says: ship the budget view."
    );
}

/// Route: the moderator names penia, so only penia's provider is asked; an
/// unparseable reply and a name outside the team are `routing_failed` with
/// the moderator's text, and nobody is asked.
pub async fn route(kind: Kind, range: [u16; 2]) {
    let toml = "title = \"Ask\"\nmembers = [\"penia\", \"telos\", \"metis\"]\nmode = \"route\"\nmoderator = \"numa\"\n";
    let (provider, _p, web) =
        team_up(kind, range, &["penia", "telos", "metis", "numa"], toml).await;
    provider.script(
        "numa",
        vec![
            Act::Say("[\"penia\"]".into()),
            Act::Say("Penia should take this one.".into()),
            Act::Say("[\"hermes\"]".into()),
        ],
    );
    let events = ask(&web).await;
    assert_eq!(provider.asked("penia"), [QUESTION]);
    assert!(provider.received("telos").is_empty() && provider.received("metis").is_empty());
    let route_prompt = &provider.asked("numa")[0];
    assert!(
        route_prompt.contains("- telos: Telos, telos role") && route_prompt.contains(QUESTION),
        "{route_prompt}"
    );
    let start = of_type(&events, "round_start");
    assert_eq!(start[1]["members"], json!(["penia"]));
    assert_eq!(start[1]["routed_by"], "numa");
    assert_eq!(events.last().unwrap()["routed"], json!(["penia"]));
    assert_eq!(
        of_type(&events, "response").last().unwrap()["content"],
        "penia answers (1)"
    );

    for (text, why) in [
        ("Penia should take this one.", "not a JSON list"),
        ("[\"hermes\"]", "\"hermes\", who is not a member"),
    ] {
        let events = ask(&web).await;
        let errors = of_type(&events, "error");
        assert_eq!(errors.len(), 1, "{events:?}");
        assert_eq!(errors[0]["code"], "routing_failed");
        assert_eq!(errors[0]["specialist"], "numa");
        let message = errors[0]["error"].as_str().unwrap();
        assert!(message.contains(why) && message.contains(text), "{message}");
        assert_eq!(events.last().unwrap()["failed"], "routing_failed");
    }
    assert_eq!(
        provider.received("penia").len(),
        1,
        "no guess after a failed route"
    );
    assert!(provider.received("telos").is_empty() && provider.received("metis").is_empty());
}

macro_rules! stamp {
    ($($kind:ident => $base:literal),*) => {
        mod formats {
            use super::*;
            $(
                #[allow(non_snake_case)]
                mod $kind {
                    use super::*;
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn discussion_of_four_in_three_rounds() {
                        discussion(Kind::$kind, [$base, $base + 9]).await
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn synthesis_reads_every_answer_and_streams() {
                        synthesis(Kind::$kind, [$base + 10, $base + 19]).await
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn route_asks_whom_the_moderator_names_or_fails() {
                        route(Kind::$kind, [$base + 20, $base + 29]).await
                    }
                }
            )*
        }
    };
}

stamp!(Ollama => 48000, OpenAi => 48030, Anthropic => 48060);
