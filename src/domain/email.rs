//! Email addresses arrive from sign-up forms and end up in message headers, so they are checked
//! once at the edge: nothing that could break a header (CR, LF, quotes, angle brackets, commas)
//! gets through, and case is folded so that one person has one account.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest address that fits in an SMTP path (RFC 5321).
const MAX_ADDRESS_LENGTH: usize = 254;
/// The longest local part (RFC 5321).
const MAX_LOCAL_LENGTH: usize = 64;
/// The longest domain label (RFC 1035).
const MAX_LABEL_LENGTH: usize = 63;

/// A syntactically valid email address, stored in lowercase.
///
/// The local part is an RFC 5322 dot-atom (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, with
/// single dots between them); quoted local parts, IP-literal domains and internationalised
/// (non-ASCII) domains are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    /// Nothing but whitespace was given.
    #[error("an email address is required")]
    Empty,
    /// Longer than 254 characters.
    #[error("an email address has at most 254 characters; this one has {length}")]
    TooLong { length: usize },
    /// No `@`, or more than one.
    #[error("an email address has exactly one `@`, as in name@example.org")]
    WrongAtCount,
    /// The part before the `@` is empty or longer than 64 characters.
    #[error("the part before the `@` must have 1 to 64 characters; this one has {length}")]
    LocalPartLength { length: usize },
    /// A character that cannot appear unquoted before the `@`.
    #[error("character {character:?} cannot appear before the `@` of an email address")]
    InvalidLocalCharacter { character: char },
    /// A dot at the start or end of the local part, or two dots in a row.
    #[error("the part before the `@` cannot start or end with a dot or have two dots in a row")]
    MisplacedDot,
    /// The part after the `@` is not a domain name such as `example.org`.
    #[error(
        "{0:?} is not a domain name: use letters, digits and hyphens in dot-separated labels, \
         such as example.org"
    )]
    InvalidDomain(String),
}

impl EmailAddress {
    /// Parses an address typed by a person: surrounding whitespace is removed and the result is
    /// folded to lowercase.
    pub fn parse(input: &str) -> Result<EmailAddress, EmailAddressError> {
        let address = input.trim();
        if address.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        let length = address.chars().count();
        if length > MAX_ADDRESS_LENGTH {
            return Err(EmailAddressError::TooLong { length });
        }
        let mut parts = address.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailAddressError::WrongAtCount);
        };
        check_local_part(local)?;
        if !is_domain_name(domain) {
            return Err(EmailAddressError::InvalidDomain(domain.to_owned()));
        }
        Ok(EmailAddress(address.to_ascii_lowercase()))
    }

    /// The address, in lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

fn check_local_part(local: &str) -> Result<(), EmailAddressError> {
    let length = local.chars().count();
    if !(1..=MAX_LOCAL_LENGTH).contains(&length) {
        return Err(EmailAddressError::LocalPartLength { length });
    }
    if let Some(character) = local.chars().find(|&c| !(c == '.' || is_atext(c))) {
        return Err(EmailAddressError::InvalidLocalCharacter { character });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailAddressError::MisplacedDot);
    }
    Ok(())
}

/// RFC 5322 `atext`: the characters allowed unquoted, which excludes space, control characters,
/// `"`, `(`, `)`, `,`, `:`, `;`, `<`, `>`, `@`, `[`, `\` and `]`.
fn is_atext(character: char) -> bool {
    character.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(character)
}

