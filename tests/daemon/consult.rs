//! Consultation (DESIGN §12) on the real binary: `cadre up` with each
//! specialist on its own loopback provider of one wire format; the model's
//! `ask_colleague` calls are scripted on the provider side, and the tests
//! assert on what each provider received and what the socket client saw.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixture::Project;
use crate::fixture::provider::tools::{Call, Returned, ask};
use crate::fixture::provider::{Kind, Recorded, Reply, Server};
use crate::fixture::socket::Raw;

/// A member of the test team: its name, its provider's script, and its
/// `[consult]` table (empty for none).
struct Member<'a> {
    name: &'a str,
    script: Vec<Reply>,
    consult: &'a str,
}

/// The running team: the daemon, and each member's provider server.
struct Team {
    p: Project,
    _daemon: crate::fixture::Daemon,
    servers: Vec<(String, Server)>,
    kind: Kind,
}

fn says(kind: Kind, text: &str) -> Reply {
    kind.reply_saying(text)
}

fn calls(kind: Kind, text: &str, calls: &[Call]) -> Reply {
    kind.reply_calling(text, calls)
}

async fn team(kind: Kind, range: [u16; 2], members: Vec<Member<'_>>) -> Team {
    kind.setup();
    let mut servers = Vec::new();
    let mut rows = Vec::new();
    for m in members {
        let srv = Server::start(m.script).await;
        rows.push((m.name, kind.base(&srv.base()), m.consult));
        servers.push((m.name.to_owned(), srv));
    }
    let rows: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|(n, url, c)| (*n, kind.config_name(), url.as_str(), *c))
        .collect();
    let p = Project::with_providers(range, kind.key_env(), &rows);
    let mut daemon = p.up();
    let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
    p.wait_ready(&names, &mut daemon);
    Team {
        p,
        _daemon: daemon,
        servers,
        kind,
    }
}

impl Team {
    fn requests(&self, name: &str) -> Vec<Recorded> {
        self.servers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.requests())
            .unwrap_or_default()
    }

    /// A streamed chat with `name` on its socket: every line up to and
    /// including the final `response` or `error`.
    async fn chat(&self, name: &str, content: &str) -> Vec<Value> {
        self.chat_as(name, content, true).await
    }

    /// [`Team::chat`], streamed or not.
    async fn chat_as(&self, name: &str, content: &str, stream: bool) -> Vec<Value> {
        let port = self.p.port_of(name).expect("a port");
        let mut c = Raw::connect(port).await;
        let req = json!({"type": "chat", "id": "q1", "content": content, "stream": stream});
        c.send(format!("{req}\n").as_bytes()).await;
        let mut lines = Vec::new();
        while let Some(line) = c.recv().await {
            let end = matches!(line["type"].as_str(), Some("response" | "error"));
            lines.push(line);
            if end {
                break;
            }
        }
        lines
    }

    /// `name`'s `info` reply (its counters).
    fn info(&self, name: &str) -> Value {
        let port = self.p.port_of(name).expect("a port");
        let mut c = crate::fixture::Conn::open(port).unwrap();
        c.ask(json!({"type": "info"}))
    }

    /// The tool results the `n`-th request to `name` carried.
    fn results(&self, name: &str, n: usize) -> Vec<Returned> {
        let reqs = self.requests(name);
        assert!(reqs.len() > n, "{name} received {} requests", reqs.len());
        self.kind.tool_results(&reqs[n])
    }
}

fn of_type<'a>(lines: &'a [Value], t: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

fn last(lines: &[Value]) -> &Value {
    lines.last().expect("no reply at all")
}

const QUESTION: &str = "Is the Q3 budget approved?";
const PENIA_SAYS: &str = "Yes: approved on 2 May, 40k.";
const NUMA_SAYS: &str = "Penia says it is approved, so go ahead.";

