//! A Chinese organisation's Unified Social Credit Identifier (GB 32100-2015) says what kind of
//! body it is, which decides whether it may receive money; so it is validated, check character
//! included, before anything trusts it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 31 characters a USCI is written in, in the order of their values 0–30. The letters I, O, S,
/// V and Z are left out so that they cannot be confused with digits.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the check character: 3^(i-1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// How many characters a USCI has.
pub const USCI_LENGTH: usize = 18;

/// A valid Unified Social Credit Identifier, stored in uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Usci(String);

/// What kind of body a USCI was issued to, read from its first two characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsciKind {
    /// `51` social group, `52` social service organisation, `53` foundation.
    Ngo,
    /// `91` enterprise, `92` individual business, `93` farmers' cooperative.
    Company,
    /// Any other registration authority or type (public institutions, other civil-affairs
    /// registrations, ...).
    Other,
}

/// Why a USCI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsciError {
    /// Not 18 characters long.
    #[error("a Unified Social Credit Identifier has 18 characters; this one has {length}")]
    WrongLength { length: usize },
    /// A character outside `0-9` and the letters `A-Y` without `I`, `O`, `S`, `V`.
    #[error(
        "character {character:?} at position {position} cannot appear in a Unified Social Credit \
         Identifier (only digits and the uppercase letters A-Y except I, O, S and V)"
    )]
    InvalidCharacter { character: char, position: usize },
    /// The 18th character does not match the first 17.
    #[error(
        "the check character of this Unified Social Credit Identifier is wrong (expected \
         {expected:?}, found {found:?}): please check it for a typing mistake"
    )]
    WrongCheckCharacter { expected: char, found: char },
}

impl Usci {
    /// Parses a USCI typed by a person: lowercase letters are accepted and normalised to
    /// uppercase. Use [`Usci::parse_exact`] where the text must already be canonical.
    pub fn parse(text: &str) -> Result<Usci, UsciError> {
        Usci::parse_exact(&text.to_ascii_uppercase())
    }

    /// Parses a USCI exactly as given: GB 32100-2015 writes it in uppercase, so lowercase
    /// letters are refused as characters outside the set.
    pub fn parse_exact(text: &str) -> Result<Usci, UsciError> {
        let length = text.chars().count();
        if length != USCI_LENGTH {
            return Err(UsciError::WrongLength { length });
        }
        let mut values = [0_u32; USCI_LENGTH];
        for ((index, character), value) in text.chars().enumerate().zip(values.iter_mut()) {
            *value = char_value(character).ok_or(UsciError::InvalidCharacter {
                character,
                position: index + 1,
            })?;
        }
        let weighted: u32 = values
            .iter()
            .zip(WEIGHTS)
            .map(|(value, weight)| value * weight)
            .sum();
        let expected = value_char((31 - weighted % 31) % 31);
        let found = value_char(values[USCI_LENGTH - 1]);
        if expected != found {
            return Err(UsciError::WrongCheckCharacter { expected, found });
        }
        Ok(Usci(text.to_owned()))
    }

    /// The 18 uppercase characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What kind of body the identifier was issued to.
    pub fn kind(&self) -> UsciKind {
        match self.0.get(..2) {
            Some("51" | "52" | "53") => UsciKind::Ngo,
            Some("91" | "92" | "93") => UsciKind::Company,
            _ => UsciKind::Other,
        }
    }
}

/// The value 0–30 of a character of the set, or `None` for any other character.
fn char_value(character: char) -> Option<u32> {
    let byte = u8::try_from(character).ok()?;
    CHARSET
        .iter()
        .position(|&candidate| candidate == byte)
        .and_then(|index| u32::try_from(index).ok())
}

/// The character of a value 0–30; values are always taken modulo 31 first.
fn value_char(value: u32) -> char {
    CHARSET
        .get(value as usize)
        .map_or('?', |&byte| char::from(byte))
}

