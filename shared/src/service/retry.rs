//! The one retry-on-conflict loop. Every write is conditional on what it read; one that loses a
//! race to another writer reads again and retries, a bounded number of times.

use std::future::Future;

use super::error::Error;

/// Attempts of a conditional write when the client sent no precondition (with one, a lost race
/// is the client's 412, decided by the attempt itself).
pub const WRITE_ATTEMPTS: usize = 5;

/// Runs `attempt` again while it loses a race (`Error::is_lost_race`), at most `times` times;
/// then answers `Error::Busy(busy)`. Any other outcome is returned as it is.
pub async fn on_conflict<T, F, Fut>(times: usize, busy: &str, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    for _ in 0..times {
        match attempt().await {
            Err(e) if e.is_lost_race() => continue,
            other => return other,
        }
    }
    Err(Error::Busy(busy.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StoreError;
    use std::cell::Cell;

    #[tokio::test]
    async fn retries_lost_races_then_gives_up() {
        let calls = Cell::new(0);
        let out: Result<(), Error> = on_conflict(3, "busy", || {
            calls.set(calls.get() + 1);
            async { Err(Error::Store(StoreError::Conflict)) }
        })
        .await;
        assert_eq!(out, Err(Error::Busy("busy".into())));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn other_outcomes_end_the_loop() {
        let calls = Cell::new(0);
        let out = on_conflict(5, "busy", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 2 {
                    Err(Error::Store(StoreError::Conflict))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(out, Ok(2));
        let out: Result<(), Error> =
            on_conflict(5, "busy", || async { Err(Error::Forbidden("no".into())) }).await;
        assert_eq!(out, Err(Error::Forbidden("no".into())));
    }
}
