//! The life of an outgoing message: its statuses and the retry policy. Pure, so the worker's
//! decisions are tested without a mail server.
//!
//! `PENDING → SENDING → SENT`; a failed attempt goes `SENDING → FAILED` (retried later) or
//! `SENDING → DEAD` (given up); an admin may put a `FAILED` or `DEAD` message back to `PENDING`.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Dead,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 5] = [
        EmailStatus::Pending,
        EmailStatus::Sending,
        EmailStatus::Sent,
        EmailStatus::Failed,
        EmailStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "PENDING",
            EmailStatus::Sending => "SENDING",
            EmailStatus::Sent => "SENT",
            EmailStatus::Failed => "FAILED",
            EmailStatus::Dead => "DEAD",
        }
    }

    /// Whether an admin may ask for another attempt.
    pub fn can_retry(self) -> bool {
        matches!(self, EmailStatus::Failed | EmailStatus::Dead)
    }
}

impl fmt::Display for EmailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown email status `{0}`")]
pub struct UnknownEmailStatus(pub String);

impl FromStr for EmailStatus {
    type Err = UnknownEmailStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownEmailStatus(s.to_owned()))
    }
}

/// What happens after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this delay.
    RetryIn(Duration),
    /// Attempts are used up.
    GiveUp,
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further one.
    pub base: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: i32,
}

impl RetryPolicy {
    /// Decides after attempt number `attempts` (1 for the first) failed. `jitter` is a number in
    /// `[0, 1)`: it adds up to a quarter of the delay, so senders that failed together do not all
    /// retry at the same instant.
    pub fn after_failure(&self, attempts: i32, jitter: f64) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let exponent = (attempts.max(1) - 1).min(30) as u32;
        let base_ms = self.base.num_milliseconds().max(1);
        let delay_ms = base_ms
            .saturating_mul(1_i64 << exponent)
            .min(self.max_delay.num_milliseconds());
        let jitter_ms = (delay_ms as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as i64;
        AfterFailure::RetryIn(Duration::milliseconds(delay_ms + jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::seconds(30),
            max_delay: Duration::hours(6),
            max_attempts: 5,
        }
    }

    #[test]
    fn delays_double_after_each_failure() {
        let delays: Vec<_> = (1..=4)
            .map(|attempt| policy().after_failure(attempt, 0.0))
            .collect();
        assert_eq!(
            delays,
            [30, 60, 120, 240].map(|s| AfterFailure::RetryIn(Duration::seconds(s)))
        );
    }

    #[test]
    fn the_last_attempt_gives_up() {
        assert_eq!(policy().after_failure(5, 0.0), AfterFailure::GiveUp);
        assert_eq!(policy().after_failure(9, 0.5), AfterFailure::GiveUp);
    }

    #[test]
    fn jitter_adds_at_most_a_quarter() {
        let AfterFailure::RetryIn(delay) = policy().after_failure(1, 0.999) else {
            panic!("retries");
        };
        assert!(delay > Duration::seconds(30) && delay < Duration::milliseconds(37_500));
    }

    #[test]
    fn delays_are_capped() {
        let policy = RetryPolicy {
            max_attempts: 100,
            ..policy()
        };
        assert_eq!(
            policy.after_failure(60, 0.0),
            AfterFailure::RetryIn(Duration::hours(6))
        );
    }

    #[test]
    fn statuses_round_trip_and_only_failures_can_be_retried() {
        for status in EmailStatus::ALL {
            assert_eq!(status.as_str().parse::<EmailStatus>().unwrap(), status);
        }
        let retryable: Vec<_> = EmailStatus::ALL
            .into_iter()
            .filter(|s| s.can_retry())
            .collect();
        assert_eq!(retryable, [EmailStatus::Failed, EmailStatus::Dead]);
    }
}