/// numa asks penia; penia answers with its own prompt; numa gets the answer
/// as its tool result; the client sees the consultation and `consulted`.
async fn a_colleague_is_consulted(kind: Kind, range: [u16; 2]) {
    let t = team(
        kind,
        range,
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(
                        kind,
                        "Let me ask penia.",
                        &[ask("call_1", "penia", QUESTION)],
                    ),
                    says(kind, NUMA_SAYS),
                    // The second chat does not stream.
                    kind.reply_calling_whole("", &[ask("call_2", "penia", QUESTION)]),
                    Reply::json(200, &kind.whole_body(NUMA_SAYS)),
                ],
                consult: "colleagues = [\"penia\"]",
            },
            Member {
                name: "penia",
                script: vec![says(kind, PENIA_SAYS)],
                consult: "",
            },
        ],
    )
    .await;
    assert!(t.info("penia")["last_latency_ms"].is_null(), "no chat yet");
    let lines = t.chat("numa", "Can we start the project?").await;

    let numa = t.requests("numa");
    assert_eq!(numa.len(), 2, "two rounds");
    assert_eq!(kind.offered_tools(&numa[0]), ["ask_colleague"]);
    let penia = t.requests("penia");
    assert_eq!(penia.len(), 1);
    assert_eq!(kind.question_of(&penia[0]), QUESTION);
    let system = kind.system_of(&penia[0]);
    assert!(system.contains("penia-marker"), "{system}");
    assert!(!system.contains("numa-marker"), "{system}");
    assert!(
        kind.offered_tools(&penia[0]).is_empty(),
        "penia has no [consult]"
    );
    assert_eq!(
        t.results("numa", 1),
        [Returned {
            call_id: "call_1".into(),
            content: PENIA_SAYS.into(),
            is_error: false
        }]
    );

    let consult = of_type(&lines, "consult");
    assert_eq!(consult.len(), 1, "{lines:#?}");
    assert_eq!(consult[0]["specialist"], "numa");
    assert_eq!(consult[0]["to"], "penia");
    assert_eq!(consult[0]["question"], QUESTION);
    assert_eq!(consult[0]["id"], "q1");
    let result = of_type(&lines, "consult_result");
    assert_eq!(result.len(), 1, "{lines:#?}");
    assert_eq!(result[0]["ok"], true);
    assert_eq!(result[0]["content"], PENIA_SAYS);
    let end = last(&lines);
    assert_eq!(end["type"], "response", "{lines:#?}");
    assert!(
        end["content"].as_str().unwrap().ends_with(NUMA_SAYS),
        "{end}"
    );
    let consulted = end["consulted"].as_array().expect("consulted");
    assert_eq!(consulted.len(), 1);
    assert_eq!(consulted[0]["to"], "penia");
    assert_eq!(consulted[0]["question"], QUESTION);
    assert_eq!(consulted[0]["ok"], true);
    assert!(consulted[0]["latency_ms"].is_u64());
    // The chunks streamed are the answer.
    let streamed: String = of_type(&lines, "chunk")
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, end["content"].as_str().unwrap());

    // Timed as a chat of penia's own: it ran on penia's chat path.
    let info = t.info("penia");
    assert!(info["last_latency_ms"].is_u64(), "{info}");

    // Not streamed: one line, the response, still listing the consultation.
    let lines = t.chat_as("numa", "Again?", false).await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["content"], NUMA_SAYS, "{lines:#?}");
    assert_eq!(lines[0]["consulted"][0]["ok"], true, "{lines:#?}");
    let numa = t.requests("numa");
    assert_eq!(numa[2].json()["stream"], false);
    assert_eq!(
        t.results("numa", 3),
        [Returned {
            call_id: "call_2".into(),
            content: PENIA_SAYS.into(),
            is_error: false
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consultation_over_ollama() {
    a_colleague_is_consulted(Kind::Ollama, [49400, 49409]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consultation_over_openai() {
    a_colleague_is_consulted(Kind::OpenAi, [49410, 49419]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consultation_over_anthropic() {
    a_colleague_is_consulted(Kind::Anthropic, [49420, 49429]).await;
}

/// numa → penia → numa: penia's model receives the refusal as a tool error,
/// answers around it, and numa's chat completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_is_refused_with_a_tool_error() {
    let kind = Kind::OpenAi;
    let t = team(
        kind,
        [49430, 49439],
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(kind, "", &[ask("call_1", "penia", QUESTION)]),
                    says(kind, NUMA_SAYS),
                ],
                consult: "colleagues = [\"penia\"]",
            },
            Member {
                name: "penia",
                script: vec![
                    calls(kind, "", &[ask("call_p", "numa", "What did the user ask?")]),
                    says(kind, PENIA_SAYS),
                ],
                consult: "colleagues = [\"numa\"]",
            },
        ],
    )
    .await;
    let lines = t.chat("numa", "Can we start?").await;
    assert_eq!(last(&lines)["type"], "response", "{lines:#?}");
    assert_eq!(t.requests("numa").len(), 2, "numa was never asked by penia");
    let refused = t.results("penia", 1);
    assert_eq!(refused.len(), 1);
    assert!(refused[0].is_error);
    assert!(
        refused[0]
            .content
            .contains("numa is already part of this consultation (numa → penia → numa)"),
        "{refused:?}"
    );
    assert_eq!(t.results("numa", 1)[0].content, PENIA_SAYS);
    // The client sees penia's refused consultation, tagged with penia.
    let from_penia: Vec<&Value> = of_type(&lines, "consult_result")
        .into_iter()
        .filter(|l| l["specialist"] == "penia")
        .collect();
    assert_eq!(from_penia.len(), 1, "{lines:#?}");
    assert_eq!(from_penia[0]["ok"], false);
    assert_eq!(from_penia[0]["to"], "numa");
}

/// numa → penia → telos → lyra would be depth 3 with `max_depth = 2`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_three_is_refused() {
    let kind = Kind::Ollama;
    let t = team(
        kind,
        [49440, 49449],
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(kind, "", &[ask("c1", "penia", "Budget?")]),
                    says(kind, NUMA_SAYS),
                ],
                consult: "colleagues = [\"penia\"]\nmax_depth = 2",
            },
            Member {
                name: "penia",
                script: vec![
                    calls(kind, "", &[ask("c2", "telos", "Goals?")]),
                    says(kind, PENIA_SAYS),
                ],
                consult: "colleagues = [\"telos\"]\nmax_depth = 5",
            },
            Member {
                name: "telos",
                script: vec![
                    calls(kind, "", &[ask("c3", "lyra", "Words?")]),
                    says(kind, "Goals are set."),
                ],
                consult: "colleagues = [\"lyra\"]",
            },
            Member {
                name: "lyra",
                script: vec![says(kind, "never asked")],
                consult: "",
            },
        ],
    )
    .await;
    let lines = t.chat("numa", "Plan?").await;
    assert_eq!(last(&lines)["type"], "response", "{lines:#?}");
    assert!(t.requests("lyra").is_empty(), "lyra was asked");
    let refused = t.results("telos", 1);
    assert!(refused[0].is_error, "{refused:?}");
    assert!(
        refused[0]
            .content
            .contains("nest at most 2 deep and this one would be 3 deep"),
        "{refused:?}"
    );
    assert_eq!(t.results("penia", 1)[0].content, "Goals are set.");
    assert_eq!(t.results("numa", 1)[0].content, PENIA_SAYS);
}

