//! Money is an integer count of minor units of an ISO 4217 currency, and exchange rates are exact
//! decimals, so that no float ever touches an amount and every conversion can be recomputed to the
//! last minor unit by an auditor.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An active ISO 4217 currency that has minor units.
///
/// Codes without minor units (`XXX` no currency, `XTS` testing, precious metals, SDR and other
/// units of account) are not money a fund can hold, so they cannot be parsed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(&'static CurrencyEntry);

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CurrencyEntry {
    code: &'static str,
    minor_digits: u32,
}

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// The text is not three ASCII letters.
    #[error("`{0}` is not a currency code: use three letters, such as USD or CNY")]
    Malformed(String),
    /// Three letters, but not an active ISO 4217 currency with minor units.
    #[error("`{0}` is not an active ISO 4217 currency")]
    Unknown(String),
}

impl Currency {
    /// The United States dollar, in which the remittance threshold is expressed.
    pub const USD: Currency = Currency(&CurrencyEntry {
        code: "USD",
        minor_digits: 2,
    });
    /// The Chinese yuan renminbi.
    pub const CNY: Currency = Currency(&CurrencyEntry {
        code: "CNY",
        minor_digits: 2,
    });
    /// The euro.
    pub const EUR: Currency = Currency(&CurrencyEntry {
        code: "EUR",
        minor_digits: 2,
    });

    /// Parses a currency code; lowercase input is accepted and normalised to uppercase.
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CurrencyError::Malformed(code.to_owned()));
        }
        let upper = code.to_ascii_uppercase();
        CURRENCIES
            .binary_search_by(|entry| entry.code.cmp(upper.as_str()))
            .ok()
            .and_then(|index| CURRENCIES.get(index))
            .map(Currency)
            .ok_or(CurrencyError::Unknown(upper))
    }

    /// Every currency that [`Currency::parse`] accepts, in alphabetical order of code.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(Currency)
    }

    /// The three-letter uppercase code, such as `USD`.
    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// How many decimal places the currency's minor unit has (USD 2, JPY 0, KWD 3, CLF 4).
    pub fn minor_digits(self) -> u32 {
        self.0.minor_digits
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Currency").field(&self.code()).finish()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::parse(code)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.code().to_owned()
    }
}

/// A non-negative amount of money, counted in minor units of its currency (cents for USD, fen for
/// CNY, yen for JPY).
///
/// Grants, budgets and payments are never negative, so a `Money` cannot be either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// The API's shape of money: a decimal string in major units, so that no amount overflows a
/// 32-bit GraphQL `Int` or loses precision in a JSON float.
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

/// Why an amount was refused or an operation on money could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// No amount was given.
    #[error("an amount is required")]
    Empty,
    /// The text is not a plain decimal number.
    #[error(
        "`{0}` is not a plain amount: use digits with an optional `.` and decimals, such as \
         110000.50 (no sign, spaces, thousands separators or exponent)"
    )]
    Malformed(String),
    /// More decimals than the currency's minor unit can hold.
    #[error("`{amount}` has more decimal places than {currency} allows ({max})")]
    TooManyDecimals {
        amount: String,
        currency: Currency,
        max: u32,
    },
    /// The amount or a result does not fit in 64-bit minor units.
    #[error("the amount is too large")]
    Overflow,
    /// An amount or a result would be below zero.
    #[error("an amount of money cannot be negative")]
    Negative,
    /// Two amounts in different currencies were combined.
    #[error("cannot combine an amount in {left} with an amount in {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
}

