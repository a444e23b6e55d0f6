//! The engine against members that answer from a script, in process: what
//! each member was asked in each round, who was silent, what the moderator
//! read, and the events in between. (The daemon's own path, with real
//! providers on loopback, is tested in `tests/`.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::*;
use crate::config::team::{Person, TeamMode, TeamSpec};
use crate::config::{SpecialistName, TeamName};
use crate::protocol::{ErrorCode, Reply, ReplyBody};

/// How a scripted member behaves in one call.
#[derive(Clone)]
enum Act {
    Say(String),
    Fail,
    Hang,
}

#[derive(Default)]
struct Script {
    /// Per member, one act per call (the last repeats); default: `NAME rK`.
    acts: HashMap<String, Vec<Act>>,
    /// What each member was sent, in order.
    got: Mutex<Vec<(String, String)>>,
    calls: Mutex<HashMap<String, usize>>,
    /// Members that are not serving.
    down: Vec<String>,
}

fn name(s: &str) -> SpecialistName {
    SpecialistName::parse(s).unwrap()
}

impl Members for Script {
    fn ask_all(
        &self,
        asks: Vec<(SpecialistName, String)>,
    ) -> BoxFuture<'_, Vec<Result<MemberStream, members::Unasked>>> {
        async move {
            asks.into_iter()
                .map(|(m, content)| {
                    if self.down.contains(&m.to_string()) {
                        return Err(members::Unasked::new(ErrorCode::NotReady, "stopped"));
                    }
                    self.got.lock().unwrap().push((m.to_string(), content));
                    let n = {
                        let mut c = self.calls.lock().unwrap();
                        let e = c.entry(m.to_string()).or_default();
                        *e += 1;
                        *e
                    };
                    let act = match self.acts.get(m.as_str()) {
                        Some(list) => list[(n - 1).min(list.len() - 1)].clone(),
                        None => Act::Say(format!("{m} r{n}")),
                    };
                    let stream: MemberStream = match act {
                        Act::Say(text) => {
                            let chunk = Reply {
                                specialist: m.clone(),
                                id: None,
                                body: ReplyBody::Chunk {
                                    content: text.clone(),
                                },
                            };
                            let done = Reply {
                                specialist: m.clone(),
                                id: None,
                                body: ReplyBody::Response {
                                    content: text,
                                    model: "m".into(),
                                    usage: Default::default(),
                                    latency_ms: 1,
                                    consulted: Vec::new(),
                                },
                            };
                            futures::stream::iter([chunk, done]).boxed()
                        }
                        Act::Fail => futures::stream::iter([Reply::error(
                            &m,
                            None,
                            ErrorCode::ProviderError,
                            "boom",
                        )])
                        .boxed(),
                        Act::Hang => futures::stream::pending().boxed(),
                    };
                    Ok(stream)
                })
                .collect()
        }
        .boxed()
    }
}

fn team(mode: TeamMode, members: &[&str], moderator: Option<&str>, rounds: u8) -> Arc<TeamSpec> {
    let dir = tempfile::tempdir().unwrap();
    let people = members
        .iter()
        .chain(moderator.iter())
        .map(|m| {
            (
                name(m),
                Person {
                    name: m.to_string(),
                    title: m.to_uppercase(),
                    role: String::new(),
                    description: String::new(),
                },
            )
        })
        .collect();
    Arc::new(TeamSpec {
        name: TeamName::parse("t").unwrap(),
        file: "teams.d/t.toml".into(),
        title: "The Team".into(),
        description: String::new(),
        mode,
        everyone: false,
        members: members.iter().map(|m| name(m)).collect(),
        moderator: moderator.map(name),
        rounds,
        synthesis: moderator.is_some() && mode != TeamMode::Route,
        member_timeout: Duration::from_millis(300),
        round_timeout: None,
        template: "team.md.j2".into(),
        previews: Vec::new(),
        people,
        templates: crate::config::team::Templates(Arc::new(crate::prompt::TemplateSources::read(
            dir.path(),
        ))),
        generation: String::new(),
    })
}

async fn run_all(t: &Arc<TeamSpec>, s: &Arc<Script>) -> Vec<TeamEvent> {
    let members: Arc<dyn Members> = s.clone();
    let events = run(t.clone(), "What first?".into(), members);
    tokio::time::timeout(Duration::from_secs(20), events.collect::<Vec<_>>())
        .await
        .expect("the run ended")
}

fn asked(s: &Script, m: &str) -> Vec<String> {
    s.got
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == m)
        .map(|(_, c)| c.clone())
        .collect()
}

fn summary(events: &[TeamEvent]) -> &Summary {
    match events.last() {
        Some(TeamEvent::Summary(s)) => s,
        other => panic!("the last event is no summary: {other:?}"),
    }
}