/// `budget = 1`: the second call of the chat is refused, the first answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_is_refused() {
    let kind = Kind::Anthropic;
    let t = team(
        kind,
        [49450, 49459],
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(
                        kind,
                        "Asking twice.",
                        &[ask("c1", "penia", "First?"), ask("c2", "penia", "Second?")],
                    ),
                    says(kind, NUMA_SAYS),
                ],
                consult: "colleagues = [\"penia\"]\nbudget = 1",
            },
            Member {
                name: "penia",
                script: vec![says(kind, PENIA_SAYS)],
                consult: "",
            },
        ],
    )
    .await;
    let lines = t.chat("numa", "Twice?").await;
    assert_eq!(t.requests("penia").len(), 1, "only one consultation ran");
    let results = t.results("numa", 1);
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(
        (results[0].call_id.as_str(), results[0].is_error),
        ("c1", false)
    );
    assert_eq!(results[1].call_id, "c2");
    assert!(results[1].is_error);
    assert!(
        results[1]
            .content
            .contains("used all 1 of its consultations"),
        "{results:?}"
    );
    let end = last(&lines);
    assert_eq!(end["type"], "response", "{lines:#?}");
    let ok: Vec<&Value> = end["consulted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["ok"])
        .collect();
    assert_eq!(ok.len(), 2);
    assert!(ok.contains(&&json!(true)) && ok.contains(&&json!(false)));
}

/// A colleague whose provider fails: numa's model gets a tool error naming
/// the failure, and the chat still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_colleague_is_a_tool_error() {
    let kind = Kind::OpenAi;
    let t = team(
        kind,
        [49460, 49469],
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(kind, "", &[ask("call_1", "penia", QUESTION)]),
                    says(kind, "Penia is unavailable; I cannot confirm the budget."),
                ],
                consult: "colleagues = [\"penia\"]",
            },
            Member {
                name: "penia",
                script: vec![Reply::json(
                    404,
                    &kind.error_body("model \"tiny-model\" not found"),
                )],
                consult: "",
            },
        ],
    )
    .await;
    let lines = t.chat("numa", "Budget?").await;
    let end = last(&lines);
    assert_eq!(end["type"], "response", "{lines:#?}");
    let got = t.results("numa", 1);
    assert!(got[0].is_error, "{got:?}");
    assert!(
        got[0]
            .content
            .contains("penia could not answer (provider_error)")
            && got[0].content.contains("not found"),
        "{got:?}"
    );
    assert_eq!(end["consulted"][0]["ok"], false);
    let result = of_type(&lines, "consult_result");
    assert_eq!(result[0]["ok"], false);
    assert!(result[0]["error"].as_str().unwrap().contains("not found"));
}