impl Money {
    /// An amount of `minor` minor units; refuses a negative count.
    pub fn new(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { minor, currency })
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Parses a plain non-negative decimal in major units: `110000`, `110000.5`, `110000.50`.
    ///
    /// Refused: more decimals than the currency has (even trailing zeros, so `5000.0` JPY is
    /// refused), signs, exponents, spaces, thousands separators, a missing integer or fraction
    /// part around the `.`, and amounts whose minor units do not fit in an `i64`.
    pub fn from_decimal_str(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        if amount.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (integer, fraction) =
            split_plain_decimal(amount).ok_or_else(|| MoneyError::Malformed(amount.to_owned()))?;
        let max = currency.minor_digits();
        let fraction_digits = digit_count(fraction);
        if fraction_digits > max {
            return Err(MoneyError::TooManyDecimals {
                amount: amount.to_owned(),
                currency,
                max,
            });
        }
        let scaled = append_digits(0, integer)
            .and_then(|value| append_digits(value, fraction))
            .and_then(|value| value.checked_mul(pow10(max - fraction_digits)?))
            .ok_or(MoneyError::Overflow)?;
        let minor = i64::try_from(scaled).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// The count of minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency of the amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is nothing.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// The amount in major units with exactly the currency's decimals: `110000.00` USD, `5000`
    /// JPY, `1.500` KWD. It parses back with [`Money::from_decimal_str`].
    pub fn to_decimal_string(&self) -> String {
        format_scaled(i128::from(self.minor), self.currency.minor_digits())
    }

    /// The sum, refused across currencies or past `i64::MAX` minor units.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency,
        })
    }

    /// The difference, refused across currencies or when it would be negative.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        // Both sides are non-negative, so the subtraction itself cannot overflow.
        let minor = self.minor - other.minor;
        Money::new(minor, self.currency)
    }

    /// Compares two amounts of the same currency; amounts in different currencies have no order.
    pub fn checked_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.minor.cmp(&other.minor))
    }

    /// Converts into `to` at `rate` (units of `to` per unit of `self`'s currency).
    ///
    /// The product is exact; it is then rounded half-up (away from zero) to `to`'s minor units,
    /// so 1.00 at a rate of 1.005 gives 1.01, where a float would give 1.00.
    pub fn convert(&self, rate: &ExchangeRate, to: Currency) -> Result<Money, MoneyError> {
        // minor_to = minor_from * rate * 10^to_digits / 10^from_digits, and
        // rate = mantissa / 10^scale.
        let numerator = i128::from(self.minor)
            .checked_mul(rate.mantissa)
            .and_then(|value| value.checked_mul(pow10(to.minor_digits())?))
            .ok_or(MoneyError::Overflow)?;
        let denominator = self
            .currency
            .minor_digits()
            .checked_add(rate.scale)
            .and_then(pow10)
            .ok_or(MoneyError::Overflow)?;
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        // Half-up: a remainder of at least half the denominator rounds up. Both are
        // non-negative, and `denominator - remainder` cannot overflow where `2 * remainder` could.
        let rounded = if remainder >= denominator - remainder {
            quotient + 1
        } else {
            quotient
        };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: to,
        })
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;

    fn try_from(repr: MoneyRepr) -> Result<Self, Self::Error> {
        Money::from_decimal_str(&repr.amount, repr.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(money: Money) -> Self {
        MoneyRepr {
            amount: money.to_decimal_string(),
            currency: money.currency,
        }
    }
}

/// Splits `total_minor` into `parts` amounts that differ by at most one minor unit and add up to
/// exactly `total_minor`; the first parts take the remainder. No parts gives an empty list.
///
/// Used for tranches and budget shares, where dropping or inventing a cent is not acceptable.
pub fn split_evenly(total_minor: i64, parts: usize) -> Vec<i64> {
    if parts == 0 {
        return Vec::new();
    }
    // A list longer than i64::MAX cannot be allocated, so clamping the divisor is never observable.
    let count = i64::try_from(parts).unwrap_or(i64::MAX);
    // Euclidean division keeps the remainder non-negative, so negative totals split the same way.
    let base = total_minor.div_euclid(count);
    let remainder = total_minor.rem_euclid(count);
    (0..count)
        .map(|index| if index < remainder { base + 1 } else { base })
        .collect()
}

/// An exact, positive exchange rate with at most [`ExchangeRate::MAX_SCALE`] decimals.
///
/// Kept normalised (no trailing zeros after the point), so equal rates compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExchangeRate {
    mantissa: i128,
    scale: u32,
}

/// Why an exchange rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeRateError {
    /// No rate was given.
    #[error("an exchange rate is required")]
    Empty,
    /// The text is not a plain decimal number.
    #[error(
        "`{0}` is not a plain exchange rate: use digits with an optional `.` and decimals, such \
         as 0.138912"
    )]
    Malformed(String),
    /// More decimals than a rate may carry.
    #[error("an exchange rate has at most {max} decimal places; `{rate}` has more")]
    TooManyDecimals { rate: String, max: u32 },
    /// Zero or negative.
    #[error("an exchange rate must be greater than zero")]
    NotPositive,
    /// Too many digits to compute with.
    #[error("the exchange rate is too large")]
    Overflow,
}

impl ExchangeRate {
    /// The most decimals a rate may carry; more precision than this is noise for money.
    pub const MAX_SCALE: u32 = 12;

