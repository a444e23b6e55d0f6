//! When to retry a failed attempt and how long to wait first.
//!
//! Retries happen only before the first token reached the client: after that
//! a retry would send the client a second, different answer.

use std::time::Duration;

use rand::Rng;

/// First backoff step; doubled per attempt.
pub const BASE_DELAY: Duration = Duration::from_millis(200);
/// Largest computed backoff step.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
/// Longest `Retry-After` honoured; a provider asking for more gets the error instead.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// Whether an HTTP status is worth another attempt (rate limits, overload, server errors).
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status == 529 || (500..=599).contains(&status)
}

/// Delay before retry number `attempt` (0-based): jittered exponential backoff,
/// or the provider's `Retry-After` when it gave one (capped). `None` means do not
/// retry because the provider asked for a wait beyond the cap.
pub fn delay(attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
    if let Some(ra) = retry_after {
        return (ra <= RETRY_AFTER_CAP).then_some(ra);
    }
    let exp = BASE_DELAY.saturating_mul(1u32 << attempt.min(16));
    let step = exp.min(MAX_DELAY);
    // Jitter in [step/2, step]: spreads retries of many specialists hitting one
    // provider, while keeping a lower bound so a struggling server gets a pause.
    let half = step / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    Some(half + Duration::from_millis(jitter))
}

/// Parse `Retry-After` in its delta-seconds form (possibly fractional, as some
/// servers send). The HTTP-date form is rare from model APIs and is ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [429, 500, 502, 503, 529] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 404, 422] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_inside_bounds() {
        for attempt in 0..6 {
            let step = BASE_DELAY.saturating_mul(1 << attempt).min(MAX_DELAY);
            for _ in 0..50 {
                let d = delay(attempt, None).unwrap();
                assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        assert_eq!(
            delay(3, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            delay(0, Some(RETRY_AFTER_CAP + Duration::from_secs(1))),
            None
        );
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
