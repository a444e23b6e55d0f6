//! `consult`: what a consultation costs beyond its provider time. numa has
//! `[consult] colleagues = ["penia"]`; the loopback provider calls
//! `ask_colleague` on a request that offers the tool and carries no tool
//! result yet, so one chat with numa is three provider requests: numa's
//! first round, penia's chat (on penia's in-process chat path), numa's
//! second round with penia's answer. Each round of the bench, alternating:
//!
//! - `consulting chat`: that chat over numa's socket (one connection kept);
//! - `three direct requests`: the same three provider request bodies sent
//!   straight to the provider, one after the other (one kept-alive client);
//! - `plain chat` / `one direct request`: a chat with a specialist without
//!   `[consult]`, and one direct request, for cadre's own per-chat cost.
//!
//! A consultation's own cost is (consulting − three direct) − (plain − one
//! direct): what the tool loop, the colleague's chat path and the
//! consultation lines add on top of a plain chat's handling.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Conn, Project, Provider, summary};

/// The provider's answer to a request that offers `ask_colleague` and holds
/// no tool result yet: a call asking the first colleague the tool names.
pub fn tool_call(req: &Value) -> Option<Value> {
    let tool = req["tools"].as_array()?.first()?;
    let answered = req["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    if answered {
        return None;
    }
    let to = tool["function"]["parameters"]["properties"]["name"]["enum"][0].as_str()?;
    Some(
        json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_1",
        "function": {"index": 0, "name": "ask_colleague",
                     "arguments": {"name": to, "question": "What is the budget?"}}}]}),
    )
}

fn p50(d: &[Duration]) -> f64 {
    let mut d = d.to_vec();
    d.sort();
    d[d.len() / 2].as_secs_f64() * 1e3
}

/// The three provider request bodies of one consulting chat, in the shapes
/// cadre sends them (numa's first round, penia's chat, numa's second round).
fn direct_bodies() -> [Value; 3] {
    let tool = json!([{"type": "function", "function": {"name": "ask_colleague",
        "description": "Ask a colleague.", "parameters": {"type": "object",
        "properties": {"name": {"type": "string", "enum": ["penia"]},
                       "question": {"type": "string"}}, "required": ["name", "question"]}}}]);
    let system =
        |m: &str| json!({"role": "system", "content": format!("Answer briefly. MARK-{m}")});
    let user = json!({"role": "user", "content": "hello"});
    let first = json!({"model": "bench-model", "stream": true, "tools": tool,
        "messages": [system("n"), user]});
    let penia = json!({"model": "bench-model", "stream": true,
        "messages": [system("p"), {"role": "user", "content": "What is the budget?"}]});
    let second = json!({"model": "bench-model", "stream": true, "tools": tool,
        "messages": [system("n"), user,
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1",
              "function": {"index": 0, "name": "ask_colleague",
                           "arguments": {"name": "penia", "question": "What is the budget?"}}}]},
            {"role": "tool", "content": "mark=p", "tool_name": "ask_colleague", "tool_call_id": "call_1"}]});
    [first, penia, second]
}

pub async fn consult(provider: &Provider) {
    let p = Project::new(&provider.base_url);
    p.write("penia", "p");
    p.write("solo", "s");
    std::fs::write(
        p.dir.join("numa.toml"),
        "component = \"numa\"\ntitle = \"numa\"\ndescription = \"Bench numa.\"\n\n\
         [personality]\nrole = \"bench\"\nprompt = \"Answer briefly. MARK-n\"\n\n\
         [consult]\ncolleagues = [\"penia\"]\n",
    )
    .unwrap();
    let d = p.up();
    let ports = p.wait_all_ping(3, Duration::from_secs(30)).await;
    let port = |n: &str| ports.iter().find(|(m, _)| m == n).unwrap().1;
    let mut numa = Conn::open(port("numa")).await.unwrap();
    let mut solo = Conn::open(port("solo")).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/chat", provider.base_url);
    let bodies = direct_bodies();
    let direct = |body: Value| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let b = http.post(&url).json(&body).send().await.unwrap();
            assert!(!b.bytes().await.unwrap().is_empty());
        }
    };
    let n: usize = std::env::var("CADRE_BENCH_CHATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let (mut consulting, mut three, mut plain, mut one) = (vec![], vec![], vec![], vec![]);
    for i in 0..n + 50 {
        let t = Instant::now();
        let r = numa.ask(super::CHAT).await.unwrap();
        let tc = t.elapsed();
        assert_eq!(r["type"], "response", "{r}");
        assert_eq!(r["consulted"][0]["ok"], true, "{r}");
        assert_eq!(r["content"], "mark=n", "{r}");
        let t = Instant::now();
        for b in &bodies {
            direct(b.clone()).await;
        }
        let t3 = t.elapsed();
        let t = Instant::now();
        let r = solo.ask(super::CHAT).await.unwrap();
        let tp = t.elapsed();
        assert_eq!(r["type"], "response", "{r}");
        let t = Instant::now();
        direct(bodies[1].clone()).await;
        let t1 = t.elapsed();
        if i >= 50 {
            consulting.push(tc);
            three.push(t3);
            plain.push(tp);
            one.push(t1);
        }
    }
    let own = (p50(&consulting) - p50(&three)) - (p50(&plain) - p50(&one));
    println!(
        "consult: consulting chat       {}",
        summary(consulting.clone())
    );
    println!("consult: three direct requests {}", summary(three.clone()));
    println!("consult: plain chat            {}", summary(plain.clone()));
    println!("consult: one direct request    {}", summary(one.clone()));
    println!(
        "consult: p50 over provider time: consulting +{:.3} ms, plain +{:.3} ms; the consultation's own +{own:.3} ms",
        p50(&consulting) - p50(&three),
        p50(&plain) - p50(&one)
    );
    drop(numa);
    drop(solo);
    d.stop();
}
