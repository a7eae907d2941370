//! The rules of money leaving a fund: a tranche's life from plan to confirmed receipt, what a
//! grant's tranches may add up to, and the remittance rule that a payment worth strictly more
//! than the fund's threshold (USD 50,000.00 by default) needs a tax record filing before it is
//! sent. Amounts are exact; conversions round half-up to the cent.

use std::fmt;
use std::str::FromStr;

use crate::domain::money::{Currency, ExchangeRate, Money, MoneyError};

/// Where a disbursement (one tranche of a grant) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisbursementStatus {
    Planned,
    Approved,
    Sent,
    Confirmed,
    /// The money came back; the amount may be planned again.
    Failed,
    Cancelled,
}

impl DisbursementStatus {
    pub const ALL: [DisbursementStatus; 6] = [
        Self::Planned,
        Self::Approved,
        Self::Sent,
        Self::Confirmed,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "PLANNED",
            Self::Approved => "APPROVED",
            Self::Sent => "SENT",
            Self::Confirmed => "CONFIRMED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Money that left the fund and did not come back.
    pub fn counts_as_disbursed(self) -> bool {
        matches!(self, Self::Sent | Self::Confirmed)
    }

    /// Whether the tranche still takes up part of the award.
    pub fn holds_award(self) -> bool {
        !matches!(self, Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for DisbursementStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a disbursement status")]
pub struct UnknownDisbursementStatus(pub String);

impl FromStr for DisbursementStatus {
    type Err = UnknownDisbursementStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownDisbursementStatus(s.to_owned()))
    }
}

/// What happens to a disbursement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisbursementEvent {
    Approve,
    MarkSent,
    ConfirmReceived,
    MarkFailed,
    Cancel,
}

impl DisbursementEvent {
    pub const ALL: [DisbursementEvent; 5] = [
        Self::Approve,
        Self::MarkSent,
        Self::ConfirmReceived,
        Self::MarkFailed,
        Self::Cancel,
    ];

    fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::MarkSent => "mark as sent",
            Self::ConfirmReceived => "confirm the receipt of",
            Self::MarkFailed => "mark as failed",
            Self::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a disbursement that is {from}", .event.verb())]
pub struct DisbursementTransitionError {
    pub from: DisbursementStatus,
    pub event: DisbursementEvent,
}

/// `PLANNED → APPROVED → SENT → CONFIRMED`; `SENT → FAILED`; `PLANNED | APPROVED → CANCELLED`.
pub fn transition(
    from: DisbursementStatus,
    event: DisbursementEvent,
) -> Result<DisbursementStatus, DisbursementTransitionError> {
    use DisbursementEvent as E;
    use DisbursementStatus as S;
    match (from, event) {
        (S::Planned, E::Approve) => Ok(S::Approved),
        (S::Approved, E::MarkSent) => Ok(S::Sent),
        (S::Sent, E::ConfirmReceived) => Ok(S::Confirmed),
        (S::Sent, E::MarkFailed) => Ok(S::Failed),
        (S::Planned | S::Approved, E::Cancel) => Ok(S::Cancelled),
        _ => Err(DisbursementTransitionError { from, event }),
    }
}

/// Why planned tranches were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrancheError {
    #[error("give at least one tranche")]
    NoTranches,
    #[error("at most {max} tranches at once")]
    TooMany { max: usize },
    #[error("tranche {index} needs an amount above zero")]
    NonPositive { index: usize },
    #[error(
        "the tranches add up to {planned}, more than the {remaining} of the award not yet planned"
    )]
    ExceedsAward { planned: i128, remaining: i64 },
}

/// The most tranches one request may plan.
pub const MAX_TRANCHES_AT_ONCE: usize = 50;

/// Checks new tranches against what is left of the award (award minus tranches that still hold
/// part of it). Sums are widened so no overflow can make a wrong total look right.
pub fn check_tranches(
    award_minor: i64,
    held_minor: i64,
    amounts: &[i64],
) -> Result<(), TrancheError> {
    if amounts.is_empty() {
        return Err(TrancheError::NoTranches);
    }
    if amounts.len() > MAX_TRANCHES_AT_ONCE {
        return Err(TrancheError::TooMany {
            max: MAX_TRANCHES_AT_ONCE,
        });
    }
    if let Some(index) = amounts.iter().position(|a| *a <= 0) {
        return Err(TrancheError::NonPositive { index });
    }
    let planned: i128 = amounts.iter().map(|a| i128::from(*a)).sum();
    let remaining = award_minor.saturating_sub(held_minor).max(0);
    if planned > i128::from(remaining) {
        return Err(TrancheError::ExceedsAward { planned, remaining });
    }
    Ok(())
}

