//! GraphQL building blocks shared by every area: money, bilingual text, times.

use async_graphql::{InputObject, SimpleObject};

use crate::domain::country::CountryCode;
use crate::domain::money::{Currency, Money};
use crate::domain::sdg::SdgGoal;
use crate::error::{AppError, AppResult};
use crate::graphql::errors::has_control_characters;

/// An amount of money. `amount` is a decimal string in major units with exactly the currency's
/// minor digits (`"110000.00"`, `"5000"` for JPY), so no amount overflows a 32-bit `Int` and no
/// float ever touches it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "Money")]
pub struct MoneyOutput {
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<Money> for MoneyOutput {
    fn from(money: Money) -> Self {
        MoneyOutput {
            amount: money.to_decimal_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

/// A stored amount as the schema shows it. Stored amounts are never negative; one that is breaks an
/// invariant of the database, so it is an internal error rather than a zero on the screen.
pub(crate) fn money(minor: i64, currency: Currency) -> AppResult<MoneyOutput> {
    Ok(Money::new(minor, currency)
        .map_err(AppError::internal)?
        .into())
}

/// [`money`] for an amount whose currency is kept as its ISO 4217 code: an unknown stored code is
/// an internal error, never a default.
pub(crate) fn stored_money(minor: i64, code: &str) -> AppResult<MoneyOutput> {
    money(minor, Currency::parse(code).map_err(AppError::internal)?)
}

/// An amount of money as input: a non-negative decimal string in major units, with at most the
/// currency's minor digits, and an ISO 4217 code.
#[derive(InputObject, Debug, Clone)]
pub struct MoneyInput {
    pub amount: String,
    pub currency: String,
}

impl MoneyInput {
    /// Parses the input; `field` names it in errors (for example `input.budget`).
    pub fn parse(&self, field: &str) -> AppResult<Money> {
        let currency = Currency::parse(&self.currency)
            .map_err(|e| AppError::bad_input(format!("{field}.currency"), e))?;
        Money::from_decimal_str(&self.amount, currency)
            .map_err(|e| AppError::bad_input(format!("{field}.amount"), e))
    }
}

/// Text in English and Chinese. Either may be missing where the other is given.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    pub en: Option<String>,
    pub zh: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub struct LocalizedTextInput {
    pub en: Option<String>,
    pub zh: Option<String>,
}

impl LocalizedTextInput {
    /// Trims both texts, drops empty ones, and requires at least one, each at most `max_chars`.
    pub fn parse(&self, field: &str, max_chars: usize) -> AppResult<LocalizedText> {
        let clean = |text: &Option<String>, lang: &str| -> AppResult<Option<String>> {
            match text.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) if has_control_characters(t) => {
                    Err(control_characters(&format!("{field}.{lang}")))
                }
                Some(t) if t.chars().count() > max_chars => Err(AppError::bad_input(
                    format!("{field}.{lang}"),
                    format!("at most {max_chars} characters"),
                )),
                Some(t) => Ok(Some(t.to_owned())),
            }
        };
        let text = LocalizedText {
            en: clean(&self.en, "en")?,
            zh: clean(&self.zh, "zh")?,
        };
        if text.en.is_none() && text.zh.is_none() {
            return Err(AppError::bad_input(
                field,
                "give the text in English, Chinese or both",
            ));
        }
        Ok(text)
    }
}

/// Optional free text from an input: trimmed, empty as none, at most `max` characters, and no
/// control characters but newline, carriage return and tab.
pub fn optional_text(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if has_control_characters(t) => Err(control_characters(field)),
        Some(t) if t.chars().count() > max => Err(AppError::bad_input(
            field,
            format!("at most {max} characters"),
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// Text to be stored must not hold control characters: a NUL cannot even be stored by
/// PostgreSQL, and the others only hide text from the people who read it. Every string argument
/// is checked on the way in ([`crate::graphql::errors::InputCheck`]); the text helpers check
/// again so that no path that stores text depends on that alone.
pub fn checked_text<'a>(text: &'a str, field: &str) -> AppResult<&'a str> {
    if has_control_characters(text) {
        Err(control_characters(field))
    } else {
        Ok(text)
    }
}

fn control_characters(field: &str) -> AppError {
    AppError::bad_input(
        field,
        "must not contain control characters (only newline, carriage return and tab)",
    )
}

/// ISO 3166-1 codes from an input list, normalised, sorted and without repeats.
pub fn parse_countries(codes: &[String], field: &str) -> AppResult<Vec<CountryCode>> {
    let mut countries = codes
        .iter()
        .map(|c| CountryCode::parse(c).map_err(|e| AppError::bad_input(field, e)))
        .collect::<AppResult<Vec<_>>>()?;
    countries.sort();
    countries.dedup();
    Ok(countries)
}

/// One SDG goal number from an input.
pub fn parse_sdg(goal: i32, field: &str) -> AppResult<SdgGoal> {
    u8::try_from(goal)
        .ok()
        .and_then(|g| SdgGoal::new(g).ok())
        .ok_or_else(|| AppError::bad_input(field, "SDG goals are numbered 1 to 17"))
}

/// SDG goal numbers from an input list, sorted and without repeats.
pub fn parse_sdgs(goals: &[i32], field: &str) -> AppResult<Vec<SdgGoal>> {
    let mut parsed = goals
        .iter()
        .map(|g| parse_sdg(*g, field))
        .collect::<AppResult<Vec<_>>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_control_characters_is_refused_with_its_field() {
        let refused = optional_text(Some("a\u{0}b".into()), "input.note", 100).unwrap_err();
        assert!(
            matches!(refused, AppError::BadUserInput { ref field, .. } if field == "input.note")
        );
        assert!(optional_text(Some("a\u{7}b".into()), "input.note", 100).is_err());
        assert_eq!(
            optional_text(Some("line one\nline\ttwo\r\n".into()), "n", 100).unwrap(),
            Some("line one\nline\ttwo".to_owned()),
            "newline and tab are text"
        );
        let localized = LocalizedTextInput {
            en: Some("ok".into()),
            zh: Some("坏\u{1b}[31m".into()),
        };
        let refused = localized.parse("input.title", 100).unwrap_err();
        assert!(
            matches!(refused, AppError::BadUserInput { ref field, .. } if field == "input.title.zh")
        );
        assert!(checked_text("\u{85}", "x").is_err(), "C1 controls too");
        assert_eq!(checked_text("普通", "x").unwrap(), "普通");
    }
}
