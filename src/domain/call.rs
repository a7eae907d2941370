//! A call for proposals is where a fund meets applicants, so its rules decide who may apply and
//! when: this module holds the call's state machine, its submission window, its review rubric and
//! its award bounds, so that services only load, ask here, and write with a conditional update.
//!
//! `DRAFT → OPEN → CLOSED → DECIDED → ARCHIVED`; a `DRAFT` abandoned before opening may also be
//! archived directly.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// Being prepared by its managers; invisible to applicants.
    Draft,
    /// Accepting applications.
    Open,
    /// No longer accepting applications; under review.
    Closed,
    /// Every application has its decision.
    Decided,
    /// Kept for the record only.
    Archived,
}

/// Why a stored call status was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a call status (DRAFT, OPEN, CLOSED, DECIDED, ARCHIVED)")]
pub struct UnknownCallStatus(pub String);

impl CallStatus {
    /// Every status, in life order.
    pub const ALL: [CallStatus; 5] = [
        Self::Draft,
        Self::Open,
        Self::Closed,
        Self::Decided,
        Self::Archived,
    ];

    /// The stable name used in the API and the database, such as `DRAFT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
            Self::Decided => "DECIDED",
            Self::Archived => "ARCHIVED",
        }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallStatus {
    type Err = UnknownCallStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownCallStatus(s.to_owned()))
    }
}

/// Something that moves a call on, done by a manager or by the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallEvent {
    /// Start accepting applications.
    Open,
    /// Stop accepting applications.
    Close,
    /// Record that every application has its decision.
    Decide,
    /// Put the call away.
    Archive,
}

impl CallEvent {
    /// Every event.
    pub const ALL: [CallEvent; 4] = [Self::Open, Self::Close, Self::Decide, Self::Archive];

    /// The stable name, such as `OPEN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Close => "CLOSE",
            Self::Decide => "DECIDE",
            Self::Archive => "ARCHIVE",
        }
    }

    /// The verb in an English sentence, such as `open`.
    fn verb(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::Decide => "decide",
            Self::Archive => "archive",
        }
    }
}

impl fmt::Display for CallEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event that the call's current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a call that is {from}", .event.verb())]
pub struct CallTransitionError {
    /// The status the call was in.
    pub from: CallStatus,
    /// The event that was refused.
    pub event: CallEvent,
}

/// The status a call moves to when `event` happens in status `from`.
///
/// Only a `DRAFT` or a `DECIDED` call may be archived: archiving an open or closed call would
/// strand its applications without a decision.
pub fn transition(from: CallStatus, event: CallEvent) -> Result<CallStatus, CallTransitionError> {
    use CallEvent as E;
    use CallStatus as S;
    match (from, event) {
        (S::Draft, E::Open) => Ok(S::Open),
        (S::Open, E::Close) => Ok(S::Closed),
        (S::Closed, E::Decide) => Ok(S::Decided),
        (S::Draft | S::Decided, E::Archive) => Ok(S::Archived),
        _ => Err(CallTransitionError { from, event }),
    }
}

/// Whether the call's rubric and eligibility rules may still change: only before it opens, so
/// every applicant is judged by the rules that were published when they applied.
pub fn can_edit_rubric_and_rules(status: CallStatus) -> bool {
    status == CallStatus::Draft
}

/// When a call accepts applications: from `opens_at` (included) to `closes_at` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallSchedule {
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

/// Why a schedule or a change of closing time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallScheduleError {
    /// The window would be empty or reversed.
    #[error(
        "a call must close after it opens: it opens at {opens_at} and would close at {closes_at}"
    )]
    ClosesBeforeOpening {
        /// The opening time.
        opens_at: DateTime<Utc>,
        /// The refused closing time.
        closes_at: DateTime<Utc>,
    },
    /// An open call's deadline would move earlier, cutting short applicants who planned on it.
    #[error(
        "an open call's closing time can only move later: it closes at {current}, not {requested}"
    )]
    ClosingMovedEarlier {
        /// The closing time applicants were promised.
        current: DateTime<Utc>,
        /// The refused closing time.
        requested: DateTime<Utc>,
    },
    /// An open call's new deadline would already have passed.
    #[error(
        "an open call's new closing time must be in the future: {requested} is not after {now}"
    )]
    ClosingInThePast {
        /// The refused closing time.
        requested: DateTime<Utc>,
        /// The time of the request.
        now: DateTime<Utc>,
    },
    /// A date no call could sensibly have: a window longer than [`MAX_CALL_WINDOW`], a time
    /// outside the years 2000 to 9999, or a closing time past [`CALL_HORIZON`] from now.
    #[error(
        "a call's dates must lie between the years 2000 and 9999, its window last at most ten years, and its closing time be at most ten years ahead"
    )]
    OutOfBounds,
    /// The call no longer accepts applications, so its window is history.
    #[error("the closing time of a call that is {status} cannot change")]
    ScheduleFrozen {
        /// The call's status.
        status: CallStatus,
    },
}

/// The longest a call may accept applications: ten years (of 365.25 days).
pub const MAX_CALL_WINDOW: Duration = Duration::days(3653);

/// How far ahead of now a call's closing time may be set: ten years. A deadline further out is
/// a typo (a year 10000), and would keep budget committed to nothing.
pub const CALL_HORIZON: Duration = Duration::days(3653);

impl CallSchedule {
    /// A window from `opens_at` to `closes_at`; refuses one that closes at or before it opens,
    /// that lasts longer than [`MAX_CALL_WINDOW`], or that lies outside the years 2000 to 9999
    /// (four-digit years, as RFC 3339 and every client can write them).
    pub fn new(
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    ) -> Result<CallSchedule, CallScheduleError> {
        if closes_at <= opens_at {
            return Err(CallScheduleError::ClosesBeforeOpening {
                opens_at,
                closes_at,
            });
        }
        let sensible_year = |t: DateTime<Utc>| (2000..=9999).contains(&t.year());
        if !sensible_year(opens_at)
            || !sensible_year(closes_at)
            || closes_at - opens_at > MAX_CALL_WINDOW
        {
            return Err(CallScheduleError::OutOfBounds);
        }
        Ok(CallSchedule {
            opens_at,
            closes_at,
        })
    }