impl fmt::Display for Usci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Usci {
    type Err = UsciError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Usci::parse(text)
    }
}

impl TryFrom<String> for Usci {
    type Error = UsciError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Usci::parse(&text)
    }
}

impl From<Usci> for String {
    fn from(usci: Usci) -> Self {
        usci.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../tests/fixtures/usci_vectors.csv");

    struct Vector<'a> {
        code: &'a str,
        valid: bool,
        category: &'a str,
        note: &'a str,
    }

    fn vectors() -> Vec<Vector<'static>> {
        let mut lines = VECTORS.lines();
        assert_eq!(lines.next(), Some("code,valid,category,note"));
        lines
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                // The note is last and may itself contain commas.
                let mut fields = line.splitn(4, ',');
                let mut next = || fields.next().unwrap();
                let (code, valid, category, note) = (next(), next(), next(), next());
                let valid = match valid {
                    "true" => true,
                    "false" => false,
                    other => panic!("bad `valid` column {other:?} in {line:?}"),
                };
                Vector {
                    code,
                    valid,
                    category,
                    note,
                }
            })
            .collect()
    }

    #[test]
    fn every_fixture_vector_is_accepted_or_refused_as_listed() {
        let vectors = vectors();
        assert!(vectors.len() >= 40, "only {} vectors", vectors.len());
        for vector in &vectors {
            let parsed = Usci::parse_exact(vector.code);
            if vector.valid {
                let usci = parsed.unwrap_or_else(|error| {
                    panic!("{} ({}) refused: {error}", vector.code, vector.note)
                });
                let expected = match vector.category {
                    "NGO" => UsciKind::Ngo,
                    "COMPANY" => UsciKind::Company,
                    "OTHER" => UsciKind::Other,
                    other => panic!("valid vector {} has category {other}", vector.code),
                };
                assert_eq!(usci.kind(), expected, "{} ({})", vector.code, vector.note);
                assert_eq!(usci.as_str(), vector.code);
            } else {
                assert_eq!(vector.category, "INVALID", "{}", vector.code);
                assert!(
                    parsed.is_err(),
                    "{} ({}) was accepted",
                    vector.code,
                    vector.note
                );
            }
        }
    }

    #[test]
    fn every_valid_fixture_vector_also_parses_from_user_input() {
        for vector in vectors().iter().filter(|vector| vector.valid) {
            assert_eq!(
                Usci::parse(vector.code).map(|usci| usci.kind()),
                Usci::parse_exact(vector.code).map(|usci| usci.kind())
            );
            assert!(Usci::parse(&vector.code.to_ascii_lowercase()).is_ok());
        }
    }

    #[test]
    fn every_fixture_vector_with_an_altered_check_character_is_refused_for_that_reason() {
        for vector in vectors()
            .iter()
            .filter(|vector| vector.note.contains("check character altered"))
        {
            assert!(
                matches!(
                    Usci::parse(vector.code),
                    Err(UsciError::WrongCheckCharacter { .. })
                ),
                "{}",
                vector.code
            );
        }
    }

    #[test]
    fn lowercase_input_is_refused_as_given_but_normalised_by_parse() {
        assert_eq!(
            Usci::parse_exact("53110000054773033r"),
            Err(UsciError::InvalidCharacter {
                character: 'r',
                position: 18
            })
        );
        let usci = Usci::parse("53110000054773033r").unwrap();
        assert_eq!(usci.as_str(), "53110000054773033R");
        assert_eq!(usci.kind(), UsciKind::Ngo);
        assert_eq!("53110000054773033r".parse::<Usci>(), Ok(usci));
    }

    #[test]
    fn a_wrong_length_is_reported_with_the_length_found() {
        assert_eq!(
            Usci::parse("53110000054773033"),
            Err(UsciError::WrongLength { length: 17 })
        );
        assert_eq!(
            Usci::parse("53110000054773033R0"),
            Err(UsciError::WrongLength { length: 19 })
        );
        assert_eq!(Usci::parse(""), Err(UsciError::WrongLength { length: 0 }));
        assert_eq!(
            Usci::parse("五三110000054773033"),
            Err(UsciError::WrongLength { length: 17 })
        );
        assert_eq!(
            Usci::parse("五三110000054773033R"),
            Err(UsciError::InvalidCharacter {
                character: '五',
                position: 1
            })
        );
    }

    #[test]
    fn letters_that_look_like_digits_are_refused_with_their_position() {
        assert_eq!(
            Usci::parse("5311000005O773033R"),
            Err(UsciError::InvalidCharacter {
                character: 'O',
                position: 11
            })
        );
        assert_eq!(
            Usci::parse("5311000005I773033R"),
            Err(UsciError::InvalidCharacter {
                character: 'I',
                position: 11
            })
        );
        for letter in ['S', 'V', 'Z', '-', ' ', '中'] {
            let mut text = String::from("53110000054773033");
            text.insert(0, letter);
            let text: String = text.chars().take(USCI_LENGTH).collect();
            assert_eq!(
                Usci::parse_exact(&text),
                Err(UsciError::InvalidCharacter {
                    character: letter,
                    position: 1
                }),
                "{letter:?}"
            );
        }
    }

    #[test]
    fn a_wrong_check_character_says_which_was_expected() {
        assert_eq!(
            Usci::parse("53110000054773033T"),
            Err(UsciError::WrongCheckCharacter {
                expected: 'R',
                found: 'T'
            })
        );
    }

    #[test]
    fn a_check_value_of_zero_is_written_as_the_digit_zero() {
        // Find a body whose weighted sum is a multiple of 31 by trying the last payload character.
        let base = "9144030027995560";
        let valid = CHARSET
            .iter()
            .map(|&last| format!("{base}{}0", char::from(last)))
            .find(|candidate| Usci::parse_exact(candidate).is_ok())
            .unwrap();
        assert!(valid.ends_with('0'));
    }

    #[test]
    fn the_weights_are_powers_of_three_modulo_31() {
        let mut weight = 1;
        for expected in WEIGHTS {
            assert_eq!(weight, expected);
            weight = weight * 3 % 31;
        }
    }

    #[test]
    fn the_kind_comes_from_the_first_two_characters() {
        let kinds: Vec<UsciKind> = [
            "51530000836900607T",
            "52310000874526855Q",
            "53100000964017579D",
            "911000006937195513",
            "924403003622461475",
            "931000006222975153",
            "11440300640735371U",
            "5944030033973592X6",
        ]
        .iter()
        .map(|code| Usci::parse(code).unwrap().kind())
        .collect();
        use UsciKind::{Company, Ngo, Other};
        assert_eq!(
            kinds,
            [Ngo, Ngo, Ngo, Company, Company, Company, Other, Other]
        );
    }

    #[test]
    fn a_usci_displays_and_serialises_as_its_characters() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let usci = Usci::parse("51530000836900607T").unwrap();
        assert_eq!(usci.to_string(), "51530000836900607T");
        let parsed =
            Usci::deserialize::<StrDeserializer<Error>>("51530000836900607t".into_deserializer());
        assert_eq!(parsed.unwrap(), usci);
        let refused =
            Usci::deserialize::<StrDeserializer<Error>>("51530000836900607U".into_deserializer());
        assert!(refused.is_err());
        assert_eq!(String::from(usci), "51530000836900607T");
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            UsciError::WrongLength { length: 17 }.to_string(),
            "a Unified Social Credit Identifier has 18 characters; this one has 17"
        );
        let message = Usci::parse("5311000005O773033R").unwrap_err().to_string();
        assert!(message.contains("'O' at position 11"), "{message}");
        let message = Usci::parse("53110000054773033T").unwrap_err().to_string();
        assert!(message.contains("check character"), "{message}");
    }
}
