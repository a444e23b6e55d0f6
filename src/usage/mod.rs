//! Token usage and the limits on it (`[limits]`), per specialist.
//!
//! Every chat, whichever way it came (socket, HTTP, a team round, a
//! consultation), passes one [`Meter`]: [`Meter::admit`] applies the limits
//! before the provider is asked, and the [`Ticket`] it returns records what
//! the chat cost. Limits are read from the spec at each admission, so a
//! reload of `[limits]` applies to the next chat; the meter itself is kept by
//! name across reloads and restarts ([`Ledger::meter`]), and today's usage
//! is kept in the state directory so a budget survives a restart of `up`.
//!
//! - `tokens_per_day`: a chat is refused (`budget_exceeded`) once today's
//!   tokens reached the budget; a chat that starts under it finishes even if
//!   it crosses it. The day is the UTC calendar day.
//! - `requests_per_minute`: at most that many chats accepted in any 60 s;
//!   the next is refused (`rate_limited`, with `retry_after_ms`).
//! - `max_concurrent`: chats beyond it wait, first come first served (a
//!   client that leaves gives up its place; a drain ends the wait).

mod estimate;
mod gate;
pub mod ledger;
mod window;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::ChatLimits;
use crate::conversation::Usage;

pub use estimate::{CHARS_PER_TOKEN, estimate};
pub use ledger::Ledger;
pub use window::MINUTE;

/// Tokens counted: what the provider reported, plus estimates where it
/// reported none (`estimated_tokens` says how many of the total those are).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub estimated_tokens: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    fn add(&mut self, u: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(u.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(u.completion_tokens);
        if u.estimated {
            let n = u.prompt_tokens.saturating_add(u.completion_tokens);
            self.estimated_tokens = self.estimated_tokens.saturating_add(n);
        }
    }
}

/// A specialist's usage as `info`, `status --json`, the API and the pages show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Since this daemon started.
    #[serde(flatten)]
    pub total: TokenUsage,
    /// The same, per provider name.
    #[serde(default)]
    pub by_provider: BTreeMap<String, TokenUsage>,
    /// Today (UTC), kept across restarts: what `tokens_per_day` counts.
    pub today: TokenUsage,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
}

/// Why a chat was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "over the limit of {limit} chats per minute ([limits] requests_per_minute); retry in {}",
        human(*retry_after)
    )]
    RateLimited { limit: u32, retry_after: Duration },
    #[error(
        "today's budget of {limit} tokens ([limits] tokens_per_day) is used up ({used} tokens); \
         it resets at midnight UTC, in {}",
        human(*retry_after)
    )]
    BudgetExceeded {
        used: u64,
        limit: u64,
        retry_after: Duration,
    },
}

impl LimitError {
    /// When a retry can succeed, in ms, rounded up.
    pub fn retry_after_ms(&self) -> u64 {
        let d = match self {
            LimitError::RateLimited { retry_after, .. }
            | LimitError::BudgetExceeded { retry_after, .. } => *retry_after,
        };
        u64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
    }
}

fn human(d: Duration) -> String {
    // Whole tenths of a second: "12.3s", "5h 2m 1s".
    let d = Duration::from_millis(d.as_millis().div_ceil(100) as u64 * 100);
    humantime::format_duration(d).to_string()
}

/// One specialist's counters and limiter state.
pub struct Meter {
    total: Totals,
    by_provider: Mutex<BTreeMap<String, TokenUsage>>,
    today: Mutex<Today>,
    window: Mutex<window::Window>,
    gate: Arc<gate::Gate>,
    /// Told when today's usage changed, so the ledger writes it (`None`: not kept).
    dirty: Option<Arc<Notify>>,
}

