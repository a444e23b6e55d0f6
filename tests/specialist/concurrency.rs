//! 200 concurrent connections × 10 chats on one specialist: every reply is
//! the answer to its own request, in order per connection.

use std::time::Duration;

use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};
use cadre::client::Client;
use cadre::protocol::{ChatBody, ReplyBody, Request, RequestBody};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_connections_ten_chats_each_in_order() {
    let ollama = OllamaServer::start(Behaviour {
        latency: Duration::from_millis(5),
        ..Behaviour::default()
    })
    .await;
    let h = start(spec("numa", &ollama.base_url, "p"), limits());
    let port = h.local_addr().port();
    let mut tasks = Vec::new();
    for conn in 0..200 {
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect("127.0.0.1", port, Duration::from_secs(60))
                .await
                .unwrap();
            // Pipeline all ten, then read: order must still hold.
            for i in 0..10 {
                let body = ChatBody {
                    content: format!("c{conn} m{i}"),
                    stream: i % 2 == 0,
                    ..ChatBody::default()
                };
                let req = Request {
                    id: Some(json!(i)),
                    body: RequestBody::Chat(body),
                };
                c.send(&req).await.unwrap();
            }
            for i in 0..10 {
                let mut text = String::new();
                loop {
                    let r = c.next_reply().await.unwrap();
                    assert_eq!(r.id, Some(json!(i)));
                    match r.body {
                        ReplyBody::Chunk { content } => text.push_str(&content),
                        ReplyBody::Response { content, .. } => {
                            assert_eq!(content, answer_for(&format!("c{conn} m{i}")));
                            if i % 2 == 0 {
                                assert_eq!(text, content);
                            }
                            break;
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(ollama.requests().len(), 2000);
    let c = h.counters();
    assert_eq!(c.requests, 2000);
    assert_eq!(c.errors, 0);
    h.drain(Duration::from_secs(5)).await;
}
