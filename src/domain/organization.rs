//! Who an organisation is decides whether it may receive money: the fund supports Chinese,
//! international and host-country NGOs and never companies. This module holds the identity
//! vocabulary (IATI organisation type, org-id.guide registry identifier) and derives the applicant
//! category from it, so the category is never typed in by the applicant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use super::usci::{Usci, UsciError, UsciKind};

/// The IATI OrganisationType codelist, as declared by the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum IatiOrganisationType {
    /// 10
    Government,
    /// 11
    LocalGovernment,
    /// 15
    OtherPublicSector,
    /// 21
    InternationalNgo,
    /// 22
    NationalNgo,
    /// 23
    RegionalNgo,
    /// 24
    PartnerCountryBasedNgo,
    /// 30
    PublicPrivatePartnership,
    /// 40
    Multilateral,
    /// 60
    Foundation,
    /// 70
    PrivateSector,
    /// 71
    PrivateSectorInProviderCountry,
    /// 72
    PrivateSectorInAidRecipientCountry,
    /// 73
    PrivateSectorInThirdCountry,
    /// 80
    AcademicTrainingAndResearch,
    /// 90
    Other,
}

/// Why an IATI organisation type code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationTypeError {
    /// Not a code of the IATI OrganisationType codelist.
    #[error(
        "{0} is not an IATI organisation type code (10, 11, 15, 21-24, 30, 40, 60, 70-73, 80, 90)"
    )]
    UnknownCode(u16),
}

impl IatiOrganisationType {
    /// Every type, in order of code.
    pub const ALL: [IatiOrganisationType; 16] = [
        Self::Government,
        Self::LocalGovernment,
        Self::OtherPublicSector,
        Self::InternationalNgo,
        Self::NationalNgo,
        Self::RegionalNgo,
        Self::PartnerCountryBasedNgo,
        Self::PublicPrivatePartnership,
        Self::Multilateral,
        Self::Foundation,
        Self::PrivateSector,
        Self::PrivateSectorInProviderCountry,
        Self::PrivateSectorInAidRecipientCountry,
        Self::PrivateSectorInThirdCountry,
        Self::AcademicTrainingAndResearch,
        Self::Other,
    ];

    /// The type with IATI code `code`.
    pub fn from_code(code: u16) -> Result<IatiOrganisationType, OrganisationTypeError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
            .ok_or(OrganisationTypeError::UnknownCode(code))
    }

    /// The IATI code.
    pub fn code(self) -> u16 {
        match self {
            Self::Government => 10,
            Self::LocalGovernment => 11,
            Self::OtherPublicSector => 15,
            Self::InternationalNgo => 21,
            Self::NationalNgo => 22,
            Self::RegionalNgo => 23,
            Self::PartnerCountryBasedNgo => 24,
            Self::PublicPrivatePartnership => 30,
            Self::Multilateral => 40,
            Self::Foundation => 60,
            Self::PrivateSector => 70,
            Self::PrivateSectorInProviderCountry => 71,
            Self::PrivateSectorInAidRecipientCountry => 72,
            Self::PrivateSectorInThirdCountry => 73,
            Self::AcademicTrainingAndResearch => 80,
            Self::Other => 90,
        }
    }

    /// The IATI English name.
    pub fn english_name(self) -> &'static str {
        match self {
            Self::Government => "Government",
            Self::LocalGovernment => "Local Government",
            Self::OtherPublicSector => "Other Public Sector",
            Self::InternationalNgo => "International NGO",
            Self::NationalNgo => "National NGO",
            Self::RegionalNgo => "Regional NGO",
            Self::PartnerCountryBasedNgo => "Partner Country based NGO",
            Self::PublicPrivatePartnership => "Public Private Partnership",
            Self::Multilateral => "Multilateral",
            Self::Foundation => "Foundation",
            Self::PrivateSector => "Private Sector",
            Self::PrivateSectorInProviderCountry => "Private Sector in Provider Country",
            Self::PrivateSectorInAidRecipientCountry => "Private Sector in Aid Recipient Country",
            Self::PrivateSectorInThirdCountry => "Private Sector in Third Country",
            Self::AcademicTrainingAndResearch => "Academic, Training and Research",
            Self::Other => "Other",
        }
    }

    /// Whether the type is a private-sector one (70–73).
    pub fn is_company(self) -> bool {
        matches!(self.code(), 70..=73)
    }

    /// Whether the type is a non-governmental one: an NGO (21–24) or a foundation (60).
    pub fn is_ngo_type(self) -> bool {
        matches!(self.code(), 21..=24 | 60)
    }
}