/// Why a remittance check could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemittanceError {
    #[error("a payment in {from} needs its exchange rate to {to}")]
    MissingRate { from: Currency, to: Currency },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A payment measured against the remittance threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemittanceCheck {
    /// The payment in the threshold's currency, rounded half-up to its minor unit.
    pub equivalent: Money,
    /// Strictly above the threshold: a filing is needed before sending.
    pub filing_required: bool,
}

/// Measures `amount` against `threshold`. A payment in another currency than the threshold's
/// needs `rate` (units of the threshold's currency per unit of the payment's); one in the same
/// currency needs none. Exactly the threshold needs no filing.
pub fn check_remittance(
    amount: Money,
    rate: Option<&ExchangeRate>,
    threshold: Money,
) -> Result<RemittanceCheck, RemittanceError> {
    let equivalent = if amount.currency() == threshold.currency() {
        amount
    } else {
        let rate = rate.ok_or(RemittanceError::MissingRate {
            from: amount.currency(),
            to: threshold.currency(),
        })?;
        amount.convert(rate, threshold.currency())?
    };
    Ok(RemittanceCheck {
        equivalent,
        filing_required: equivalent.minor() > threshold.minor(),
    })
}

/// Where a grantee is paid, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankDetails {
    pub account_name: String,
    pub account_number: String,
    pub bank_name: String,
    /// The bank's BIC (SWIFT code), 8 or 11 characters.
    pub swift: Option<String>,
    /// The currency the account holds; payments are converted into it.
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankDetailsError {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "`{0}` is not a BIC: 4 letters (bank), 2 letters (country), 2 letters or digits (place), and an optional 3 (branch)"
    )]
    Swift(String),
}

impl BankDetailsError {
    pub fn field(&self) -> String {
        match self {
            Self::Missing { field } | Self::TooLong { field, .. } => format!("input.{field}"),
            Self::Swift(_) => "input.swift".to_owned(),
        }
    }
}

