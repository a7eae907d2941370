//! What besides the eligibility rules decides whether a draft can be submitted: the call taking
//! submissions, every partner's answer, a budget that adds up, a title, and a request within the
//! call's award bounds. One pure function lists every blocker, in the order submission refuses
//! them, so that the report an applicant reads and the refusal submission gives cannot disagree.

use super::application::{BudgetError, PartnerStatus, check_budget};
use super::money::{Currency, Money};

/// Why the call does not take the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallWindow {
    /// Open, and its closing time has not come.
    Accepting,
    /// Not open (yet, or any more, before its closing time passed).
    NotOpen,
    /// Its closing time has passed.
    Closed,
}

/// A partner named on the draft, with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPartner {
    /// The partner's name, as the applicant reads it.
    pub name: String,
    pub status: PartnerStatus,
    /// Its budget share, in minor units of the fund's currency.
    pub share_minor: i64,
}

/// Everything about a draft that submission checks besides the eligibility rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFacts {
    pub window: CallWindow,
    /// Whether the draft has a title in some language.
    pub titled: bool,
    pub requested_minor: i64,
    pub currency: Currency,
    /// The call's smallest and largest award, in minor units.
    pub min_award_minor: i64,
    pub max_award_minor: i64,
    /// The budget lines' amounts, in minor units.
    pub lines: Vec<i64>,
    pub partners: Vec<NamedPartner>,
}

/// How a blocker reaches a client that submits anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `INVALID_STATE`: something must happen first (a partner's answer, an open call).
    State,
    /// `BAD_USER_INPUT` on the named field: the draft must change.
    Input(&'static str),
}

/// One thing that stops the draft from being submitted, with its reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub kind: BlockerKind,
    pub refusal: Refusal,
    pub reason_en: String,
    pub reason_zh: String,
}

/// The kinds of blocker, with stable names for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockerKind {
    CallNotAccepting,
    PartnerNotAnswered,
    PartnerDeclined,
    BudgetDoesNotAddUp,
    TitleMissing,
    AmountOutsideAwardBounds,
}

impl BlockerKind {
    pub const ALL: [BlockerKind; 6] = [
        BlockerKind::CallNotAccepting,
        BlockerKind::PartnerNotAnswered,
        BlockerKind::PartnerDeclined,
        BlockerKind::BudgetDoesNotAddUp,
        BlockerKind::TitleMissing,
        BlockerKind::AmountOutsideAwardBounds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockerKind::CallNotAccepting => "CALL_NOT_ACCEPTING",
            BlockerKind::PartnerNotAnswered => "PARTNER_NOT_ANSWERED",
            BlockerKind::PartnerDeclined => "PARTNER_DECLINED",
            BlockerKind::BudgetDoesNotAddUp => "BUDGET_DOES_NOT_ADD_UP",
            BlockerKind::TitleMissing => "TITLE_MISSING",
            BlockerKind::AmountOutsideAwardBounds => "AMOUNT_OUTSIDE_AWARD_BOUNDS",
        }
    }
}

fn amount(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).map_or_else(|_| format!("{minor} {currency}"), |m| m.to_string())
}