impl TryFrom<u16> for IatiOrganisationType {
    type Error = OrganisationTypeError;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        IatiOrganisationType::from_code(code)
    }
}

impl From<IatiOrganisationType> for u16 {
    fn from(kind: IatiOrganisationType) -> Self {
        kind.code()
    }
}

/// The jurisdictions org-id.guide uses besides countries: international (`XI`), multilateral
/// (`XM`) and European (`XE`) registries.
const NON_COUNTRY_JURISDICTIONS: [&str; 3] = ["XI", "XM", "XE"];

/// The prefix whose registration numbers are Chinese Unified Social Credit Identifiers.
const CN_USCI_PREFIX: &str = "CN-USCI";

/// The longest registration number accepted after the prefix.
const MAX_NUMBER_LENGTH: usize = 64;

/// An org-id.guide organisation identifier: `<jurisdiction>-<registry>-<number>`, such as
/// `CN-USCI-51530000836900607T`, `KE-NCB-12345`, `GB-CHC-1234567` or `XI-IATI-ABC`.
///
/// The prefix is stored in uppercase; the number is kept as given, except that a `CN-USCI` number
/// must be a valid USCI and is stored in uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistryIdentifier {
    text: String,
    /// Byte length of `<jurisdiction>-<registry>`.
    prefix_len: usize,
    country: Option<CountryCode>,
    usci: Option<Usci>,
}

/// Why a registry identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryIdentifierError {
    /// Nothing was given.
    #[error("a registry identifier is required")]
    Empty,
    /// Not three `-`-separated parts.
    #[error(
        "`{0}` is not an organisation identifier: write <country>-<registry>-<number>, such as \
         CN-USCI-51530000836900607T or KE-NCB-12345"
    )]
    Malformed(String),
    /// The first part is neither an assigned country code nor XI, XM or XE.
    #[error("`{0}` is neither an ISO 3166-1 country code nor one of XI, XM and XE")]
    UnknownJurisdiction(String),
    /// The second part is not 2–10 letters or digits.
    #[error("registry code `{0}` must be 2 to 10 letters or digits, such as USCI or CHC")]
    InvalidRegistry(String),
    /// The number is empty or longer than 64 characters.
    #[error("a registration number has 1 to 64 characters; this one has {length}")]
    NumberLength { length: usize },
    /// The number holds something other than letters, digits, `-`, `/` and `.`.
    #[error(
        "character {character:?} cannot appear in a registration number (only letters, digits, \
         `-`, `/` and `.`)"
    )]
    InvalidNumberCharacter { character: char },
    /// A `CN-USCI` identifier whose number is not a valid USCI.
    #[error(
        "the number of a CN-USCI identifier must be a valid Unified Social Credit Identifier: {0}"
    )]
    InvalidUsci(UsciError),
    /// A Chinese organisation without a `CN-USCI` identifier.
    #[error(
        "a Chinese organisation must be identified by its Unified Social Credit Identifier, \
         written CN-USCI-<18 characters>"
    )]
    ChineseOrganisationNeedsUsci,
}

