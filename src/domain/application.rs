//! The life of an application and the rules on its budget: statuses and their transitions, and
//! budget lines and partner shares that must add up.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    UnderReview,
    Approved,
    Rejected,
    Waitlisted,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationEvent {
    Submit,
    Withdraw,
    StartReview,
    Approve,
    Reject,
    Waitlist,
    /// A manager rejects a submitted application that needs no review (out of scope, a
    /// duplicate, …), before any reviewer is assigned.
    DeskReject,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 7] = [
        ApplicationStatus::Draft,
        ApplicationStatus::Submitted,
        ApplicationStatus::UnderReview,
        ApplicationStatus::Approved,
        ApplicationStatus::Rejected,
        ApplicationStatus::Waitlisted,
        ApplicationStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Draft => "DRAFT",
            ApplicationStatus::Submitted => "SUBMITTED",
            ApplicationStatus::UnderReview => "UNDER_REVIEW",
            ApplicationStatus::Approved => "APPROVED",
            ApplicationStatus::Rejected => "REJECTED",
            ApplicationStatus::Waitlisted => "WAITLISTED",
            ApplicationStatus::Withdrawn => "WITHDRAWN",
        }
    }

    /// Counts against "open applications per organisation": anything not withdrawn or rejected.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            ApplicationStatus::Withdrawn | ApplicationStatus::Rejected
        )
    }
}

impl ApplicationEvent {
    pub const ALL: [ApplicationEvent; 7] = [
        ApplicationEvent::Submit,
        ApplicationEvent::Withdraw,
        ApplicationEvent::StartReview,
        ApplicationEvent::Approve,
        ApplicationEvent::Reject,
        ApplicationEvent::Waitlist,
        ApplicationEvent::DeskReject,
    ];

    pub fn verb(self) -> &'static str {
        match self {
            ApplicationEvent::Submit => "submit",
            ApplicationEvent::Withdraw => "withdraw",
            ApplicationEvent::StartReview => "start reviewing",
            ApplicationEvent::Approve => "approve",
            ApplicationEvent::Reject => "reject",
            ApplicationEvent::Waitlist => "waitlist",
            ApplicationEvent::DeskReject => "desk-reject",
        }
    }
}

impl fmt::Display for ApplicationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown application status `{0}`")]
pub struct UnknownApplicationStatus(pub String);

impl FromStr for ApplicationStatus {
    type Err = UnknownApplicationStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApplicationStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownApplicationStatus(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an application that is {from}", event.verb())]
pub struct ApplicationTransitionError {
    pub from: ApplicationStatus,
    pub event: ApplicationEvent,
}

/// The application's status after `event`. Decisions are final, except that a waitlisted
/// application may still be approved or rejected. A desk rejection only takes a submitted
/// application that no reviewer has started on; once under review, it is decided on its reviews.
pub fn transition(
    from: ApplicationStatus,
    event: ApplicationEvent,
) -> Result<ApplicationStatus, ApplicationTransitionError> {
    use ApplicationEvent as E;
    use ApplicationStatus as S;
    match (from, event) {
        (S::Draft, E::Submit) => Ok(S::Submitted),
        (S::Draft | S::Submitted, E::Withdraw) => Ok(S::Withdrawn),
        (S::Submitted, E::StartReview) => Ok(S::UnderReview),
        (S::UnderReview | S::Waitlisted, E::Approve) => Ok(S::Approved),
        (S::UnderReview | S::Waitlisted, E::Reject) => Ok(S::Rejected),
        (S::UnderReview, E::Waitlist) => Ok(S::Waitlisted),
        (S::Submitted, E::DeskReject) => Ok(S::Rejected),
        _ => Err(ApplicationTransitionError { from, event }),
    }
}

/// A partner's answer to being named on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerStatus {
    Pending,
    Accepted,
    Declined,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Pending => "PENDING",
            PartnerStatus::Accepted => "ACCEPTED",
            PartnerStatus::Declined => "DECLINED",
        }
    }
}

