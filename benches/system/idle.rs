//! `idle`: what a daemon that has nothing to do costs, per team size
//! (`CADRE_BENCH_N`, default 18 and 1000): `cadre up` with HTTP, every
//! specialist answering ping, then left alone. After it settles (12 s: the
//! start's blocking threads linger 10 s), every thread's `schedstat` is
//! sampled for 30 s (`CADRE_BENCH_IDLE_SECS`); a thread's figures are its
//! last sample, so one that exits mid-window still counts, and one that
//! starts counts from zero. Wake-ups are times a thread was put on a CPU.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Project;
use super::protocols::up_http;

/// (ns on CPU, times scheduled) of each thread of `pid`, by thread id.
fn threads(pid: u32) -> HashMap<String, (u64, u64)> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        let f: Vec<u64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 3 {
            out.insert(t.file_name().to_string_lossy().into_owned(), (f[0], f[2]));
        }
    }
    out
}

pub async fn idle(provider_url: &str, sizes: &[usize]) {
    let secs: u64 = std::env::var("CADRE_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    for &n in sizes {
        let p = Project::new(provider_url);
        p.generate(n);
        let web = up_http(&p);
        p.wait_all_ping(n, Duration::from_secs(120)).await;
        tokio::time::sleep(Duration::from_secs(12)).await;
        let pid = web.pid();
        let start = threads(pid);
        let mut last = start.clone();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            last.extend(threads(pid));
        }
        let took = t.elapsed().as_secs_f64();
        let (mut cpu, mut wakes) = (0u64, 0u64);
        for (tid, (c, w)) in &last {
            let (c0, w0) = start.get(tid).copied().unwrap_or((0, 0));
            cpu += c - c0;
            wakes += w - w0;
        }
        println!(
            "idle: N={n} over {took:.1} s: {:.2} wake-ups/s, {:.3} ms CPU/s ({} threads seen)",
            wakes as f64 / took,
            cpu as f64 / 1e6 / took,
            last.len()
        );
        drop(web);
    }
}
