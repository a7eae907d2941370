//! Rules of accounts and sign-in: what a password must be, which global roles exist, and when
//! failed sign-ins lock an account or a client address for a while.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password that meets the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {PASSWORD_MIN_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {PASSWORD_MAX_CHARS} characters")]
    TooLong,
}

impl Password {
    pub fn parse(text: &str) -> Result<Self, PasswordError> {
        let chars = text.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > PASSWORD_MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(text.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A person's name as shown to others: trimmed, one line, 1 to 200 characters.
pub fn parse_person_name(text: &str) -> Result<String, &'static str> {
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err("the name must not contain control characters");
    }
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err("the name cannot be empty"),
        n if n > 200 => Err("the name must have at most 200 characters"),
        _ => Ok(name),
    }
}

/// Roles held across the whole system. Roles within a fund (manager, reviewer) belong to the fund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobalRole {
    Admin,
}

impl GlobalRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GlobalRole::Admin => "ADMIN",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for GlobalRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ADMIN" => Ok(GlobalRole::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Sign-in attempts against one key (an account or a client address). Each attempt counts before
/// its password is checked; one that proves the password is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// How many failures a key may have within a window before it is locked, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

impl ThrottlePolicy {
    /// Per account: a handful of guesses, then a pause.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };

    /// Per client address: more room, since offices and NAT share one address.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: 20,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };

    /// Identity emails (verification, reset) to one email address.
    pub const MAIL_PER_ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window: Duration::hours(1),
        lockout: Duration::hours(1),
    };

    /// Identity emails asked for by one client address, to any email addresses.
    pub const MAIL_PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: 50,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };

    pub fn is_locked(&self, state: Option<&ThrottleState>, now: DateTime<Utc>) -> bool {
        state
            .and_then(|s| s.locked_until)
            .is_some_and(|until| now < until)
    }

    /// The state after one more attempt at `now` (counted before its password is checked).
    pub fn after_failure(
        &self,
        state: Option<&ThrottleState>,
        now: DateTime<Utc>,
    ) -> ThrottleState {
        let fresh = ThrottleState {
            failures: 0,
            window_started_at: now,
            locked_until: None,
        };
        let current = match state {
            Some(s) if now < s.window_started_at + self.window && !self.lock_expired(s, now) => *s,
            _ => fresh,
        };
        let failures = current.failures + 1;
        ThrottleState {
            failures,
            window_started_at: current.window_started_at,
            locked_until: (failures >= self.max_failures).then(|| now + self.lockout),
        }
    }

    /// The state once an attempt counted by [`Self::after_failure`] proved the password: the
    /// attempt is given back, and a lock it caused is lifted.
    pub fn after_success(&self, state: &ThrottleState) -> ThrottleState {
        let failures = (state.failures - 1).max(0);
        ThrottleState {
            failures,
            window_started_at: state.window_started_at,
            locked_until: state.locked_until.filter(|_| failures >= self.max_failures),
        }
    }

    fn lock_expired(&self, state: &ThrottleState, now: DateTime<Utc>) -> bool {
        state.locked_until.is_some_and(|until| now >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn passwords_have_8_to_128_characters() {
        assert_eq!(
            Password::parse("1234567").unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("12345678").is_ok());
        assert!(
            Password::parse(&"密".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            Password::parse(&"x".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[test]
    fn a_password_never_prints() {
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn names_are_one_trimmed_line() {
        assert_eq!(parse_person_name("  Li \n Wei ").unwrap(), "Li Wei");
        assert!(parse_person_name("   ").is_err());
        assert!(parse_person_name("Li\u{0}Wei").is_err());
    }

    #[test]
    fn the_fifth_failure_locks_the_account() {
        let policy = ThrottlePolicy::ACCOUNT;
        let mut state = None;
        for n in 1..=4 {
            let next = policy.after_failure(state.as_ref(), t0());
            assert_eq!(next.failures, n);
            assert!(!policy.is_locked(Some(&next), t0()));
            state = Some(next);
        }
        let locked = policy.after_failure(state.as_ref(), t0());
        assert!(policy.is_locked(Some(&locked), t0() + Duration::minutes(14)));
        assert!(!policy.is_locked(Some(&locked), t0() + Duration::minutes(15)));
    }

    #[test]
    fn a_successful_attempt_is_given_back_and_lifts_its_lock() {
        let policy = ThrottlePolicy {
            max_failures: 2,
            window: Duration::hours(1),
            lockout: Duration::minutes(5),
        };
        let once = policy.after_failure(None, t0());
        let locked = policy.after_failure(Some(&once), t0());
        assert!(policy.is_locked(Some(&locked), t0()));
        let back = policy.after_success(&locked);
        assert_eq!(back.failures, 1);
        assert!(!policy.is_locked(Some(&back), t0()));
        assert_eq!(
            policy
                .after_success(&ThrottleState {
                    failures: 0,
                    ..back
                })
                .failures,
            0
        );
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let policy = ThrottlePolicy::ACCOUNT;
        let first = policy.after_failure(None, t0());
        let later = policy.after_failure(Some(&first), t0() + Duration::minutes(16));
        assert_eq!(later.failures, 1);
        assert_eq!(later.window_started_at, t0() + Duration::minutes(16));
    }

    #[test]
    fn a_failure_after_the_lock_expired_starts_again() {
        let policy = ThrottlePolicy {
            max_failures: 1,
            window: Duration::hours(1),
            lockout: Duration::minutes(5),
        };
        let locked = policy.after_failure(None, t0());
        assert!(policy.is_locked(Some(&locked), t0()));
        let again = policy.after_failure(Some(&locked), t0() + Duration::minutes(6));
        assert_eq!(again.failures, 1);
    }
}