impl RegistryIdentifier {
    /// Parses an identifier; surrounding whitespace is ignored and the prefix is case-insensitive.
    pub fn parse(input: &str) -> Result<RegistryIdentifier, RegistryIdentifierError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(RegistryIdentifierError::Empty);
        }
        let mut parts = input.splitn(3, '-');
        let (Some(jurisdiction), Some(registry), Some(number)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(RegistryIdentifierError::Malformed(input.to_owned()));
        };

        let jurisdiction = jurisdiction.to_ascii_uppercase();
        let country = if NON_COUNTRY_JURISDICTIONS.contains(&jurisdiction.as_str()) {
            None
        } else {
            let country = CountryCode::parse(&jurisdiction)
                .map_err(|_| RegistryIdentifierError::UnknownJurisdiction(jurisdiction.clone()))?;
            Some(country)
        };

        if !(2..=10).contains(&registry.len())
            || !registry.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(RegistryIdentifierError::InvalidRegistry(
                registry.to_owned(),
            ));
        }
        let prefix = format!("{jurisdiction}-{}", registry.to_ascii_uppercase());

        let length = number.chars().count();
        if !(1..=MAX_NUMBER_LENGTH).contains(&length) {
            return Err(RegistryIdentifierError::NumberLength { length });
        }
        if let Some(character) = number
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.')))
        {
            return Err(RegistryIdentifierError::InvalidNumberCharacter { character });
        }

        let usci = if prefix == CN_USCI_PREFIX {
            Some(Usci::parse(number).map_err(RegistryIdentifierError::InvalidUsci)?)
        } else {
            None
        };
        let number = usci.as_ref().map_or(number, Usci::as_str);
        Ok(RegistryIdentifier {
            text: format!("{prefix}-{number}"),
            prefix_len: prefix.len(),
            country,
            usci,
        })
    }

    /// The whole identifier, such as `CN-USCI-51530000836900607T`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The jurisdiction and registry, such as `CN-USCI`.
    pub fn prefix(&self) -> &str {
        self.text.get(..self.prefix_len).unwrap_or_default()
    }

    /// The country of the registry; `None` for the XI, XM and XE registries.
    pub fn country(&self) -> Option<CountryCode> {
        self.country
    }

    /// The registration number within the registry, such as `51530000836900607T`.
    pub fn registry_number(&self) -> &str {
        // The prefix is followed by exactly one `-`.
        self.text.get(self.prefix_len + 1..).unwrap_or_default()
    }

    /// The USCI, when the identifier is a `CN-USCI` one.
    pub fn usci(&self) -> Option<&Usci> {
        self.usci.as_ref()
    }
}

impl fmt::Display for RegistryIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for RegistryIdentifier {
    type Err = RegistryIdentifierError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        RegistryIdentifier::parse(input)
    }
}

impl TryFrom<String> for RegistryIdentifier {
    type Error = RegistryIdentifierError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        RegistryIdentifier::parse(&input)
    }
}

impl From<RegistryIdentifier> for String {
    fn from(identifier: RegistryIdentifier) -> Self {
        identifier.text
    }
}

/// Parses the optional registry identifier of an organisation based in `country`.
///
/// A Chinese organisation must have a `CN-USCI-…` identifier with a valid USCI, because its USCI
/// is what tells an NGO from a company; other organisations may have none. A blank input counts
/// as none.
pub fn parse_registry_identifier(
    country: CountryCode,
    input: Option<&str>,
) -> Result<Option<RegistryIdentifier>, RegistryIdentifierError> {
    let input = input.map(str::trim).filter(|text| !text.is_empty());
    let identifier = input.map(RegistryIdentifier::parse).transpose()?;
    let has_usci = identifier
        .as_ref()
        .and_then(RegistryIdentifier::usci)
        .is_some();
    if country == CountryCode::CN && !has_usci {
        return Err(RegistryIdentifierError::ChineseOrganisationNeedsUsci);
    }
    Ok(identifier)
}

/// The applicant category, derived from an organisation's identity and never typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApplicantCategory {
    /// An NGO registered in China (social group, social service organisation or foundation).
    ChineseNgo,
    /// An international NGO based outside China.
    InternationalNgo,
    /// A national or regional NGO, or a foundation, based outside China.
    HostCountryNgo,
    /// A company, whatever else it declared.
    Company,
    /// Anything else: governments, multilaterals, academia, other Chinese bodies.
    Other,
}

/// Why a stored applicant category was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicantCategoryError {
    /// Not one of the five category names.
    #[error(
        "`{0}` is not an applicant category (CHINESE_NGO, INTERNATIONAL_NGO, HOST_COUNTRY_NGO, \
         COMPANY, OTHER)"
    )]
    Unknown(String),
}

impl ApplicantCategory {
    /// Every category.
    pub const ALL: [ApplicantCategory; 5] = [
        Self::ChineseNgo,
        Self::InternationalNgo,
        Self::HostCountryNgo,
        Self::Company,
        Self::Other,
    ];