/// The client leaves while the colleague is answering: the colleague's
/// provider request is cancelled with it (the server sees the connection go).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_cancels_the_colleagues_request() {
    let kind = Kind::Ollama;
    let mut slow = Vec::new();
    for f in kind.frames(&["tick "; 300]) {
        slow.push(crate::fixture::provider::Piece::Bytes(f.text.into_bytes()));
        slow.push(crate::fixture::provider::Piece::Sleep(
            Duration::from_millis(20),
        ));
    }
    let t = team(
        kind,
        [49520, 49529],
        vec![
            Member {
                name: "numa",
                script: vec![calls(kind, "", &[ask("c1", "penia", QUESTION)])],
                consult: "colleagues = [\"penia\"]",
            },
            Member {
                name: "penia",
                script: vec![Reply::new(200, kind.stream_content_type(), slow)],
                consult: "",
            },
        ],
    )
    .await;
    let port = t.p.port_of("numa").unwrap();
    let mut c = Raw::connect(port).await;
    let req = json!({"type": "chat", "content": "Budget?", "stream": true});
    c.send(format!("{req}\n").as_bytes()).await;
    let first = c.recv().await.expect("a line");
    assert_eq!(first["type"], "consult", "{first}");
    // Wait until penia's provider is answering, then leave: a reset (a
    // close is only end of input; the socket answers, then closes).
    let penia = &t.servers.iter().find(|(n, _)| n == "penia").unwrap().1;
    assert!(
        crate::fixture::poll(Duration::from_secs(20), || !penia.requests().is_empty()),
        "penia was never asked"
    );
    c.stream.get_ref().set_zero_linger().unwrap();
    drop(c);
    assert!(
        crate::fixture::poll(Duration::from_secs(20), || penia.aborted() > 0),
        "penia's provider never saw the request go"
    );
}

/// A team round composes with consultation: members are asked on their own
/// chat path, so a member with `[consult]` asks its colleague inside the
/// round, the run streams the `consult` and `consult_result` lines tagged
/// with the round, and the member's answer (with `consulted`) is what the
/// synthesis reads. Run with `cadre team --team` on the control socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_member_consults_inside_a_round() {
    let kind = Kind::Ollama;
    let t = team(
        kind,
        [49530, 49539],
        vec![
            Member {
                name: "numa",
                script: vec![
                    calls(kind, "", &[ask("call_1", "penia", QUESTION)]),
                    says(kind, NUMA_SAYS),
                    says(kind, "Synthesis: go ahead."),
                ],
                consult: "colleagues = [\"penia\"]",
            },
            Member {
                name: "penia",
                script: vec![says(kind, PENIA_SAYS)],
                consult: "",
            },
        ],
    )
    .await;
    t.p.put(
        "teams.d/t.toml",
        "title = \"T\"\nmembers = [\"numa\"]\nmode = \"synthesis\"\nmoderator = \"numa\"\n",
    );
    let run = |args: &[&str]| -> crate::fixture::Out {
        crate::fixture::cadre(args)
            .dir(&t.p.dir)
            .state(&t.p.state)
            .output()
            .into()
    };
    let listed = crate::fixture::poll(Duration::from_secs(30), || {
        run(&["teams", "--json"]).stdout.contains("\"name\": \"t\"")
    });
    assert!(listed, "the team never loaded");
    let out = run(&["team", "--team", "t", "--json", "Can we start?"]);
    assert_eq!(out.code, 0, "{out:?}");
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let consult = of_type(&events, "consult");
    assert_eq!(consult.len(), 1, "{events:#?}");
    assert_eq!(
        (
            &consult[0]["specialist"],
            &consult[0]["to"],
            &consult[0]["round"]
        ),
        (&json!("numa"), &json!("penia"), &json!(1))
    );
    let result = of_type(&events, "consult_result");
    assert_eq!(result[0]["content"], PENIA_SAYS, "{events:#?}");
    assert_eq!(result[0]["team"], "t");
    let answer = of_type(&events, "response");
    assert_eq!(answer[0]["content"], NUMA_SAYS);
    assert_eq!(answer[0]["consulted"][0]["to"], "penia");
    let synthesis = of_type(&events, "synthesis");
    assert_eq!(synthesis[0]["content"], "Synthesis: go ahead.");
    let reqs = t.requests("numa");
    assert_eq!(reqs.len(), 3, "consulting round, its answer, the synthesis");
    assert!(
        kind.question_of(&reqs[2]).contains(NUMA_SAYS),
        "the synthesis reads the consulted answer"
    );
    assert_eq!(kind.question_of(&t.requests("penia")[0]), QUESTION);
}