    /// Refuses a schedule that closes more than [`CALL_HORIZON`] after `now`: for a call being
    /// created or moved, not for one read back from storage.
    pub fn check_horizon(&self, now: DateTime<Utc>) -> Result<(), CallScheduleError> {
        if self.closes_at > now + CALL_HORIZON {
            Err(CallScheduleError::OutOfBounds)
        } else {
            Ok(())
        }
    }

    /// When the call starts accepting applications.
    pub fn opens_at(&self) -> DateTime<Utc> {
        self.opens_at
    }

    /// When the call stops accepting applications; an application at exactly this instant is late.
    pub fn closes_at(&self) -> DateTime<Utc> {
        self.closes_at
    }

    /// Whether `now` falls inside the window.
    ///
    /// This is the clock's view only; the caller also checks that the call is `OPEN`, since a
    /// manager may close a call early or the automatic close may not have run yet.
    pub fn is_accepting_submissions(&self, now: DateTime<Utc>) -> bool {
        self.opens_at <= now && now < self.closes_at
    }
}

/// The event the clock should apply to a call at `now`, if any.
///
/// `published` means a manager has approved the call for opening; an unpublished draft never
/// opens by itself. A published draft opens once its window has started, but not once it has
/// ended: opening a call that is already past its deadline would only close it again, so its
/// managers must move the closing time first. An open call closes at its closing time.
pub fn automatic_transition(
    status: CallStatus,
    schedule: &CallSchedule,
    published: bool,
    now: DateTime<Utc>,
) -> Option<CallEvent> {
    match status {
        CallStatus::Draft if published && schedule.is_accepting_submissions(now) => {
            Some(CallEvent::Open)
        }
        CallStatus::Open if now >= schedule.closes_at => Some(CallEvent::Close),
        _ => None,
    }
}

/// The schedule after moving the closing time to `new_closes_at` at `now`.
///
/// In `DRAFT` any valid window is allowed. While `OPEN`, applicants may be planning on the
/// published deadline, so it may only be extended, and to a time still in the future. Once the
/// call is `CLOSED` or later the window cannot change.
pub fn change_closing_time(
    status: CallStatus,
    current: &CallSchedule,
    new_closes_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<CallSchedule, CallScheduleError> {
    if new_closes_at > now + CALL_HORIZON && matches!(status, CallStatus::Draft | CallStatus::Open)
    {
        return Err(CallScheduleError::OutOfBounds);
    }
    match status {
        CallStatus::Draft => CallSchedule::new(current.opens_at, new_closes_at),
        CallStatus::Open => {
            if new_closes_at < current.closes_at {
                Err(CallScheduleError::ClosingMovedEarlier {
                    current: current.closes_at,
                    requested: new_closes_at,
                })
            } else if new_closes_at <= now {
                Err(CallScheduleError::ClosingInThePast {
                    requested: new_closes_at,
                    now,
                })
            } else {
                CallSchedule::new(current.opens_at, new_closes_at)
            }
        }
        CallStatus::Closed | CallStatus::Decided | CallStatus::Archived => {
            Err(CallScheduleError::ScheduleFrozen { status })
        }
    }
}

/// What a manager's `closeCall` does to a call at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    /// The status after closing.
    pub to: CallStatus,
    /// The window after closing: cut short to `now` when the call closes early.
    pub schedule: CallSchedule,
    /// Whether the call closed before its announced closing time.
    pub early: bool,
}

/// Closes an open call at `now`, by a manager.
///
/// A manager may stop a call before its announced closing time (the budget is spoken for, the
/// call was a mistake): its closing time then becomes `now`, so the record says when it really
/// stopped accepting applications. At or after the announced time the window stays as it was.
/// The window never becomes empty: a call closed in the very instant it opened closes one
/// microsecond after it opened.
pub fn close_by_manager(
    status: CallStatus,
    schedule: &CallSchedule,
    now: DateTime<Utc>,
) -> Result<Closing, CallTransitionError> {
    let to = transition(status, CallEvent::Close)?;
    let early = now < schedule.closes_at;
    let schedule = if early {
        let closes_at = now.max(schedule.opens_at + chrono::Duration::microseconds(1));
        CallSchedule {
            opens_at: schedule.opens_at,
            closes_at,
        }
    } else {
        *schedule
    };
    Ok(Closing {
        to,
        schedule,
        early,
    })
}

/// The most criteria a rubric may have; more cannot be scored with care.
pub const MAX_CRITERIA: usize = 20;
/// The longest criterion key, in characters.
pub const MAX_CRITERION_KEY_CHARS: usize = 40;
/// The largest weight and the largest maximum score of a criterion.
pub const MAX_WEIGHT_OR_SCORE: u32 = 100;
/// A full score in basis points: 10000 is 100.00 out of 100.
pub const FULL_SCORE_BASIS_POINTS: u32 = 10_000;

/// One thing reviewers score, such as relevance or feasibility.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Criterion {
    /// Stable identifier within the rubric: lowercase ASCII letters, digits and `_`, 1 to 40
    /// characters, such as `feasibility`.
    pub key: String,
    /// The name shown to English readers.
    pub name_en: String,
    /// The name shown to Chinese readers, when the managers wrote one.
    pub name_zh: Option<String>,
    /// Guidance for reviewers.
    pub description: Option<String>,
    /// How much the criterion counts, 1 to 100, relative to the others.
    pub weight: u32,
    /// The highest score a reviewer may give, 1 to 100; the lowest is 0.
    pub max_score: u32,
}

/// The criteria of a call's review: 1 to 20 of them, with unique keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<Criterion>", into = "Vec<Criterion>")]
pub struct Rubric {
    criteria: Vec<Criterion>,
}