    /// The stable name used in the API and the database, such as `CHINESE_NGO`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChineseNgo => "CHINESE_NGO",
            Self::InternationalNgo => "INTERNATIONAL_NGO",
            Self::HostCountryNgo => "HOST_COUNTRY_NGO",
            Self::Company => "COMPANY",
            Self::Other => "OTHER",
        }
    }

    /// Whether the fund may pay an organisation of this category, as applicant or as partner:
    /// only the three NGO categories.
    pub fn can_receive_money(self) -> bool {
        matches!(
            self,
            Self::ChineseNgo | Self::InternationalNgo | Self::HostCountryNgo
        )
    }
}

impl fmt::Display for ApplicantCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApplicantCategory {
    type Err = ApplicantCategoryError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == name)
            .ok_or_else(|| ApplicantCategoryError::Unknown(name.to_owned()))
    }
}

/// Derives the applicant category. The rules apply in this order, first match wins:
///
/// 1. `Company` when the IATI type is 70–73, or the registry identifier is a `CN-USCI` one whose
///    USCI is a company's (91, 92, 93), whatever else was declared;
/// 2. `ChineseNgo` when the country is CN, the type is an NGO type (21–24, 60) and the USCI is an
///    NGO's (51, 52, 53);
/// 3. `InternationalNgo` when the country is not CN and the type is 21;
/// 4. `HostCountryNgo` when the country is not CN and the type is 22, 23, 24 or 60;
/// 5. `Other` for everything else.
pub fn applicant_category(
    org_type: IatiOrganisationType,
    country: CountryCode,
    registry: Option<&RegistryIdentifier>,
) -> ApplicantCategory {
    let usci_kind = registry.and_then(RegistryIdentifier::usci).map(Usci::kind);
    let in_china = country == CountryCode::CN;
    if org_type.is_company() || usci_kind == Some(UsciKind::Company) {
        ApplicantCategory::Company
    } else if in_china && org_type.is_ngo_type() && usci_kind == Some(UsciKind::Ngo) {
        ApplicantCategory::ChineseNgo
    } else if !in_china && org_type == IatiOrganisationType::InternationalNgo {
        ApplicantCategory::InternationalNgo
    } else if !in_china && org_type.is_ngo_type() {
        ApplicantCategory::HostCountryNgo
    } else {
        ApplicantCategory::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IatiOrganisationType as T;

    const SOCIAL_GROUP: &str = "51530000836900607T";
    const FOUNDATION: &str = "53100000964017579D";
    const SOCIAL_SERVICE: &str = "52310000874526855Q";
    const ENTERPRISE: &str = "91440300279955604U";
    const INDIVIDUAL_BUSINESS: &str = "924403003622461475";
    const COOPERATIVE: &str = "931000006222975153";
    const PUBLIC_INSTITUTION: &str = "11440300640735371U";

    fn id(text: &str) -> RegistryIdentifier {
        RegistryIdentifier::parse(text).unwrap()
    }

    fn cn_usci(usci: &str) -> RegistryIdentifier {
        id(&format!("CN-USCI-{usci}"))
    }

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    #[test]
    fn organisation_types_round_trip_through_their_codes() {
        let codes: Vec<u16> = T::ALL.iter().map(|kind| kind.code()).collect();
        assert_eq!(
            codes,
            [
                10, 11, 15, 21, 22, 23, 24, 30, 40, 60, 70, 71, 72, 73, 80, 90
            ]
        );
        for kind in T::ALL {
            assert_eq!(T::from_code(kind.code()), Ok(kind));
            assert_eq!(T::try_from(u16::from(kind)), Ok(kind));
            assert!(!kind.english_name().is_empty());
        }
        assert_eq!(
            T::AcademicTrainingAndResearch.english_name(),
            "Academic, Training and Research"
        );
    }

    #[test]
    fn codes_outside_the_codelist_are_refused() {
        for code in [0, 1, 12, 20, 25, 50, 74, 91, 100, u16::MAX] {
            assert_eq!(
                T::from_code(code),
                Err(OrganisationTypeError::UnknownCode(code))
            );
        }
    }

    #[test]
    fn private_sector_types_are_companies_and_nothing_else_is() {
        let companies: Vec<u16> = T::ALL
            .iter()
            .filter(|kind| kind.is_company())
            .map(|kind| kind.code())
            .collect();
        assert_eq!(companies, [70, 71, 72, 73]);
    }

    #[test]
    fn ngo_types_are_the_ngos_and_foundations() {
        let ngos: Vec<u16> = T::ALL
            .iter()
            .filter(|kind| kind.is_ngo_type())
            .map(|kind| kind.code())
            .collect();
        assert_eq!(ngos, [21, 22, 23, 24, 60]);
    }

    #[test]
    fn organisation_types_deserialise_from_their_code() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, U16Deserializer};

        let parsed = T::deserialize::<U16Deserializer<Error>>(22_u16.into_deserializer());
        assert_eq!(parsed.unwrap(), T::NationalNgo);
        let refused = T::deserialize::<U16Deserializer<Error>>(25_u16.into_deserializer());
        assert!(refused.is_err());
    }

    #[test]
    fn a_cn_usci_identifier_splits_into_prefix_and_number_and_carries_the_usci() {
        let identifier = cn_usci(SOCIAL_GROUP);
        assert_eq!(identifier.as_str(), "CN-USCI-51530000836900607T");
        assert_eq!(identifier.prefix(), "CN-USCI");
        assert_eq!(identifier.registry_number(), SOCIAL_GROUP);
        assert_eq!(identifier.country(), Some(CountryCode::CN));
        assert_eq!(identifier.usci().map(Usci::as_str), Some(SOCIAL_GROUP));
    }

    #[test]
    fn identifiers_of_other_registries_parse_without_a_usci() {
        for (text, prefix, number) in [
            ("KE-NCB-12345", "KE-NCB", "12345"),
            ("GB-CHC-1234567", "GB-CHC", "1234567"),
            ("GB-COH-SC123456", "GB-COH", "SC123456"),
            ("XI-IATI-ABC", "XI-IATI", "ABC"),
            ("XM-DAC-41301", "XM-DAC", "41301"),
            ("XE-EXAMPLE-1", "XE-EXAMPLE", "1"),
            ("US-EIN-12-3456789", "US-EIN", "12-3456789"),
            ("NP-SWC-27/2052.a", "NP-SWC", "27/2052.a"),
        ] {
            let identifier = id(text);
            assert_eq!(identifier.as_str(), text);
            assert_eq!(identifier.prefix(), prefix);
            assert_eq!(identifier.registry_number(), number);
            assert_eq!(identifier.usci(), None);
        }
        assert_eq!(id("XI-IATI-ABC").country(), None);
        assert_eq!(id("KE-NCB-12345").country(), Some(country("KE")));
    }

    #[test]
    fn the_prefix_is_normalised_to_uppercase_and_the_number_kept_as_given() {
        let identifier = id("  ke-ncb-ab12c ");
        assert_eq!(identifier.as_str(), "KE-NCB-ab12c");
        assert_eq!(identifier, "KE-NCB-ab12c".parse().unwrap());
    }

    #[test]
    fn a_lowercase_usci_is_normalised_to_uppercase() {
        let identifier = id("cn-usci-51530000836900607t");
        assert_eq!(identifier.as_str(), "CN-USCI-51530000836900607T");
        assert_eq!(identifier.registry_number(), SOCIAL_GROUP);
    }

    #[test]
    fn a_cn_usci_identifier_with_an_invalid_usci_is_refused_and_says_so() {
        let error = RegistryIdentifier::parse("CN-USCI-51530000836900607U").unwrap_err();
        assert!(matches!(
            error,
            RegistryIdentifierError::InvalidUsci(UsciError::WrongCheckCharacter { .. })
        ));
        assert!(
            error
                .to_string()
                .contains("Unified Social Credit Identifier")
        );
        assert!(matches!(
            RegistryIdentifier::parse("CN-USCI-12345"),
            Err(RegistryIdentifierError::InvalidUsci(
                UsciError::WrongLength { length: 5 }
            ))
        ));
    }

    #[test]
    fn other_chinese_registries_do_not_need_a_usci() {
        let identifier = id("CN-SAIC-12345");
        assert_eq!(identifier.usci(), None);
        assert_eq!(identifier.country(), Some(CountryCode::CN));
    }

    #[test]
    fn identifiers_without_three_parts_are_malformed() {
        for text in ["CN", "CN-USCI", "KE12345", "51530000836900607T"] {
            assert_eq!(
                RegistryIdentifier::parse(text),
                Err(RegistryIdentifierError::Malformed(text.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            RegistryIdentifier::parse("  "),
            Err(RegistryIdentifierError::Empty)
        );
    }

    #[test]
    fn the_jurisdiction_must_be_a_country_or_xi_xm_xe() {
        for (text, jurisdiction) in [
            ("UK-CHC-123", "UK"),
            ("XK-REG-1", "XK"),
            ("XX-REG-1", "XX"),
            ("CHN-USCI-1", "CHN"),
            ("-CHC-1", ""),
        ] {
            assert_eq!(
                RegistryIdentifier::parse(text),
                Err(RegistryIdentifierError::UnknownJurisdiction(
                    jurisdiction.to_owned()
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn the_registry_code_must_be_two_to_ten_letters_or_digits() {
        for (text, registry) in [
            ("KE-N-1", "N"),
            ("KE-ABCDEFGHIJK-1", "ABCDEFGHIJK"),
            ("KE-N_B-1", "N_B"),
            ("KE--1", ""),
            ("KE-NCB/2-1", "NCB/2"),
        ] {
            assert_eq!(
                RegistryIdentifier::parse(text),
                Err(RegistryIdentifierError::InvalidRegistry(
                    registry.to_owned()
                )),
                "{text}"
            );
        }
        assert_eq!(id("KE-ABCDEFGHIJ-1").prefix(), "KE-ABCDEFGHIJ");
        assert_eq!(id("KE-N1-1").prefix(), "KE-N1");
    }

    #[test]
    fn the_registration_number_must_be_1_to_64_allowed_characters() {
        assert_eq!(
            RegistryIdentifier::parse("KE-NCB-"),
            Err(RegistryIdentifierError::NumberLength { length: 0 })
        );
        let longest = format!("KE-NCB-{}", "1".repeat(64));
        assert_eq!(id(&longest).registry_number().len(), 64);
        assert_eq!(
            RegistryIdentifier::parse(&format!("KE-NCB-{}", "1".repeat(65))),
            Err(RegistryIdentifierError::NumberLength { length: 65 })
        );
        for character in [' ', '_', '#', ',', '\n', 'é', '号'] {
            assert_eq!(
                RegistryIdentifier::parse(&format!("KE-NCB-12{character}34")),
                Err(RegistryIdentifierError::InvalidNumberCharacter { character }),
                "{character:?}"
            );
        }
    }

    #[test]
    fn identifiers_serialise_as_their_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let parsed = RegistryIdentifier::deserialize::<StrDeserializer<Error>>(
            "gb-chc-1234567".into_deserializer(),
        );
        assert_eq!(parsed.unwrap(), id("GB-CHC-1234567"));
        assert_eq!(String::from(id("GB-CHC-1234567")), "GB-CHC-1234567");
        assert_eq!(id("GB-CHC-1234567").to_string(), "GB-CHC-1234567");
    }

    #[test]
    fn a_chinese_organisation_must_have_a_cn_usci_identifier() {
        let cn = CountryCode::CN;
        let parsed = parse_registry_identifier(cn, Some("CN-USCI-51530000836900607T")).unwrap();
        assert_eq!(parsed, Some(cn_usci(SOCIAL_GROUP)));
        for input in [
            None,
            Some(""),
            Some("   "),
            Some("CN-SAIC-12345"),
            Some("KE-NCB-1"),
        ] {
            assert_eq!(
                parse_registry_identifier(cn, input),
                Err(RegistryIdentifierError::ChineseOrganisationNeedsUsci),
                "{input:?}"
            );
        }
        assert!(matches!(
            parse_registry_identifier(cn, Some("CN-USCI-51530000836900607U")),
            Err(RegistryIdentifierError::InvalidUsci(_))
        ));
    }

    #[test]
    fn other_organisations_may_have_any_identifier_or_none() {
        let kenya = country("KE");
        assert_eq!(parse_registry_identifier(kenya, None), Ok(None));
        assert_eq!(parse_registry_identifier(kenya, Some("  ")), Ok(None));
        assert_eq!(
            parse_registry_identifier(kenya, Some("KE-NCB-12345")),
            Ok(Some(id("KE-NCB-12345")))
        );
        assert_eq!(
            parse_registry_identifier(kenya, Some("GB-CHC-1234567")),
            Ok(Some(id("GB-CHC-1234567")))
        );
        assert!(matches!(
            parse_registry_identifier(kenya, Some("KE-NCB-12 345")),
            Err(RegistryIdentifierError::InvalidNumberCharacter { character: ' ' })
        ));
    }

    #[test]
    fn applicant_categories_have_stable_names() {
        let names: Vec<&str> = ApplicantCategory::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "CHINESE_NGO",
                "INTERNATIONAL_NGO",
                "HOST_COUNTRY_NGO",
                "COMPANY",
                "OTHER"
            ]
        );
        for category in ApplicantCategory::ALL {
            assert_eq!(category.as_str().parse(), Ok(category));
            assert_eq!(category.to_string(), category.as_str());
        }
        assert_eq!(
            "chinese_ngo".parse::<ApplicantCategory>(),
            Err(ApplicantCategoryError::Unknown("chinese_ngo".to_owned()))
        );
    }

    #[test]
    fn applicant_categories_serialise_with_their_stable_names() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        for category in ApplicantCategory::ALL {
            let parsed = ApplicantCategory::deserialize::<StrDeserializer<Error>>(
                category.as_str().into_deserializer(),
            );
            assert_eq!(parsed.unwrap(), category);
        }
    }

    #[test]
    fn only_the_three_ngo_categories_can_receive_money() {
        use ApplicantCategory::*;
        assert!(ChineseNgo.can_receive_money());
        assert!(InternationalNgo.can_receive_money());
        assert!(HostCountryNgo.can_receive_money());
        assert!(!Company.can_receive_money());
        assert!(!Other.can_receive_money());
    }

    #[test]
    fn a_private_sector_type_is_a_company_whatever_else_it_has() {
        let ngo_usci = cn_usci(SOCIAL_GROUP);
        for kind in [70, 71, 72, 73].map(|code| T::from_code(code).unwrap()) {
            for home in [CountryCode::CN, country("KE"), country("GB")] {
                for registry in [None, Some(&ngo_usci), Some(&id("KE-NCB-1"))] {
                    assert_eq!(
                        applicant_category(kind, home, registry),
                        ApplicantCategory::Company,
                        "{kind:?} {home} {registry:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_company_declared_as_an_ngo_is_still_a_company_by_its_usci() {
        for company in [ENTERPRISE, INDIVIDUAL_BUSINESS, COOPERATIVE] {
            let registry = cn_usci(company);
            for kind in T::ALL {
                assert_eq!(
                    applicant_category(kind, CountryCode::CN, Some(&registry)),
                    ApplicantCategory::Company,
                    "{kind:?} {company}"
                );
            }
        }
        assert_eq!(
            applicant_category(T::NationalNgo, CountryCode::CN, Some(&cn_usci(ENTERPRISE))),
            ApplicantCategory::Company
        );
    }

    #[test]
    fn a_foreign_ngo_carrying_a_company_usci_is_a_company() {
        let registry = cn_usci(ENTERPRISE);
        assert_eq!(
            applicant_category(T::InternationalNgo, country("GB"), Some(&registry)),
            ApplicantCategory::Company
        );
        assert_eq!(
            applicant_category(T::NationalNgo, country("KE"), Some(&registry)),
            ApplicantCategory::Company
        );
    }

    #[test]
    fn a_chinese_ngo_type_with_an_ngo_usci_is_a_chinese_ngo() {
        for usci in [SOCIAL_GROUP, SOCIAL_SERVICE, FOUNDATION] {
            let registry = cn_usci(usci);
            for kind in [21, 22, 23, 24, 60].map(|code| T::from_code(code).unwrap()) {
                assert_eq!(
                    applicant_category(kind, CountryCode::CN, Some(&registry)),
                    ApplicantCategory::ChineseNgo,
                    "{kind:?} {usci}"
                );
            }
        }
    }

    #[test]
    fn a_chinese_body_of_a_non_ngo_type_is_other_even_with_an_ngo_usci() {
        let registry = cn_usci(SOCIAL_GROUP);
        for kind in [10, 11, 15, 30, 40, 80, 90].map(|code| T::from_code(code).unwrap()) {
            assert_eq!(
                applicant_category(kind, CountryCode::CN, Some(&registry)),
                ApplicantCategory::Other,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_chinese_ngo_whose_usci_is_neither_ngo_nor_company_is_other() {
        let registry = cn_usci(PUBLIC_INSTITUTION);
        assert_eq!(
            applicant_category(T::NationalNgo, CountryCode::CN, Some(&registry)),
            ApplicantCategory::Other
        );
        let civil_affairs = cn_usci("59510100960375192K");
        assert_eq!(
            applicant_category(T::Foundation, CountryCode::CN, Some(&civil_affairs)),
            ApplicantCategory::Other
        );
    }

    #[test]
    fn a_chinese_ngo_without_a_usci_is_other() {
        assert_eq!(
            applicant_category(T::NationalNgo, CountryCode::CN, None),
            ApplicantCategory::Other
        );
        assert_eq!(
            applicant_category(T::NationalNgo, CountryCode::CN, Some(&id("CN-SAIC-1"))),
            ApplicantCategory::Other
        );
        assert_eq!(
            applicant_category(T::InternationalNgo, CountryCode::CN, None),
            ApplicantCategory::Other
        );
    }

    #[test]
    fn an_international_ngo_outside_china_is_an_international_ngo() {
        for registry in [
            None,
            Some(id("GB-CHC-1234567")),
            Some(cn_usci(SOCIAL_GROUP)),
        ] {
            assert_eq!(
                applicant_category(T::InternationalNgo, country("GB"), registry.as_ref()),
                ApplicantCategory::InternationalNgo,
                "{registry:?}"
            );
        }
    }

    #[test]
    fn national_regional_partner_country_ngos_and_foundations_outside_china_are_host_country_ngos()
    {
        for kind in [22, 23, 24, 60].map(|code| T::from_code(code).unwrap()) {
            for registry in [None, Some(id("KE-NCB-12345"))] {
                assert_eq!(
                    applicant_category(kind, country("KE"), registry.as_ref()),
                    ApplicantCategory::HostCountryNgo,
                    "{kind:?} {registry:?}"
                );
            }
        }
    }

    #[test]
    fn governments_multilaterals_academia_and_others_outside_china_are_other() {
        for kind in [10, 11, 15, 30, 40, 80, 90].map(|code| T::from_code(code).unwrap()) {
            assert_eq!(
                applicant_category(kind, country("ET"), None),
                ApplicantCategory::Other,
                "{kind:?}"
            );
            assert_eq!(
                applicant_category(kind, country("ET"), Some(&cn_usci(SOCIAL_GROUP))),
                ApplicantCategory::Other,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn every_combination_falls_in_exactly_the_category_the_rules_give() {
        // Cross-check the rule order against an independent reading of it.
        let registries = [
            None,
            Some(cn_usci(SOCIAL_GROUP)),
            Some(cn_usci(ENTERPRISE)),
            Some(cn_usci(PUBLIC_INSTITUTION)),
            Some(id("KE-NCB-1")),
        ];
        for kind in T::ALL {
            for home in [CountryCode::CN, country("KE")] {
                for registry in &registries {
                    let usci = registry.as_ref().and_then(|r| r.usci()).map(|u| u.as_str());
                    let prefix = usci.map(|u| &u[..2]);
                    let code = kind.code();
                    let expected = if (70..=73).contains(&code)
                        || matches!(prefix, Some("91" | "92" | "93"))
                    {
                        ApplicantCategory::Company
                    } else if home.as_str() == "CN"
                        && [21, 22, 23, 24, 60].contains(&code)
                        && matches!(prefix, Some("51" | "52" | "53"))
                    {
                        ApplicantCategory::ChineseNgo
                    } else if home.as_str() != "CN" && code == 21 {
                        ApplicantCategory::InternationalNgo
                    } else if home.as_str() != "CN" && [22, 23, 24, 60].contains(&code) {
                        ApplicantCategory::HostCountryNgo
                    } else {
                        ApplicantCategory::Other
                    };
                    assert_eq!(
                        applicant_category(kind, home, registry.as_ref()),
                        expected,
                        "{kind:?} {home} {registry:?}"
                    );
                }
            }
        }
    }
}