    /// Parses a plain positive decimal such as `0.138912` or `7`.
    pub fn parse(rate: &str) -> Result<ExchangeRate, ExchangeRateError> {
        if rate.is_empty() {
            return Err(ExchangeRateError::Empty);
        }
        let (integer, fraction) = split_plain_decimal(rate)
            .ok_or_else(|| ExchangeRateError::Malformed(rate.to_owned()))?;
        let scale = digit_count(fraction);
        if scale > Self::MAX_SCALE {
            return Err(ExchangeRateError::TooManyDecimals {
                rate: rate.to_owned(),
                max: Self::MAX_SCALE,
            });
        }
        let mantissa = append_digits(0, integer)
            .and_then(|value| append_digits(value, fraction))
            .ok_or(ExchangeRateError::Overflow)?;
        ExchangeRate::new(mantissa, scale)
    }

    /// The rate `mantissa / 10^scale`, as stored in fixed-point columns.
    pub fn new(mantissa: i128, scale: u32) -> Result<ExchangeRate, ExchangeRateError> {
        if mantissa <= 0 {
            return Err(ExchangeRateError::NotPositive);
        }
        let (mut mantissa, mut scale) = (mantissa, scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > Self::MAX_SCALE {
            return Err(ExchangeRateError::TooManyDecimals {
                rate: format_scaled(mantissa, scale),
                max: Self::MAX_SCALE,
            });
        }
        Ok(ExchangeRate { mantissa, scale })
    }

    /// The digits of the rate without the decimal point.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// How many of the mantissa's digits are decimals.
    pub fn scale(&self) -> u32 {
        self.scale
    }
}

impl fmt::Display for ExchangeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(self.mantissa, self.scale))
    }
}

impl FromStr for ExchangeRate {
    type Err = ExchangeRateError;

    fn from_str(rate: &str) -> Result<Self, Self::Err> {
        ExchangeRate::parse(rate)
    }
}

impl TryFrom<String> for ExchangeRate {
    type Error = ExchangeRateError;

    fn try_from(rate: String) -> Result<Self, Self::Error> {
        ExchangeRate::parse(&rate)
    }
}

impl From<ExchangeRate> for String {
    fn from(rate: ExchangeRate) -> Self {
        rate.to_string()
    }
}

/// Splits `123` or `123.45` into its integer and fraction digits; `None` for anything else,
/// including `.5`, `5.`, signs, exponents, spaces and separators.
fn split_plain_decimal(text: &str) -> Option<(&str, &str)> {
    let (integer, fraction) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    (!integer.is_empty() && all_digits(integer) && all_digits(fraction))
        .then_some((integer, fraction))
}

/// The number of ASCII digits in a string already checked to hold only digits.
fn digit_count(digits: &str) -> u32 {
    // More than u32::MAX digits cannot reach here in practice; saturating keeps it refused.
    u32::try_from(digits.len()).unwrap_or(u32::MAX)
}

/// `value` followed by `digits`, or `None` on overflow.
fn append_digits(value: i128, digits: &str) -> Option<i128> {
    digits.bytes().try_fold(value, |acc, digit| {
        acc.checked_mul(10)?.checked_add(i128::from(digit - b'0'))
    })
}

fn pow10(exponent: u32) -> Option<i128> {
    10_i128.checked_pow(exponent)
}

/// Formats a non-negative `value / 10^scale` with exactly `scale` decimals.
fn format_scaled(value: i128, scale: u32) -> String {
    let digits = value.to_string();
    let scale = scale as usize;
    if scale == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (integer, fraction) = padded.split_at(padded.len() - scale);
    format!("{integer}.{fraction}")
}

const fn entry(code: &'static str, minor_digits: u32) -> CurrencyEntry {
    CurrencyEntry { code, minor_digits }
}