/// Why a rubric was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RubricError {
    /// No criteria at all.
    #[error("a rubric needs at least one criterion")]
    NoCriteria,
    /// More than [`MAX_CRITERIA`].
    #[error("a rubric has at most {MAX_CRITERIA} criteria; this one has {count}")]
    TooManyCriteria {
        /// How many were given.
        count: usize,
    },
    /// A key that is not 1 to 40 lowercase letters, digits or `_`.
    #[error(
        "criterion key `{key}` must be 1 to {MAX_CRITERION_KEY_CHARS} lowercase letters, digits \
         or `_`, such as `feasibility`"
    )]
    InvalidKey {
        /// The refused key.
        key: String,
    },
    /// Two criteria with the same key.
    #[error("two criteria have the key `{key}`; keys must be unique")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A criterion without an English name.
    #[error("criterion `{key}` needs an English name")]
    MissingName {
        /// The criterion's key.
        key: String,
    },
    /// A weight outside 1 to 100.
    #[error("the weight of criterion `{key}` must be 1 to {MAX_WEIGHT_OR_SCORE}, not {weight}")]
    WeightOutOfRange {
        /// The criterion's key.
        key: String,
        /// The refused weight.
        weight: u32,
    },
    /// A maximum score outside 1 to 100.
    #[error(
        "the maximum score of criterion `{key}` must be 1 to {MAX_WEIGHT_OR_SCORE}, not {max_score}"
    )]
    MaxScoreOutOfRange {
        /// The criterion's key.
        key: String,
        /// The refused maximum score.
        max_score: u32,
    },
}

impl Rubric {
    /// A rubric of `criteria`, in the order reviewers see them.
    pub fn new(criteria: Vec<Criterion>) -> Result<Rubric, RubricError> {
        if criteria.is_empty() {
            return Err(RubricError::NoCriteria);
        }
        if criteria.len() > MAX_CRITERIA {
            return Err(RubricError::TooManyCriteria {
                count: criteria.len(),
            });
        }
        let mut keys = HashSet::new();
        for criterion in &criteria {
            let key = &criterion.key;
            if !is_valid_key(key) {
                return Err(RubricError::InvalidKey { key: key.clone() });
            }
            if !keys.insert(key.as_str()) {
                return Err(RubricError::DuplicateKey { key: key.clone() });
            }
            if criterion.name_en.trim().is_empty() {
                return Err(RubricError::MissingName { key: key.clone() });
            }
            if !(1..=MAX_WEIGHT_OR_SCORE).contains(&criterion.weight) {
                return Err(RubricError::WeightOutOfRange {
                    key: key.clone(),
                    weight: criterion.weight,
                });
            }
            if !(1..=MAX_WEIGHT_OR_SCORE).contains(&criterion.max_score) {
                return Err(RubricError::MaxScoreOutOfRange {
                    key: key.clone(),
                    max_score: criterion.max_score,
                });
            }
        }
        Ok(Rubric { criteria })
    }

    /// The criteria, in order.
    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }

    /// The criterion with `key`, if any.
    pub fn criterion(&self, key: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|criterion| criterion.key == key)
    }
}

impl TryFrom<Vec<Criterion>> for Rubric {
    type Error = RubricError;

    fn try_from(criteria: Vec<Criterion>) -> Result<Self, Self::Error> {
        Rubric::new(criteria)
    }
}

impl From<Rubric> for Vec<Criterion> {
    fn from(rubric: Rubric) -> Self {
        rubric.criteria
    }
}

fn is_valid_key(key: &str) -> bool {
    (1..=MAX_CRITERION_KEY_CHARS).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Why a set of scores could not be weighed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// A criterion of the rubric has no score.
    #[error("criterion `{key}` has no score")]
    MissingScore {
        /// The unscored criterion.
        key: String,
    },
    /// A score for a key the rubric does not have.
    #[error("`{key}` is not a criterion of this call's rubric")]
    UnknownCriterion {
        /// The unknown key.
        key: String,
    },
    /// Two scores for one criterion.
    #[error("criterion `{key}` is scored more than once")]
    DuplicateScore {
        /// The criterion scored twice.
        key: String,
    },
    /// A score above the criterion's maximum.
    #[error("the score of criterion `{key}` must be 0 to {max_score}, not {score}")]
    ScoreAboveMax {
        /// The criterion.
        key: String,
        /// The refused score.
        score: u32,
        /// The criterion's maximum.
        max_score: u32,
    },
}

/// The weighted mean of `scores`, normalised to 0–100 and given in basis points (0 to 10000, so
/// 8333 means 83.33), rounded half-up.
///
/// The value is Σ(weight × score / max_score) / Σweight × 10000, computed exactly in integers so
/// that the same scores always rank the same way on every machine. Every criterion must be
/// scored exactly once, within its range, and no other key may appear.
pub fn weighted_score_basis_points<K: AsRef<str>>(
    rubric: &Rubric,
    scores: &[(K, u32)],
) -> Result<u32, ScoreError> {
    let mut seen = HashSet::new();
    for (key, score) in scores {
        let key = key.as_ref();
        let criterion = rubric
            .criterion(key)
            .ok_or_else(|| ScoreError::UnknownCriterion {
                key: key.to_owned(),
            })?;
        if !seen.insert(key) {
            return Err(ScoreError::DuplicateScore {
                key: key.to_owned(),
            });
        }
        if *score > criterion.max_score {
            return Err(ScoreError::ScoreAboveMax {
                key: key.to_owned(),
                score: *score,
                max_score: criterion.max_score,
            });
        }
    }
    if let Some(missing) = rubric
        .criteria
        .iter()
        .find(|criterion| !seen.contains(criterion.key.as_str()))
    {
        return Err(ScoreError::MissingScore {
            key: missing.key.clone(),
        });
    }

    let weighted = rubric.criteria.iter().map(|criterion| {
        let score = scores
            .iter()
            .find(|(key, _)| key.as_ref() == criterion.key)
            .map_or(0, |(_, score)| *score);
        (criterion.weight, score, criterion.max_score)
    });
    Ok(normalised_basis_points(weighted))
}

