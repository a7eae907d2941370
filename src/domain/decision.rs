//! A manager's decision on an application and the grant an approval creates: when a call takes
//! decisions, what an approval may award, what every decision must explain, why an application
//! may be rejected at the desk without review, and how long the grant runs. The call's remaining
//! budget is checked by the service with one conditional update, since only the database sees
//! concurrent approvals.

use std::fmt;
use std::str::FromStr;

use chrono::{Months, NaiveDate};

use crate::domain::application::ApplicationEvent;
use crate::domain::call::{AwardBounds, CallStatus};

/// What a manager decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionOutcome {
    Approve,
    Reject,
    Waitlist,
}

impl DecisionOutcome {
    pub const ALL: [DecisionOutcome; 3] = [Self::Approve, Self::Reject, Self::Waitlist];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "APPROVE",
            Self::Reject => "REJECT",
            Self::Waitlist => "WAITLIST",
        }
    }

    /// The application event the decision is.
    pub fn event(self) -> ApplicationEvent {
        match self {
            Self::Approve => ApplicationEvent::Approve,
            Self::Reject => ApplicationEvent::Reject,
            Self::Waitlist => ApplicationEvent::Waitlist,
        }
    }
}

impl fmt::Display for DecisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a decision (APPROVE, REJECT, WAITLIST)")]
pub struct UnknownDecisionOutcome(pub String);

impl FromStr for DecisionOutcome {
    type Err = UnknownDecisionOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| UnknownDecisionOutcome(s.to_owned()))
    }
}

/// Why a manager rejects a submitted application at the desk, without review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeskRejectionReason {
    /// The application is outside what the call funds.
    OutOfScope,
    /// The application repeats another one.
    Duplicate,
    /// The application lacks what a review would need.
    Incomplete,
    /// Another reason, given in the rationale.
    Other,
}

impl DeskRejectionReason {
    pub const ALL: [DeskRejectionReason; 4] = [
        Self::OutOfScope,
        Self::Duplicate,
        Self::Incomplete,
        Self::Other,
    ];

    /// The stable name used in the API and the database, such as `OUT_OF_SCOPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfScope => "OUT_OF_SCOPE",
            Self::Duplicate => "DUPLICATE",
            Self::Incomplete => "INCOMPLETE",
            Self::Other => "OTHER",
        }
    }
}

impl fmt::Display for DeskRejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a desk rejection reason (OUT_OF_SCOPE, DUPLICATE, INCOMPLETE, OTHER)")]
pub struct UnknownDeskRejectionReason(pub String);

impl FromStr for DeskRejectionReason {
    type Err = UnknownDeskRejectionReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == s)
            .ok_or_else(|| UnknownDeskRejectionReason(s.to_owned()))
    }
}

/// How an application is decided: on its reviews, or at the desk without review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// `decideApplication`: approve, reject or waitlist.
    Review,
    /// `deskRejectApplication`: reject a submitted application that needs no review.
    Desk,
}

/// Why the call's status does not allow a decision now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionTimingError {
    #[error(
        "the call is still open: its applications are decided once it closes (close it first, or \
         reject an application at the desk)"
    )]
    CallStillOpen,
    #[error("a call that is {0} takes no decisions")]
    CallNotDeciding(CallStatus),
}

/// Whether a call in `status` takes a decision of `kind`.
///
/// Applications are decided on their reviews once the call has closed, so that every applicant
/// had the whole window and is weighed against the others; a decided call still settles its
/// waitlist. A desk rejection judges one application on its own, so it may come while the call is
/// open (screening as applications arrive) or after it closed. A draft has no applications to
/// decide and an archived call is kept for the record only.
pub fn check_call_takes_decision(
    status: CallStatus,
    kind: DecisionKind,
) -> Result<(), DecisionTimingError> {
    match (kind, status) {
        (DecisionKind::Review, CallStatus::Closed | CallStatus::Decided)
        | (DecisionKind::Desk, CallStatus::Open | CallStatus::Closed) => Ok(()),
        (DecisionKind::Review, CallStatus::Open) => Err(DecisionTimingError::CallStillOpen),
        (_, other) => Err(DecisionTimingError::CallNotDeciding(other)),
    }
}