#[derive(Default)]
struct Totals {
    prompt: AtomicU64,
    completion: AtomicU64,
    estimated: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Today {
    day: time::Date,
    usage: TokenUsage,
}

impl Today {
    /// Today's usage as of `now`: zero once the day has turned.
    fn current(&mut self, now: time::Date) -> &mut TokenUsage {
        if self.day != now {
            *self = Today {
                day: now,
                usage: TokenUsage::default(),
            };
        }
        &mut self.usage
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Today's date, UTC.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// Until the next midnight UTC.
fn until_midnight() -> Duration {
    let now = time::OffsetDateTime::now_utc();
    let next = now.date().next_day().map(|d| d.midnight().assume_utc());
    next.map_or(Duration::from_secs(86_400), |n| {
        Duration::try_from(n - now).unwrap_or_default()
    })
}

impl Default for Meter {
    fn default() -> Self {
        Meter::new(TokenUsage::default(), None)
    }
}

impl Meter {
    /// A meter whose day starts at `today` tokens; `dirty` is told of changes.
    pub(crate) fn new(today_usage: TokenUsage, dirty: Option<Arc<Notify>>) -> Meter {
        Meter {
            total: Totals::default(),
            by_provider: Mutex::default(),
            today: Mutex::new(Today {
                day: today(),
                usage: today_usage,
            }),
            window: Mutex::default(),
            gate: Arc::default(),
            dirty,
        }
    }

    /// Apply `limits` to one chat: refuse it, or return its ticket (after
    /// waiting for a turn under `max_concurrent`). Cancel-safe.
    pub async fn admit(self: &Arc<Self>, limits: &ChatLimits) -> Result<Ticket, LimitError> {
        if let Some(limit) = limits.tokens_per_day {
            let used = lock(&self.today).current(today()).total();
            if used >= limit.get() {
                return Err(LimitError::BudgetExceeded {
                    used,
                    limit: limit.get(),
                    retry_after: until_midnight(),
                });
            }
        }
        if let Some(limit) = limits.requests_per_minute {
            lock(&self.window)
                .take(Instant::now(), limit.get())
                .map_err(|retry_after| LimitError::RateLimited {
                    limit: limit.get(),
                    retry_after,
                })?;
        }
        let turn = match limits.max_concurrent {
            Some(max) => Some(self.gate.enter(max.get()).await),
            None => None,
        };
        Ok(Ticket {
            meter: self.clone(),
            _turn: turn,
        })
    }

    fn record(&self, provider: &str, usage: &Usage) {
        let t = &self.total;
        t.prompt.fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        t.completion
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
        if usage.estimated {
            let n = usage.prompt_tokens.saturating_add(usage.completion_tokens);
            t.estimated.fetch_add(n, Ordering::Relaxed);
        }
        let mut by = lock(&self.by_provider);
        match by.get_mut(provider) {
            Some(u) => u.add(usage),
            // Only a provider's first chat allocates its key.
            None => by.entry(provider.to_owned()).or_default().add(usage),
        }
        drop(by);
        lock(&self.today).current(today()).add(usage);
        if let Some(d) = &self.dirty {
            d.notify_one();
        }
    }

    /// Today's usage and its day, for the ledger.
    pub(crate) fn today_usage(&self) -> (time::Date, TokenUsage) {
        let mut t = lock(&self.today);
        let usage = *t.current(today());
        (t.day, usage)
    }

    pub fn report(&self) -> UsageReport {
        let t = &self.total;
        let (day, today) = self.today_usage();
        UsageReport {
            total: TokenUsage {
                prompt_tokens: t.prompt.load(Ordering::Relaxed),
                completion_tokens: t.completion.load(Ordering::Relaxed),
                estimated_tokens: t.estimated.load(Ordering::Relaxed),
            },
            by_provider: lock(&self.by_provider).clone(),
            today,
            day: day.to_string(),
        }
    }
}

/// An admitted chat. Holds its `max_concurrent` turn until dropped.
pub struct Ticket {
    meter: Arc<Meter>,
    _turn: Option<gate::Turn>,
}

impl Ticket {
    /// What the chat cost, on `provider`.
    pub fn record(&self, provider: &str, usage: &Usage) {
        self.meter.record(provider, usage);
    }
}

#[cfg(test)]
mod tests;