fn names(partners: &[&NamedPartner]) -> String {
    partners
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a budget does not add up, with amounts in the currency, in English and Chinese.
pub fn budget_reason(
    error: &BudgetError,
    requested_minor: i64,
    currency: Currency,
) -> (String, String) {
    let total =
        |sum: i128| i64::try_from(sum).map_or_else(|_| sum.to_string(), |s| amount(s, currency));
    let requested = amount(requested_minor, currency);
    match *error {
        BudgetError::NonPositiveLine => (
            "every budget line needs an amount above zero".to_owned(),
            "每个预算项的金额须大于零".to_owned(),
        ),
        BudgetError::LinesDoNotAddUp { lines, .. } => (
            format!(
                "the budget lines add up to {} but the requested amount is {requested}",
                total(lines)
            ),
            format!("预算项合计{}，与申请金额{requested}不符", total(lines)),
        ),
        BudgetError::SharesExceedRequest { shares, .. } => (
            format!(
                "partner shares add up to {}, more than the requested amount {requested}",
                total(shares)
            ),
            format!(
                "合作伙伴预算份额合计{}，超过申请金额{requested}",
                total(shares)
            ),
        ),
        BudgetError::NegativeShare => (
            "a partner's budget share cannot be negative".to_owned(),
            "合作伙伴的预算份额不能为负数".to_owned(),
        ),
    }
}

/// Every blocker of the draft, in the order submission refuses them: the first one is what a
/// submission now would answer.
pub fn blockers(facts: &DraftFacts) -> Vec<Blocker> {
    let mut found = Vec::new();
    match facts.window {
        CallWindow::Accepting => {}
        CallWindow::NotOpen => found.push(Blocker {
            kind: BlockerKind::CallNotAccepting,
            refusal: Refusal::State,
            reason_en: "the call is not open for applications".to_owned(),
            reason_zh: "项目征集未开放申请".to_owned(),
        }),
        CallWindow::Closed => found.push(Blocker {
            kind: BlockerKind::CallNotAccepting,
            refusal: Refusal::State,
            reason_en: "the call closed; applications are no longer accepted".to_owned(),
            reason_zh: "项目征集已截止，不再接受申请".to_owned(),
        }),
    }
    let with = |status: PartnerStatus| -> Vec<&NamedPartner> {
        facts
            .partners
            .iter()
            .filter(|p| p.status == status)
            .collect()
    };
    let waiting = with(PartnerStatus::Pending);
    if !waiting.is_empty() {
        found.push(Blocker {
            kind: BlockerKind::PartnerNotAnswered,
            refusal: Refusal::State,
            reason_en: format!(
                "every partner must accept the partnership before submission; waiting for {}",
                names(&waiting)
            ),
            reason_zh: format!(
                "所有合作伙伴确认参与后方可提交；尚待{}答复",
                names(&waiting)
            ),
        });
    }
    let declined = with(PartnerStatus::Declined);
    if !declined.is_empty() {
        found.push(Blocker {
            kind: BlockerKind::PartnerDeclined,
            refusal: Refusal::State,
            reason_en: format!(
                "every partner must accept the partnership before submission; {} declined, so \
                 remove it from the draft or name it again with new terms",
                names(&declined)
            ),
            reason_zh: format!(
                "所有合作伙伴确认参与后方可提交；{}已拒绝，请从草稿中移除或以新的条件重新邀请",
                names(&declined)
            ),
        });
    }
    let shares: Vec<i64> = facts.partners.iter().map(|p| p.share_minor).collect();
    if let Err(error) = check_budget(facts.requested_minor, &facts.lines, &shares) {
        let (reason_en, reason_zh) = budget_reason(&error, facts.requested_minor, facts.currency);
        found.push(Blocker {
            kind: BlockerKind::BudgetDoesNotAddUp,
            refusal: Refusal::Input("budgetLines"),
            reason_en,
            reason_zh,
        });
    }
    if !facts.titled {
        found.push(Blocker {
            kind: BlockerKind::TitleMissing,
            refusal: Refusal::Input("title"),
            reason_en: "give the application a title before submitting it".to_owned(),
            reason_zh: "提交前请填写申请标题".to_owned(),
        });
    }
    if facts.requested_minor < facts.min_award_minor
        || facts.requested_minor > facts.max_award_minor
    {
        let (requested, min, max) = (
            amount(facts.requested_minor, facts.currency),
            amount(facts.min_award_minor, facts.currency),
            amount(facts.max_award_minor, facts.currency),
        );
        found.push(Blocker {
            kind: BlockerKind::AmountOutsideAwardBounds,
            refusal: Refusal::Input("requestedAmount"),
            reason_en: format!(
                "the requested {requested} is outside this call's awards of {min} to {max}"
            ),
            reason_zh: format!("申请金额{requested}不在本次征集的资助范围{min}至{max}之内"),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> DraftFacts {
        DraftFacts {
            window: CallWindow::Accepting,
            titled: true,
            requested_minor: 5_000_000,
            currency: Currency::USD,
            min_award_minor: 1_000_000,
            max_award_minor: 10_000_000,
            lines: vec![3_000_000, 2_000_000],
            partners: vec![NamedPartner {
                name: "Kathmandu Schools Trust".to_owned(),
                status: PartnerStatus::Accepted,
                share_minor: 1_000_000,
            }],
        }
    }

    fn kinds(facts: &DraftFacts) -> Vec<BlockerKind> {
        blockers(facts).into_iter().map(|b| b.kind).collect()
    }

    #[test]
    fn a_complete_draft_has_no_blocker() {
        assert!(blockers(&ready()).is_empty());
    }

    #[test]
    fn a_request_outside_the_award_bounds_is_refused_with_the_field() {
        for requested in [999_999, 10_000_001] {
            let facts = DraftFacts {
                requested_minor: requested,
                lines: vec![requested],
                partners: vec![],
                ..ready()
            };
            let found = blockers(&facts);
            assert_eq!(found.len(), 1, "{requested}");
            assert_eq!(found[0].kind, BlockerKind::AmountOutsideAwardBounds);
            assert_eq!(found[0].refusal, Refusal::Input("requestedAmount"));
            assert!(
                found[0]
                    .reason_en
                    .ends_with("outside this call's awards of 10000.00 USD to 100000.00 USD")
            );
        }
        for requested in [1_000_000, 10_000_000] {
            let facts = DraftFacts {
                requested_minor: requested,
                lines: vec![requested],
                ..ready()
            };
            assert!(blockers(&facts).is_empty(), "{requested}");
        }
    }

    #[test]
    fn partners_block_until_they_accept_and_are_named() {
        let mut facts = ready();
        facts.partners[0].status = PartnerStatus::Pending;
        let found = blockers(&facts);
        assert_eq!(found[0].kind, BlockerKind::PartnerNotAnswered);
        assert!(
            found[0]
                .reason_en
                .ends_with("waiting for Kathmandu Schools Trust")
        );
        facts.partners[0].status = PartnerStatus::Declined;
        assert_eq!(kinds(&facts), [BlockerKind::PartnerDeclined]);
    }

    #[test]
    fn every_blocker_is_listed_in_the_order_submission_refuses_them() {
        let facts = DraftFacts {
            window: CallWindow::Closed,
            titled: false,
            requested_minor: 50_000_000,
            lines: vec![1],
            partners: vec![
                NamedPartner {
                    name: "A".to_owned(),
                    status: PartnerStatus::Pending,
                    share_minor: 0,
                },
                NamedPartner {
                    name: "B".to_owned(),
                    status: PartnerStatus::Declined,
                    share_minor: 0,
                },
            ],
            ..ready()
        };
        assert_eq!(kinds(&facts), BlockerKind::ALL);
        let found = blockers(&facts);
        assert_eq!(found[0].refusal, Refusal::State);
        assert_eq!(found[3].refusal, Refusal::Input("budgetLines"));
        assert_eq!(found[4].refusal, Refusal::Input("title"));
    }

    #[test]
    fn budget_reasons_read_in_both_languages() {
        let facts = DraftFacts {
            lines: vec![1_000_000],
            ..ready()
        };
        let found = blockers(&facts);
        assert_eq!(found[0].kind, BlockerKind::BudgetDoesNotAddUp);
        assert_eq!(
            found[0].reason_en,
            "the budget lines add up to 10000.00 USD but the requested amount is 50000.00 USD"
        );
        assert_eq!(
            found[0].reason_zh,
            "预算项合计10000.00 USD，与申请金额50000.00 USD不符"
        );
    }
}