/// The longest rationale or conditions text, in characters.
pub const MAX_DECISION_TEXT_CHARS: usize = 20_000;
/// How long a grant runs when the application named no duration.
pub const DEFAULT_GRANT_MONTHS: u32 = 12;

/// Why a decision was refused before touching any budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("an approval needs the amount to award")]
    MissingAmount,
    #[error("only an approval carries an amount")]
    AmountWithoutApproval,
    #[error("the award must be above zero")]
    NonPositiveAmount,
    #[error(
        "the award ({amount} minor units) cannot exceed the requested amount ({requested} minor \
         units)"
    )]
    AboveRequested { amount: i64, requested: i64 },
    #[error(
        "the award ({amount} minor units) cannot exceed the call's maximum award ({max} minor \
         units)"
    )]
    AboveMaximumAward { amount: i64, max: i64 },
    #[error(
        "the award ({amount} minor units) cannot be below the call's minimum award ({min} minor \
         units)"
    )]
    BelowMinimumAward { amount: i64, min: i64 },
    #[error("only an approval carries conditions")]
    ConditionsWithoutApproval,
    #[error("every decision needs a rationale")]
    MissingRationale,
    #[error("{field} is longer than {MAX_DECISION_TEXT_CHARS} characters")]
    TooLong { field: &'static str },
    #[error("the grant must end after it starts")]
    EndsBeforeStart,
}

impl DecisionError {
    /// The input field to blame.
    pub fn field(&self) -> &'static str {
        match self {
            Self::MissingAmount
            | Self::AmountWithoutApproval
            | Self::NonPositiveAmount
            | Self::AboveRequested { .. }
            | Self::AboveMaximumAward { .. }
            | Self::BelowMinimumAward { .. } => "input.amount",
            Self::ConditionsWithoutApproval => "input.conditions",
            Self::MissingRationale => "input.rationale",
            Self::TooLong { field } => field,
            Self::EndsBeforeStart => "input.endsOn",
        }
    }
}

/// A decision as the manager gave it, amounts in minor units of the fund's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest<'a> {
    pub outcome: DecisionOutcome,
    pub amount_minor: Option<i64>,
    pub conditions: Option<&'a str>,
    pub rationale: Option<&'a str>,
}

/// Checks that a decision is explained, within the length limit.
fn check_rationale(rationale: Option<&str>) -> Result<(), DecisionError> {
    let rationale = rationale.map(str::trim).unwrap_or_default();
    if rationale.is_empty() {
        return Err(DecisionError::MissingRationale);
    }
    if rationale.chars().count() > MAX_DECISION_TEXT_CHARS {
        return Err(DecisionError::TooLong {
            field: "input.rationale",
        });
    }
    Ok(())
}

/// Checks a decision against the application it decides and the call's award bounds: an
/// approval awards at least the call's minimum and at most the smaller of the requested amount
/// and the call's maximum; conditions belong to approvals; every decision is explained.
pub fn check_decision(
    request: &DecisionRequest<'_>,
    requested_minor: i64,
    awards: &AwardBounds,
) -> Result<(), DecisionError> {
    check_rationale(request.rationale)?;
    if request
        .conditions
        .is_some_and(|c| c.chars().count() > MAX_DECISION_TEXT_CHARS)
    {
        return Err(DecisionError::TooLong {
            field: "input.conditions",
        });
    }
    match (request.outcome, request.amount_minor) {
        (DecisionOutcome::Approve, None) => Err(DecisionError::MissingAmount),
        (DecisionOutcome::Approve, Some(amount)) if amount <= 0 => {
            Err(DecisionError::NonPositiveAmount)
        }
        (DecisionOutcome::Approve, Some(amount))
            if amount > requested_minor && requested_minor <= awards.max_minor() =>
        {
            Err(DecisionError::AboveRequested {
                amount,
                requested: requested_minor,
            })
        }
        (DecisionOutcome::Approve, Some(amount)) if amount > awards.max_minor() => {
            Err(DecisionError::AboveMaximumAward {
                amount,
                max: awards.max_minor(),
            })
        }
        (DecisionOutcome::Approve, Some(amount)) if amount < awards.min_minor() => {
            Err(DecisionError::BelowMinimumAward {
                amount,
                min: awards.min_minor(),
            })
        }
        (DecisionOutcome::Approve, Some(_)) => Ok(()),
        (_, Some(_)) => Err(DecisionError::AmountWithoutApproval),
        (_, None) if request.conditions.is_some_and(|c| !c.trim().is_empty()) => {
            Err(DecisionError::ConditionsWithoutApproval)
        }
        (_, None) => Ok(()),
    }
}