/// Whether `domain` is an ASCII domain name with at least two labels and a non-numeric top-level
/// label (so that bare IP addresses are refused).
fn is_domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let well_formed = |label: &&str| {
        (1..=MAX_LABEL_LENGTH).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top_level_is_named = labels
        .last()
        .is_some_and(|label| !label.bytes().all(|b| b.is_ascii_digit()));
    labels.len() >= 2 && labels.iter().all(well_formed) && top_level_is_named
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = EmailAddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(input)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&input)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(input: &str) -> EmailAddress {
        EmailAddress::parse(input).unwrap()
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for input in [
            "amina@example.org",
            "zhang.wei@ngo.org.cn",
            "first.last+grants@mail.example.co.ke",
            "o'brien@example.ie",
            "a@b.co",
            "user_name-1@sub-domain.example.com",
            "x!#$%&'*+-/=?^_`{|}~@example.org",
            "info@xn--fiqs8s.cn",
            "user@123.example.com",
        ] {
            assert_eq!(email(input).as_str(), input, "{input}");
        }
    }

    #[test]
    fn addresses_are_trimmed_and_folded_to_lowercase() {
        let address = email("  Zhang.Wei@Example.ORG \n");
        assert_eq!(address.as_str(), "zhang.wei@example.org");
        assert_eq!(address, email("zhang.wei@example.org"));
        assert_eq!(address.local_part(), "zhang.wei");
        assert_eq!(address.domain(), "example.org");
    }

    #[test]
    fn an_empty_address_is_refused() {
        assert_eq!(EmailAddress::parse(""), Err(EmailAddressError::Empty));
        assert_eq!(
            EmailAddress::parse(" \t\r\n"),
            Err(EmailAddressError::Empty)
        );
    }

    #[test]
    fn an_address_must_have_exactly_one_at_sign() {
        for input in [
            "example.org",
            "a@b@example.org",
            "@@example.org",
            "a@example.org@",
        ] {
            assert_eq!(
                EmailAddress::parse(input),
                Err(EmailAddressError::WrongAtCount),
                "{input}"
            );
        }
    }

    #[test]
    fn header_breaking_characters_are_refused_before_the_at_sign() {
        for character in [
            ' ', '"', '<', '>', ',', ';', ':', '(', ')', '[', ']', '\\', '\r', '\n', '\t', '\0',
            '\u{7f}', 'é', '张',
        ] {
            let input = format!("ab{character}cd@example.org");
            assert_eq!(
                EmailAddress::parse(&input),
                Err(EmailAddressError::InvalidLocalCharacter { character }),
                "{character:?}"
            );
        }
    }

    #[test]
    fn an_injected_header_line_is_refused() {
        let input = "victim@example.org\r\nBcc: everyone@example.org";
        assert!(EmailAddress::parse(input).is_err());
        let input = "victim\r\nBcc: x@example.org";
        assert!(EmailAddress::parse(input).is_err());
    }

    #[test]
    fn the_local_part_has_one_to_64_characters() {
        assert_eq!(
            EmailAddress::parse("@example.org"),
            Err(EmailAddressError::LocalPartLength { length: 0 })
        );
        let longest = format!("{}@example.org", "a".repeat(64));
        assert!(EmailAddress::parse(&longest).is_ok());
        let too_long = format!("{}@example.org", "a".repeat(65));
        assert_eq!(
            EmailAddress::parse(&too_long),
            Err(EmailAddressError::LocalPartLength { length: 65 })
        );
    }

    #[test]
    fn dots_in_the_local_part_go_between_characters() {
        for input in [
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            ".@example.org",
        ] {
            assert_eq!(
                EmailAddress::parse(input),
                Err(EmailAddressError::MisplacedDot),
                "{input}"
            );
        }
    }

    #[test]
    fn the_whole_address_has_at_most_254_characters() {
        let label = "a".repeat(60);
        let domain = format!("{label}.{label}.{label}.{label}.org");
        let fits = format!("{}@{domain}", "b".repeat(254 - 1 - domain.len()));
        assert_eq!(fits.len(), 254);
        assert!(EmailAddress::parse(&fits).is_ok());
        let too_long = format!("b{fits}");
        assert_eq!(
            EmailAddress::parse(&too_long),
            Err(EmailAddressError::TooLong { length: 255 })
        );
    }

    #[test]
    fn the_domain_needs_a_dot_and_well_formed_labels() {
        let longest_label = format!("{}.org", "a".repeat(63));
        assert!(EmailAddress::parse(&format!("a@{longest_label}")).is_ok());
        let too_long_label = format!("{}.org", "a".repeat(64));
        for domain in [
            "",
            "localhost",
            "example.",
            ".example.org",
            "example..org",
            "-example.org",
            "example-.org",
            "exa_mple.org",
            "exa mple.org",
            "例子.中国",
            "exämple.org",
            "192.168.0.1",
            "[192.168.0.1]",
            "example.123",
            too_long_label.as_str(),
        ] {
            assert_eq!(
                EmailAddress::parse(&format!("a@{domain}")),
                Err(EmailAddressError::InvalidDomain(domain.to_owned())),
                "{domain}"
            );
        }
    }

    #[test]
    fn addresses_display_parse_and_serialise_as_their_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let address = email("Amina@Example.org");
        assert_eq!(address.to_string(), "amina@example.org");
        assert_eq!(
            "amina@example.org".parse::<EmailAddress>(),
            Ok(address.clone())
        );
        let parsed = EmailAddress::deserialize::<StrDeserializer<Error>>(
            " AMINA@example.org".into_deserializer(),
        );
        assert_eq!(parsed.unwrap(), address);
        let refused =
            EmailAddress::deserialize::<StrDeserializer<Error>>("amina".into_deserializer());
        assert!(refused.is_err());
        assert_eq!(String::from(address), "amina@example.org");
    }

    #[test]
    fn error_messages_show_control_characters_escaped() {
        let message = EmailAddress::parse("a\rb@example.org")
            .unwrap_err()
            .to_string();
        assert!(message.contains(r"'\r'"), "{message}");
        assert!(!message.contains('\r'));
        let message = EmailAddress::parse("a@exa\r\nmple.org")
            .unwrap_err()
            .to_string();
        assert!(message.contains(r#""exa\r\nmple.org""#), "{message}");
        assert!(!message.contains('\n'));
    }
}
