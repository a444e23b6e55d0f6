//! The team fan-out behind `cadre team`: answers arrive as they finish, a slow
//! or failing specialist costs only its own result.

use std::time::{Duration, Instant};

use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};
use cadre::client::{ClientError, Target, TeamOutcome, team};
use cadre::protocol::{ChatBody, ErrorCode};
use futures::StreamExt;

#[tokio::test]
async fn slow_and_failing_members_never_delay_the_others() {
    let fast = OllamaServer::start(Behaviour::default()).await;
    let slow = OllamaServer::start(Behaviour {
        latency: Duration::from_secs(20),
        ..Behaviour::default()
    })
    .await;
    let broken = OllamaServer::start(Behaviour {
        fail_status: Some(503),
        ..Behaviour::default()
    })
    .await;
    let handles = [
        start(spec("fast", &fast.base_url, "p"), limits()),
        start(spec("slow", &slow.base_url, "p"), limits()),
        start(spec("broken", &broken.base_url, "p"), limits()),
    ];
    let mut targets: Vec<Target> = handles
        .iter()
        .zip(["fast", "slow", "broken"])
        .map(|(h, n)| Target {
            name: n.into(),
            host: "127.0.0.1".into(),
            port: h.local_addr().port(),
        })
        .collect();
    // A port nobody listens on: a connect failure.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    targets.push(Target {
        name: "gone".into(),
        host: "127.0.0.1".into(),
        port: gone,
    });

    let started = Instant::now();
    let body = ChatBody {
        content: "status?".into(),
        ..ChatBody::default()
    };
    let mut results = Vec::new();
    let mut stream = std::pin::pin!(team(targets, body, Duration::from_secs(3)));
    while let Some((name, outcome)) = stream.next().await {
        results.push((name, outcome, started.elapsed()));
    }
    assert_eq!(results.len(), 4);
    // The slow one is last, and only it waited for the timeout.
    let (last, outcome, _) = results.last().unwrap();
    assert_eq!(last, "slow");
    assert!(matches!(outcome, TeamOutcome::TimedOut), "{outcome:?}");
    for (name, outcome, at) in &results[..3] {
        assert!(
            *at < Duration::from_secs(3),
            "{name} waited for the slow one: {at:?}"
        );
        match (name.as_str(), outcome) {
            ("fast", TeamOutcome::Answered(a)) => assert_eq!(a.content, answer_for("status?")),
            ("broken", TeamOutcome::Failed(ClientError::Remote { code, .. })) => {
                assert_eq!(*code, ErrorCode::ProviderError)
            }
            ("gone", TeamOutcome::Failed(ClientError::Connect { .. })) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    for h in handles {
        h.drain(Duration::from_millis(100)).await;
    }
}