/// Checks a desk rejection: like every decision, it is explained.
pub fn check_desk_rejection(rationale: Option<&str>) -> Result<(), DecisionError> {
    check_rationale(rationale)
}

/// The grant's period: from `starts_on` (or the applicant's planned start, or the decision date)
/// for the months the application asked (or [`DEFAULT_GRANT_MONTHS`]), unless the manager set the
/// end. The end is the day before the same date `months` later, so a 12-month grant from
/// 1 March ends on the last day of February.
pub fn grant_period(
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
    planned_start: Option<NaiveDate>,
    duration_months: Option<i32>,
    decided_on: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), DecisionError> {
    let start = starts_on.or(planned_start).unwrap_or(decided_on);
    let end = match ends_on {
        Some(end) => end,
        None => {
            let months = duration_months
                .and_then(|m| u32::try_from(m).ok())
                .filter(|m| *m > 0)
                .unwrap_or(DEFAULT_GRANT_MONTHS);
            start
                .checked_add_months(Months::new(months))
                .and_then(|d| d.pred_opt())
                .ok_or(DecisionError::EndsBeforeStart)?
        }
    };
    if end <= start {
        return Err(DecisionError::EndsBeforeStart);
    }
    Ok((start, end))
}

/// Where a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    Active,
    /// Every tranche is settled; what was not paid is no longer committed.
    Completed,
    /// Ended early; tranches not sent are cancelled and the rest is no longer committed.
    Terminated,
}

impl GrantStatus {
    pub const ALL: [GrantStatus; 3] = [Self::Active, Self::Completed, Self::Terminated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Completed => "COMPLETED",
            Self::Terminated => "TERMINATED",
        }
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantStatus {
    type Err = UnknownDecisionOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownDecisionOutcome(s.to_owned()))
    }
}

/// How a grant ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantEvent {
    Complete,
    Terminate,
}

/// Why a grant could not end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantCloseError {
    #[error("the grant is {0} already")]
    NotActive(GrantStatus),
    #[error("{0} tranche(s) are not settled yet: confirm, fail or cancel them first")]
    OpenTranches(usize),
    #[error("{0} payment(s) are on their way: wait for confirmation or mark them failed first")]
    MoneyInFlight(usize),
}

