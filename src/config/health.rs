//! `[health]`: the component health check as declared, and resolved: defaults
//! filled in, and the values checked where a mistake would otherwise only show
//! much later (a url the monitor can never poll, an interval that would hammer the component).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Health check of the component a specialist serves: cadre polls `url` and
/// shows the answer in `status`, the socket `health` reply, the pages and
/// `/metrics`. A component that is down never stops the specialist answering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// HTTP(S) url of the component's health endpoint; a 2xx answer is up. Absent means no checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How often the url is polled (default "10s", at least "1s").
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub interval: Option<Duration>,
    /// How long one probe may take before the component counts as down (default "2s", at most `interval`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// A 2xx answer slower than this shows the component as `slow` (default: half of `timeout`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub slow: Option<Duration>,
}

/// How often a component is polled when `[health] interval` is not set.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// How long a probe may take when `[health] timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The shortest interval accepted: a health endpoint is not a load test.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// A component health check as the monitor runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// A 2xx answer slower than this is `slow`.
    pub slow: Duration,
}

impl Health {
    /// The check to run; `None` without a url (the Hermes case).
    pub fn check(&self) -> Option<HealthCheck> {
        let url = self.url.clone()?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        Some(HealthCheck {
            url,
            interval: self.interval.unwrap_or(DEFAULT_INTERVAL),
            timeout,
            slow: self.slow.unwrap_or(timeout / 2),
        })
    }

    /// What is wrong with the values: `(key, message)`, keys dotted from the
    /// file's top (`health.url`).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(url) = &self.url
            && let Err(why) = pollable(url)
        {
            out.push(("health.url", why));
        }
        let Some(check) = self.check().or_else(|| {
            // Without a url the durations are unused, but still checked.
            Health {
                url: Some(String::new()),
                ..self.clone()
            }
            .check()
        }) else {
            return out;
        };
        let show = |d: Duration| humantime::format_duration(d).to_string();
        if check.interval < MIN_INTERVAL {
            out.push((
                "health.interval",
                format!(
                    "`interval` {} is too short: at least {}",
                    show(check.interval),
                    show(MIN_INTERVAL)
                ),
            ));
        }
        if check.timeout.is_zero() || check.timeout > check.interval {
            out.push((
                "health.timeout",
                format!(
                    "`timeout` {} must be more than 0s and at most `interval` ({})",
                    show(check.timeout),
                    show(check.interval)
                ),
            ));
        }
        if self.slow.is_some() && check.slow >= check.timeout {
            out.push((
                "health.slow",
                format!(
                    "`slow` {} must be less than `timeout` ({})",
                    show(check.slow),
                    show(check.timeout)
                ),
            ));
        }
        out
    }
}

/// An absolute http or https url with a host.
fn pollable(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("`url` {url:?} is not a url: {e} (expected http://HOST:PORT/PATH)"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "`url` {url:?} must be http or https, not `{}`",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`url` {url:?} has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(url: Option<&str>, interval: u64, timeout_ms: Option<u64>) -> Health {
        Health {
            url: url.map(str::to_owned),
            interval: Some(Duration::from_secs(interval)),
            timeout: timeout_ms.map(Duration::from_millis),
            slow: None,
        }
    }

    #[test]
    fn defaults_and_slow_is_half_the_timeout() {
        let c = Health {
            url: Some("http://127.0.0.1:8000/health".into()),
            ..Health::default()
        }
        .check()
        .unwrap();
        assert_eq!(
            (c.interval, c.timeout, c.slow),
            (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Duration::from_secs(1))
        );
        assert!(Health::default().check().is_none());
    }

    #[test]
    fn problems_name_their_key() {
        let keys = |h: Health| h.problems().into_iter().map(|p| p.0).collect::<Vec<_>>();
        assert!(keys(h(Some("http://127.0.0.1:1/h"), 10, None)).is_empty());
        assert!(keys(h(Some("https://x.example/h"), 10, None)).is_empty());
        assert_eq!(keys(h(Some("ftp://x/h"), 10, None)), ["health.url"]);
        assert_eq!(keys(h(Some("not a url"), 10, None)), ["health.url"]);
        assert_eq!(keys(h(Some("http://u:p@/x"), 10, None)), ["health.url"]);
        assert_eq!(
            keys(h(Some("http://h/x"), 0, Some(0))),
            ["health.interval", "health.timeout"]
        );
        assert_eq!(keys(h(None, 5, Some(6000))), ["health.timeout"]);
        let mut slow = h(Some("http://h/x"), 10, Some(1000));
        slow.slow = Some(Duration::from_secs(1));
        assert_eq!(keys(slow), ["health.slow"]);
    }
}
