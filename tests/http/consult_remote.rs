//! Consultation over HTTP. `[consult] remote`: a specialist consults an A2A
//! agent elsewhere like a colleague; the agent is a second `cadre up`'s own
//! `/a2a/NAME` (its card fetched from `/a2a/NAME/.well-known/agent-card.json`,
//! the question one `SendMessage`); the client watches the first daemon's
//! SSE chat. And the callers that want the answer alone (`/v1`, A2A) get it
//! from a consulting specialist, without the consultation lines.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixture::Project;
use crate::fixture::http::{Web, post_sse, up_http};
use crate::fixture::provider::tools::ask;
use crate::fixture::provider::{Kind, Piece, Server};

const SCOUT_SAYS: &str = "Three leads: Acme, Globex, Initech.";

async fn web(p: &Project, names: &[&str]) -> Web {
    let mut w = up_http(p, &[], &[]);
    w.wait_ready(names).await;
    w
}

fn card_of(w: &Web, name: &str) -> String {
    w.url(&format!("/a2a/{name}/.well-known/agent-card.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_a2a_agent_is_consulted_and_its_timeout_holds() {
    let kind = Kind::OpenAi;
    // The agents' daemon: scout answers, slowpoke never does in time.
    let scout = Server::start(vec![kind.reply_saying(SCOUT_SAYS)]).await;
    let mut late = kind.reply_saying("too late");
    late.pieces.insert(0, Piece::Sleep(Duration::from_secs(30)));
    let slowpoke = Server::start(vec![late]).await;
    let agents = Project::with_providers(
        [49480, 49489],
        None,
        &[
            ("scout", "openai", &kind.base(&scout.base()), ""),
            ("slowpoke", "openai", &kind.base(&slowpoke.base()), ""),
        ],
    );
    let agents = web(&agents, &["scout", "slowpoke"]).await;

    // The consulting daemon: numa may ask scout, lyra may ask slowpoke
    // within one second.
    let numa = Server::start(vec![
        kind.reply_calling("", &[ask("call_1", "scout", "Who are our leads?")]),
        kind.reply_saying("We have three leads."),
    ])
    .await;
    let lyra = Server::start(vec![
        kind.reply_calling("", &[ask("call_1", "slowpoke", "Anything?")]),
        kind.reply_saying("Slowpoke did not answer in time."),
    ])
    .await;
    let numa_consult = format!("remote = {{ scout = \"{}\" }}", card_of(&agents, "scout"));
    let lyra_consult = format!(
        "remote = {{ slowpoke = \"{}\" }}\nremote_timeout = \"1s\"",
        card_of(&agents, "slowpoke")
    );
    let team = Project::with_providers(
        [49470, 49479],
        None,
        &[
            ("numa", "openai", &kind.base(&numa.base()), &numa_consult),
            ("lyra", "openai", &kind.base(&lyra.base()), &lyra_consult),
        ],
    );
    let team = web(&team, &["numa", "lyra"]).await;

    // numa asks scout: the answer comes back as the tool result.
    let chat = json!({"content": "Leads?", "id": "r1"});
    let (status, events) = post_sse(&team.url("/api/specialists/numa/chat"), &chat).await;
    assert_eq!(status, 200);
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == t).collect() };
    assert_eq!(of("consult").len(), 1, "{events:#?}");
    assert_eq!(of("consult")[0]["to"], "scout");
    let result = of("consult_result");
    assert_eq!(result.len(), 1, "{events:#?}");
    assert_eq!(result[0]["ok"], true, "{events:#?}");
    assert_eq!(result[0]["content"], SCOUT_SAYS);
    let end = of("response");
    assert_eq!(end[0]["content"], "We have three leads.");
    assert_eq!(end[0]["consulted"][0]["to"], "scout");
    assert_eq!(end[0]["consulted"][0]["ok"], true);
    // scout's provider got the question under scout's own prompt.
    let asked = scout.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(kind.question_of(&asked[0]), "Who are our leads?");
    assert!(kind.system_of(&asked[0]).contains("scout-marker"));
    let got = kind.tool_results(&numa.requests()[1]);
    assert_eq!(
        (got[0].content.as_str(), got[0].is_error),
        (SCOUT_SAYS, false)
    );

    // lyra asks slowpoke: after remote_timeout the model gets a tool error,
    // and the chat completes without waiting for slowpoke's provider.
    let started = Instant::now();
    let (_, events) = post_sse(&team.url("/api/specialists/lyra/chat"), &chat).await;
    let took = started.elapsed();
    let end: Vec<&Value> = events.iter().filter(|e| e["type"] == "response").collect();
    assert_eq!(end.len(), 1, "{events:#?}");
    assert_eq!(end[0]["consulted"][0]["ok"], false);
    let got = kind.tool_results(&lyra.requests()[1]);
    assert!(got[0].is_error, "{got:?}");
    assert!(
        got[0].content.contains("slowpoke did not answer within 1s"),
        "{got:?}"
    );
    assert!(
        took < Duration::from_secs(25),
        "the chat waited for the agent: {took:?}"
    );
    assert_eq!(slowpoke.requests().len(), 1, "slowpoke was asked once");
}

