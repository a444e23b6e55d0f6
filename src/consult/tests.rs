//! The consultation loop against a scripted model and scripted colleagues:
//! what each provider round receives, what the client's stream shows, and
//! what the final answer lists.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::config::Consult;
use crate::provider::ToolCall;

mod script;
use script::*;

#[tokio::test]
async fn a_consultation_end_to_end() {
    let m = asks_then_answers("penia", 1);
    let team = Arc::new(Team::default());
    let steps = run_with(&m, &spec(&["penia", "telos"], 4), &team).await;
    let (c, consulted) = done(&steps);
    assert_eq!(c.content, "final: penia says 42");
    let u = c.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (20, 4));
    assert_eq!(consulted.len(), 1);
    assert!(consulted[0].ok && consulted[0].to == "penia");
    assert_eq!(
        lines(&steps),
        vec![
            json!({"type": "consult", "specialist": "numa", "to": "penia", "question": "how much is left?"}),
            json!({"type": "consult_result", "specialist": "numa", "to": "penia", "ok": true,
                   "content": "penia says 42"}),
        ]
    );
    let asked = team.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![(
            "penia".into(),
            "how much is left?".into(),
            vec!["numa".to_string()]
        )]
    );
    let seen = m.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let tool = &seen[0].tools.offered[0];
    assert_eq!(
        tool.parameters["properties"]["name"]["enum"],
        json!(["penia", "telos"])
    );
    assert!(tool.description.contains("penia (penia title)"));
    let turn = &seen[1].tools.turns[0];
    assert_eq!(turn.calls[0].id, turn.results[0].call_id);
    assert!(!turn.results[0].is_error);
}

#[tokio::test]
async fn a_failing_colleague_is_a_tool_error_and_the_chat_completes() {
    let m = asks_then_answers("broken", 1);
    let team = Arc::new(Team::default());
    let steps = run_with(&m, &spec(&["broken"], 4), &team).await;
    let (c, consulted) = done(&steps);
    assert_eq!(
        c.content,
        "final: error: broken could not answer (provider_unavailable): provider down"
    );
    assert!(!consulted[0].ok);
    assert_eq!(lines(&steps)[1]["ok"], false);
}

#[tokio::test]
async fn the_budget_refuses_the_fifth() {
    let m = asks_then_answers("penia", 5);
    let team = Arc::new(Team::default());
    let steps = run_with(&m, &spec(&["penia"], 4), &team).await;
    let (c, consulted) = done(&steps);
    assert_eq!(
        team.asked.lock().unwrap().len(),
        4,
        "four asked, the fifth refused"
    );
    assert!(
        c.content.ends_with(
            "error: this chat has used all 4 of its consultations; answer with what you know"
        ),
        "{}",
        c.content
    );
    assert_eq!(consulted.iter().filter(|c| c.ok).count(), 4);
    assert_eq!(consulted.len(), 5);
}

#[tokio::test]
async fn a_model_that_never_stops_calling_fails_the_chat() {
    let m = model(|_| asks("", &[("penia", "again?")]));
    let team = Arc::new(Team::default());
    let steps = run_with(&m, &spec(&["penia"], 1), &team).await;
    match steps.last() {
        Some(Step::Failed(ProviderError::Malformed { reason, .. })) => {
            assert!(reason.contains("after 4 rounds"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn calls_of_one_round_run_together_and_answer_in_order() {
    let m = model(|req| match req.tools.turns.len() {
        0 => asks(
            "Let me ask both.",
            &[("penia", "a?"), ("telos", "b?"), ("lyra", "c?")],
        ),
        _ => {
            let r = &req.tools.turns[0].results;
            assert_eq!(
                r.iter().map(|r| r.call_id.as_str()).collect::<Vec<_>>(),
                ["call_0", "call_1", "call_2"]
            );
            says(&format!(
                "{} / {} / {}",
                r[0].text(),
                r[1].text(),
                r[2].text()
            ))
        }
    });
    let team = Arc::new(Team::default());
    let steps = run_with(&m, &spec(&["penia", "telos"], 4), &team).await;
    let (c, consulted) = done(&steps);
    assert_eq!(
        c.content,
        "Let me ask both.\n\npenia says 42 / telos says 42 / error: `lyra` is not one of your colleagues; you may ask: penia, telos"
    );
    assert_eq!(consulted.len(), 3);
    let chunks: String = steps
        .iter()
        .filter_map(|s| match s {
            Step::Chunk(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(chunks, c.content, "the chunks add up to the answer");
}

#[tokio::test]
async fn another_tool_gets_an_error_and_no_lines() {
    let m = model(|req| match req.tools.turns.len() {
        0 => {
            let mut c = says("");
            c.tool_calls = vec![ToolCall {
                id: "x".into(),
                name: "web_search".into(),
                arguments: json!({}),
            }];
            c
        }
        _ => says(&req.tools.turns[0].results[0].text()),
    });
    let steps = run_with(&m, &spec(&["penia"], 4), &Arc::new(Team::default())).await;
    assert!(lines(&steps).is_empty());
    let (c, consulted) = done(&steps);
    assert!(consulted.is_empty());
    assert_eq!(
        c.content,
        "error: there is no tool `web_search`; the one tool is `ask_colleague`"
    );
}

#[tokio::test]
async fn everyone_means_the_running_others_and_nobody_means_no_tool() {
    let m = model(|_| says("alone"));
    let team = Arc::new(Team::default());
    run_with(&m, &spec(&["*"], 4), &team).await;
    let offered = m.seen.lock().unwrap()[0].tools.offered.clone();
    assert_eq!(
        offered[0].parameters["properties"]["name"]["enum"],
        json!(["penia", "telos", "broken"])
    );

    let m = model(|_| says("alone"));
    let c = consulting(&spec(&["*"], 4), None, None);
    let provider: Arc<dyn Provider> = m.clone();
    let steps: Vec<Step> = chat(provider, request(), c).collect().await;
    assert_eq!(done(&steps).0.content, "alone");
    assert!(
        m.seen.lock().unwrap()[0].tools.is_empty(),
        "no colleague, no tool"
    );
}

#[tokio::test]
async fn a_colleagues_own_chain_goes_on_from_the_askers() {
    let root = Chain::root("numa".parse().unwrap(), &Consult::default());
    let mut s = crate::config::Spec::example("penia");
    s.consult = Some(Consult {
        colleagues: vec!["numa".into()],
        ..Consult::default()
    });
    let c = consulting(&s, Some(&root), None).unwrap();
    assert_eq!(c.chain.describe(), "numa → penia");
    let m = asks_then_answers("numa", 1);
    let provider: Arc<dyn Provider> = m.clone();
    let steps: Vec<Step> = chat(provider, request(), Some(c)).collect().await;
    assert_eq!(
        done(&steps).0.content,
        "final: error: numa is already part of this consultation (numa → penia → numa); answer with what you know"
    );
}