#[tokio::test]
async fn a_discussion_shows_each_member_the_others_and_names_the_silent() {
    let mut s = Script::default();
    s.acts
        .insert("b".into(), vec![Act::Fail, Act::Say("b r2".into())]);
    let s = Arc::new(s);
    let t = team(TeamMode::Discussion, &["a", "b", "c", "d"], Some("mod"), 3);
    let events = run_all(&t, &s).await;
    for m in ["a", "c", "d"] {
        let got = asked(&s, m);
        assert_eq!(got.len(), 3, "{m}: {got:?}");
        assert_eq!(got[0], "What first?", "round 1 is the question");
        let r2 = &got[1];
        assert!(r2.contains("round 2 of 3"), "{r2}");
        for other in ["a", "c", "d"].iter().filter(|o| *o != &m) {
            assert!(
                r2.contains(&format!(
                    "## {other} ({})\n{other} r1",
                    other.to_uppercase()
                )),
                "{m} reads {other}: {r2}"
            );
        }
        assert!(
            !r2.contains(&format!("{m} r1")),
            "{m} never reads its own answer: {r2}"
        );
        assert!(r2.contains("Silent in round 1: b (failed)"), "{r2}");
        let r3 = &got[2];
        assert!(r3.contains("## b (B)\nb r2"), "b answered round 2: {r3}");
        assert!(!r3.contains("Silent in round 2"), "{r3}");
    }
    let moderator = asked(&s, "mod");
    assert_eq!(moderator.len(), 1);
    for m in ["a", "b", "c", "d"] {
        assert!(
            moderator[0].contains(&format!("## {m} ({})\n{m} r", m.to_uppercase())),
            "{}",
            moderator[0]
        );
    }
    let sum = summary(&events);
    let answered: Vec<usize> = sum.rounds.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [3, 4, 4, 1], "three rounds, then the synthesis");
    assert_eq!(sum.silent, [name("b")]);
    assert_eq!(sum.synthesis, Some(true));
    assert!(events.iter().any(|e| e.kind() == "synthesis"));
    assert_eq!(event::final_text(&events).as_deref(), Some("mod r1"));
}

#[tokio::test]
async fn a_slow_member_is_silent_without_holding_the_round() {
    let mut s = Script::default();
    s.acts.insert("slow".into(), vec![Act::Hang]);
    s.down = vec!["gone".into()];
    let s = Arc::new(s);
    let t = team(TeamMode::Broadcast, &["a", "slow", "gone"], None, 1);
    let started = std::time::Instant::now();
    let events = run_all(&t, &s).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let errors: Vec<(String, ErrorCode)> = events
        .iter()
        .filter_map(|e| match e {
            TeamEvent::Member { reply, .. } => match &reply.body {
                ReplyBody::Error { code, .. } => Some((reply.specialist.to_string(), *code)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(
        errors.contains(&("slow".into(), ErrorCode::Timeout)),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("gone".into(), ErrorCode::NotReady)),
        "{errors:?}"
    );
    let sum = summary(&events);
    assert_eq!(sum.rounds[0].answered, 1);
    assert_eq!(sum.rounds[0].asked, 3);
    assert_eq!(sum.silent, [name("slow"), name("gone")]);
    assert_eq!(
        event::final_text(&events).as_deref(),
        Some("**a**:\n\na r1")
    );
}

#[tokio::test]
async fn route_asks_only_whom_the_moderator_names() {
    let mut s = Script::default();
    s.acts
        .insert("mod".into(), vec![Act::Say("[\"b\"]".into())]);
    let s = Arc::new(s);
    let t = team(TeamMode::Route, &["a", "b", "c"], Some("mod"), 1);
    let events = run_all(&t, &s).await;
    assert!(asked(&s, "a").is_empty() && asked(&s, "c").is_empty());
    assert_eq!(asked(&s, "b"), ["What first?"]);
    let route = &asked(&s, "mod")[0];
    assert!(
        route.contains("- a: A") && route.contains("JSON array"),
        "{route}"
    );
    assert!(matches!(
        &events[0],
        TeamEvent::RoundStart {
            round: 0,
            part: Part::Route,
            ..
        }
    ));
    assert!(events.iter().any(|e| matches!(e, TeamEvent::RoundStart { round: 1, routed_by: Some(m), .. } if m == &name("mod"))));
    assert_eq!(summary(&events).routed, Some(vec![name("b")]));
}

#[tokio::test]
async fn an_unparseable_route_fails_with_the_moderators_text() {
    for reply in ["I would ask b.", "[\"zed\"]"] {
        let mut s = Script::default();
        s.acts.insert("mod".into(), vec![Act::Say(reply.into())]);
        let s = Arc::new(s);
        let t = team(TeamMode::Route, &["a", "b"], Some("mod"), 1);
        let events = run_all(&t, &s).await;
        assert!(
            asked(&s, "a").is_empty() && asked(&s, "b").is_empty(),
            "nobody is guessed at"
        );
        let failed = events
            .iter()
            .find_map(|e| match e {
                TeamEvent::Member { reply, .. } => match &reply.body {
                    ReplyBody::Error {
                        code: ErrorCode::RoutingFailed,
                        error,
                        ..
                    } => Some(error.clone()),
                    _ => None,
                },
                _ => None,
            })
            .expect("a routing_failed error");
        assert!(
            failed.contains(&format!("the moderator answered: {reply}")),
            "{failed}"
        );
        assert_eq!(summary(&events).failed, Some(ErrorCode::RoutingFailed));
    }
}

#[tokio::test]
async fn dropping_the_stream_ends_the_run() {
    let mut s = Script::default();
    s.acts.insert("a".into(), vec![Act::Hang]);
    let s = Arc::new(s);
    let mut t = (*team(TeamMode::Broadcast, &["a"], None, 1)).clone();
    t.member_timeout = Duration::from_secs(3600);
    let members: Arc<dyn Members> = s.clone();
    let mut events = run(Arc::new(t), "q".into(), members);
    assert!(matches!(
        events.next().await,
        Some(TeamEvent::RoundStart { .. })
    ));
    drop(events);
    // The run's task notices the reader is gone and drops the member's chat:
    // the script's only strong reference besides ours goes with it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&s) > 1 {
        assert!(std::time::Instant::now() < deadline, "the run kept going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