/// What ending a grant does to its tranches, counted by status (`planned_or_approved` not yet
/// sent, `sent` on their way): completion needs every tranche settled; termination cancels what
/// was not sent but waits for money on its way.
pub fn close_grant(
    status: GrantStatus,
    event: GrantEvent,
    planned_or_approved: usize,
    sent: usize,
) -> Result<GrantStatus, GrantCloseError> {
    if status != GrantStatus::Active {
        return Err(GrantCloseError::NotActive(status));
    }
    match event {
        GrantEvent::Complete if planned_or_approved + sent > 0 => {
            Err(GrantCloseError::OpenTranches(planned_or_approved + sent))
        }
        GrantEvent::Complete => Ok(GrantStatus::Completed),
        GrantEvent::Terminate if sent > 0 => Err(GrantCloseError::MoneyInFlight(sent)),
        GrantEvent::Terminate => Ok(GrantStatus::Terminated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(outcome: DecisionOutcome, amount: Option<i64>) -> DecisionRequest<'static> {
        DecisionRequest {
            outcome,
            amount_minor: amount,
            conditions: None,
            rationale: Some("Strong local partner"),
        }
    }

    /// Bounds wide enough that only the requested amount limits an award.
    fn wide() -> AwardBounds {
        AwardBounds::new(1, i64::MAX).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn outcomes_round_trip_and_name_their_event() {
        for outcome in DecisionOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<DecisionOutcome>(), Ok(outcome));
        }
        assert!("approve".parse::<DecisionOutcome>().is_err());
        assert_eq!(
            DecisionOutcome::Waitlist.event(),
            ApplicationEvent::Waitlist
        );
    }

    #[test]
    fn an_approval_awards_above_zero_and_at_most_the_request() {
        let approve =
            |amount| check_decision(&request(DecisionOutcome::Approve, amount), 1_000, &wide());
        assert_eq!(approve(Some(1_000)), Ok(()));
        assert_eq!(approve(Some(1)), Ok(()));
        assert_eq!(
            approve(Some(1_001)),
            Err(DecisionError::AboveRequested {
                amount: 1_001,
                requested: 1_000
            })
        );
        assert_eq!(approve(Some(0)), Err(DecisionError::NonPositiveAmount));
        assert_eq!(approve(Some(-5)), Err(DecisionError::NonPositiveAmount));
        assert_eq!(approve(None), Err(DecisionError::MissingAmount));
    }

    #[test]
    fn an_approval_stays_within_the_calls_award_bounds() {
        let bounds = AwardBounds::new(100, 500).unwrap();
        let approve = |amount, requested| {
            check_decision(
                &request(DecisionOutcome::Approve, Some(amount)),
                requested,
                &bounds,
            )
        };
        // At most min(requested, maximum award).
        assert_eq!(approve(500, 800), Ok(()));
        assert_eq!(
            approve(501, 800),
            Err(DecisionError::AboveMaximumAward {
                amount: 501,
                max: 500
            })
        );
        assert_eq!(approve(300, 300), Ok(()));
        assert_eq!(
            approve(400, 300),
            Err(DecisionError::AboveRequested {
                amount: 400,
                requested: 300
            })
        );
        assert_eq!(
            approve(900, 800),
            Err(DecisionError::AboveMaximumAward {
                amount: 900,
                max: 500
            }),
            "the tighter cap is named"
        );
        // At least the minimum award.
        assert_eq!(approve(100, 300), Ok(()));
        let below = approve(99, 300).unwrap_err();
        assert_eq!(
            below,
            DecisionError::BelowMinimumAward {
                amount: 99,
                min: 100
            }
        );
        for error in [below, approve(501, 800).unwrap_err()] {
            assert_eq!(error.field(), "input.amount");
        }
    }

    #[test]
    fn decisions_on_reviews_wait_for_the_call_to_close_but_desk_rejections_do_not() {
        use CallStatus as S;
        use DecisionKind as K;
        let allowed = [
            (K::Review, S::Closed),
            (K::Review, S::Decided),
            (K::Desk, S::Open),
            (K::Desk, S::Closed),
        ];
        for kind in [K::Review, K::Desk] {
            for status in S::ALL {
                assert_eq!(
                    check_call_takes_decision(status, kind).is_ok(),
                    allowed.contains(&(kind, status)),
                    "{kind:?} in {status}"
                );
            }
        }
        assert_eq!(
            check_call_takes_decision(S::Open, K::Review),
            Err(DecisionTimingError::CallStillOpen)
        );
        assert_eq!(
            check_call_takes_decision(S::Archived, K::Review)
                .unwrap_err()
                .to_string(),
            "a call that is ARCHIVED takes no decisions"
        );
    }

    #[test]
    fn desk_rejection_reasons_round_trip_and_need_a_rationale() {
        for reason in DeskRejectionReason::ALL {
            assert_eq!(reason.as_str().parse::<DeskRejectionReason>(), Ok(reason));
        }
        assert!("out_of_scope".parse::<DeskRejectionReason>().is_err());
        assert_eq!(
            check_desk_rejection(Some("Outside the call's SDGs")),
            Ok(())
        );
        for rationale in [None, Some(" ")] {
            assert_eq!(
                check_desk_rejection(rationale),
                Err(DecisionError::MissingRationale)
            );
        }
        let long = "x".repeat(MAX_DECISION_TEXT_CHARS + 1);
        assert_eq!(
            check_desk_rejection(Some(&long)).map_err(|e| e.field()),
            Err("input.rationale")
        );
    }

    #[test]
    fn only_approvals_carry_amounts_and_conditions() {
        for outcome in [DecisionOutcome::Reject, DecisionOutcome::Waitlist] {
            assert_eq!(
                check_decision(&request(outcome, Some(10)), 1_000, &wide()),
                Err(DecisionError::AmountWithoutApproval)
            );
            let with_conditions = DecisionRequest {
                conditions: Some("Quarterly reports"),
                ..request(outcome, None)
            };
            assert_eq!(
                check_decision(&with_conditions, 1_000, &wide()),
                Err(DecisionError::ConditionsWithoutApproval)
            );
            assert_eq!(
                check_decision(&request(outcome, None), 1_000, &wide()),
                Ok(())
            );
        }
    }

    #[test]
    fn every_decision_is_explained_within_the_length_limit() {
        for rationale in [None, Some(""), Some("  \n ")] {
            let decision = DecisionRequest {
                rationale,
                ..request(DecisionOutcome::Reject, None)
            };
            let error = check_decision(&decision, 1, &wide()).unwrap_err();
            assert_eq!(error, DecisionError::MissingRationale);
            assert_eq!(error.field(), "input.rationale");
        }
        let long = "理".repeat(MAX_DECISION_TEXT_CHARS);
        let at_limit = DecisionRequest {
            rationale: Some(&long),
            ..request(DecisionOutcome::Reject, None)
        };
        assert_eq!(check_decision(&at_limit, 1, &wide()), Ok(()));
        let longer = format!("{long}由");
        let over = DecisionRequest {
            conditions: Some(&longer),
            ..request(DecisionOutcome::Approve, Some(1))
        };
        assert_eq!(
            check_decision(&over, 1, &wide()).map_err(|e| e.field()),
            Err("input.conditions")
        );
    }

    #[test]
    fn a_grant_runs_for_the_requested_months_from_the_planned_start() {
        let decided = date(2027, 5, 10);
        assert_eq!(
            grant_period(None, None, Some(date(2027, 3, 1)), Some(12), decided),
            Ok((date(2027, 3, 1), date(2028, 2, 29)))
        );
        assert_eq!(
            grant_period(None, None, None, None, decided),
            Ok((decided, date(2028, 5, 9)))
        );
        assert_eq!(
            grant_period(Some(date(2027, 1, 31)), None, None, Some(1), decided),
            Ok((date(2027, 1, 31), date(2027, 2, 27)))
        );
        assert_eq!(
            grant_period(
                Some(date(2027, 6, 1)),
                Some(date(2027, 12, 31)),
                None,
                Some(3),
                decided
            ),
            Ok((date(2027, 6, 1), date(2027, 12, 31)))
        );
    }

    #[test]
    fn grants_end_only_when_their_money_is_settled() {
        use GrantEvent::{Complete, Terminate};
        use GrantStatus::{Active, Completed, Terminated};
        assert_eq!(close_grant(Active, Complete, 0, 0), Ok(Completed));
        assert_eq!(
            close_grant(Active, Complete, 1, 1),
            Err(GrantCloseError::OpenTranches(2))
        );
        assert_eq!(close_grant(Active, Terminate, 3, 0), Ok(Terminated));
        assert_eq!(
            close_grant(Active, Terminate, 0, 1),
            Err(GrantCloseError::MoneyInFlight(1))
        );
        for ended in [Completed, Terminated] {
            for event in [Complete, Terminate] {
                assert_eq!(
                    close_grant(ended, event, 0, 0),
                    Err(GrantCloseError::NotActive(ended))
                );
            }
        }
        for status in GrantStatus::ALL {
            assert_eq!(status.as_str().parse::<GrantStatus>(), Ok(status));
        }
    }

    #[test]
    fn a_grant_cannot_end_before_it_starts() {
        let decided = date(2027, 5, 10);
        let error = grant_period(Some(decided), Some(decided), None, None, decided).unwrap_err();
        assert_eq!(error, DecisionError::EndsBeforeStart);
        assert_eq!(error.field(), "input.endsOn");
        assert_eq!(
            grant_period(None, None, None, Some(0), decided),
            Ok((decided, date(2028, 5, 9))),
            "a zero duration falls back to the default"
        );
    }
}