/// Σ(w × s / m) / Σw × 10000, rounded half-up, for `(w, s, m)` with 1 ≤ w, m ≤ 100, s ≤ m and at
/// most [`MAX_CRITERIA`] terms.
///
/// The sum is kept as `whole + fraction / lcm` where `lcm` is the least common multiple of the
/// maximum scores. For 20 maximum scores of at most 100 the lcm is below 8.2 × 10^35 (the worst
/// case is tested), so `10 × lcm` and every intermediate value fit in a `u128` with room to spare.
fn normalised_basis_points(terms: impl Iterator<Item = (u32, u32, u32)> + Clone) -> u32 {
    let lcm = terms
        .clone()
        .fold(1_u128, |lcm, (_, _, max)| lcm_u128(lcm, u128::from(max)));
    let mut total_weight = 0_u128;
    let mut whole = 0_u128;
    let mut fraction = 0_u128;
    for (weight, score, max) in terms {
        let (weight, score, max) = (u128::from(weight), u128::from(score), u128::from(max));
        total_weight += weight;
        let product = weight * score;
        whole += product / max;
        fraction += (product % max) * (lcm / max);
        if fraction >= lcm {
            fraction -= lcm;
            whole += 1;
        }
    }
    if total_weight == 0 {
        return 0;
    }
    // 10000 × sum = whole × 10000 + digits + rest / lcm, by long division of the fraction one
    // decimal digit at a time so that nothing larger than 10 × lcm is ever formed.
    let mut digits = 0_u128;
    let mut rest = fraction;
    for _ in 0..4 {
        rest *= 10;
        digits = digits * 10 + rest / lcm;
        rest %= lcm;
    }
    let scaled = whole * u128::from(FULL_SCORE_BASIS_POINTS) + digits;
    let quotient = scaled / total_weight;
    let remainder = scaled % total_weight;
    // The exact result is quotient + (remainder + rest / lcm) / total_weight; it rounds up when
    // 2 × (remainder + rest / lcm) >= total_weight. As rest / lcm is in [0, 1), only a gap of
    // exactly one needs the fraction to decide.
    let doubled = 2 * remainder;
    let round_up = if doubled >= total_weight {
        true
    } else if total_weight - doubled == 1 {
        rest >= lcm - rest
    } else {
        false
    };
    // Every score is at most its maximum, so the mean is at most a full score.
    u32::try_from(quotient + u128::from(round_up)).unwrap_or(FULL_SCORE_BASIS_POINTS)
}

fn gcd_u128(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn lcm_u128(a: u128, b: u128) -> u128 {
    a / gcd_u128(a, b) * b
}

/// The smallest and largest grant a call awards, in minor units of the fund's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AwardBounds {
    min_minor: i64,
    max_minor: i64,
}

/// Why award bounds were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AwardBoundsError {
    /// A minimum of zero or less would let a call award nothing.
    #[error("the minimum award must be more than zero, not {min_minor} minor units")]
    MinimumNotPositive {
        /// The refused minimum.
        min_minor: i64,
    },
    /// The minimum is above the maximum.
    #[error(
        "the minimum award ({min_minor} minor units) cannot exceed the maximum ({max_minor} minor \
         units)"
    )]
    MinimumAboveMaximum {
        /// The refused minimum.
        min_minor: i64,
        /// The refused maximum.
        max_minor: i64,
    },
}

impl AwardBounds {
    /// Bounds from `min_minor` to `max_minor`, both included; requires 0 < min ≤ max.
    pub fn new(min_minor: i64, max_minor: i64) -> Result<AwardBounds, AwardBoundsError> {
        if min_minor <= 0 {
            return Err(AwardBoundsError::MinimumNotPositive { min_minor });
        }
        if min_minor > max_minor {
            return Err(AwardBoundsError::MinimumAboveMaximum {
                min_minor,
                max_minor,
            });
        }
        Ok(AwardBounds {
            min_minor,
            max_minor,
        })
    }

    /// The smallest award, in minor units.
    pub fn min_minor(&self) -> i64 {
        self.min_minor
    }

    /// The largest award, in minor units.
    pub fn max_minor(&self) -> i64 {
        self.max_minor
    }

    /// Whether `amount_minor` lies within the bounds, both ends included.
    pub fn contains(&self, amount_minor: i64) -> bool {
        (self.min_minor..=self.max_minor).contains(&amount_minor)
    }
}

/// Why a call's budget was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallBudgetError {
    /// The budget could not pay even one maximum award.
    #[error(
        "the call's budget ({budget_minor} minor units) must be at least its maximum award \
         ({max_award_minor} minor units)"
    )]
    BelowMaximumAward {
        /// The refused budget.
        budget_minor: i64,
        /// The call's maximum award.
        max_award_minor: i64,
    },
}