/// An agent card that is not there: a tool error the model reads, naming the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_agent_card_is_a_tool_error() {
    let kind = Kind::Ollama;
    let gone = crate::fixture::provider::refused_base().await;
    let card = format!("{gone}/a2a/x/.well-known/agent-card.json");
    let numa = Server::start(vec![
        kind.reply_calling("", &[ask("c1", "away", "Hello?")]),
        kind.reply_saying("Nobody answered."),
    ])
    .await;
    let consult = format!("remote = {{ away = \"{card}\" }}");
    let p = Project::with_providers(
        [49490, 49499],
        None,
        &[("numa", "ollama", &kind.base(&numa.base()), &consult)],
    );
    let team = web(&p, &["numa"]).await;
    let (_, events) = post_sse(
        &team.url("/api/specialists/numa/chat"),
        &json!({"content": "hi"}),
    )
    .await;
    let end: Vec<&Value> = events.iter().filter(|e| e["type"] == "response").collect();
    assert_eq!(end.len(), 1, "{events:#?}");
    let got = kind.tool_results(&numa.requests()[1]);
    assert!(got[0].is_error);
    assert!(
        got[0].content.contains("cannot fetch the agent card at") && got[0].content.contains(&card),
        "{got:?}"
    );
}

/// `/v1/chat/completions` (whole and streamed) and A2A `SendMessage` with a
/// specialist that consults: the answer alone, after the consultation ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_only_callers_get_the_final_answer() {
    let kind = Kind::Ollama;
    // The first chat does not stream (nor do its provider requests); the
    // other two do. penia is always asked streaming.
    let call = [ask("c1", "penia", "Budget?")];
    let numa = Server::start(vec![
        kind.reply_calling_whole("", &call),
        crate::fixture::provider::Reply::json(200, &kind.whole_body("Approved, says penia.")),
        kind.reply_calling("", &call),
        kind.reply_saying("Approved, says penia."),
        kind.reply_calling("", &call),
        kind.reply_saying("Approved, says penia."),
    ])
    .await;
    let penia = Server::start(vec![kind.reply_saying("Approved.")]).await;
    let p = Project::with_providers(
        [49500, 49509],
        None,
        &[
            (
                "numa",
                "ollama",
                &kind.base(&numa.base()),
                "colleagues = [\"penia\"]",
            ),
            ("penia", "ollama", &kind.base(&penia.base()), ""),
        ],
    );
    let web = web(&p, &["numa", "penia"]).await;
    let c = crate::fixture::http::client();
    let ask_v1 = |stream: bool| json!({"model": "numa", "stream": stream, "messages": [{"role": "user", "content": "Go?"}]});
    let whole: Value = c
        .post(web.url("/v1/chat/completions"))
        .json(&ask_v1(false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        whole["choices"][0]["message"]["content"], "Approved, says penia.",
        "{whole}"
    );
    let streamed = c
        .post(web.url("/v1/chat/completions"))
        .json(&ask_v1(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let deltas: String = crate::fixture::http::sse_objects(&streamed)
        .iter()
        .filter_map(|o| {
            o["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(deltas, "Approved, says penia.", "{streamed}");
    assert!(streamed.trim_end().ends_with("data: [DONE]"), "{streamed}");
    let msg = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "Go?"}]}}});
    let v: Value = c
        .post(web.url("/a2a/numa"))
        .header("A2A-Version", "1.0")
        .json(&msg)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
    assert_eq!(
        task["artifacts"][0]["parts"][0]["text"], "Approved, says penia.",
        "{v}"
    );
    assert_eq!(penia.requests().len(), 3, "each chat consulted penia");
}
