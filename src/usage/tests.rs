//! The meter's limits and the ledger's file, without a daemon.

use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::SpecialistName;

fn usage(prompt: u64, completion: u64, estimated: bool) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated,
    }
}

fn limits(rpm: Option<u32>, budget: Option<u64>, concurrent: Option<u32>) -> ChatLimits {
    ChatLimits {
        max_concurrent: concurrent.and_then(NonZeroU32::new),
        requests_per_minute: rpm.and_then(NonZeroU32::new),
        tokens_per_day: budget.and_then(NonZeroU64::new),
    }
}

#[tokio::test]
async fn sixty_per_minute_refuses_the_61st_with_a_wait() {
    let m = Arc::new(Meter::default());
    let l = limits(Some(60), None, None);
    for _ in 0..60 {
        m.admit(&l).await.expect("within the limit");
    }
    let e = m.admit(&l).await.err().expect("the 61st is refused");
    assert!(
        matches!(e, LimitError::RateLimited { limit: 60, .. }),
        "{e:?}"
    );
    let wait = e.retry_after_ms();
    assert!(wait > 0 && wait <= 60_000, "{wait}");
    assert!(e.to_string().contains("requests_per_minute"), "{e}");
}

#[tokio::test]
async fn a_spent_budget_refuses_until_midnight_and_counts_estimates() {
    let m = Arc::new(Meter::default());
    let l = limits(None, Some(100), None);
    let t = m.admit(&l).await.unwrap();
    t.record("p", &usage(60, 30, false));
    drop(t);
    let t = m.admit(&l).await.expect("90 of 100 used: still under");
    t.record("q", &usage(5, 10, true));
    let e = m.admit(&l).await.err().expect("105 of 100");
    assert!(
        matches!(
            e,
            LimitError::BudgetExceeded {
                used: 105,
                limit: 100,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.retry_after_ms() <= 86_400_000);
    let r = m.report();
    assert_eq!(r.total.total(), 105);
    assert_eq!(r.total.estimated_tokens, 15);
    assert_eq!(r.by_provider["p"].prompt_tokens, 60);
    assert_eq!(r.by_provider["q"].estimated_tokens, 15);
    assert_eq!(r.today.total(), 105);
    assert_eq!(r.day, today().to_string());
}

#[tokio::test]
async fn no_limits_admit_everything_at_once() {
    let m = Arc::new(Meter::default());
    let l = ChatLimits::default();
    let tickets: Vec<Ticket> = futures::future::join_all((0..100).map(|_| m.admit(&l)))
        .await
        .into_iter()
        .map(|t| t.unwrap())
        .collect();
    assert_eq!(tickets.len(), 100);
}

#[tokio::test]
async fn max_concurrent_makes_the_third_wait() {
    let m = Arc::new(Meter::default());
    let l = limits(None, None, Some(2));
    let a = m.admit(&l).await.unwrap();
    let _b = m.admit(&l).await.unwrap();
    let third = tokio::time::timeout(Duration::from_millis(100), m.admit(&l)).await;
    assert!(third.is_err(), "a third chat must wait its turn");
    drop(a);
    tokio::time::timeout(Duration::from_secs(5), m.admit(&l))
        .await
        .expect("a turn freed")
        .unwrap();
}

#[tokio::test]
async fn todays_usage_survives_a_new_ledger_and_a_corrupt_file_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let owner = dir.path().join("specialists.d");
    let numa = SpecialistName::parse("numa").unwrap();
    let ledger = Arc::new(Ledger::open(dir.path(), &owner));
    let t = ledger
        .meter(&numa)
        .admit(&ChatLimits::default())
        .await
        .unwrap();
    t.record("local", &usage(7, 3, false));
    ledger.flush().await;
    let path = ledger.path().unwrap().to_path_buf();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let again = Ledger::open(dir.path(), &owner);
    assert_eq!(again.meter(&numa).report().today.total(), 10);
    // Another project in the same state directory has a file of its own.
    let other = Ledger::open(dir.path(), &dir.path().join("elsewhere"));
    assert_eq!(other.meter(&numa).report().today.total(), 0);

    std::fs::write(&path, b"{ not json").unwrap();
    let damaged = Ledger::open(dir.path(), &owner);
    assert_eq!(damaged.meter(&numa).report().today.total(), 0);
    assert!(!path.exists(), "the damaged file is moved aside");
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
    assert!(aside);
}

#[tokio::test]
async fn an_earlier_days_file_counts_nothing_today() {
    let dir = tempfile::tempdir().unwrap();
    let owner = dir.path().join("specialists.d");
    let ledger = Ledger::open(dir.path(), &owner);
    let path = ledger.path().unwrap().to_path_buf();
    let old = format!(
        r#"{{"version":1,"owner":{:?},"day":"2001-01-01","specialists":{{"numa":{{"prompt_tokens":999}}}}}}"#,
        owner
    );
    std::fs::write(&path, old).unwrap();
    let ledger = Ledger::open(dir.path(), &owner);
    let numa = SpecialistName::parse("numa").unwrap();
    assert_eq!(ledger.meter(&numa).report().today.total(), 0);
}