/// Checks that a call's budget can pay at least one grant of the maximum award; a call whose
/// budget is below that advertises awards it could never make.
pub fn check_call_budget(budget_minor: i64, bounds: &AwardBounds) -> Result<(), CallBudgetError> {
    if budget_minor < bounds.max_minor {
        return Err(CallBudgetError::BelowMaximumAward {
            budget_minor,
            max_award_minor: bounds.max_minor,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_dates_stay_within_sensible_bounds() {
        let opens = at("2027-03-01T00:00:00Z");
        assert!(CallSchedule::new(opens, at("2036-12-31T00:00:00Z")).is_ok());
        assert_eq!(
            CallSchedule::new(opens, at("2038-01-01T00:00:00Z")),
            Err(CallScheduleError::OutOfBounds),
            "a window of more than ten years"
        );
        let far = DateTime::parse_from_rfc3339("9999-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(
            CallSchedule::new(far, far + Duration::days(60)).is_err(),
            "year 10000"
        );
        assert!(CallSchedule::new(at("1999-12-01T00:00:00Z"), opens).is_err());

        let now = at("2027-02-01T00:00:00Z");
        let schedule = CallSchedule::new(opens, at("2027-06-01T00:00:00Z")).unwrap();
        assert!(schedule.check_horizon(now).is_ok());
        let late =
            CallSchedule::new(at("2030-01-01T00:00:00Z"), at("2038-01-01T00:00:00Z")).unwrap();
        assert_eq!(late.check_horizon(now), Err(CallScheduleError::OutOfBounds));
        for status in [CallStatus::Draft, CallStatus::Open] {
            assert_eq!(
                change_closing_time(status, &schedule, at("2040-01-01T00:00:00Z"), now),
                Err(CallScheduleError::OutOfBounds)
            );
        }
    }
    use chrono::Duration;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn schedule() -> CallSchedule {
        CallSchedule::new(at("2027-03-01T00:00:00Z"), at("2027-04-30T16:00:00Z")).unwrap()
    }

    fn criterion(key: &str, weight: u32, max_score: u32) -> Criterion {
        Criterion {
            key: key.to_owned(),
            name_en: format!("Criterion {key}"),
            name_zh: None,
            description: None,
            weight,
            max_score,
        }
    }

    fn rubric(criteria: &[(&str, u32, u32)]) -> Rubric {
        Rubric::new(
            criteria
                .iter()
                .map(|&(key, weight, max)| criterion(key, weight, max))
                .collect(),
        )
        .unwrap()
    }

    /// The score computed the obvious way, with one common denominator; only safe for small
    /// maximum scores, which is what makes it a good independent check.
    fn reference_score(terms: &[(u32, u32, u32)]) -> u32 {
        let denominator: u128 = terms.iter().map(|&(_, _, m)| u128::from(m)).product();
        let weights: u128 = terms.iter().map(|&(w, _, _)| u128::from(w)).sum();
        let numerator: u128 = terms
            .iter()
            .map(|&(w, s, m)| u128::from(w) * u128::from(s) * (denominator / u128::from(m)))
            .sum();
        let scaled = numerator * 10_000;
        let whole = denominator * weights;
        let rounded = (2 * scaled + whole) / (2 * whole);
        u32::try_from(rounded).unwrap()
    }

    #[test]
    fn statuses_have_stable_names_and_parse_back() {
        let names: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["DRAFT", "OPEN", "CLOSED", "DECIDED", "ARCHIVED"]);
        for status in CallStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
    }

    #[test]
    fn unknown_or_lowercase_statuses_are_refused() {
        for text in ["draft", "", "PUBLISHED", " OPEN"] {
            assert_eq!(
                text.parse::<CallStatus>(),
                Err(UnknownCallStatus(text.to_owned()))
            );
        }
    }

    #[test]
    fn events_have_stable_names() {
        let names: Vec<&str> = CallEvent::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names, ["OPEN", "CLOSE", "DECIDE", "ARCHIVE"]);
        assert_eq!(CallEvent::Decide.to_string(), "DECIDE");
    }

    #[test]
    fn every_status_and_event_pair_gives_exactly_the_allowed_transition() {
        use CallEvent as E;
        use CallStatus as S;
        let allowed = [
            (S::Draft, E::Open, S::Open),
            (S::Open, E::Close, S::Closed),
            (S::Closed, E::Decide, S::Decided),
            (S::Decided, E::Archive, S::Archived),
            (S::Draft, E::Archive, S::Archived),
        ];
        let mut checked = 0;
        for from in CallStatus::ALL {
            for event in CallEvent::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to)
                    .ok_or(CallTransitionError { from, event });
                assert_eq!(transition(from, event), expected, "{from} {event}");
                checked += 1;
            }
        }
        assert_eq!(checked, 20);
    }

    #[test]
    fn an_open_or_closed_call_cannot_be_archived() {
        for from in [CallStatus::Open, CallStatus::Closed, CallStatus::Archived] {
            assert!(transition(from, CallEvent::Archive).is_err(), "{from}");
        }
    }

    #[test]
    fn a_refused_transition_names_the_status_and_the_event() {
        let error = transition(CallStatus::Closed, CallEvent::Open).unwrap_err();
        assert_eq!(error.to_string(), "cannot open a call that is CLOSED");
        let error = transition(CallStatus::Archived, CallEvent::Archive).unwrap_err();
        assert_eq!(error.to_string(), "cannot archive a call that is ARCHIVED");
    }

    #[test]
    fn only_a_draft_call_may_change_its_rubric_and_rules() {
        for status in CallStatus::ALL {
            assert_eq!(
                can_edit_rubric_and_rules(status),
                status == CallStatus::Draft,
                "{status}"
            );
        }
    }

    #[test]
    fn a_schedule_must_close_after_it_opens() {
        let opens = at("2027-03-01T00:00:00Z");
        assert_eq!(
            CallSchedule::new(opens, opens),
            Err(CallScheduleError::ClosesBeforeOpening {
                opens_at: opens,
                closes_at: opens
            })
        );
        assert!(CallSchedule::new(opens, opens - Duration::days(1)).is_err());
        let schedule = CallSchedule::new(opens, opens + Duration::seconds(1)).unwrap();
        assert_eq!(schedule.opens_at(), opens);
        assert_eq!(schedule.closes_at(), opens + Duration::seconds(1));
    }

    #[test]
    fn submissions_are_accepted_from_the_opening_instant_until_just_before_closing() {
        let schedule = schedule();
        let opens = schedule.opens_at();
        let closes = schedule.closes_at();
        assert!(!schedule.is_accepting_submissions(opens - Duration::seconds(1)));
        assert!(schedule.is_accepting_submissions(opens));
        assert!(schedule.is_accepting_submissions(closes - Duration::nanoseconds(1)));
        assert!(!schedule.is_accepting_submissions(closes));
        assert!(!schedule.is_accepting_submissions(closes + Duration::days(1)));
    }

    #[test]
    fn a_published_draft_opens_itself_once_its_window_starts() {
        let schedule = schedule();
        let opens = schedule.opens_at();
        assert_eq!(
            automatic_transition(
                CallStatus::Draft,
                &schedule,
                true,
                opens - Duration::seconds(1)
            ),
            None
        );
        assert_eq!(
            automatic_transition(CallStatus::Draft, &schedule, true, opens),
            Some(CallEvent::Open)
        );
        assert_eq!(
            automatic_transition(
                CallStatus::Draft,
                &schedule,
                true,
                opens + Duration::days(3)
            ),
            Some(CallEvent::Open)
        );
    }

    #[test]
    fn an_unpublished_draft_never_opens_by_itself() {
        let schedule = schedule();
        for now in [
            schedule.opens_at(),
            schedule.opens_at() + Duration::days(1),
            schedule.closes_at(),
        ] {
            assert_eq!(
                automatic_transition(CallStatus::Draft, &schedule, false, now),
                None
            );
        }
    }

    #[test]
    fn a_published_draft_past_its_deadline_stays_a_draft() {
        let schedule = schedule();
        for now in [
            schedule.closes_at(),
            schedule.closes_at() + Duration::days(10),
        ] {
            assert_eq!(
                automatic_transition(CallStatus::Draft, &schedule, true, now),
                None
            );
        }
    }

    #[test]
    fn an_open_call_closes_itself_at_its_closing_time_published_or_not() {
        let schedule = schedule();
        let closes = schedule.closes_at();
        for published in [true, false] {
            assert_eq!(
                automatic_transition(
                    CallStatus::Open,
                    &schedule,
                    published,
                    closes - Duration::seconds(1)
                ),
                None
            );
            assert_eq!(
                automatic_transition(CallStatus::Open, &schedule, published, closes),
                Some(CallEvent::Close)
            );
            assert_eq!(
                automatic_transition(
                    CallStatus::Open,
                    &schedule,
                    published,
                    closes + Duration::hours(5)
                ),
                Some(CallEvent::Close)
            );
        }
    }

    #[test]
    fn closed_decided_and_archived_calls_are_never_moved_by_the_clock() {
        let schedule = schedule();
        for status in [
            CallStatus::Closed,
            CallStatus::Decided,
            CallStatus::Archived,
        ] {
            for now in [
                schedule.opens_at(),
                schedule.closes_at(),
                schedule.closes_at() + Duration::days(400),
            ] {
                for published in [true, false] {
                    assert_eq!(
                        automatic_transition(status, &schedule, published, now),
                        None
                    );
                }
            }
        }
    }

    #[test]
    fn every_automatic_event_is_an_allowed_transition() {
        let schedule = schedule();
        for status in CallStatus::ALL {
            for now in [
                schedule.opens_at() - Duration::days(1),
                schedule.opens_at(),
                schedule.closes_at(),
            ] {
                for published in [true, false] {
                    if let Some(event) = automatic_transition(status, &schedule, published, now) {
                        assert!(transition(status, event).is_ok(), "{status} {event}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_draft_may_move_its_closing_time_anywhere_after_opening() {
        let current = schedule();
        let now = current.closes_at() + Duration::days(30);
        let earlier = current.opens_at() + Duration::days(1);
        let changed = change_closing_time(CallStatus::Draft, &current, earlier, now).unwrap();
        assert_eq!(changed.opens_at(), current.opens_at());
        assert_eq!(changed.closes_at(), earlier);
        assert_eq!(
            change_closing_time(CallStatus::Draft, &current, current.opens_at(), now),
            Err(CallScheduleError::ClosesBeforeOpening {
                opens_at: current.opens_at(),
                closes_at: current.opens_at()
            })
        );
    }

    #[test]
    fn an_open_call_may_extend_its_closing_time_into_the_future() {
        let current = schedule();
        let now = current.opens_at() + Duration::days(5);
        let later = current.closes_at() + Duration::days(7);
        let changed = change_closing_time(CallStatus::Open, &current, later, now).unwrap();
        assert_eq!(changed.closes_at(), later);
        assert_eq!(changed.opens_at(), current.opens_at());
        let unchanged =
            change_closing_time(CallStatus::Open, &current, current.closes_at(), now).unwrap();
        assert_eq!(unchanged, current);
    }

    #[test]
    fn an_open_call_cannot_bring_its_closing_time_forward() {
        let current = schedule();
        let now = current.opens_at() + Duration::days(5);
        let earlier = current.closes_at() - Duration::seconds(1);
        let error = change_closing_time(CallStatus::Open, &current, earlier, now).unwrap_err();
        assert_eq!(
            error,
            CallScheduleError::ClosingMovedEarlier {
                current: current.closes_at(),
                requested: earlier
            }
        );
        assert!(error.to_string().contains("only move later"));
    }

    #[test]
    fn an_open_call_overdue_for_closing_can_only_be_extended_into_the_future() {
        let current = schedule();
        let now = current.closes_at() + Duration::hours(2);
        let still_past = current.closes_at() + Duration::hours(1);
        assert_eq!(
            change_closing_time(CallStatus::Open, &current, still_past, now),
            Err(CallScheduleError::ClosingInThePast {
                requested: still_past,
                now
            })
        );
        assert_eq!(
            change_closing_time(CallStatus::Open, &current, now, now),
            Err(CallScheduleError::ClosingInThePast {
                requested: now,
                now
            })
        );
        let future = now + Duration::days(1);
        assert_eq!(
            change_closing_time(CallStatus::Open, &current, future, now)
                .unwrap()
                .closes_at(),
            future
        );
    }

    #[test]
    fn a_closed_decided_or_archived_call_keeps_its_closing_time() {
        let current = schedule();
        let later = current.closes_at() + Duration::days(30);
        for status in [
            CallStatus::Closed,
            CallStatus::Decided,
            CallStatus::Archived,
        ] {
            let error = change_closing_time(status, &current, later, current.opens_at());
            assert_eq!(error, Err(CallScheduleError::ScheduleFrozen { status }));
        }
        assert_eq!(
            CallScheduleError::ScheduleFrozen {
                status: CallStatus::Decided
            }
            .to_string(),
            "the closing time of a call that is DECIDED cannot change"
        );
    }

    #[test]
    fn a_manager_closes_an_open_call_early_and_its_closing_time_becomes_now() {
        let current = schedule();
        let now = at("2027-04-01T09:30:00Z");
        let closing = close_by_manager(CallStatus::Open, &current, now).unwrap();
        assert_eq!(closing.to, CallStatus::Closed);
        assert!(closing.early);
        assert_eq!(closing.schedule.opens_at(), current.opens_at());
        assert_eq!(closing.schedule.closes_at(), now);
        assert!(!closing.schedule.is_accepting_submissions(now));
    }

    #[test]
    fn closing_at_or_after_the_closing_time_keeps_the_window() {
        let current = schedule();
        for now in [current.closes_at(), current.closes_at() + Duration::days(2)] {
            let closing = close_by_manager(CallStatus::Open, &current, now).unwrap();
            assert!(!closing.early);
            assert_eq!(closing.schedule, current);
        }
    }

    #[test]
    fn a_call_closed_as_it_opens_keeps_a_window_that_is_not_empty() {
        let current = schedule();
        for now in [
            current.opens_at(),
            current.opens_at() - Duration::seconds(5),
        ] {
            let closing = close_by_manager(CallStatus::Open, &current, now).unwrap();
            assert!(closing.early);
            assert!(closing.schedule.closes_at() > closing.schedule.opens_at());
            assert_eq!(
                CallSchedule::new(current.opens_at(), closing.schedule.closes_at()),
                Ok(closing.schedule)
            );
        }
    }

    #[test]
    fn only_an_open_call_is_closed() {
        let current = schedule();
        for status in [
            CallStatus::Draft,
            CallStatus::Closed,
            CallStatus::Decided,
            CallStatus::Archived,
        ] {
            assert_eq!(
                close_by_manager(status, &current, current.opens_at()),
                Err(CallTransitionError {
                    from: status,
                    event: CallEvent::Close
                })
            );
        }
    }

    #[test]
    fn a_rubric_keeps_its_criteria_in_order_and_finds_them_by_key() {
        let rubric = rubric(&[("relevance", 40, 10), ("feasibility", 60, 5)]);
        let keys: Vec<&str> = rubric.criteria().iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["relevance", "feasibility"]);
        assert_eq!(rubric.criterion("feasibility").map(|c| c.weight), Some(60));
        assert_eq!(rubric.criterion("budget"), None);
    }

    #[test]
    fn a_rubric_has_one_to_twenty_criteria() {
        assert_eq!(Rubric::new(vec![]), Err(RubricError::NoCriteria));
        let twenty: Vec<Criterion> = (0..20).map(|i| criterion(&format!("c{i}"), 1, 1)).collect();
        assert_eq!(Rubric::new(twenty.clone()).unwrap().criteria().len(), 20);
        let mut twenty_one = twenty;
        twenty_one.push(criterion("c20", 1, 1));
        assert_eq!(
            Rubric::new(twenty_one),
            Err(RubricError::TooManyCriteria { count: 21 })
        );
    }

    #[test]
    fn criterion_keys_are_short_lowercase_identifiers() {
        for key in ["a", "feasibility", "sdg_fit_2", "_", &"k".repeat(40)] {
            assert!(Rubric::new(vec![criterion(key, 1, 1)]).is_ok(), "{key}");
        }
        for key in [
            "",
            "Feasibility",
            "sdg-fit",
            "sdg fit",
            "可行性",
            "é",
            &"k".repeat(41),
        ] {
            assert_eq!(
                Rubric::new(vec![criterion(key, 1, 1)]),
                Err(RubricError::InvalidKey {
                    key: key.to_owned()
                }),
                "{key}"
            );
        }
    }

    #[test]
    fn criterion_keys_are_unique() {
        assert_eq!(
            Rubric::new(vec![
                criterion("impact", 1, 5),
                criterion("cost", 1, 5),
                criterion("impact", 2, 10)
            ]),
            Err(RubricError::DuplicateKey {
                key: "impact".to_owned()
            })
        );
    }

    #[test]
    fn a_criterion_needs_an_english_name() {
        let mut nameless = criterion("impact", 1, 5);
        nameless.name_en = "  ".to_owned();
        nameless.name_zh = Some("影响".to_owned());
        assert_eq!(
            Rubric::new(vec![nameless]),
            Err(RubricError::MissingName {
                key: "impact".to_owned()
            })
        );
    }

    #[test]
    fn weights_and_maximum_scores_are_one_to_a_hundred() {
        for value in [1, 50, 100] {
            assert!(Rubric::new(vec![criterion("c", value, value)]).is_ok());
        }
        for weight in [0, 101, u32::MAX] {
            assert_eq!(
                Rubric::new(vec![criterion("c", weight, 10)]),
                Err(RubricError::WeightOutOfRange {
                    key: "c".to_owned(),
                    weight
                })
            );
        }
        for max_score in [0, 101] {
            assert_eq!(
                Rubric::new(vec![criterion("c", 10, max_score)]),
                Err(RubricError::MaxScoreOutOfRange {
                    key: "c".to_owned(),
                    max_score
                })
            );
        }
    }

    #[test]
    fn a_rubric_round_trips_through_json_and_is_validated_on_the_way_in() {
        let mut relevance = criterion("relevance", 30, 10);
        relevance.name_zh = Some("相关性".to_owned());
        relevance.description = Some("Fit with the call's SDGs".to_owned());
        let rubric = Rubric::new(vec![relevance]).unwrap();
        let json = serde_json::to_value(&rubric).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "key": "relevance",
                "nameEn": "Criterion relevance",
                "nameZh": "相关性",
                "description": "Fit with the call's SDGs",
                "weight": 30,
                "maxScore": 10
            }])
        );
        assert_eq!(serde_json::from_value::<Rubric>(json).unwrap(), rubric);
        assert!(serde_json::from_str::<Rubric>("[]").is_err());
    }

    #[test]
    fn full_marks_score_ten_thousand_and_zeros_score_nothing() {
        let rubric = rubric(&[("a", 30, 10), ("b", 70, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 10), ("b", 5)]),
            Ok(10_000)
        );
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 0), ("b", 0)]),
            Ok(0)
        );
    }

    #[test]
    fn the_score_is_the_weighted_mean_of_the_normalised_scores() {
        // (1 × 5/10 + 3 × 4/5) / 4 = (0.5 + 2.4) / 4 = 0.725
        let rubric = rubric(&[("a", 1, 10), ("b", 3, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 5), ("b", 4)]),
            Ok(7_250)
        );
        // The order of the scores does not matter.
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("b", 4), ("a", 5)]),
            Ok(7_250)
        );
    }

    #[test]
    fn scores_accept_owned_keys() {
        let rubric = rubric(&[("a", 1, 4)]);
        let scores = vec![("a".to_owned(), 3)];
        assert_eq!(weighted_score_basis_points(&rubric, &scores), Ok(7_500));
    }

    #[test]
    fn thirds_round_to_the_nearest_basis_point() {
        let rubric = rubric(&[("a", 1, 3)]);
        assert_eq!(weighted_score_basis_points(&rubric, &[("a", 1)]), Ok(3_333));
        assert_eq!(weighted_score_basis_points(&rubric, &[("a", 2)]), Ok(6_667));
    }

    #[test]
    fn an_exact_half_basis_point_rounds_up() {
        // 1/32 is 312.5 bp, decided by the fraction alone since the weights sum to one.
        let one_weight = rubric(&[("a", 1, 32)]);
        assert_eq!(
            weighted_score_basis_points(&one_weight, &[("a", 1)]),
            Ok(313)
        );
        // (1 × 1/16 + 1 × 0) / 2 is also 312.5 bp, decided by the remainder of the weights.
        let two_weights = rubric(&[("a", 1, 16), ("b", 1, 1)]);
        assert_eq!(
            weighted_score_basis_points(&two_weights, &[("a", 1), ("b", 0)]),
            Ok(313)
        );
    }

    #[test]
    fn a_quarter_basis_point_rounds_down_and_three_quarters_round_up() {
        let rubric = rubric(&[("a", 1, 64)]);
        // 1/64 = 156.25 bp and 3/64 = 468.75 bp.
        assert_eq!(weighted_score_basis_points(&rubric, &[("a", 1)]), Ok(156));
        assert_eq!(weighted_score_basis_points(&rubric, &[("a", 3)]), Ok(469));
    }

    #[test]
    fn the_exact_computation_agrees_with_a_common_denominator_reference() {
        let maxima = [1, 2, 3, 4, 6, 7, 9, 10];
        let mut compared = 0;
        for &m1 in &maxima {
            for &m2 in &maxima {
                for w1 in [1, 3, 7, 100] {
                    for w2 in [1, 2, 99] {
                        for s1 in 0..=m1 {
                            for s2 in [0, m2 / 2, m2] {
                                let rubric = rubric(&[("a", w1, m1), ("b", w2, m2)]);
                                let got =
                                    weighted_score_basis_points(&rubric, &[("a", s1), ("b", s2)]);
                                let expected = reference_score(&[(w1, s1, m1), (w2, s2, m2)]);
                                assert_eq!(got, Ok(expected), "{w1} {s1}/{m1} {w2} {s2}/{m2}");
                                compared += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(compared > 5_000);
    }

    #[test]
    fn the_worst_case_denominator_of_twenty_criteria_does_not_overflow() {
        // These 20 maximum scores have the largest possible least common multiple (≈ 8.1e35).
        let maxima = [
            29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 91, 92, 95, 97, 99,
        ];
        let criteria: Vec<Criterion> = maxima
            .iter()
            .enumerate()
            .map(|(i, &max)| criterion(&format!("c{i}"), 100, max))
            .collect();
        let rubric = Rubric::new(criteria).unwrap();
        let full: Vec<(String, u32)> = maxima
            .iter()
            .enumerate()
            .map(|(i, &max)| (format!("c{i}"), max))
            .collect();
        assert_eq!(weighted_score_basis_points(&rubric, &full), Ok(10_000));
        let almost: Vec<(String, u32)> = maxima
            .iter()
            .enumerate()
            .map(|(i, &max)| (format!("c{i}"), max - 1))
            .collect();
        // Σ((m - 1) / m) / 20 = 0.98268264… (checked with exact fractions elsewhere).
        assert_eq!(weighted_score_basis_points(&rubric, &almost), Ok(9_827));

        let weighted: Vec<Criterion> = maxima
            .iter()
            .zip(1..)
            .map(|(&max, weight)| criterion(&format!("c{weight}"), weight, max))
            .collect();
        let rubric = Rubric::new(weighted).unwrap();
        let halves: Vec<(String, u32)> = maxima
            .iter()
            .zip(1..)
            .map(|(&max, weight)| (format!("c{weight}"), max / 2))
            .collect();
        // Σ(w × ⌊m / 2⌋ / m) / Σw with w = 1..=20 is 0.49364209…
        assert_eq!(weighted_score_basis_points(&rubric, &halves), Ok(4_936));
    }

    #[test]
    fn every_criterion_must_be_scored() {
        let rubric = rubric(&[("a", 1, 5), ("b", 1, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 3)]),
            Err(ScoreError::MissingScore {
                key: "b".to_owned()
            })
        );
        assert_eq!(
            weighted_score_basis_points::<&str>(&rubric, &[]),
            Err(ScoreError::MissingScore {
                key: "a".to_owned()
            })
        );
    }

    #[test]
    fn a_score_for_an_unknown_criterion_is_refused() {
        let rubric = rubric(&[("a", 1, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 3), ("budget", 2)]),
            Err(ScoreError::UnknownCriterion {
                key: "budget".to_owned()
            })
        );
    }

    #[test]
    fn a_criterion_scored_twice_is_refused() {
        let rubric = rubric(&[("a", 1, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 3), ("a", 3)]),
            Err(ScoreError::DuplicateScore {
                key: "a".to_owned()
            })
        );
    }

    #[test]
    fn a_score_above_the_criterion_maximum_is_refused() {
        let rubric = rubric(&[("a", 1, 5)]);
        assert_eq!(
            weighted_score_basis_points(&rubric, &[("a", 5)]),
            Ok(10_000)
        );
        let error = weighted_score_basis_points(&rubric, &[("a", 6)]).unwrap_err();
        assert_eq!(
            error,
            ScoreError::ScoreAboveMax {
                key: "a".to_owned(),
                score: 6,
                max_score: 5
            }
        );
        assert_eq!(
            error.to_string(),
            "the score of criterion `a` must be 0 to 5, not 6"
        );
    }

    #[test]
    fn award_bounds_need_a_positive_minimum_no_larger_than_the_maximum() {
        let bounds = AwardBounds::new(1_000_000, 5_000_000).unwrap();
        assert_eq!(bounds.min_minor(), 1_000_000);
        assert_eq!(bounds.max_minor(), 5_000_000);
        assert!(AwardBounds::new(1, 1).is_ok());
        for min_minor in [0, -1, i64::MIN] {
            assert_eq!(
                AwardBounds::new(min_minor, 10),
                Err(AwardBoundsError::MinimumNotPositive { min_minor })
            );
        }
        assert_eq!(
            AwardBounds::new(11, 10),
            Err(AwardBoundsError::MinimumAboveMaximum {
                min_minor: 11,
                max_minor: 10
            })
        );
    }

    #[test]
    fn award_bounds_include_both_ends() {
        let bounds = AwardBounds::new(100, 200).unwrap();
        assert!(!bounds.contains(99));
        assert!(bounds.contains(100));
        assert!(bounds.contains(200));
        assert!(!bounds.contains(201));
    }

    #[test]
    fn a_call_budget_must_cover_at_least_one_maximum_award() {
        let bounds = AwardBounds::new(100, 5_000).unwrap();
        assert_eq!(check_call_budget(5_000, &bounds), Ok(()));
        assert_eq!(check_call_budget(i64::MAX, &bounds), Ok(()));
        for budget_minor in [4_999, 100, 0, -5] {
            assert_eq!(
                check_call_budget(budget_minor, &bounds),
                Err(CallBudgetError::BelowMaximumAward {
                    budget_minor,
                    max_award_minor: 5_000
                })
            );
        }
    }
}
