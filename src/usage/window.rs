//! `requests_per_minute`: the chats accepted in the last 60 s, exactly (a
//! sliding log, not a bucket that refills: with 60 per minute the 61st chat
//! within any 60 s is refused, however the 60 were spread).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window's length.
pub const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(super) struct Window {
    accepted: VecDeque<Instant>,
}

impl Window {
    /// Accept a chat at `now` if fewer than `limit` were accepted in the last
    /// minute; else how long until one more would be.
    pub(super) fn take(&mut self, now: Instant, limit: u32) -> Result<(), Duration> {
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= MINUTE)
        {
            self.accepted.pop_front();
        }
        let limit = limit as usize;
        if self.accepted.len() < limit {
            self.accepted.push_back(now);
            return Ok(());
        }
        // Room comes when all but `limit - 1` of these are a minute old.
        let frees = self.accepted[self.accepted.len() - limit];
        Err((frees + MINUTE).saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_61st_within_a_minute_waits_for_the_first_to_age() {
        let t0 = Instant::now();
        let mut w = Window::default();
        for i in 0..60 {
            w.take(t0 + Duration::from_millis(i * 500), 60).unwrap();
        }
        let now = t0 + Duration::from_secs(40);
        assert_eq!(w.take(now, 60), Err(Duration::from_secs(20)));
        // The first aged out: one more fits, then none again.
        let later = t0 + MINUTE;
        assert_eq!(w.take(later, 60), Ok(()));
        assert_eq!(
            w.take(later, 60),
            Err(Duration::from_millis(500)),
            "the second-oldest ages next"
        );
    }

    #[test]
    fn a_lowered_limit_counts_what_is_already_in() {
        let t0 = Instant::now();
        let mut w = Window::default();
        for i in 0..10 {
            w.take(t0 + Duration::from_secs(i), 10).unwrap();
        }
        let now = t0 + Duration::from_secs(10);
        // With 2 allowed, room comes when all but one are a minute old: the 9th.
        assert_eq!(w.take(now, 2), Err(Duration::from_secs(58)));
    }
}