impl BankDetails {
    pub fn parse(
        account_name: &str,
        account_number: &str,
        bank_name: &str,
        swift: Option<&str>,
        currency: Currency,
    ) -> Result<BankDetails, BankDetailsError> {
        let text = |value: &str, field: &'static str, max: usize| {
            let value = value.trim();
            if value.is_empty() {
                return Err(BankDetailsError::Missing { field });
            }
            if value.chars().count() > max {
                return Err(BankDetailsError::TooLong { field, max });
            }
            Ok(value.to_owned())
        };
        let swift = swift
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let upper = s.to_ascii_uppercase();
                let bytes = upper.as_bytes();
                let valid = matches!(bytes.len(), 8 | 11)
                    && bytes[..6].iter().all(u8::is_ascii_uppercase)
                    && bytes[6..].iter().all(u8::is_ascii_alphanumeric);
                if valid {
                    Ok(upper)
                } else {
                    Err(BankDetailsError::Swift(s.to_owned()))
                }
            })
            .transpose()?;
        Ok(BankDetails {
            account_name: text(account_name, "accountName", 200)?,
            account_number: text(account_number, "accountNumber", 64)?,
            bank_name: text(bank_name, "bankName", 200)?,
            swift,
            currency,
        })
    }

    /// The account number with all but its last four characters hidden, for lists and emails.
    pub fn masked_account_number(&self) -> String {
        let chars: Vec<char> = self.account_number.chars().collect();
        let shown = chars.len().min(4);
        let hidden = chars.len() - shown;
        "•".repeat(hidden) + &chars[hidden..].iter().collect::<String>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisbursementEvent as E;
    use DisbursementStatus as S;

    fn money(amount: &str, currency: &str) -> Money {
        Money::from_decimal_str(amount, Currency::parse(currency).unwrap()).unwrap()
    }

    fn rate(text: &str) -> ExchangeRate {
        ExchangeRate::parse(text).unwrap()
    }

    #[test]
    fn every_status_and_event_has_exactly_the_documented_outcome() {
        let allowed = [
            (S::Planned, E::Approve, S::Approved),
            (S::Approved, E::MarkSent, S::Sent),
            (S::Sent, E::ConfirmReceived, S::Confirmed),
            (S::Sent, E::MarkFailed, S::Failed),
            (S::Planned, E::Cancel, S::Cancelled),
            (S::Approved, E::Cancel, S::Cancelled),
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
        assert_eq!(
            transition(S::Confirmed, E::MarkFailed)
                .unwrap_err()
                .to_string(),
            "cannot mark as failed a disbursement that is CONFIRMED"
        );
    }

    #[test]
    fn statuses_round_trip_and_say_what_they_hold() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
        }
        let disbursed: Vec<S> = S::ALL
            .into_iter()
            .filter(|s| s.counts_as_disbursed())
            .collect();
        assert_eq!(disbursed, [S::Sent, S::Confirmed]);
        let released: Vec<S> = S::ALL.into_iter().filter(|s| !s.holds_award()).collect();
        assert_eq!(released, [S::Failed, S::Cancelled]);
    }

    #[test]
    fn tranches_fit_within_what_is_left_of_the_award() {
        assert_eq!(check_tranches(1_000, 0, &[600, 400]), Ok(()));
        assert_eq!(check_tranches(1_000, 600, &[400]), Ok(()));
        assert_eq!(
            check_tranches(1_000, 600, &[401]),
            Err(TrancheError::ExceedsAward {
                planned: 401,
                remaining: 400
            })
        );
        assert_eq!(
            check_tranches(1_000, 0, &[500, 0]),
            Err(TrancheError::NonPositive { index: 1 })
        );
        assert_eq!(check_tranches(1_000, 0, &[]), Err(TrancheError::NoTranches));
        assert!(matches!(
            check_tranches(i64::MAX, 0, &[i64::MAX, i64::MAX]),
            Err(TrancheError::ExceedsAward { .. })
        ));
        assert!(matches!(
            check_tranches(1_000, 0, &[1; 51]),
            Err(TrancheError::TooMany { .. })
        ));
    }

    #[test]
    fn the_remittance_rule_is_strictly_above_the_threshold() {
        let threshold = money("50000.00", "USD");
        let check = |amount: &str| check_remittance(money(amount, "USD"), None, threshold).unwrap();
        assert!(!check("50000.00").filing_required, "exactly the threshold");
        assert!(!check("49999.99").filing_required);
        assert!(check("50000.01").filing_required);
    }

    #[test]
    fn other_currencies_are_converted_half_up_before_comparing() {
        let threshold = money("50000.00", "USD");
        // 357,142.86 CNY × 0.14 = 50,000.0004 → 50,000.00: no filing.
        let at =
            check_remittance(money("357142.86", "CNY"), Some(&rate("0.14")), threshold).unwrap();
        assert_eq!(at.equivalent, money("50000.00", "USD"));
        assert!(!at.filing_required);
        // 357,142.90 CNY × 0.14 = 50,000.006 → 50,000.01: filing.
        let above =
            check_remittance(money("357142.90", "CNY"), Some(&rate("0.14")), threshold).unwrap();
        assert_eq!(above.equivalent, money("50000.01", "USD"));
        assert!(above.filing_required);
        // 357,142.82 CNY × 0.14 = 49,999.9948 → 49,999.99: none.
        let below =
            check_remittance(money("357142.82", "CNY"), Some(&rate("0.14")), threshold).unwrap();
        assert_eq!(below.equivalent, money("49999.99", "USD"));
        assert!(!below.filing_required);
        // Exactly half a cent rounds up: 100,000.010 KWD × 0.5 = 50,000.005 → 50,000.01.
        let half =
            check_remittance(money("100000.010", "KWD"), Some(&rate("0.5")), threshold).unwrap();
        assert_eq!(half.equivalent, money("50000.01", "USD"));
        assert!(half.filing_required);
    }

    #[test]
    fn bank_details_are_trimmed_and_checked() {
        let cny = Currency::parse("CNY").unwrap();
        let details = BankDetails::parse(
            " Maji Safi Trust ",
            "0123456789",
            "KCB",
            Some("kcbłke"),
            cny,
        );
        assert_eq!(details.unwrap_err().field(), "input.swift");
        let details = BankDetails::parse(
            "Maji Safi Trust",
            "0123456789",
            "KCB",
            Some("kcblkena"),
            cny,
        )
        .unwrap();
        assert_eq!(details.swift.as_deref(), Some("KCBLKENA"));
        assert_eq!(details.masked_account_number(), "••••••6789");
        assert_eq!(
            BankDetails::parse("", "1", "KCB", None, cny),
            Err(BankDetailsError::Missing {
                field: "accountName"
            })
        );
        assert!(BankDetails::parse("A", "1", "KCB", Some("KCBLKENAXXX"), cny).is_ok());
        assert!(BankDetails::parse("A", "1", "KCB", Some("KCBLKE1A"), cny).is_ok());
        assert!(BankDetails::parse("A", "1", "KCB", Some("KCB1KENA"), cny).is_err());
    }

    #[test]
    fn a_foreign_payment_without_a_rate_cannot_be_measured() {
        assert_eq!(
            check_remittance(money("1.00", "CNY"), None, money("50000.00", "USD")),
            Err(RemittanceError::MissingRate {
                from: Currency::parse("CNY").unwrap(),
                to: Currency::parse("USD").unwrap(),
            })
        );
    }
}