impl FromStr for PartnerStatus {
    type Err = UnknownApplicationStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PENDING" => Ok(PartnerStatus::Pending),
            "ACCEPTED" => Ok(PartnerStatus::Accepted),
            "DECLINED" => Ok(PartnerStatus::Declined),
            other => Err(UnknownApplicationStatus(other.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("every budget line needs an amount above zero")]
    NonPositiveLine,
    #[error("the budget lines add up to {lines} but the requested amount is {requested}")]
    LinesDoNotAddUp { lines: i128, requested: i64 },
    #[error("partner shares add up to {shares}, more than the requested amount {requested}")]
    SharesExceedRequest { shares: i128, requested: i64 },
    #[error("a partner's budget share cannot be negative")]
    NegativeShare,
}

/// Checks that budget lines add up exactly to the requested amount and that partner shares fit
/// within it. Amounts are minor units of the fund's currency; sums are widened so no overflow can
/// make a wrong total look right.
pub fn check_budget(requested: i64, lines: &[i64], shares: &[i64]) -> Result<(), BudgetError> {
    if lines.iter().any(|amount| *amount <= 0) {
        return Err(BudgetError::NonPositiveLine);
    }
    if shares.iter().any(|share| *share < 0) {
        return Err(BudgetError::NegativeShare);
    }
    let total: i128 = lines.iter().map(|a| i128::from(*a)).sum();
    if total != i128::from(requested) {
        return Err(BudgetError::LinesDoNotAddUp {
            lines: total,
            requested,
        });
    }
    let shares_total: i128 = shares.iter().map(|a| i128::from(*a)).sum();
    if shares_total > i128::from(requested) {
        return Err(BudgetError::SharesExceedRequest {
            shares: shares_total,
            requested,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationEvent as E;
    use ApplicationStatus as S;

    #[test]
    fn every_status_and_event_has_exactly_the_documented_outcome() {
        let allowed = [
            (S::Draft, E::Submit, S::Submitted),
            (S::Draft, E::Withdraw, S::Withdrawn),
            (S::Submitted, E::Withdraw, S::Withdrawn),
            (S::Submitted, E::StartReview, S::UnderReview),
            (S::UnderReview, E::Approve, S::Approved),
            (S::UnderReview, E::Reject, S::Rejected),
            (S::UnderReview, E::Waitlist, S::Waitlisted),
            (S::Waitlisted, E::Approve, S::Approved),
            (S::Waitlisted, E::Reject, S::Rejected),
            (S::Submitted, E::DeskReject, S::Rejected),
        ];
        for from in S::ALL {
            for event in E::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(transition(from, event).ok(), expected, "{from} {event:?}");
            }
        }
    }

    #[test]
    fn refusals_say_what_was_tried() {
        let error = transition(S::Approved, E::Withdraw).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot withdraw an application that is APPROVED"
        );
    }

    #[test]
    fn only_a_submitted_application_is_desk_rejected() {
        assert_eq!(transition(S::Submitted, E::DeskReject), Ok(S::Rejected));
        let error = transition(S::UnderReview, E::DeskReject).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot desk-reject an application that is UNDER_REVIEW"
        );
        assert!(transition(S::Draft, E::DeskReject).is_err());
        assert!(transition(S::Waitlisted, E::DeskReject).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>().unwrap(), status);
        }
        assert!(!S::Withdrawn.is_open() && !S::Rejected.is_open() && S::Draft.is_open());
    }

    #[test]
    fn budget_lines_must_add_up_exactly() {
        assert!(check_budget(100, &[60, 40], &[30]).is_ok());
        assert_eq!(
            check_budget(100, &[60, 39], &[]),
            Err(BudgetError::LinesDoNotAddUp {
                lines: 99,
                requested: 100
            })
        );
        assert_eq!(
            check_budget(100, &[100, 0], &[]),
            Err(BudgetError::NonPositiveLine)
        );
    }

    #[test]
    fn partner_shares_fit_within_the_request() {
        assert!(check_budget(100, &[100], &[50, 50]).is_ok());
        assert!(matches!(
            check_budget(100, &[100], &[60, 50]),
            Err(BudgetError::SharesExceedRequest { .. })
        ));
        assert_eq!(
            check_budget(100, &[100], &[-1]),
            Err(BudgetError::NegativeShare)
        );
    }

    #[test]
    fn sums_do_not_overflow_into_a_false_match() {
        assert!(check_budget(i64::MAX, &[i64::MAX, i64::MAX], &[]).is_err());
    }
}