/// Every active ISO 4217 currency with minor units, sorted by code for binary search.
///
/// As of 2026: Bulgaria's lev (BGN) and Croatia's kuna (HRK) gave way to the euro; the Cuban
/// convertible peso (CUC), the old Sierra Leonean leone (SLL), the Zimbabwe dollar (ZWL) and the
/// Netherlands Antillean guilder (ANG) were withdrawn for CUP, SLE, ZWG and XCG.
static CURRENCIES: [CurrencyEntry; 164] = [
    entry("AED", 2),
    entry("AFN", 2),
    entry("ALL", 2),
    entry("AMD", 2),
    entry("AOA", 2),
    entry("ARS", 2),
    entry("AUD", 2),
    entry("AWG", 2),
    entry("AZN", 2),
    entry("BAM", 2),
    entry("BBD", 2),
    entry("BDT", 2),
    entry("BHD", 3),
    entry("BIF", 0),
    entry("BMD", 2),
    entry("BND", 2),
    entry("BOB", 2),
    entry("BOV", 2),
    entry("BRL", 2),
    entry("BSD", 2),
    entry("BTN", 2),
    entry("BWP", 2),
    entry("BYN", 2),
    entry("BZD", 2),
    entry("CAD", 2),
    entry("CDF", 2),
    entry("CHE", 2),
    entry("CHF", 2),
    entry("CHW", 2),
    entry("CLF", 4),
    entry("CLP", 0),
    entry("CNY", 2),
    entry("COP", 2),
    entry("COU", 2),
    entry("CRC", 2),
    entry("CUP", 2),
    entry("CVE", 2),
    entry("CZK", 2),
    entry("DJF", 0),
    entry("DKK", 2),
    entry("DOP", 2),
    entry("DZD", 2),
    entry("EGP", 2),
    entry("ERN", 2),
    entry("ETB", 2),
    entry("EUR", 2),
    entry("FJD", 2),
    entry("FKP", 2),
    entry("GBP", 2),
    entry("GEL", 2),
    entry("GHS", 2),
    entry("GIP", 2),
    entry("GMD", 2),
    entry("GNF", 0),
    entry("GTQ", 2),
    entry("GYD", 2),
    entry("HKD", 2),
    entry("HNL", 2),
    entry("HTG", 2),
    entry("HUF", 2),
    entry("IDR", 2),
    entry("ILS", 2),
    entry("INR", 2),
    entry("IQD", 3),
    entry("IRR", 2),
    entry("ISK", 0),
    entry("JMD", 2),
    entry("JOD", 3),
    entry("JPY", 0),
    entry("KES", 2),
    entry("KGS", 2),
    entry("KHR", 2),
    entry("KMF", 0),
    entry("KPW", 2),
    entry("KRW", 0),
    entry("KWD", 3),
    entry("KYD", 2),
    entry("KZT", 2),
    entry("LAK", 2),
    entry("LBP", 2),
    entry("LKR", 2),
    entry("LRD", 2),
    entry("LSL", 2),
    entry("LYD", 3),
    entry("MAD", 2),
    entry("MDL", 2),
    entry("MGA", 2),
    entry("MKD", 2),
    entry("MMK", 2),
    entry("MNT", 2),
    entry("MOP", 2),
    entry("MRU", 2),
    entry("MUR", 2),
    entry("MVR", 2),
    entry("MWK", 2),
    entry("MXN", 2),
    entry("MXV", 2),
    entry("MYR", 2),
    entry("MZN", 2),
    entry("NAD", 2),
    entry("NGN", 2),
    entry("NIO", 2),
    entry("NOK", 2),
    entry("NPR", 2),
    entry("NZD", 2),
    entry("OMR", 3),
    entry("PAB", 2),
    entry("PEN", 2),
    entry("PGK", 2),
    entry("PHP", 2),
    entry("PKR", 2),
    entry("PLN", 2),
    entry("PYG", 0),
    entry("QAR", 2),
    entry("RON", 2),
    entry("RSD", 2),
    entry("RUB", 2),
    entry("RWF", 0),
    entry("SAR", 2),
    entry("SBD", 2),
    entry("SCR", 2),
    entry("SDG", 2),
    entry("SEK", 2),
    entry("SGD", 2),
    entry("SHP", 2),
    entry("SLE", 2),
    entry("SOS", 2),
    entry("SRD", 2),
    entry("SSP", 2),
    entry("STN", 2),
    entry("SVC", 2),
    entry("SYP", 2),
    entry("SZL", 2),
    entry("THB", 2),
    entry("TJS", 2),
    entry("TMT", 2),
    entry("TND", 3),
    entry("TOP", 2),
    entry("TRY", 2),
    entry("TTD", 2),
    entry("TWD", 2),
    entry("TZS", 2),
    entry("UAH", 2),
    entry("UGX", 0),
    entry("USD", 2),
    entry("USN", 2),
    entry("UYI", 0),
    entry("UYU", 2),
    entry("UYW", 4),
    entry("UZS", 2),
    entry("VED", 2),
    entry("VES", 2),
    entry("VND", 0),
    entry("VUV", 0),
    entry("WST", 2),
    entry("XAF", 0),
    entry("XCD", 2),
    entry("XCG", 2),
    entry("XOF", 0),
    entry("XPF", 0),
    entry("YER", 2),
    entry("ZAR", 2),
    entry("ZMW", 2),
    entry("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::from_decimal_str(amount, currency(code)).unwrap()
    }

    fn rate(text: &str) -> ExchangeRate {
        ExchangeRate::parse(text).unwrap()
    }

    #[test]
    fn the_currency_table_is_sorted_unique_and_made_of_three_uppercase_letters() {
        for pair in CURRENCIES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for entry in &CURRENCIES {
            assert_eq!(entry.code.len(), 3);
            assert!(entry.code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(entry.minor_digits <= 4, "{}", entry.code);
        }
        assert_eq!(Currency::all().count(), CURRENCIES.len());
    }

    #[test]
    fn currencies_know_their_minor_digits() {
        let expected = [
            ("USD", 2),
            ("CNY", 2),
            ("EUR", 2),
            ("KES", 2),
            ("JPY", 0),
            ("XOF", 0),
            ("XAF", 0),
            ("UGX", 0),
            ("KRW", 0),
            ("VND", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("TND", 3),
            ("CLF", 4),
            ("UYW", 4),
        ];
        for (code, digits) in expected {
            assert_eq!(currency(code).minor_digits(), digits, "{code}");
        }
    }

    #[test]
    fn currencies_of_the_global_south_are_all_there() {
        for code in [
            "KES", "ETB", "NGN", "GHS", "TZS", "RWF", "ZAR", "ZMW", "ZWG", "MZN", "BDT", "NPR",
            "LKR", "PKR", "KHR", "LAK", "MMK", "IDR", "PHP", "BOB", "PEN", "VES", "VED", "SLE",
            "XCG", "XCD", "XPF",
        ] {
            assert!(Currency::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn the_named_constants_match_the_table() {
        assert_eq!(Currency::USD, currency("USD"));
        assert_eq!(Currency::CNY, currency("CNY"));
        assert_eq!(Currency::EUR, currency("EUR"));
    }

    #[test]
    fn lowercase_currency_codes_are_normalised_to_uppercase() {
        assert_eq!(currency("usd"), Currency::USD);
        assert_eq!(currency("cNy").code(), "CNY");
        assert_eq!("eur".parse::<Currency>(), Ok(Currency::EUR));
    }

    #[test]
    fn unknown_and_non_monetary_codes_are_refused() {
        for code in [
            "XXX", "XTS", "XAU", "XAG", "XDR", "XSU", "XUA", "ABC", "HRK", "CUC", "ZWL", "BGN",
        ] {
            assert_eq!(
                Currency::parse(code),
                Err(CurrencyError::Unknown(code.to_owned())),
                "{code}"
            );
        }
    }

    #[test]
    fn malformed_currency_codes_are_refused() {
        for code in ["", "US", "USDX", "US1", " USD", "U$D", "ÜSD"] {
            assert_eq!(
                Currency::parse(code),
                Err(CurrencyError::Malformed(code.to_owned())),
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_currency_displays_as_its_code() {
        assert_eq!(Currency::USD.to_string(), "USD");
        assert_eq!(format!("{:?}", Currency::USD), "Currency(\"USD\")");
    }

    #[test]
    fn currencies_deserialise_from_their_code() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let usd = Currency::deserialize::<StrDeserializer<Error>>("usd".into_deserializer());
        assert_eq!(usd.unwrap(), Currency::USD);
        let bad = Currency::deserialize::<StrDeserializer<Error>>("XXX".into_deserializer());
        assert!(bad.is_err());
        assert_eq!(String::from(Currency::CNY), "CNY");
    }

    #[test]
    fn whole_and_fractional_amounts_parse_into_minor_units() {
        assert_eq!(money("110000", "USD").minor(), 11_000_000);
        assert_eq!(money("110000.5", "USD").minor(), 11_000_050);
        assert_eq!(money("110000.50", "USD").minor(), 11_000_050);
        assert_eq!(money("0.01", "USD").minor(), 1);
        assert_eq!(money("0", "USD").minor(), 0);
        assert_eq!(money("007.10", "USD").minor(), 710);
        assert_eq!(money("5000", "JPY").minor(), 5000);
        assert_eq!(money("1.5", "KWD").minor(), 1500);
        assert_eq!(money("1.2345", "CLF").minor(), 12_345);
    }

    #[test]
    fn more_decimals_than_the_currency_has_are_refused() {
        assert_eq!(
            Money::from_decimal_str("1.005", Currency::USD),
            Err(MoneyError::TooManyDecimals {
                amount: "1.005".to_owned(),
                currency: Currency::USD,
                max: 2
            })
        );
        assert!(matches!(
            Money::from_decimal_str("110000.500", Currency::USD),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Money::from_decimal_str("5000.0", currency("JPY")),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        assert!(Money::from_decimal_str("1.5000", currency("KWD")).is_err());
    }

    #[test]
    fn anything_but_a_plain_decimal_is_refused() {
        for amount in [
            "-1", "+1", "1e5", "1E5", " 1", "1 ", "1 000", "1,000", "1_000", "1.000,00", ".", ".5",
            "5.", "1..0", "1.0.0", "abc", "0x10", "１", "١٢",
        ] {
            assert_eq!(
                Money::from_decimal_str(amount, Currency::USD),
                Err(MoneyError::Malformed(amount.to_owned())),
                "{amount:?}"
            );
        }
    }

    #[test]
    fn an_empty_amount_is_refused() {
        assert_eq!(
            Money::from_decimal_str("", Currency::USD),
            Err(MoneyError::Empty)
        );
    }

    #[test]
    fn amounts_beyond_64_bit_minor_units_are_refused() {
        let max = i64::MAX; // 9_223_372_036_854_775_807
        assert_eq!(money("92233720368547758.07", "USD").minor(), max);
        assert_eq!(
            Money::from_decimal_str("92233720368547758.08", Currency::USD),
            Err(MoneyError::Overflow)
        );
        assert_eq!(money("9223372036854775807", "JPY").minor(), max);
        assert_eq!(
            Money::from_decimal_str("9223372036854775808", currency("JPY")),
            Err(MoneyError::Overflow)
        );
        let huge = "9".repeat(60);
        assert_eq!(
            Money::from_decimal_str(&huge, Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn amounts_format_with_exactly_the_currency_decimals() {
        assert_eq!(money("110000", "USD").to_decimal_string(), "110000.00");
        assert_eq!(money("110000.5", "USD").to_decimal_string(), "110000.50");
        assert_eq!(money("0.07", "USD").to_decimal_string(), "0.07");
        assert_eq!(Money::zero(Currency::USD).to_decimal_string(), "0.00");
        assert_eq!(money("5000", "JPY").to_decimal_string(), "5000");
        assert_eq!(money("1.5", "KWD").to_decimal_string(), "1.500");
        assert_eq!(money("0.0001", "CLF").to_decimal_string(), "0.0001");
        assert_eq!(
            Money::new(i64::MAX, Currency::USD)
                .unwrap()
                .to_decimal_string(),
            "92233720368547758.07"
        );
    }

    #[test]
    fn formatted_amounts_parse_back_to_the_same_money() {
        for (minor, code) in [
            (0, "USD"),
            (1, "USD"),
            (123_456, "KWD"),
            (42, "JPY"),
            (7, "CLF"),
        ] {
            let original = Money::new(minor, currency(code)).unwrap();
            let text = original.to_decimal_string();
            assert_eq!(money(&text, code), original);
        }
    }

    #[test]
    fn money_displays_with_its_currency() {
        assert_eq!(money("110000", "USD").to_string(), "110000.00 USD");
    }

    #[test]
    fn money_deserialises_from_an_amount_string_and_a_currency() {
        use serde::de::value::{Error, MapDeserializer};

        let fields = [("amount", "110000.5"), ("currency", "usd")];
        let deserializer = MapDeserializer::<_, Error>::new(fields.into_iter());
        let parsed = Money::deserialize(deserializer).unwrap();
        assert_eq!(parsed, money("110000.50", "USD"));

        let fields = [("amount", "1.005"), ("currency", "USD")];
        let deserializer = MapDeserializer::<_, Error>::new(fields.into_iter());
        assert!(Money::deserialize(deserializer).is_err());
    }

    #[test]
    fn a_negative_count_of_minor_units_is_refused() {
        assert_eq!(Money::new(-1, Currency::USD), Err(MoneyError::Negative));
        assert_eq!(Money::new(0, Currency::USD), Ok(Money::zero(Currency::USD)));
    }

    #[test]
    fn zero_is_zero_and_anything_else_is_not() {
        assert!(Money::zero(Currency::CNY).is_zero());
        assert!(!money("0.01", "CNY").is_zero());
        assert_eq!(Money::zero(Currency::CNY).currency(), Currency::CNY);
    }

    #[test]
    fn amounts_of_the_same_currency_add_and_subtract() {
        let a = money("100.25", "USD");
        let b = money("0.75", "USD");
        assert_eq!(a.checked_add(&b), Ok(money("101", "USD")));
        assert_eq!(a.checked_sub(&b), Ok(money("99.50", "USD")));
        assert_eq!(a.checked_sub(&a), Ok(Money::zero(Currency::USD)));
    }

    #[test]
    fn amounts_of_different_currencies_do_not_combine() {
        let usd = money("1", "USD");
        let cny = money("1", "CNY");
        let mismatch = Err(MoneyError::CurrencyMismatch {
            left: Currency::USD,
            right: Currency::CNY,
        });
        assert_eq!(usd.checked_add(&cny), mismatch);
        assert_eq!(usd.checked_sub(&cny), mismatch);
        assert_eq!(
            usd.checked_cmp(&cny),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::USD,
                right: Currency::CNY
            })
        );
    }

    #[test]
    fn adding_past_the_largest_amount_is_an_overflow() {
        let max = Money::new(i64::MAX, Currency::USD).unwrap();
        assert_eq!(
            max.checked_add(&money("0.01", "USD")),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn subtracting_more_than_there_is_is_refused() {
        assert_eq!(
            money("1", "USD").checked_sub(&money("1.01", "USD")),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn amounts_of_the_same_currency_compare() {
        assert_eq!(
            money("1", "USD").checked_cmp(&money("2", "USD")),
            Ok(Ordering::Less)
        );
        assert_eq!(
            money("2", "USD").checked_cmp(&money("2.00", "USD")),
            Ok(Ordering::Equal)
        );
    }

    #[test]
    fn an_even_split_differs_by_at_most_one_unit_and_keeps_every_unit() {
        assert_eq!(split_evenly(100, 3), vec![34, 33, 33]);
        assert_eq!(split_evenly(101, 3), vec![34, 34, 33]);
        assert_eq!(split_evenly(99, 3), vec![33, 33, 33]);
        assert_eq!(split_evenly(2, 5), vec![1, 1, 0, 0, 0]);
        assert_eq!(split_evenly(0, 2), vec![0, 0]);
        assert_eq!(split_evenly(7, 1), vec![7]);
        for total in [0, 1, 2, 99, 1_000_000_007, i64::MAX, -7, i64::MIN] {
            for parts in 1..=12 {
                let split = split_evenly(total, parts);
                assert_eq!(split.len(), parts);
                assert_eq!(
                    split.iter().map(|&p| i128::from(p)).sum::<i128>(),
                    i128::from(total)
                );
                let max = split.iter().max().unwrap();
                let min = split.iter().min().unwrap();
                assert!(max - min <= 1, "{total} in {parts}: {split:?}");
                assert!(split.windows(2).all(|w| w[0] >= w[1]), "{split:?}");
            }
        }
    }

    #[test]
    fn splitting_into_no_parts_gives_nothing() {
        assert!(split_evenly(100, 0).is_empty());
    }

    #[test]
    fn exchange_rates_parse_exactly_and_print_normalised() {
        assert_eq!(rate("0.138912").to_string(), "0.138912");
        assert_eq!(rate("0.1389120000").to_string(), "0.138912");
        assert_eq!(rate("7.10").to_string(), "7.1");
        assert_eq!(rate("7.000").to_string(), "7");
        assert_eq!(rate("7").to_string(), "7");
        assert_eq!(rate("000.5").to_string(), "0.5");
        assert_eq!(rate("0.000000000001").to_string(), "0.000000000001");
        assert_eq!(rate("0.5"), rate("0.50"));
        let parsed = rate("0.138912");
        assert_eq!((parsed.mantissa(), parsed.scale()), (138_912, 6));
        assert_eq!("1.25".parse::<ExchangeRate>(), Ok(rate("1.25")));
    }

    #[test]
    fn exchange_rates_round_trip_through_mantissa_and_scale() {
        let original = rate("7.2345");
        let rebuilt = ExchangeRate::new(original.mantissa(), original.scale()).unwrap();
        assert_eq!(rebuilt, original);
        assert_eq!(ExchangeRate::new(72_345_000, 7), Ok(original));
    }

    #[test]
    fn exchange_rates_with_more_than_twelve_decimals_are_refused() {
        assert_eq!(
            ExchangeRate::parse("0.1234567890123"),
            Err(ExchangeRateError::TooManyDecimals {
                rate: "0.1234567890123".to_owned(),
                max: 12
            })
        );
        assert!(matches!(
            ExchangeRate::new(1_234_567_890_123, 13),
            Err(ExchangeRateError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn zero_and_negative_exchange_rates_are_refused() {
        assert_eq!(
            ExchangeRate::parse("0"),
            Err(ExchangeRateError::NotPositive)
        );
        assert_eq!(
            ExchangeRate::parse("0.000"),
            Err(ExchangeRateError::NotPositive)
        );
        assert_eq!(ExchangeRate::new(0, 2), Err(ExchangeRateError::NotPositive));
        assert_eq!(
            ExchangeRate::new(-5, 1),
            Err(ExchangeRateError::NotPositive)
        );
    }

    #[test]
    fn malformed_exchange_rates_are_refused() {
        assert_eq!(ExchangeRate::parse(""), Err(ExchangeRateError::Empty));
        for text in ["-0.5", "+1", "1e-3", " 1", "1,5", ".", ".5", "5.", "one"] {
            assert_eq!(
                ExchangeRate::parse(text),
                Err(ExchangeRateError::Malformed(text.to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            ExchangeRate::parse(&"9".repeat(50)),
            Err(ExchangeRateError::Overflow)
        );
    }

    #[test]
    fn exchange_rates_deserialise_from_strings() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let parsed =
            ExchangeRate::deserialize::<StrDeserializer<Error>>("0.1389".into_deserializer());
        assert_eq!(parsed.unwrap(), rate("0.1389"));
        assert_eq!(String::from(rate("0.50")), "0.5");
    }

    #[test]
    fn yuan_convert_to_dollars_exactly_and_round_half_up() {
        let cny = money("360000.00", "CNY");
        let usd = cny.convert(&rate("0.138889"), Currency::USD).unwrap();
        assert_eq!(usd, money("50000.04", "USD"));
    }

    #[test]
    fn a_half_minor_unit_rounds_up_where_a_float_would_round_down() {
        // 1.005 is 1.00499999999999989... as a float.
        let one = money("1", "USD");
        assert_eq!(
            one.convert(&rate("1.005"), Currency::USD),
            Ok(money("1.01", "USD"))
        );
        assert_eq!(
            one.convert(&rate("1.00499999"), Currency::USD),
            Ok(money("1", "USD"))
        );
        assert_eq!(
            money("1.005", "KWD").convert(&rate("1"), Currency::USD),
            Ok(money("1.01", "USD"))
        );
        assert_eq!(
            money("1.004", "KWD").convert(&rate("1"), Currency::USD),
            Ok(money("1.00", "USD"))
        );
    }

    #[test]
    fn conversion_follows_the_decimals_of_both_currencies() {
        assert_eq!(
            money("100", "USD").convert(&rate("150.255"), currency("JPY")),
            Ok(money("15026", "JPY"))
        );
        assert_eq!(
            money("15026", "JPY").convert(&rate("0.0066551"), Currency::USD),
            Ok(money("100.00", "USD"))
        );
        assert_eq!(
            money("10", "USD").convert(&rate("0.30712"), currency("KWD")),
            Ok(money("3.071", "KWD"))
        );
        assert_eq!(
            money("0.01", "USD").convert(&rate("0.4"), Currency::EUR),
            Ok(Money::zero(Currency::EUR))
        );
    }

    #[test]
    fn converting_zero_gives_zero_in_the_target_currency() {
        let converted = Money::zero(Currency::CNY)
            .convert(&rate("0.14"), Currency::USD)
            .unwrap();
        assert!(converted.is_zero());
        assert_eq!(converted.currency(), Currency::USD);
    }

    #[test]
    fn conversion_that_leaves_64_bit_minor_units_is_an_overflow() {
        let max = Money::new(i64::MAX, Currency::USD).unwrap();
        assert_eq!(
            max.convert(&rate("2"), Currency::CNY),
            Err(MoneyError::Overflow)
        );
        let huge_rate = ExchangeRate::new(i128::MAX, 0).unwrap();
        assert_eq!(
            max.convert(&huge_rate, Currency::CNY),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            max.convert(&rate("1"), Currency::CNY),
            Ok(Money::new(i64::MAX, Currency::CNY).unwrap())
        );
    }

    #[test]
    fn error_messages_say_what_to_do() {
        assert_eq!(
            CurrencyError::Unknown("XXX".to_owned()).to_string(),
            "`XXX` is not an active ISO 4217 currency"
        );
        assert_eq!(
            Money::from_decimal_str("1.005", Currency::USD)
                .unwrap_err()
                .to_string(),
            "`1.005` has more decimal places than USD allows (2)"
        );
        assert!(
            Money::from_decimal_str("1,000", Currency::USD)
                .unwrap_err()
                .to_string()
                .contains("thousands separators")
        );
    }
}
