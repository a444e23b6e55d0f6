//! A real OpenAI client (async-openai) against cadre's `/v1` routes.
//! Port range of this file: 47100-47199 (specialists); HTTP on port 0.

use crate::fixture::http;
use crate::fixture::ollama;

use crate::fixture::Project;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};
use futures::StreamExt;
use http::{openai, up_http};

fn request(model: &str, stream: bool) -> async_openai::types::chat::CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .stream(stream)
        .messages([
            ChatCompletionRequestSystemMessage::from("Answer in French.").into(),
            ChatCompletionRequestUserMessage::from("what is recall?").into(),
        ])
        .build()
        .unwrap()
}

/// The shipped files pin ports 450xx; this test allocates from its own range.
fn unpin_ports(p: &Project) {
    for f in std::fs::read_dir(&p.dir).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("port =")).collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_lists_and_talks_to_the_shipped_team() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47100, 47149], &server.base_url);
    p.copy_shipped();
    unpin_ports(&p);
    let names: Vec<String> = std::fs::read_dir(&p.dir)
        .unwrap()
        .map(|f| {
            f.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names.len(), 18);
    let mut web = up_http(&p, &[], &[]);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    web.wait_ready(&refs).await;
    let client = openai(&web.base);

    let models = client.models().list().await.unwrap();
    let mut ids: Vec<String> = models.data.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(ids, want);

    // Non-streamed: the provider's text; numa's system prompt first, the client's after it.
    let answer = client.chat().create(request("numa", false)).await.unwrap();
    let text = answer.choices[0].message.content.clone().unwrap();
    assert_eq!(text, ollama::answer_for("what is recall?"));
    let sent = server.requests().last().unwrap().clone();
    let msgs = sent["messages"].as_array().unwrap();
    let numa_prompt = p.cadre(&["render", "numa"]);
    let numa_prompt = String::from_utf8_lossy(&numa_prompt.stdout)
        .trim()
        .to_owned();
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[0]["content"].as_str().unwrap().trim(), numa_prompt);
    assert_eq!(msgs[1]["role"], "system");
    assert_eq!(msgs[1]["content"], "Answer in French.");
    assert_eq!(msgs[2]["role"], "user");

    // Streamed: the deltas make the provider's text.
    let mut stream = client
        .chat()
        .create_stream(request("numa", true))
        .await
        .unwrap();
    let mut streamed = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        for c in chunk.choices {
            if let Some(t) = c.delta.content {
                streamed.push_str(&t);
            }
        }
    }
    assert_eq!(streamed, ollama::answer_for("what is recall?"));

    // Unknown model: 404 in OpenAI's shape, parsed as an API error.
    match client.chat().create(request("nobody", false)).await {
        Err(OpenAIError::ApiError(e)) => {
            assert!(e.api_error.message.contains("nobody"), "{e:?}");
            assert_eq!(e.api_error.code.as_deref(), Some("model_not_found"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let r = http::client()
        .post(web.url("/v1/chat/completions"))
        .json(
            &serde_json::json!({"model": "nobody", "messages": [{"role": "user", "content": "x"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The request's overrides reach the provider; a field of the wrong type,
    // a blank question or one that is not the user's is a 400 saying which.
    let post = |body: serde_json::Value| {
        http::client()
            .post(web.url("/v1/chat/completions"))
            .json(&body)
            .send()
    };
    let user = serde_json::json!([{"role": "user", "content": "what is recall?"}]);
    let r = post(
        serde_json::json!({"model": "numa", "messages": user, "temperature": 0.25,
        "max_tokens": null, "max_completion_tokens": 7}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let sent = server.requests().last().unwrap().clone();
    assert_eq!(sent["options"]["temperature"], 0.25, "{sent}");
    assert_eq!(sent["options"]["num_predict"], 7, "{sent}");
    let refused = [
        (
            serde_json::json!({"model": "numa", "messages": user, "temperature": "hot"}),
            "`temperature`",
        ),
        (
            serde_json::json!({"model": "numa", "messages": user, "max_tokens": -1}),
            "`max_tokens`",
        ),
        (
            serde_json::json!({"model": "numa", "messages": [{"role": "user", "content": "  "}]}),
            "empty",
        ),
        (
            serde_json::json!({"model": "numa", "messages": [{"role": "assistant", "content": "x"}]}),
            "role \"user\"",
        ),
        (
            serde_json::json!({"model": "numa", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].role",
        ),
    ];
    for (body, says) in refused {
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let e: serde_json::Value = r.json().await.unwrap();
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {e}");
        assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gives_an_error_never_a_completion() {
    // Nothing listens on this port (bound, then dropped).
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let p = Project::new([47150, 47159], &base);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        toml.replace("kind = \"ollama\"", "kind = \"ollama\"\nmax_retries = 0"),
    )
    .unwrap();
    p.write("numa", "Numa speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let client = openai(&web.base);
    match client.chat().create(request("numa", false)).await {
        Err(OpenAIError::ApiError(e)) => assert!(!e.api_error.message.is_empty()),
        other => panic!("expected an API error, got {other:?}"),
    }
    if let Ok(mut s) = client.chat().create_stream(request("numa", true)).await {
        let first = s.next().await;
        assert!(
            matches!(first, Some(Err(_)) | None),
            "a stream from a dead provider yielded {first:?}"
        );
    }
}

fn ask(model: &str, stream: bool) -> async_openai::types::chat::CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .stream(stream)
        .messages([ChatCompletionRequestUserMessage::from("What first?").into()])
        .build()
        .unwrap()
}

async fn streamed(
    client: &async_openai::Client<async_openai::config::OpenAIConfig>,
    model: &str,
) -> (String, usize) {
    let mut stream = client.chat().create_stream(ask(model, true)).await.unwrap();
    let (mut text, mut deltas) = (String::new(), 0);
    while let Some(chunk) = stream.next().await {
        for c in chunk.unwrap().choices {
            if let Some(t) = c.delta.content.filter(|t| !t.is_empty()) {
                deltas += 1;
                text.push_str(&t);
            }
        }
    }
    (text, deltas)
}

/// `model = "team/council"` runs the team and answers with the moderator's
/// synthesis, streamed token by token or whole; a team without a moderator
/// answers with every member's final answer under its name; `/v1/models`
/// lists the teams after the specialists; a failed run is an API error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_asks_a_team() {
    use crate::fixture::team::{Act, TeamProvider};
    let provider = TeamProvider::start(crate::fixture::provider::Kind::Ollama).await;
    let members = ["penia", "telos", "numa"];
    let p = provider.project([47160, 47169], &members);
    p.put(
        "teams.d/council.toml",
        "title = \"Council\"\nmembers = [\"penia\", \"telos\"]\nmode = \"discussion\"\nrounds = 2\nmoderator = \"numa\"\n",
    );
    p.put(
        "teams.d/pair.toml",
        "title = \"Pair\"\nmembers = [\"penia\", \"telos\"]\nmode = \"broadcast\"\n",
    );
    p.put(
        "teams.d/router.toml",
        "title = \"Router\"\nmembers = [\"penia\", \"telos\"]\nmode = \"route\"\nmoderator = \"numa\"\n",
    );
    provider.script("numa", vec![Act::Say("Ship the budget view first.".into())]);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&members).await;
    let client = openai(&web.base);

    let models = client.models().list().await.unwrap();
    let ids: Vec<String> = models.data.iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        ids,
        [
            "numa",
            "penia",
            "telos",
            "team/council",
            "team/pair",
            "team/router"
        ]
    );

    let answer = client
        .chat()
        .create(ask("team/council", false))
        .await
        .unwrap();
    assert_eq!(answer.model, "team/council");
    assert_eq!(
        answer.choices[0].message.content.as_deref(),
        Some("Ship the budget view first.")
    );
    assert_eq!(provider.asked("penia").len(), 2, "two rounds");
    let moderator = provider.asked("numa");
    assert!(
        moderator[0].contains("penia answers (2)") && moderator[0].contains("telos answers (2)")
    );

    let (text, deltas) = streamed(&client, "team/council").await;
    assert_eq!(text, "Ship the budget view first.");
    assert!(deltas >= 2, "the synthesis streams: {deltas} deltas");

    // No moderator: each member's final answer under its name.
    let answer = client.chat().create(ask("team/pair", false)).await.unwrap();
    let text = answer.choices[0].message.content.clone().unwrap();
    assert!(text.contains("**penia**:\n\npenia answers (5)"), "{text}");
    assert!(text.contains("**telos**:\n\ntelos answers (5)"), "{text}");
    let (text, _) = streamed(&client, "team/pair").await;
    assert!(text.contains("**penia**:\n\npenia answers (6)"), "{text}");

    // A routing reply that is no list: an error, not a completion (async-openai
    // keeps a 5xx body whole as the message).
    match client.chat().create(ask("team/router", false)).await {
        Err(OpenAIError::ApiError(e)) => {
            assert_eq!(e.status_code, 502, "{e:?}");
            let m = &e.api_error.message;
            assert!(m.contains("\"code\":\"routing_failed\""), "{m}");
            assert!(
                m.contains("the moderator answered: Ship the budget view"),
                "{m}"
            );
        }
        other => panic!("expected routing_failed, got {other:?}"),
    }
    let mut s = client
        .chat()
        .create_stream(ask("team/router", true))
        .await
        .unwrap();
    let mut failed = false;
    while let Some(item) = s.next().await {
        if item.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "a streamed failed run ends in an error");
    match client.chat().create(ask("team/nobody", false)).await {
        Err(OpenAIError::ApiError(e)) => {
            assert_eq!(
                e.api_error.code.as_deref(),
                Some("model_not_found"),
                "{e:?}"
            );
        }
        other => panic!("expected model_not_found, got {other:?}"),
    }
}
