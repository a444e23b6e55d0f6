//! `idle`: what a daemon that has nothing to do costs, per team size
//! (`CADRE_BENCH_N`, default 18 and 1000): `cadre up` with HTTP, every
//! specialist answering ping, then left alone. After it settles (12 s: the
//! start's blocking threads linger 10 s), every thread's `schedstat` is
//! sampled for 30 s (`CADRE_BENCH_IDLE_SECS`); a thread's figures are its
//! last sample, so one that exits mid-window still counts, and one that
//! starts counts from zero. Wake-ups are times a thread was put on a CPU.
//! With `CADRE_BENCH_BIN_B` (see `edge`) both builds' daemons are up at once
//! and measured over the same window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Project;
use super::edge::{builds, sub_range};
use super::protocols::up_http_with;

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

/// CPU and wake-ups of `pid` from `start` to `last` (per thread, so threads
/// that came or went in between count for what they did).
fn spent(start: &HashMap<String, (u64, u64)>, last: &HashMap<String, (u64, u64)>) -> (u64, u64) {
    let (mut cpu, mut wakes) = (0u64, 0u64);
    for (tid, (c, w)) in last {
        let (c0, w0) = start.get(tid).copied().unwrap_or((0, 0));
        cpu += c - c0;
        wakes += w - w0;
    }
    (cpu, wakes)
}

pub async fn idle(provider_url: &str, sizes: &[usize]) {
    let secs: u64 = std::env::var("CADRE_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let builds = builds();
    for &n in sizes {
        // Every build's daemon up at once, measured over the same window.
        let mut ups = Vec::new();
        for (i, (label, bin)) in builds.iter().enumerate() {
            let p = Project::with_range(provider_url, sub_range(i, builds.len()));
            p.generate(n);
            let web = up_http_with(&p, bin);
            p.wait_all_ping(n, Duration::from_secs(180)).await;
            ups.push((label, web, p));
        }
        tokio::time::sleep(Duration::from_secs(12)).await;
        let pids: Vec<u32> = ups.iter().map(|(_, w, _)| w.pid()).collect();
        let start: Vec<_> = pids.iter().map(|p| threads(*p)).collect();
        let mut last = start.clone();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for (l, p) in last.iter_mut().zip(&pids) {
                l.extend(threads(*p));
            }
        }
        let took = t.elapsed().as_secs_f64();
        for (i, (label, _, _)) in ups.iter().enumerate() {
            let (cpu, wakes) = spent(&start[i], &last[i]);
            println!(
                "idle: {label} N={n} over {took:.1} s: {:.2} wake-ups/s, {:.3} ms CPU/s ({} threads seen)",
                wakes as f64 / took,
                cpu as f64 / 1e6 / took,
                last[i].len()
            );
            for (tid, (c, w)) in &last[i] {
                let (c0, w0) = start[i].get(tid).copied().unwrap_or((0, 0));
                let comm = std::fs::read_to_string(format!("/proc/{}/task/{tid}/comm", pids[i]))
                    .unwrap_or_else(|_| "(gone)".into());
                println!(
                    "idle:   {label} thread {tid} {}: {:.2} wake-ups/s, {:.3} ms CPU/s",
                    comm.trim(),
                    (w - w0) as f64 / took,
                    (c - c0) as f64 / 1e6 / took
                );
            }
        }
    }
}
