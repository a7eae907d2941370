//! GraphQL building blocks shared by every area: money, bilingual text, times.

use async_graphql::{InputObject, SimpleObject};

use crate::domain::money::{Currency, Money};
use crate::error::{AppError, AppResult};

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
