//! `teams`: teams of teams.d through `POST /api/teams/NAME` on the real
//! `cadre up` (not in the default run; name it):
//! - a discussion of the shipped 18 in 3 rounds, provider latency 200 ms,
//!   then numa's synthesis: wall time of the whole run and each round's
//!   elapsed as the summary reports it, over `CADRE_BENCH_RUNS` (default 5) runs;
//! - a broadcast to 1000 generated members (one round), latency 200 ms:
//!   wall time, and the daemon's RSS idle (before any round), before a later
//!   round, and its peak during one (VmHWM after resetting it through
//!   `/proc/PID/clear_refs`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::protocols::up_http;
use super::{Project, Provider, summary};
use std::sync::atomic::Ordering;

/// Run team `name` once; the wall time and the summary event.
async fn run(c: &reqwest::Client, base: &str, name: &str) -> (Duration, Value) {
    let t = Instant::now();
    let body = c
        .post(format!("{base}/api/teams/{name}"))
        .json(&serde_json::json!({"content": "bench"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let took = t.elapsed();
    let summary = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v["type"] == "summary")
        .expect("a run ends with its summary");
    assert!(summary["failed"].is_null(), "{summary}");
    assert_eq!(summary["silent"], serde_json::json!([]), "{summary}");
    (took, summary)
}

async fn wait_team(c: &reqwest::Client, base: &str, name: &str, members: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = c.get(format!("{base}/api/teams/{name}")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["members"].as_array().is_some_and(|m| m.len() == members)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "team {name} never had {members} members"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub async fn teams(provider: &Provider) {
    let c = reqwest::Client::new();
    let runs: usize = std::env::var("CADRE_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    // 18 × 3 rounds + synthesis.
    let p = Project::new(&provider.base_url);
    let names = p.copy_shipped();
    std::fs::create_dir_all(p.root.join("teams.d")).unwrap();
    std::fs::write(
        p.root.join("teams.d/council.toml"),
        "title = \"All\"\nmembers = [\"*\"]\nmode = \"discussion\"\nrounds = 3\nmoderator = \"numa\"\n",
    )
    .unwrap();
    let web = up_http(&p);
    p.wait_all_ping(names.len(), Duration::from_secs(30)).await;
    wait_team(&c, &web.base, "council", names.len()).await;
    provider.latency_ms.store(200, Ordering::Relaxed);
    let _ = run(&c, &web.base, "council").await; // warm-up
    let (mut walls, mut per_round) = (Vec::new(), vec![Vec::new(); 4]);
    for _ in 0..runs {
        let (took, s) = run(&c, &web.base, "council").await;
        walls.push(took);
        for (i, r) in s["rounds"].as_array().unwrap().iter().enumerate() {
            per_round[i].push(Duration::from_millis(r["elapsed_ms"].as_u64().unwrap()));
        }
    }
    provider.latency_ms.store(0, Ordering::Relaxed);
    println!(
        "teams: discussion of {} × 3 rounds + synthesis, latency 200 ms: whole run {}",
        names.len(),
        summary(walls)
    );
    for (i, r) in per_round.into_iter().enumerate() {
        let what = if i < 3 {
            format!("round {}", i + 1)
        } else {
            "synthesis".into()
        };
        println!("teams:   {what:<9} {}", summary(r));
    }
    drop(web);

    // 1000 members, one broadcast round.
    let p = Project::new(&provider.base_url);
    let names = p.generate(1000);
    std::fs::create_dir_all(p.root.join("teams.d")).unwrap();
    std::fs::write(
        p.root.join("teams.d/everyone.toml"),
        "title = \"Everyone\"\nmembers = [\"*\"]\nmode = \"broadcast\"\n",
    )
    .unwrap();
    let web = up_http(&p);
    p.wait_all_ping(names.len(), Duration::from_secs(120)).await;
    wait_team(&c, &web.base, "everyone", names.len()).await;
    let pid = web.pid();
    let idle = status_kb(pid, "VmRSS:");
    provider.latency_ms.store(200, Ordering::Relaxed);
    let _ = run(&c, &web.base, "everyone").await; // warm-up
    let mut walls = Vec::new();
    let (mut before, mut peak) = (0, 0);
    for _ in 0..runs {
        before = status_kb(pid, "VmRSS:");
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let (took, s) = run(&c, &web.base, "everyone").await;
        assert_eq!(s["rounds"][0]["answered"], 1000, "{s}");
        walls.push(took);
        peak = peak.max(status_kb(pid, "VmHWM:"));
    }
    provider.latency_ms.store(0, Ordering::Relaxed);
    println!(
        "teams: broadcast to {} members, latency 200 ms: {}; daemon RSS {} MB idle before the first round, {} MB before a later one, peak {} MB during",
        names.len(),
        summary(walls),
        idle / 1024,
        before / 1024,
        peak / 1024
    );
}
