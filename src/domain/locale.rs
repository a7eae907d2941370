//! The two languages Bridgefund speaks. Every person has one; notifications and bilingual text
//! follow it.

use std::fmt;
use std::str::FromStr;

/// A supported locale. Stored and exchanged as its BCP 47 tag (`en`, `zh-CN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    ZhCn,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported locale `{0}`: use `en` or `zh-CN`")]
pub struct UnsupportedLocale(pub String);

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    pub fn as_tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }
}

impl FromStr for Locale {
    type Err = UnsupportedLocale;

    /// Tags are case-insensitive (BCP 47), so `zh-cn` is accepted and normalised.
    fn from_str(tag: &str) -> Result<Self, Self::Err> {
        match tag.to_ascii_lowercase().as_str() {
            "en" => Ok(Locale::En),
            "zh-cn" => Ok(Locale::ZhCn),
            _ => Err(UnsupportedLocale(tag.to_owned())),
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_are_case_insensitive() {
        for locale in Locale::ALL {
            assert_eq!(locale.as_tag().parse::<Locale>(), Ok(locale));
        }
        assert_eq!("ZH-cn".parse::<Locale>(), Ok(Locale::ZhCn));
    }

    #[test]
    fn other_languages_are_refused() {
        assert!("fr".parse::<Locale>().is_err());
        assert!("zh-TW".parse::<Locale>().is_err());
        assert!("".parse::<Locale>().is_err());
    }
}
