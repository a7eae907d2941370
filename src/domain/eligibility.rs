//! Who may apply to a call is decided by rules stored as data on the call and evaluated here by
//! pure code, so that managers can configure them, applicants can check themselves before writing,
//! submission can be refused with the same reasons, and every reason reads the same in English and
//! Chinese. Every call carries the NGO-only rule: the fund never pays companies.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use super::money::{Currency, Money};
use super::organization::ApplicantCategory;

/// The most years of registration a rule may require; more is certainly a typing mistake.
pub const MAX_YEARS_REGISTERED: u32 = 200;

/// One eligibility rule with its parameters, stored on a call as JSON such as
/// `{"kind": "MIN_YEARS_REGISTERED", "years": 3}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum RuleKind {
    /// The applicant must be a Chinese, international or host-country NGO. Every call has it.
    NgoOnly,
    /// The applicant's category must be one of `categories` (NGO categories only).
    ApplicantCategoryIn {
        /// The eligible categories.
        categories: Vec<ApplicantCategory>,
    },
    /// Every host country of the application must be one of `countries`.
    HostCountryIn {
        /// The eligible host countries.
        countries: Vec<CountryCode>,
    },
    /// The organisation must have been registered for at least `years` full years.
    MinYearsRegistered {
        /// The full years required.
        years: u32,
    },
    /// Every host country must have a local NGO on the project: an accepted partner that is a
    /// host-country NGO of that country or holds a valid registration there, or the applicant
    /// itself when it is a host-country NGO of that country.
    HostCountryPartnerRequired,
    /// The requested amount must lie between the bounds, both included, in minor units of the
    /// fund's currency.
    RequestedAmountInRange {
        /// The smallest amount that may be requested.
        min_minor: i64,
        /// The largest amount that may be requested.
        max_minor: i64,
    },
    /// The application must include at least one document of this kind.
    RequiredDocument {
        /// The document kind, such as `REGISTRATION_CERTIFICATE`.
        document_kind: String,
    },
    /// The organisation may have at most `max` open applications in the call, this one included.
    MaxOpenApplicationsPerOrganization {
        /// The most open applications per organisation.
        max: u32,
    },
}

impl RuleKind {
    /// The stable name of the rule's kind, as in its `kind` JSON tag, such as `NGO_ONLY`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::NgoOnly => "NGO_ONLY",
            Self::ApplicantCategoryIn { .. } => "APPLICANT_CATEGORY_IN",
            Self::HostCountryIn { .. } => "HOST_COUNTRY_IN",
            Self::MinYearsRegistered { .. } => "MIN_YEARS_REGISTERED",
            Self::HostCountryPartnerRequired => "HOST_COUNTRY_PARTNER_REQUIRED",
            Self::RequestedAmountInRange { .. } => "REQUESTED_AMOUNT_IN_RANGE",
            Self::RequiredDocument { .. } => "REQUIRED_DOCUMENT",
            Self::MaxOpenApplicationsPerOrganization { .. } => {
                "MAX_OPEN_APPLICATIONS_PER_ORGANIZATION"
            }
        }
    }

    /// The rule with its parameters checked; repeated categories and countries are dropped and a
    /// document kind is trimmed, so equal rules compare equal.
    fn validated(self) -> Result<RuleKind, RuleError> {
        match self {
            Self::NgoOnly => Err(RuleError::DuplicateNgoOnly),
            Self::ApplicantCategoryIn { categories } => {
                if categories.is_empty() {
                    return Err(RuleError::NoCategories);
                }
                if let Some(&category) = categories.iter().find(|c| !c.can_receive_money()) {
                    return Err(RuleError::CategoryWeakensNgoOnly { category });
                }
                Ok(Self::ApplicantCategoryIn {
                    categories: without_repeats(categories),
                })
            }
            Self::HostCountryIn { countries } => {
                if countries.is_empty() {
                    return Err(RuleError::NoCountries);
                }
                Ok(Self::HostCountryIn {
                    countries: without_repeats(countries),
                })
            }
            Self::MinYearsRegistered { years } if years > MAX_YEARS_REGISTERED => {
                Err(RuleError::TooManyYears { years })
            }
            Self::RequestedAmountInRange {
                min_minor,
                max_minor,
            } => {
                if min_minor < 0 || max_minor < 0 {
                    Err(RuleError::NegativeAmount {
                        min_minor,
                        max_minor,
                    })
                } else if min_minor > max_minor {
                    Err(RuleError::AmountRangeReversed {
                        min_minor,
                        max_minor,
                    })
                } else {
                    Ok(self)
                }
            }
            Self::RequiredDocument { document_kind } => {
                let document_kind = document_kind.trim();
                if document_kind.is_empty() {
                    return Err(RuleError::BlankDocumentKind);
                }
                Ok(Self::RequiredDocument {
                    document_kind: document_kind.to_owned(),
                })
            }
            Self::MaxOpenApplicationsPerOrganization { max: 0 } => {
                Err(RuleError::ZeroMaxApplications)
            }
            Self::MinYearsRegistered { .. }
            | Self::HostCountryPartnerRequired
            | Self::MaxOpenApplicationsPerOrganization { .. } => Ok(self),
        }
    }
}

fn without_repeats<T: Copy + Eq + std::hash::Hash>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(*item))
        .collect()
}

/// Why a rule or a change to a call's rules was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The NGO-only rule was given again.
    #[error("every call already carries the NGO-only rule; it cannot be added a second time")]
    DuplicateNgoOnly,
    /// Someone tried to remove the NGO-only rule.
    #[error(
        "the NGO-only rule cannot be removed: this fund never gives money to companies or other \
         organisations that are not NGOs"
    )]
    NgoOnlyCannotBeRemoved,
    /// An index past the end of the rules.
    #[error("there is no rule number {index}; the call has {count} rules")]
    NoSuchRule {
        /// The refused index, from 0.
        index: usize,
        /// How many rules the call has.
        count: usize,
    },
    /// The same rule twice.
    #[error("the call already has this {kind} rule")]
    DuplicateRule {
        /// The rule's kind name.
        kind: &'static str,
    },
    /// An applicant-category rule with no category.
    #[error("an applicant-category rule needs at least one category")]
    NoCategories,
    /// An applicant-category rule that lists a category the fund may not pay.
    #[error(
        "{category} cannot be an eligible applicant category: it would contradict the NGO-only \
         rule every call carries, since only Chinese, international and host-country NGOs can \
         receive money from this fund"
    )]
    CategoryWeakensNgoOnly {
        /// The refused category, `COMPANY` or `OTHER`.
        category: ApplicantCategory,
    },
    /// A host-country rule with no country.
    #[error("a host-country rule needs at least one country")]
    NoCountries,
    /// More than [`MAX_YEARS_REGISTERED`] years.
    #[error("at most {MAX_YEARS_REGISTERED} years of registration can be required, not {years}")]
    TooManyYears {
        /// The refused number of years.
        years: u32,
    },
    /// An amount range reaching below zero.
    #[error(
        "an amount range cannot include negative amounts ({min_minor} to {max_minor} minor units)"
    )]
    NegativeAmount {
        /// The refused minimum.
        min_minor: i64,
        /// The refused maximum.
        max_minor: i64,
    },
    /// An amount range whose minimum is above its maximum.
    #[error(
        "the minimum amount ({min_minor} minor units) cannot exceed the maximum ({max_minor} minor \
         units)"
    )]
    AmountRangeReversed {
        /// The refused minimum.
        min_minor: i64,
        /// The refused maximum.
        max_minor: i64,
    },
    /// A required-document rule without a document kind.
    #[error("a required-document rule needs a document kind")]
    BlankDocumentKind,
    /// A limit of zero applications, which would shut everyone out.
    #[error("the limit of open applications per organisation must be at least 1")]
    ZeroMaxApplications,
}

/// The eligibility rules of a call: the NGO-only rule first, always exactly once, then the rules
/// the call's managers added.
///
/// Serialised as the list of rules. When read back, a list without the NGO-only rule gets it
/// again, so no stored data can remove it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<RuleKind>", into = "Vec<RuleKind>")]
pub struct EligibilityRules {
    rules: Vec<RuleKind>,
}

impl EligibilityRules {
    /// The NGO-only rule followed by `extra`, each checked.
    pub fn new(extra: Vec<RuleKind>) -> Result<EligibilityRules, RuleError> {
        let mut rules = EligibilityRules::default();
        for rule in extra {
            rules.add(rule)?;
        }
        Ok(rules)
    }

    /// The rules in order, the NGO-only rule first.
    pub fn rules(&self) -> &[RuleKind] {
        &self.rules
    }

    /// Adds `rule` at the end; refuses a second NGO-only rule, invalid parameters and a rule the
    /// call already has.
    pub fn add(&mut self, rule: RuleKind) -> Result<(), RuleError> {
        let rule = rule.validated()?;
        if self.rules.contains(&rule) {
            return Err(RuleError::DuplicateRule {
                kind: rule.kind_name(),
            });
        }
        self.rules.push(rule);
        Ok(())
    }

    /// The document kinds the call requires: one `REQUIRED_DOCUMENT` rule each, in order.
    pub fn required_documents(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter_map(|rule| match rule {
                RuleKind::RequiredDocument { document_kind } => Some(document_kind.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Makes `kinds` the call's required documents: the other rules stay as they are, the
    /// `REQUIRED_DOCUMENT` rules become one per kind (repeats are one).
    pub fn set_required_documents(&mut self, kinds: Vec<String>) -> Result<(), RuleError> {
        self.rules
            .retain(|rule| !matches!(rule, RuleKind::RequiredDocument { .. }));
        for document_kind in kinds {
            let rule = RuleKind::RequiredDocument { document_kind }.validated()?;
            if !self.rules.contains(&rule) {
                self.rules.push(rule);
            }
        }
        Ok(())
    }

    /// Removes and returns the rule at `index` (0 is the NGO-only rule, which cannot go).
    pub fn remove(&mut self, index: usize) -> Result<RuleKind, RuleError> {
        match self.rules.get(index) {
            None => Err(RuleError::NoSuchRule {
                index,
                count: self.rules.len(),
            }),
            Some(RuleKind::NgoOnly) => Err(RuleError::NgoOnlyCannotBeRemoved),
            Some(_) => Ok(self.rules.remove(index)),
        }
    }
}

impl Default for EligibilityRules {
    /// The NGO-only rule alone.
    fn default() -> Self {
        EligibilityRules {
            rules: vec![RuleKind::NgoOnly],
        }
    }
}

impl TryFrom<Vec<RuleKind>> for EligibilityRules {
    type Error = RuleError;

    /// Reads stored rules: the NGO-only rule may appear once, anywhere, or not at all.
    fn try_from(rules: Vec<RuleKind>) -> Result<Self, Self::Error> {
        let (ngo_only, extra): (Vec<RuleKind>, Vec<RuleKind>) = rules
            .into_iter()
            .partition(|rule| *rule == RuleKind::NgoOnly);
        if ngo_only.len() > 1 {
            return Err(RuleError::DuplicateNgoOnly);
        }
        EligibilityRules::new(extra)
    }
}

impl From<EligibilityRules> for Vec<RuleKind> {
    fn from(rules: EligibilityRules) -> Self {
        rules.rules
    }
}

/// What is known about a partner organisation of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerFacts {
    /// The partner's derived applicant category.
    pub category: ApplicantCategory,
    /// Where the partner is based.
    pub country: CountryCode,
    /// Whether the partner has accepted to take part.
    pub accepted: bool,
    /// Whether the partner has not answered yet: the one fact of a draft that may still come.
    pub pending: bool,
    /// The partner's host-country registrations: the country and, when it expires, the last day
    /// it is valid.
    pub registrations: Vec<(CountryCode, Option<NaiveDate>)>,
}

/// What the facts describe: an organisation thinking of applying, or an application's draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// No application exists yet: what it will say is unknown, so rules about it are pending.
    Prospective,
    /// A draft exists: what it does not say is a fact (no host country named, no document
    /// attached). Only a partner that has not answered yet leaves a rule pending.
    Draft,
}

/// Everything the rules are evaluated against, gathered by the caller.
///
/// Before an application exists (an applicant checking whether to apply) the application facts
/// are simply absent: no host countries, `requested_minor: None`, no documents and no partners,
/// with [`Subject::Prospective`]. A draft is evaluated with [`Subject::Draft`], by the same code
/// that decides its submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityFacts {
    /// Whether an application exists, which decides what an absent fact means.
    pub subject: Subject,
    /// The applicant's derived category.
    pub category: ApplicantCategory,
    /// Where the applicant is based.
    pub organization_country: CountryCode,
    /// When the applicant was registered, if it has said.
    pub registered_on: Option<NaiveDate>,
    /// The day the rules are evaluated on, in UTC.
    pub evaluation_date: NaiveDate,
    /// The application's host countries.
    pub host_countries: Vec<CountryCode>,
    /// The requested amount in minor units of `currency`, once entered.
    pub requested_minor: Option<i64>,
    /// The fund's currency, in which every amount here is counted.
    pub currency: Currency,
    /// The kinds of the documents attached to the application.
    pub document_kinds: Vec<String>,
    /// The application's partner organisations.
    pub partners: Vec<PartnerFacts>,
    /// The applicant's other applications in this call that are neither withdrawn nor rejected.
    pub other_open_applications_in_call: u32,
}

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The rule is met.
    Pass,
    /// The rule is not met.
    Fail,
    /// The rule depends on application facts not given yet; submission treats it as failed.
    Pending,
}

impl Outcome {
    /// The stable name, such as `PASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Pending => "PENDING",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule's outcome with its reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    /// The rule evaluated.
    pub rule: RuleKind,
    /// Whether it is met.
    pub outcome: Outcome,
    /// Why, in English.
    pub reason_en: String,
    /// Why, in Simplified Chinese.
    pub reason_zh: String,
}

/// Evaluates every rule against `facts`, in the order of the rules.
///
/// Rules about the organisation (NGO only, applicant category, years registered, open
/// applications) always pass or fail. Rules about the application are `Pending` while the facts
/// they need are absent: host countries in a set and a host-country partner without host
/// countries, the amount range without a requested amount, and a required document while no
/// document at all is attached. Once some documents are attached, a missing kind fails.
pub fn evaluate(rules: &EligibilityRules, facts: &EligibilityFacts) -> Vec<RuleResult> {
    rules
        .rules()
        .iter()
        .map(|rule| {
            let (outcome, reason_en, reason_zh) = evaluate_rule(rule, facts);
            RuleResult {
                rule: rule.clone(),
                outcome,
                reason_en,
                reason_zh,
            }
        })
        .collect()
}

/// Decides whether an application may be submitted: `Ok` when every rule passes, otherwise the
/// rules that did not, where a pending rule counts as failed (what was not given by submission
/// will never be) and is reported as `Fail` with its reason.
pub fn evaluate_for_submission(
    rules: &EligibilityRules,
    facts: &EligibilityFacts,
) -> Result<(), Vec<RuleResult>> {
    let unmet: Vec<RuleResult> = evaluate(rules, facts)
        .into_iter()
        .filter(|result| result.outcome != Outcome::Pass)
        .map(|result| RuleResult {
            outcome: Outcome::Fail,
            ..result
        })
        .collect();
    if unmet.is_empty() { Ok(()) } else { Err(unmet) }
}

type Evaluation = (Outcome, String, String);

fn evaluate_rule(rule: &RuleKind, facts: &EligibilityFacts) -> Evaluation {
    match rule {
        RuleKind::NgoOnly => ngo_only(facts),
        RuleKind::ApplicantCategoryIn { categories } => applicant_category_in(categories, facts),
        RuleKind::HostCountryIn { countries } => host_country_in(countries, facts),
        RuleKind::MinYearsRegistered { years } => min_years_registered(*years, facts),
        RuleKind::HostCountryPartnerRequired => host_country_partner(facts),
        RuleKind::RequestedAmountInRange {
            min_minor,
            max_minor,
        } => requested_amount_in_range(*min_minor, *max_minor, facts),
        RuleKind::RequiredDocument { document_kind } => required_document(document_kind, facts),
        RuleKind::MaxOpenApplicationsPerOrganization { max } => max_open_applications(*max, facts),
    }
}

fn ngo_only(facts: &EligibilityFacts) -> Evaluation {
    let category = facts.category;
    match category {
        ApplicantCategory::ChineseNgo
        | ApplicantCategory::InternationalNgo
        | ApplicantCategory::HostCountryNgo => (
            Outcome::Pass,
            format!(
                "the applicant is {}; NGOs can receive money from this fund",
                category_en(category)
            ),
            format!(
                "申请机构为{}，属于本基金可资助的社会组织",
                category_zh(category)
            ),
        ),
        ApplicantCategory::Company => (
            Outcome::Fail,
            "the applicant is a company; only NGOs can receive money from this fund".to_owned(),
            "申请机构为企业；本基金仅资助社会组织".to_owned(),
        ),
        ApplicantCategory::Other => (
            Outcome::Fail,
            "the applicant is not an NGO (it is a public body, multilateral, academic or other \
             organisation, or its registration does not show that it is an NGO); only NGOs can \
             receive money from this fund"
                .to_owned(),
            "申请机构不是社会组织（属于政府、多边、学术或其他类型机构，或其登记信息未能表明其为社会组织）；\
             本基金仅资助社会组织"
                .to_owned(),
        ),
    }
}

fn applicant_category_in(categories: &[ApplicantCategory], facts: &EligibilityFacts) -> Evaluation {
    let category = facts.category;
    let eligible_en = list_en(
        categories.iter().map(|&c| categories_en(c).to_owned()),
        "and",
    );
    let eligible_zh = list_zh(categories.iter().map(|&c| category_zh(c).to_owned()));
    if categories.contains(&category) {
        (
            Outcome::Pass,
            format!(
                "the applicant is {}; this call is open to {eligible_en}",
                category_en(category)
            ),
            format!(
                "申请机构为{}；本次征集面向{eligible_zh}",
                category_zh(category)
            ),
        )
    } else {
        (
            Outcome::Fail,
            format!(
                "the applicant is {}; this call is open only to {eligible_en}",
                category_en(category)
            ),
            format!(
                "申请机构为{}；本次征集仅面向{eligible_zh}",
                category_zh(category)
            ),
        )
    }
}

fn host_country_in(countries: &[CountryCode], facts: &EligibilityFacts) -> Evaluation {
    let eligible_en = list_en(countries.iter().map(|&c| country_en(c)), "and");
    let eligible_zh = list_zh(countries.iter().map(|&c| country_zh(c)));
    if facts.host_countries.is_empty() {
        let or_en = list_en(countries.iter().map(|&c| country_en(c)), "or");
        return match facts.subject {
            Subject::Prospective => (
                Outcome::Pending,
                format!(
                    "the application names no host country yet; this call funds work in {or_en}"
                ),
                format!("申请尚未填写东道国；本次征集资助在{eligible_zh}开展的项目"),
            ),
            Subject::Draft => (
                Outcome::Fail,
                format!("the application names no host country; this call funds work in {or_en}"),
                format!("申请未填写东道国；本次征集资助在{eligible_zh}开展的项目"),
            ),
        };
    }
    let outside: Vec<CountryCode> = without_repeats(
        facts
            .host_countries
            .iter()
            .copied()
            .filter(|country| !countries.contains(country))
            .collect(),
    );
    if outside.is_empty() {
        let named_en = list_en(facts.host_countries.iter().map(|&c| country_en(c)), "and");
        let named_zh = list_zh(facts.host_countries.iter().map(|&c| country_zh(c)));
        return (
            Outcome::Pass,
            format!("every host country of the application is eligible for this call: {named_en}"),
            format!("申请的东道国均在本次征集范围内：{named_zh}"),
        );
    }
    let verb = if outside.len() == 1 {
        "is not an eligible host country"
    } else {
        "are not eligible host countries"
    };
    (
        Outcome::Fail,
        format!(
            "{} {verb} for this call; the eligible host countries are {eligible_en}",
            list_en(outside.iter().map(|&c| country_en(c)), "and")
        ),
        format!(
            "{}不在本次征集的东道国范围内；可申请的东道国为{eligible_zh}",
            list_zh(outside.iter().map(|&c| country_zh(c)))
        ),
    )
}

fn min_years_registered(years: u32, facts: &EligibilityFacts) -> Evaluation {
    let required_en = format!(
        "this call requires at least {} of registration",
        count_en(years, "year", "years")
    );
    let required_zh = format!("本次征集要求机构登记注册满{years}年");
    let Some(registered_on) = facts.registered_on else {
        return (
            Outcome::Fail,
            format!("the organisation has not recorded its registration date; {required_en}"),
            format!("机构尚未填写登记注册日期；{required_zh}"),
        );
    };
    let on = facts.evaluation_date;
    // A registration on 29 February completes a year on 1 March in common years.
    let Some(full_years) = on.years_since(registered_on) else {
        return (
            Outcome::Fail,
            format!(
                "the organisation's registration date, {registered_on}, is after {on}; \
                 {required_en}"
            ),
            format!("机构的登记注册日期（{registered_on}）晚于评估日期（{on}）；{required_zh}"),
        );
    };
    if full_years >= years {
        let already_zh = if full_years == 0 { "" } else { "已" };
        (
            Outcome::Pass,
            format!(
                "the organisation was registered on {registered_on}, {} before {on}; \
                 {required_en}",
                full_years_en(full_years)
            ),
            format!(
                "机构于{registered_on}登记注册，截至{on}{already_zh}{}；{required_zh}",
                full_years_zh(full_years)
            ),
        )
    } else {
        let (only_en, only_zh) = if full_years == 0 {
            ("", "")
        } else {
            ("only ", "仅")
        };
        (
            Outcome::Fail,
            format!(
                "the organisation was registered on {registered_on}, {only_en}{} before {on}; \
                 {required_en}",
                full_years_en(full_years)
            ),
            format!(
                "机构于{registered_on}登记注册，截至{on}{only_zh}{}；{required_zh}",
                full_years_zh(full_years)
            ),
        )
    }
}

fn full_years_en(full_years: u32) -> String {
    if full_years == 0 {
        "less than a full year".to_owned()
    } else {
        count_en(full_years, "full year", "full years")
    }
}

fn full_years_zh(full_years: u32) -> String {
    if full_years == 0 {
        "不满1年".to_owned()
    } else {
        format!("满{full_years}年")
    }
}

fn host_country_partner(facts: &EligibilityFacts) -> Evaluation {
    if facts.host_countries.is_empty() {
        return match facts.subject {
            Subject::Prospective => (
                Outcome::Pending,
                "the application names no host country yet, so its host-country partners cannot \
                 be checked"
                    .to_owned(),
                "申请尚未填写东道国，暂无法核对东道国合作伙伴".to_owned(),
            ),
            Subject::Draft => (
                Outcome::Fail,
                "the application names no host country, so it has no host-country partner"
                    .to_owned(),
                "申请未填写东道国，因此没有东道国合作伙伴".to_owned(),
            ),
        };
    }
    let hosts = without_repeats(facts.host_countries.clone());
    let mut gaps_en = Vec::new();
    let mut gaps_zh = Vec::new();
    // A gap that a partner who has not answered yet would fill is not a failure yet.
    let mut only_awaiting_answers = true;
    for &host in &hosts {
        if let Some((gap_en, gap_zh)) = partner_gap(host, facts) {
            gaps_en.push(gap_en);
            gaps_zh.push(gap_zh);
            only_awaiting_answers &= awaiting_local_partner(host, facts);
        }
    }
    if gaps_en.is_empty() {
        let named_en = list_en(hosts.iter().map(|&c| country_en(c)), "and");
        let named_zh = list_zh(hosts.iter().map(|&c| country_zh(c)));
        return (
            Outcome::Pass,
            format!(
                "every host country has a local NGO on the project (an accepted partner that is \
                 an NGO of that country or registered there, or the applicant itself): {named_en}"
            ),
            format!(
                "每个东道国均有当地社会组织参与项目（已确认的当地社会组织合作伙伴、在当地有效登记的合作伙伴，\
                 或申请机构本身）：{named_zh}"
            ),
        );
    }
    let outcome = if only_awaiting_answers {
        Outcome::Pending
    } else {
        Outcome::Fail
    };
    (outcome, gaps_en.join("; "), gaps_zh.join("；"))
}

/// Whether a partner that has not answered yet would give `host` its local NGO.
fn awaiting_local_partner(host: CountryCode, facts: &EligibilityFacts) -> bool {
    facts
        .partners
        .iter()
        .any(|partner| partner.pending && qualifies_for(host, partner, facts.evaluation_date))
}

/// Whether `partner` is an NGO of `host` or validly registered there on `on`.
fn qualifies_for(host: CountryCode, partner: &PartnerFacts, on: NaiveDate) -> bool {
    partner.category.can_receive_money()
        && ((partner.category == ApplicantCategory::HostCountryNgo && partner.country == host)
            || partner
                .registrations
                .iter()
                .any(|&(country, until)| country == host && until.is_none_or(|until| until >= on)))
}

/// Why `host` lacks a local NGO on the project, or `None` when it has one.
fn partner_gap(host: CountryCode, facts: &EligibilityFacts) -> Option<(String, String)> {
    let on = facts.evaluation_date;
    let applicant_is_local =
        facts.category == ApplicantCategory::HostCountryNgo && facts.organization_country == host;
    let local_or_registered = |partner: &PartnerFacts| {
        (partner.category == ApplicantCategory::HostCountryNgo && partner.country == host)
            || partner
                .registrations
                .iter()
                .any(|&(country, until)| country == host && until.is_none_or(|until| until >= on))
    };
    let qualifies = |partner: &PartnerFacts| {
        partner.category.can_receive_money() && local_or_registered(partner)
    };
    if applicant_is_local
        || facts
            .partners
            .iter()
            .any(|partner| partner.accepted && qualifies(partner))
    {
        return None;
    }

    let mut en = format!(
        "{} has no accepted partner that is an NGO of that country or validly registered there",
        country_en(host)
    );
    let mut zh = format!(
        "东道国{}没有已确认的当地社会组织合作伙伴，也没有在当地有效登记的合作伙伴",
        country_zh(host)
    );
    // Say what is nearly there, so the applicant knows what to fix.
    if facts
        .partners
        .iter()
        .any(|partner| partner.pending && qualifies(partner))
    {
        en.push_str(" (a partner there has not answered yet)");
        zh.push_str("（当地合作伙伴尚未答复）");
    }
    if facts
        .partners
        .iter()
        .any(|partner| !partner.accepted && !partner.pending && qualifies(partner))
    {
        en.push_str(" (a partner there declined)");
        zh.push_str("（当地合作伙伴已拒绝参与）");
    }
    let latest_expiry = facts
        .partners
        .iter()
        .filter(|partner| partner.accepted && partner.category.can_receive_money())
        .flat_map(|partner| &partner.registrations)
        .filter_map(|&(country, until)| if country == host { until } else { None })
        .max();
    if let Some(expired) = latest_expiry {
        en.push_str(&format!(
            " (a partner's registration there expired on {expired})"
        ));
        zh.push_str(&format!("（合作伙伴在当地的登记已于{expired}到期）"));
    }
    if facts.partners.iter().any(|partner| {
        partner.accepted && !partner.category.can_receive_money() && {
            partner.country == host || local_or_registered(partner)
        }
    }) {
        en.push_str(" (a partner there is not an NGO, so it does not count)");
        zh.push_str("（当地合作伙伴不是社会组织，不计入）");
    }
    Some((en, zh))
}

fn requested_amount_in_range(
    min_minor: i64,
    max_minor: i64,
    facts: &EligibilityFacts,
) -> Evaluation {
    let currency = facts.currency;
    let min = amount(min_minor, currency);
    let max = amount(max_minor, currency);
    let Some(requested_minor) = facts.requested_minor else {
        return (
            Outcome::Pending,
            format!("no amount has been requested yet; this call awards {min} to {max}"),
            format!("尚未填写申请金额；本次征集的资助金额为{min}至{max}"),
        );
    };
    let requested = amount(requested_minor, currency);
    if requested_minor < min_minor {
        (
            Outcome::Fail,
            format!("the requested {requested} is below this call's minimum of {min}"),
            format!("申请金额{requested}低于本次征集的最低资助额{min}"),
        )
    } else if requested_minor > max_minor {
        (
            Outcome::Fail,
            format!("the requested {requested} is above this call's maximum of {max}"),
            format!("申请金额{requested}高于本次征集的最高资助额{max}"),
        )
    } else {
        (
            Outcome::Pass,
            format!("the requested {requested} is within this call's range of {min} to {max}"),
            format!("申请金额{requested}在本次征集的资助范围{min}至{max}之内"),
        )
    }
}

fn required_document(document_kind: &str, facts: &EligibilityFacts) -> Evaluation {
    if facts.document_kinds.is_empty() && facts.subject == Subject::Prospective {
        return (
            Outcome::Pending,
            format!(
                "no documents have been attached yet; this call requires a document of kind \
                 {document_kind}"
            ),
            format!("尚未上传任何文件；本次征集要求提交类型为{document_kind}的文件"),
        );
    }
    if facts
        .document_kinds
        .iter()
        .any(|kind| kind == document_kind)
    {
        (
            Outcome::Pass,
            format!("a document of kind {document_kind} is attached"),
            format!("已提交类型为{document_kind}的文件"),
        )
    } else {
        (
            Outcome::Fail,
            format!("no document of kind {document_kind} is attached; this call requires one"),
            format!("未提交类型为{document_kind}的文件；本次征集要求提交此类文件"),
        )
    }
}

fn max_open_applications(max: u32, facts: &EligibilityFacts) -> Evaluation {
    let others = facts.other_open_applications_in_call;
    let total = u64::from(others) + 1;
    if total <= u64::from(max) {
        (
            Outcome::Pass,
            format!(
                "with this one the organisation has {} in this call, within the limit of {max}",
                count_en(total, "open application", "open applications")
            ),
            format!("含本申请在内，该机构在本次征集中共有{total}份有效申请，未超过上限{max}份"),
        )
    } else {
        (
            Outcome::Fail,
            format!(
                "the organisation already has {} in this call; with this one it would have \
                 {total}, above the limit of {max}",
                count_en(others, "other open application", "other open applications")
            ),
            format!(
                "该机构在本次征集中已有{others}份其他有效申请，加上本申请共{total}份，超过上限{max}份"
            ),
        )
    }
}

/// The amount with the currency's decimals and code, such as `10000.00 USD`.
fn amount(minor: i64, currency: Currency) -> String {
    match Money::new(minor, currency) {
        Ok(money) => format!("{} {}", money.to_decimal_string(), currency.code()),
        // Only a requested amount can be negative, and only through bad input; show it as given.
        Err(_) => format!("{minor} minor units of {}", currency.code()),
    }
}

fn count_en(count: impl Into<u64>, one: &str, many: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { one } else { many })
}

fn category_en(category: ApplicantCategory) -> &'static str {
    match category {
        ApplicantCategory::ChineseNgo => "a Chinese NGO",
        ApplicantCategory::InternationalNgo => "an international NGO",
        ApplicantCategory::HostCountryNgo => "a host-country NGO",
        ApplicantCategory::Company => "a company",
        ApplicantCategory::Other => "an organisation that is neither an NGO nor a company",
    }
}

fn categories_en(category: ApplicantCategory) -> &'static str {
    match category {
        ApplicantCategory::ChineseNgo => "Chinese NGOs",
        ApplicantCategory::InternationalNgo => "international NGOs",
        ApplicantCategory::HostCountryNgo => "host-country NGOs",
        ApplicantCategory::Company => "companies",
        ApplicantCategory::Other => "other organisations",
    }
}

fn category_zh(category: ApplicantCategory) -> &'static str {
    match category {
        ApplicantCategory::ChineseNgo => "中国社会组织",
        ApplicantCategory::InternationalNgo => "国际社会组织",
        ApplicantCategory::HostCountryNgo => "东道国社会组织",
        ApplicantCategory::Company => "企业",
        ApplicantCategory::Other => "其他类型机构",
    }
}

fn country_en(country: CountryCode) -> String {
    format!("{} ({})", country.english_name(), country.as_str())
}

fn country_zh(country: CountryCode) -> String {
    format!("{}（{}）", country.chinese_name(), country.as_str())
}

/// `A`, `A and B`, `A, B and C`, as an English sentence lists things.
fn list_en(items: impl IntoIterator<Item = String>, conjunction: &str) -> String {
    let mut items: Vec<String> = items.into_iter().collect();
    match items.len() {
        0 | 1 => items.pop().unwrap_or_default(),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} {conjunction} {last}", items.join(", "))
        }
    }
}

fn list_zh(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join("、")
}

#[cfg(test)]
mod tests {
    use super::super::organization::{
        IatiOrganisationType, RegistryIdentifier, applicant_category,
    };
    use super::*;
    use ApplicantCategory as C;

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn kenya() -> CountryCode {
        country("KE")
    }

    fn ethiopia() -> CountryCode {
        country("ET")
    }

    /// A Chinese NGO with a complete application for work in Kenya.
    fn facts() -> EligibilityFacts {
        EligibilityFacts {
            subject: Subject::Draft,
            category: C::ChineseNgo,
            organization_country: CountryCode::CN,
            registered_on: Some(date("2015-03-10")),
            evaluation_date: date("2027-03-15"),
            host_countries: vec![kenya()],
            requested_minor: Some(2_000_000),
            currency: Currency::USD,
            document_kinds: vec!["PROPOSAL".to_owned(), "BUDGET".to_owned()],
            partners: vec![local_partner(kenya())],
            other_open_applications_in_call: 0,
        }
    }

    /// Facts of an applicant checking before it has written an application.
    fn facts_before_applying() -> EligibilityFacts {
        EligibilityFacts {
            host_countries: vec![],
            requested_minor: None,
            document_kinds: vec![],
            partners: vec![],
            subject: Subject::Prospective,
            ..facts()
        }
    }

    fn local_partner(host: CountryCode) -> PartnerFacts {
        PartnerFacts {
            category: C::HostCountryNgo,
            country: host,
            accepted: true,
            pending: false,
            registrations: vec![],
        }
    }

    fn registered_partner(host: CountryCode, until: Option<&str>) -> PartnerFacts {
        PartnerFacts {
            category: C::ChineseNgo,
            country: CountryCode::CN,
            accepted: true,
            pending: false,
            registrations: vec![(host, until.map(date))],
        }
    }

    fn rules(extra: Vec<RuleKind>) -> EligibilityRules {
        EligibilityRules::new(extra).unwrap()
    }

    /// The result of the single rule `rule` (after the NGO-only rule).
    fn check(rule: RuleKind, facts: &EligibilityFacts) -> RuleResult {
        let results = evaluate(&rules(vec![rule]), facts);
        assert_eq!(results.len(), 2);
        results.into_iter().nth(1).unwrap()
    }

    fn ngo_only(facts: &EligibilityFacts) -> RuleResult {
        let results = evaluate(&EligibilityRules::default(), facts);
        assert_eq!(results.len(), 1);
        results.into_iter().next().unwrap()
    }

    fn category_of(kind: u16, home: CountryCode, registry: Option<&str>) -> ApplicantCategory {
        let registry = registry.map(|text| RegistryIdentifier::parse(text).unwrap());
        applicant_category(
            IatiOrganisationType::from_code(kind).unwrap(),
            home,
            registry.as_ref(),
        )
    }

    fn every_rule() -> Vec<RuleKind> {
        vec![
            RuleKind::ApplicantCategoryIn {
                categories: vec![C::ChineseNgo, C::HostCountryNgo],
            },
            RuleKind::HostCountryIn {
                countries: vec![kenya(), ethiopia()],
            },
            RuleKind::MinYearsRegistered { years: 3 },
            RuleKind::HostCountryPartnerRequired,
            RuleKind::RequestedAmountInRange {
                min_minor: 1_000_000,
                max_minor: 5_000_000,
            },
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            RuleKind::MaxOpenApplicationsPerOrganization { max: 2 },
        ]
    }

    // The rule set.

    #[test]
    fn a_new_rule_set_starts_with_the_ngo_only_rule() {
        let rules = rules(every_rule());
        assert_eq!(rules.rules().len(), 8);
        assert_eq!(rules.rules().first(), Some(&RuleKind::NgoOnly));
        assert_eq!(rules.rules().get(1..), Some(every_rule().as_slice()));
        assert_eq!(EligibilityRules::default().rules(), [RuleKind::NgoOnly]);
        assert_eq!(
            EligibilityRules::new(vec![]),
            Ok(EligibilityRules::default())
        );
    }

    #[test]
    fn a_second_ngo_only_rule_is_refused() {
        assert_eq!(
            EligibilityRules::new(vec![RuleKind::NgoOnly]),
            Err(RuleError::DuplicateNgoOnly)
        );
        let mut rules = EligibilityRules::default();
        assert_eq!(
            rules.add(RuleKind::NgoOnly),
            Err(RuleError::DuplicateNgoOnly)
        );
        assert_eq!(rules.rules().len(), 1);
    }

    #[test]
    fn the_ngo_only_rule_cannot_be_removed() {
        let mut rules = rules(every_rule());
        assert_eq!(rules.remove(0), Err(RuleError::NgoOnlyCannotBeRemoved));
        assert!(
            RuleError::NgoOnlyCannotBeRemoved
                .to_string()
                .contains("never gives money to companies")
        );
        assert_eq!(rules.rules().len(), 8);
    }

    #[test]
    fn other_rules_can_be_removed_by_index() {
        let mut rules = rules(every_rule());
        assert_eq!(
            rules.remove(3),
            Ok(RuleKind::MinYearsRegistered { years: 3 })
        );
        assert_eq!(rules.rules().len(), 7);
        assert_eq!(
            rules.remove(7),
            Err(RuleError::NoSuchRule { index: 7, count: 7 })
        );
        while rules.rules().len() > 1 {
            assert!(rules.remove(1).is_ok());
        }
        assert_eq!(rules, EligibilityRules::default());
    }

    #[test]
    fn an_added_rule_goes_last_and_the_same_rule_twice_is_refused() {
        let mut rules = EligibilityRules::default();
        let years = RuleKind::MinYearsRegistered { years: 2 };
        assert_eq!(rules.add(years.clone()), Ok(()));
        assert_eq!(rules.rules().last(), Some(&years));
        assert_eq!(
            rules.add(years),
            Err(RuleError::DuplicateRule {
                kind: "MIN_YEARS_REGISTERED"
            })
        );
        assert_eq!(rules.add(RuleKind::MinYearsRegistered { years: 5 }), Ok(()));
        assert_eq!(
            EligibilityRules::new(vec![
                RuleKind::HostCountryPartnerRequired,
                RuleKind::HostCountryPartnerRequired
            ]),
            Err(RuleError::DuplicateRule {
                kind: "HOST_COUNTRY_PARTNER_REQUIRED"
            })
        );
    }

    #[test]
    fn a_category_rule_including_companies_or_others_is_refused_because_it_would_weaken_ngo_only() {
        for category in [C::Company, C::Other] {
            let error = EligibilityRules::new(vec![RuleKind::ApplicantCategoryIn {
                categories: vec![C::ChineseNgo, category],
            }])
            .unwrap_err();
            assert_eq!(error, RuleError::CategoryWeakensNgoOnly { category });
            let message = error.to_string();
            assert!(message.starts_with(category.as_str()), "{message}");
            assert!(message.contains("NGO-only rule"), "{message}");
        }
    }

    #[test]
    fn empty_category_and_country_sets_are_refused() {
        assert_eq!(
            EligibilityRules::new(vec![RuleKind::ApplicantCategoryIn { categories: vec![] }]),
            Err(RuleError::NoCategories)
        );
        assert_eq!(
            EligibilityRules::new(vec![RuleKind::HostCountryIn { countries: vec![] }]),
            Err(RuleError::NoCountries)
        );
    }

    #[test]
    fn repeated_categories_and_countries_are_kept_once() {
        let rules = rules(vec![
            RuleKind::ApplicantCategoryIn {
                categories: vec![C::HostCountryNgo, C::ChineseNgo, C::HostCountryNgo],
            },
            RuleKind::HostCountryIn {
                countries: vec![kenya(), ethiopia(), kenya()],
            },
        ]);
        assert_eq!(
            rules.rules().get(1..),
            Some(
                [
                    RuleKind::ApplicantCategoryIn {
                        categories: vec![C::HostCountryNgo, C::ChineseNgo],
                    },
                    RuleKind::HostCountryIn {
                        countries: vec![kenya(), ethiopia()],
                    },
                ]
                .as_slice()
            )
        );
    }

    #[test]
    fn years_registered_are_at_most_two_hundred() {
        assert!(EligibilityRules::new(vec![RuleKind::MinYearsRegistered { years: 0 }]).is_ok());
        assert!(EligibilityRules::new(vec![RuleKind::MinYearsRegistered { years: 200 }]).is_ok());
        assert_eq!(
            EligibilityRules::new(vec![RuleKind::MinYearsRegistered { years: 201 }]),
            Err(RuleError::TooManyYears { years: 201 })
        );
    }

    #[test]
    fn amount_ranges_must_be_non_negative_and_in_order() {
        let range = |min_minor, max_minor| {
            EligibilityRules::new(vec![RuleKind::RequestedAmountInRange {
                min_minor,
                max_minor,
            }])
        };
        assert!(range(0, 0).is_ok());
        assert!(range(100, 100).is_ok());
        assert_eq!(
            range(-1, 100),
            Err(RuleError::NegativeAmount {
                min_minor: -1,
                max_minor: 100
            })
        );
        assert_eq!(
            range(-10, -1),
            Err(RuleError::NegativeAmount {
                min_minor: -10,
                max_minor: -1
            })
        );
        assert_eq!(
            range(101, 100),
            Err(RuleError::AmountRangeReversed {
                min_minor: 101,
                max_minor: 100
            })
        );
    }

    #[test]
    fn a_document_kind_is_required_and_trimmed() {
        for blank in ["", "   ", "\t\n"] {
            assert_eq!(
                EligibilityRules::new(vec![RuleKind::RequiredDocument {
                    document_kind: blank.to_owned()
                }]),
                Err(RuleError::BlankDocumentKind)
            );
        }
        let rules = rules(vec![RuleKind::RequiredDocument {
            document_kind: " BUDGET ".to_owned(),
        }]);
        assert_eq!(
            rules.rules().get(1),
            Some(&RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned()
            })
        );
    }

    #[test]
    fn a_limit_of_zero_open_applications_is_refused() {
        assert_eq!(
            EligibilityRules::new(vec![RuleKind::MaxOpenApplicationsPerOrganization {
                max: 0
            }]),
            Err(RuleError::ZeroMaxApplications)
        );
        assert!(
            EligibilityRules::new(vec![RuleKind::MaxOpenApplicationsPerOrganization {
                max: 1
            }])
            .is_ok()
        );
    }

    #[test]
    fn rules_serialise_with_a_kind_tag_and_camel_case_fields() {
        let json = serde_json::to_value(rules(every_rule())).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"kind": "NGO_ONLY"},
                {
                    "kind": "APPLICANT_CATEGORY_IN",
                    "categories": ["CHINESE_NGO", "HOST_COUNTRY_NGO"]
                },
                {"kind": "HOST_COUNTRY_IN", "countries": ["KE", "ET"]},
                {"kind": "MIN_YEARS_REGISTERED", "years": 3},
                {"kind": "HOST_COUNTRY_PARTNER_REQUIRED"},
                {"kind": "REQUESTED_AMOUNT_IN_RANGE", "minMinor": 1_000_000, "maxMinor": 5_000_000},
                {"kind": "REQUIRED_DOCUMENT", "documentKind": "BUDGET"},
                {"kind": "MAX_OPEN_APPLICATIONS_PER_ORGANIZATION", "max": 2},
            ])
        );
        let back: EligibilityRules = serde_json::from_value(json).unwrap();
        assert_eq!(back, rules(every_rule()));
    }

    #[test]
    fn kind_names_match_the_json_tags() {
        let mut all = every_rule();
        all.push(RuleKind::NgoOnly);
        for rule in all {
            let json = serde_json::to_value(&rule).unwrap();
            assert_eq!(json["kind"], rule.kind_name());
        }
    }

    #[test]
    fn stored_rules_without_ngo_only_get_it_back_and_two_are_refused() {
        let stored = r#"[{"kind": "MIN_YEARS_REGISTERED", "years": 2}]"#;
        let rules: EligibilityRules = serde_json::from_str(stored).unwrap();
        assert_eq!(
            rules.rules(),
            [RuleKind::NgoOnly, RuleKind::MinYearsRegistered { years: 2 }]
        );
        let twice = r#"[{"kind": "NGO_ONLY"}, {"kind": "NGO_ONLY"}]"#;
        assert!(serde_json::from_str::<EligibilityRules>(twice).is_err());
        assert_eq!(
            EligibilityRules::try_from(vec![RuleKind::NgoOnly, RuleKind::NgoOnly]),
            Err(RuleError::DuplicateNgoOnly)
        );
    }

    #[test]
    fn stored_rules_are_validated_when_read() {
        let company = r#"[{"kind": "APPLICANT_CATEGORY_IN", "categories": ["COMPANY"]}]"#;
        assert!(serde_json::from_str::<EligibilityRules>(company).is_err());
        let unknown = r#"[{"kind": "ANYONE"}]"#;
        assert!(serde_json::from_str::<EligibilityRules>(unknown).is_err());
        let bad_country = r#"[{"kind": "HOST_COUNTRY_IN", "countries": ["UK"]}]"#;
        assert!(serde_json::from_str::<EligibilityRules>(bad_country).is_err());
    }

    // NGO only.

    #[test]
    fn a_company_declared_as_an_ngo_but_carrying_a_company_usci_fails_ngo_only() {
        let category = category_of(22, CountryCode::CN, Some("CN-USCI-91440300279955604U"));
        assert_eq!(category, C::Company);
        let result = ngo_only(&EligibilityFacts {
            category,
            ..facts()
        });
        assert_eq!(result.rule, RuleKind::NgoOnly);
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "the applicant is a company; only NGOs can receive money from this fund"
        );
        assert_eq!(result.reason_zh, "申请机构为企业；本基金仅资助社会组织");
    }

    #[test]
    fn private_sector_organisations_fail_ngo_only_wherever_they_are() {
        for kind in 70..=73 {
            for (home, registry) in [
                (CountryCode::CN, Some("CN-USCI-51530000836900607T")),
                (kenya(), None),
                (country("GB"), Some("GB-COH-SC123456")),
            ] {
                let category = category_of(kind, home, registry);
                assert_eq!(category, C::Company, "{kind}");
                let result = ngo_only(&EligibilityFacts {
                    category,
                    organization_country: home,
                    ..facts()
                });
                assert_eq!(result.outcome, Outcome::Fail, "{kind} {home}");
            }
        }
    }

    #[test]
    fn a_chinese_ngo_without_a_registry_identifier_is_other_and_fails_ngo_only() {
        let category = category_of(22, CountryCode::CN, None);
        assert_eq!(category, C::Other);
        let result = ngo_only(&EligibilityFacts {
            category,
            ..facts()
        });
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(result.reason_en.starts_with("the applicant is not an NGO"));
        assert!(result.reason_en.contains("only NGOs can receive money"));
        assert!(result.reason_zh.contains("不是社会组织"));
        assert!(result.reason_zh.ends_with("本基金仅资助社会组织"));
    }

    #[test]
    fn governments_and_academia_fail_ngo_only() {
        for kind in [10, 11, 15, 40, 80, 90] {
            let category = category_of(kind, kenya(), None);
            let result = ngo_only(&EligibilityFacts {
                category,
                ..facts()
            });
            assert_eq!(result.outcome, Outcome::Fail, "{kind}");
        }
    }

    #[test]
    fn the_three_ngo_categories_pass_ngo_only() {
        for (category, en, zh) in [
            (
                category_of(60, CountryCode::CN, Some("CN-USCI-53100000964017579D")),
                "a Chinese NGO",
                "中国社会组织",
            ),
            (
                category_of(21, country("GB"), Some("GB-CHC-1234567")),
                "an international NGO",
                "国际社会组织",
            ),
            (
                category_of(22, kenya(), Some("KE-NCB-12345")),
                "a host-country NGO",
                "东道国社会组织",
            ),
        ] {
            let result = ngo_only(&EligibilityFacts {
                category,
                ..facts()
            });
            assert_eq!(result.outcome, Outcome::Pass, "{category}");
            assert_eq!(
                result.reason_en,
                format!("the applicant is {en}; NGOs can receive money from this fund")
            );
            assert!(result.reason_zh.starts_with(&format!("申请机构为{zh}")));
        }
    }

    // Applicant category in a set.

    #[test]
    fn an_applicant_of_a_listed_category_passes_and_others_fail() {
        let rule = RuleKind::ApplicantCategoryIn {
            categories: vec![C::ChineseNgo, C::HostCountryNgo],
        };
        let pass = check(rule.clone(), &facts());
        assert_eq!(pass.outcome, Outcome::Pass);
        assert_eq!(
            pass.reason_en,
            "the applicant is a Chinese NGO; this call is open to Chinese NGOs and host-country \
             NGOs"
        );
        assert_eq!(
            pass.reason_zh,
            "申请机构为中国社会组织；本次征集面向中国社会组织、东道国社会组织"
        );

        let international = EligibilityFacts {
            category: C::InternationalNgo,
            ..facts()
        };
        let fail = check(rule.clone(), &international);
        assert_eq!(fail.outcome, Outcome::Fail);
        assert_eq!(
            fail.reason_en,
            "the applicant is an international NGO; this call is open only to Chinese NGOs and \
             host-country NGOs"
        );
        assert_eq!(
            fail.reason_zh,
            "申请机构为国际社会组织；本次征集仅面向中国社会组织、东道国社会组织"
        );
        let company = EligibilityFacts {
            category: C::Company,
            ..facts()
        };
        assert_eq!(check(rule, &company).outcome, Outcome::Fail);
    }

    // Host country in a set.

    #[test]
    fn host_countries_all_in_the_set_pass() {
        let rule = RuleKind::HostCountryIn {
            countries: vec![kenya(), ethiopia()],
        };
        let both = EligibilityFacts {
            host_countries: vec![ethiopia(), kenya()],
            ..facts()
        };
        let result = check(rule, &both);
        assert_eq!(result.outcome, Outcome::Pass);
        assert_eq!(
            result.reason_en,
            "every host country of the application is eligible for this call: Ethiopia (ET) and \
             Kenya (KE)"
        );
        assert_eq!(
            result.reason_zh,
            "申请的东道国均在本次征集范围内：埃塞俄比亚（ET）、肯尼亚（KE）"
        );
    }

    #[test]
    fn a_host_country_outside_the_set_fails_and_is_named() {
        let rule = RuleKind::HostCountryIn {
            countries: vec![kenya(), ethiopia()],
        };
        let with_tanzania = EligibilityFacts {
            host_countries: vec![kenya(), country("TZ")],
            ..facts()
        };
        let result = check(rule.clone(), &with_tanzania);
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "Tanzania, United Republic of (TZ) is not an eligible host country for this call; \
             the eligible host countries are Kenya (KE) and Ethiopia (ET)"
        );
        assert_eq!(
            result.reason_zh,
            "坦桑尼亚（TZ）不在本次征集的东道国范围内；可申请的东道国为肯尼亚（KE）、埃塞俄比亚（ET）"
        );
        let two_outside = EligibilityFacts {
            host_countries: vec![country("UG"), country("TZ"), country("UG")],
            ..facts()
        };
        let result = check(rule, &two_outside);
        assert!(
            result
                .reason_en
                .starts_with("Uganda (UG) and Tanzania, United Republic of (TZ) are not eligible")
        );
    }

    #[test]
    fn a_host_country_rule_is_pending_until_the_application_names_a_country() {
        let rule = RuleKind::HostCountryIn {
            countries: vec![kenya(), ethiopia()],
        };
        let result = check(rule, &facts_before_applying());
        assert_eq!(result.outcome, Outcome::Pending);
        assert_eq!(
            result.reason_en,
            "the application names no host country yet; this call funds work in Kenya (KE) or \
             Ethiopia (ET)"
        );
        assert_eq!(
            result.reason_zh,
            "申请尚未填写东道国；本次征集资助在肯尼亚（KE）、埃塞俄比亚（ET）开展的项目"
        );
    }

    // Minimum years registered.

    #[test]
    fn an_organisation_registered_exactly_n_years_ago_today_passes() {
        let rule = RuleKind::MinYearsRegistered { years: 3 };
        let anniversary = EligibilityFacts {
            registered_on: Some(date("2024-03-15")),
            evaluation_date: date("2027-03-15"),
            ..facts()
        };
        let result = check(rule, &anniversary);
        assert_eq!(result.outcome, Outcome::Pass);
        assert_eq!(
            result.reason_en,
            "the organisation was registered on 2024-03-15, 3 full years before 2027-03-15; this \
             call requires at least 3 years of registration"
        );
        assert_eq!(
            result.reason_zh,
            "机构于2024-03-15登记注册，截至2027-03-15已满3年；本次征集要求机构登记注册满3年"
        );
    }

    #[test]
    fn the_day_before_the_anniversary_fails() {
        let rule = RuleKind::MinYearsRegistered { years: 3 };
        let day_before = EligibilityFacts {
            registered_on: Some(date("2024-03-15")),
            evaluation_date: date("2027-03-14"),
            ..facts()
        };
        let result = check(rule, &day_before);
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "the organisation was registered on 2024-03-15, only 2 full years before 2027-03-14; \
             this call requires at least 3 years of registration"
        );
        assert_eq!(
            result.reason_zh,
            "机构于2024-03-15登记注册，截至2027-03-14仅满2年；本次征集要求机构登记注册满3年"
        );
    }

    #[test]
    fn an_organisation_registered_this_year_has_less_than_a_full_year() {
        let rule = RuleKind::MinYearsRegistered { years: 1 };
        let young = EligibilityFacts {
            registered_on: Some(date("2026-06-01")),
            evaluation_date: date("2027-03-15"),
            ..facts()
        };
        let result = check(rule, &young);
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "the organisation was registered on 2026-06-01, less than a full year before \
             2027-03-15; this call requires at least 1 year of registration"
        );
        assert_eq!(
            result.reason_zh,
            "机构于2026-06-01登记注册，截至2027-03-15不满1年；本次征集要求机构登记注册满1年"
        );
    }

    #[test]
    fn a_leap_day_registration_completes_its_year_on_the_first_of_march() {
        let rule = RuleKind::MinYearsRegistered { years: 1 };
        let on = |evaluation_date: &str| EligibilityFacts {
            registered_on: Some(date("2024-02-29")),
            evaluation_date: date(evaluation_date),
            ..facts()
        };
        assert_eq!(
            check(rule.clone(), &on("2025-02-28")).outcome,
            Outcome::Fail
        );
        assert_eq!(check(rule, &on("2025-03-01")).outcome, Outcome::Pass);
    }

    #[test]
    fn an_organisation_without_a_registration_date_fails_years_registered() {
        let result = check(
            RuleKind::MinYearsRegistered { years: 0 },
            &EligibilityFacts {
                registered_on: None,
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "the organisation has not recorded its registration date; this call requires at \
             least 0 years of registration"
        );
        assert_eq!(
            result.reason_zh,
            "机构尚未填写登记注册日期；本次征集要求机构登记注册满0年"
        );
    }

    #[test]
    fn a_registration_date_after_the_evaluation_date_fails() {
        let result = check(
            RuleKind::MinYearsRegistered { years: 0 },
            &EligibilityFacts {
                registered_on: Some(date("2027-03-16")),
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(
            result.reason_en.starts_with(
                "the organisation's registration date, 2027-03-16, is after 2027-03-15"
            )
        );
        assert!(result.reason_zh.contains("晚于评估日期（2027-03-15）"));
    }

    #[test]
    fn years_registered_do_not_wait_for_an_application() {
        let result = check(
            RuleKind::MinYearsRegistered { years: 3 },
            &facts_before_applying(),
        );
        assert_eq!(result.outcome, Outcome::Pass);
    }

    // Host-country partner required.

    #[test]
    fn an_accepted_host_country_ngo_partner_of_that_country_passes() {
        let result = check(RuleKind::HostCountryPartnerRequired, &facts());
        assert_eq!(result.outcome, Outcome::Pass);
        assert!(
            result.reason_en.ends_with(": Kenya (KE)"),
            "{}",
            result.reason_en
        );
        assert!(
            result.reason_zh.ends_with("：肯尼亚（KE）"),
            "{}",
            result.reason_zh
        );
    }

    #[test]
    fn a_host_country_ngo_partner_of_another_country_does_not_count() {
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                partners: vec![local_partner(ethiopia())],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "Kenya (KE) has no accepted partner that is an NGO of that country or validly \
             registered there"
        );
        assert_eq!(
            result.reason_zh,
            "东道国肯尼亚（KE）没有已确认的当地社会组织合作伙伴，也没有在当地有效登记的合作伙伴"
        );
    }

    #[test]
    fn a_partner_that_has_not_accepted_does_not_count_and_the_reason_says_so() {
        let mut pending = local_partner(kenya());
        pending.accepted = false;
        pending.pending = true;
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                partners: vec![pending],
                ..facts()
            },
        );
        // The answer may still come: the rule waits for it rather than failing.
        assert_eq!(result.outcome, Outcome::Pending);
        assert!(
            result
                .reason_en
                .ends_with("(a partner there has not answered yet)")
        );
        assert!(result.reason_zh.ends_with("（当地合作伙伴尚未答复）"));
    }

    #[test]
    fn a_partner_with_a_valid_registration_in_the_host_country_passes() {
        for until in [None, Some("2027-03-15"), Some("2030-12-31")] {
            let result = check(
                RuleKind::HostCountryPartnerRequired,
                &EligibilityFacts {
                    partners: vec![registered_partner(kenya(), until)],
                    ..facts()
                },
            );
            assert_eq!(result.outcome, Outcome::Pass, "{until:?}");
        }
    }

    #[test]
    fn a_partner_whose_registration_expired_the_day_before_fails_and_the_reason_gives_the_date() {
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                partners: vec![PartnerFacts {
                    registrations: vec![
                        (kenya(), Some(date("2025-01-31"))),
                        (kenya(), Some(date("2027-03-14"))),
                        (ethiopia(), None),
                    ],
                    ..registered_partner(kenya(), None)
                }],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(
            result
                .reason_en
                .ends_with("(a partner's registration there expired on 2027-03-14)"),
            "{}",
            result.reason_en
        );
        assert!(
            result
                .reason_zh
                .ends_with("（合作伙伴在当地的登记已于2027-03-14到期）")
        );
    }

    #[test]
    fn a_company_partner_does_not_count_even_when_registered_there() {
        let company = PartnerFacts {
            category: C::Company,
            country: kenya(),
            accepted: true,
            pending: false,
            registrations: vec![(kenya(), None)],
        };
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                partners: vec![company],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(
            result
                .reason_en
                .ends_with("(a partner there is not an NGO, so it does not count)")
        );
        assert!(
            result
                .reason_zh
                .ends_with("（当地合作伙伴不是社会组织，不计入）")
        );
    }

    #[test]
    fn every_host_country_needs_its_own_local_partner() {
        let two_countries = EligibilityFacts {
            host_countries: vec![kenya(), ethiopia(), country("TZ")],
            partners: vec![
                local_partner(kenya()),
                registered_partner(country("TZ"), Some("2028-01-01")),
            ],
            ..facts()
        };
        let result = check(RuleKind::HostCountryPartnerRequired, &two_countries);
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(
            result
                .reason_en
                .starts_with("Ethiopia (ET) has no accepted partner")
        );
        assert!(!result.reason_en.contains("Kenya"));
        assert!(!result.reason_en.contains("TZ"));

        let covered = EligibilityFacts {
            partners: vec![
                local_partner(kenya()),
                local_partner(ethiopia()),
                registered_partner(country("TZ"), Some("2028-01-01")),
            ],
            ..two_countries
        };
        assert_eq!(
            check(RuleKind::HostCountryPartnerRequired, &covered).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn a_host_country_ngo_applicant_covers_its_own_country() {
        let kenyan = EligibilityFacts {
            category: C::HostCountryNgo,
            organization_country: kenya(),
            partners: vec![],
            ..facts()
        };
        assert_eq!(
            check(RuleKind::HostCountryPartnerRequired, &kenyan).outcome,
            Outcome::Pass
        );
        let kenyan_working_in_ethiopia = EligibilityFacts {
            host_countries: vec![ethiopia()],
            ..kenyan
        };
        assert_eq!(
            check(
                RuleKind::HostCountryPartnerRequired,
                &kenyan_working_in_ethiopia
            )
            .outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn the_partner_rule_is_pending_until_the_application_names_a_country() {
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &facts_before_applying(),
        );
        assert_eq!(result.outcome, Outcome::Pending);
        assert!(result.reason_en.contains("no host country yet"));
        assert!(result.reason_zh.contains("尚未填写东道国"));
    }

    // Requested amount in a range.

    #[test]
    fn the_amount_bounds_are_inclusive() {
        let rule = RuleKind::RequestedAmountInRange {
            min_minor: 1_000_000,
            max_minor: 5_000_000,
        };
        let requesting = |requested_minor| EligibilityFacts {
            requested_minor: Some(requested_minor),
            ..facts()
        };
        for (requested, outcome) in [
            (999_999, Outcome::Fail),
            (1_000_000, Outcome::Pass),
            (3_000_000, Outcome::Pass),
            (5_000_000, Outcome::Pass),
            (5_000_001, Outcome::Fail),
        ] {
            assert_eq!(
                check(rule.clone(), &requesting(requested)).outcome,
                outcome,
                "{requested}"
            );
        }
    }

    #[test]
    fn amount_reasons_give_the_amounts_in_major_units_with_the_currency() {
        let rule = RuleKind::RequestedAmountInRange {
            min_minor: 1_000_000,
            max_minor: 5_000_000,
        };
        let within = check(rule.clone(), &facts());
        assert_eq!(
            within.reason_en,
            "the requested 20000.00 USD is within this call's range of 10000.00 USD to 50000.00 USD"
        );
        assert_eq!(
            within.reason_zh,
            "申请金额20000.00 USD在本次征集的资助范围10000.00 USD至50000.00 USD之内"
        );
        let below = check(
            rule.clone(),
            &EligibilityFacts {
                requested_minor: Some(50),
                ..facts()
            },
        );
        assert_eq!(
            below.reason_en,
            "the requested 0.50 USD is below this call's minimum of 10000.00 USD"
        );
        assert_eq!(
            below.reason_zh,
            "申请金额0.50 USD低于本次征集的最低资助额10000.00 USD"
        );
        let above = check(
            rule,
            &EligibilityFacts {
                requested_minor: Some(60_000_000),
                currency: Currency::parse("JPY").unwrap(),
                ..facts()
            },
        );
        assert_eq!(
            above.reason_en,
            "the requested 60000000 JPY is above this call's maximum of 5000000 JPY"
        );
        assert_eq!(
            above.reason_zh,
            "申请金额60000000 JPY高于本次征集的最高资助额5000000 JPY"
        );
    }

    #[test]
    fn a_negative_requested_amount_fails_and_is_shown_as_given() {
        let result = check(
            RuleKind::RequestedAmountInRange {
                min_minor: 0,
                max_minor: 100,
            },
            &EligibilityFacts {
                requested_minor: Some(-5),
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(result.reason_en.contains("-5 minor units of USD"));
    }

    #[test]
    fn the_amount_rule_is_pending_until_an_amount_is_requested() {
        let result = check(
            RuleKind::RequestedAmountInRange {
                min_minor: 1_000_000,
                max_minor: 5_000_000,
            },
            &facts_before_applying(),
        );
        assert_eq!(result.outcome, Outcome::Pending);
        assert_eq!(
            result.reason_en,
            "no amount has been requested yet; this call awards 10000.00 USD to 50000.00 USD"
        );
        assert_eq!(
            result.reason_zh,
            "尚未填写申请金额；本次征集的资助金额为10000.00 USD至50000.00 USD"
        );
    }

    // Required document.

    #[test]
    fn an_attached_document_of_the_required_kind_passes() {
        let result = check(
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            &facts(),
        );
        assert_eq!(result.outcome, Outcome::Pass);
        assert_eq!(result.reason_en, "a document of kind BUDGET is attached");
        assert_eq!(result.reason_zh, "已提交类型为BUDGET的文件");
    }

    #[test]
    fn a_missing_document_kind_fails_once_other_documents_are_attached() {
        let result = check(
            RuleKind::RequiredDocument {
                document_kind: "REGISTRATION_CERTIFICATE".to_owned(),
            },
            &facts(),
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "no document of kind REGISTRATION_CERTIFICATE is attached; this call requires one"
        );
        assert_eq!(
            result.reason_zh,
            "未提交类型为REGISTRATION_CERTIFICATE的文件；本次征集要求提交此类文件"
        );
    }

    #[test]
    fn document_kinds_match_exactly() {
        let result = check(
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            &EligibilityFacts {
                document_kinds: vec!["budget".to_owned(), "BUDGET_DRAFT".to_owned()],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
    }

    #[test]
    fn the_document_rule_is_pending_while_nothing_is_attached() {
        let result = check(
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            &facts_before_applying(),
        );
        assert_eq!(result.outcome, Outcome::Pending);
        assert!(
            result
                .reason_en
                .starts_with("no documents have been attached yet")
        );
        assert!(result.reason_zh.starts_with("尚未上传任何文件"));
    }

    // Open applications per organisation.

    #[test]
    fn this_application_counts_towards_the_open_applications_limit() {
        let rule = RuleKind::MaxOpenApplicationsPerOrganization { max: 2 };
        let with_others = |others| EligibilityFacts {
            other_open_applications_in_call: others,
            ..facts()
        };
        let first = check(rule.clone(), &with_others(0));
        assert_eq!(first.outcome, Outcome::Pass);
        assert_eq!(
            first.reason_en,
            "with this one the organisation has 1 open application in this call, within the \
             limit of 2"
        );
        let second = check(rule.clone(), &with_others(1));
        assert_eq!(second.outcome, Outcome::Pass);
        assert_eq!(
            second.reason_zh,
            "含本申请在内，该机构在本次征集中共有2份有效申请，未超过上限2份"
        );
        let third = check(rule.clone(), &with_others(2));
        assert_eq!(third.outcome, Outcome::Fail);
        assert_eq!(
            third.reason_en,
            "the organisation already has 2 other open applications in this call; with this one \
             it would have 3, above the limit of 2"
        );
        assert_eq!(
            third.reason_zh,
            "该机构在本次征集中已有2份其他有效申请，加上本申请共3份，超过上限2份"
        );
        assert_eq!(check(rule, &with_others(u32::MAX)).outcome, Outcome::Fail);
    }

    #[test]
    fn a_limit_of_one_refuses_an_organisation_with_one_other_open_application() {
        let rule = RuleKind::MaxOpenApplicationsPerOrganization { max: 1 };
        let result = check(
            rule,
            &EligibilityFacts {
                other_open_applications_in_call: 1,
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(
            result
                .reason_en
                .contains("already has 1 other open application in")
        );
    }

    // Evaluating the whole set.

    #[test]
    fn evaluation_gives_one_result_per_rule_in_order_with_reasons_in_both_languages() {
        let rules = rules(every_rule());
        for facts in [facts(), facts_before_applying()] {
            let results = evaluate(&rules, &facts);
            let evaluated: Vec<&RuleKind> = results.iter().map(|r| &r.rule).collect();
            let expected: Vec<&RuleKind> = rules.rules().iter().collect();
            assert_eq!(evaluated, expected);
            for result in &results {
                assert!(!result.reason_en.is_empty() && result.reason_en.is_ascii());
                assert!(!result.reason_zh.is_ascii(), "{}", result.reason_zh);
            }
        }
    }

    #[test]
    fn a_complete_eligible_application_passes_every_rule_and_may_be_submitted() {
        let rules = rules(every_rule());
        let results = evaluate(&rules, &facts());
        assert!(
            results.iter().all(|r| r.outcome == Outcome::Pass),
            "{results:#?}"
        );
        assert_eq!(evaluate_for_submission(&rules, &facts()), Ok(()));
    }

    #[test]
    fn an_applicant_checking_before_writing_sees_pending_rather_than_failed_application_rules() {
        let results = evaluate(&rules(every_rule()), &facts_before_applying());
        let outcomes: Vec<(&str, Outcome)> = results
            .iter()
            .map(|r| (r.rule.kind_name(), r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("NGO_ONLY", Outcome::Pass),
                ("APPLICANT_CATEGORY_IN", Outcome::Pass),
                ("HOST_COUNTRY_IN", Outcome::Pending),
                ("MIN_YEARS_REGISTERED", Outcome::Pass),
                ("HOST_COUNTRY_PARTNER_REQUIRED", Outcome::Pending),
                ("REQUESTED_AMOUNT_IN_RANGE", Outcome::Pending),
                ("REQUIRED_DOCUMENT", Outcome::Pending),
                ("MAX_OPEN_APPLICATIONS_PER_ORGANIZATION", Outcome::Pass),
            ]
        );
    }

    #[test]
    fn submission_is_refused_with_the_failed_and_pending_rules_reported_as_failed() {
        let rules = rules(every_rule());
        let incomplete = EligibilityFacts {
            registered_on: Some(date("2026-01-01")),
            requested_minor: None,
            ..facts()
        };
        let unmet = evaluate_for_submission(&rules, &incomplete).unwrap_err();
        let reported: Vec<(&str, Outcome)> = unmet
            .iter()
            .map(|r| (r.rule.kind_name(), r.outcome))
            .collect();
        assert_eq!(
            reported,
            [
                ("MIN_YEARS_REGISTERED", Outcome::Fail),
                ("REQUESTED_AMOUNT_IN_RANGE", Outcome::Fail),
            ]
        );
        let amount = unmet.get(1).unwrap();
        assert!(
            amount
                .reason_en
                .starts_with("no amount has been requested yet")
        );
    }

    #[test]
    fn a_company_can_never_submit_whatever_the_other_rules_say() {
        let company = EligibilityFacts {
            category: category_of(22, CountryCode::CN, Some("CN-USCI-91440300279955604U")),
            ..facts()
        };
        let unmet = evaluate_for_submission(&EligibilityRules::default(), &company).unwrap_err();
        assert_eq!(unmet.len(), 1);
        assert_eq!(unmet.first().map(|r| &r.rule), Some(&RuleKind::NgoOnly));
    }

    #[test]
    fn outcomes_have_stable_names() {
        let names: Vec<&str> = [Outcome::Pass, Outcome::Fail, Outcome::Pending]
            .iter()
            .map(|o| o.as_str())
            .collect();
        assert_eq!(names, ["PASS", "FAIL", "PENDING"]);
        assert_eq!(Outcome::Pending.to_string(), "PENDING");
        assert_eq!(
            serde_json::to_value(Outcome::Pending).unwrap(),
            serde_json::json!("PENDING")
        );
    }

    // A draft: what it does not say is a fact.

    #[test]
    fn a_draft_without_a_host_country_fails_the_host_country_rules() {
        let draft = EligibilityFacts {
            host_countries: vec![],
            ..facts()
        };
        let rule = RuleKind::HostCountryIn {
            countries: vec![kenya()],
        };
        let result = check(rule, &draft);
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "the application names no host country; this call funds work in Kenya (KE)"
        );
        let result = check(RuleKind::HostCountryPartnerRequired, &draft);
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(result.reason_zh.contains("申请未填写东道国"));
    }

    #[test]
    fn a_draft_without_documents_fails_the_document_rule() {
        let result = check(
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            &EligibilityFacts {
                document_kinds: vec![],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert_eq!(
            result.reason_en,
            "no document of kind BUDGET is attached; this call requires one"
        );
    }

    #[test]
    fn a_partner_that_declined_fails_the_partner_rule_and_the_reason_says_so() {
        let mut declined = local_partner(kenya());
        declined.accepted = false;
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                partners: vec![declined],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
        assert!(result.reason_en.ends_with("(a partner there declined)"));
    }

    #[test]
    fn a_pending_partner_does_not_hide_a_country_with_no_partner_at_all() {
        let mut pending = local_partner(kenya());
        pending.accepted = false;
        pending.pending = true;
        let result = check(
            RuleKind::HostCountryPartnerRequired,
            &EligibilityFacts {
                host_countries: vec![kenya(), ethiopia()],
                partners: vec![pending],
                ..facts()
            },
        );
        assert_eq!(result.outcome, Outcome::Fail);
    }

    /// Over many drafts: a rule of a draft is pending only while a partner has not answered, and
    /// submission passes exactly when every rule passes.
    #[test]
    fn a_draft_is_pending_only_on_unanswered_partners_and_submission_follows_the_report() {
        let all_rules = rules(vec![
            RuleKind::HostCountryIn {
                countries: vec![kenya()],
            },
            RuleKind::HostCountryPartnerRequired,
            RuleKind::RequestedAmountInRange {
                min_minor: 1_000_000,
                max_minor: 5_000_000,
            },
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
            RuleKind::MinYearsRegistered { years: 3 },
            RuleKind::MaxOpenApplicationsPerOrganization { max: 1 },
        ]);
        for bits in 0u32..1 << 9 {
            let on = |bit: u32| bits & (1 << bit) != 0;
            let mut partner = local_partner(if on(0) { kenya() } else { ethiopia() });
            partner.accepted = on(1) && !on(2);
            partner.pending = on(2);
            let draft = EligibilityFacts {
                host_countries: if on(3) { vec![kenya()] } else { vec![] },
                partners: if on(4) { vec![partner] } else { vec![] },
                document_kinds: if on(5) {
                    vec!["BUDGET".to_owned()]
                } else {
                    vec![]
                },
                requested_minor: Some(if on(6) { 2_000_000 } else { 9_000_000 }),
                registered_on: Some(date(if on(7) { "2010-01-01" } else { "2026-01-01" })),
                other_open_applications_in_call: u32::from(on(8)),
                ..facts()
            };
            let results = evaluate(&all_rules, &draft);
            let any_pending_partner = draft.partners.iter().any(|p| p.pending);
            for result in &results {
                if result.outcome == Outcome::Pending {
                    assert!(any_pending_partner, "{bits:09b}: {result:?}");
                }
            }
            let all_pass = results.iter().all(|r| r.outcome == Outcome::Pass);
            match evaluate_for_submission(&all_rules, &draft) {
                Ok(()) => assert!(all_pass, "{bits:09b}"),
                Err(unmet) => {
                    let named: Vec<&RuleKind> = results
                        .iter()
                        .filter(|r| r.outcome != Outcome::Pass)
                        .map(|r| &r.rule)
                        .collect();
                    assert_eq!(
                        unmet.iter().map(|r| &r.rule).collect::<Vec<_>>(),
                        named,
                        "{bits:09b}"
                    );
                }
            }
        }
    }

    #[test]
    fn required_documents_are_rules_and_setting_them_keeps_the_other_rules() {
        let mut rules = rules(vec![
            RuleKind::MinYearsRegistered { years: 2 },
            RuleKind::RequiredDocument {
                document_kind: "BUDGET".to_owned(),
            },
        ]);
        rules
            .set_required_documents(vec![
                "PROPOSAL".to_owned(),
                "REGISTRATION_CERTIFICATE".to_owned(),
                "PROPOSAL".to_owned(),
            ])
            .unwrap();
        assert_eq!(
            rules.required_documents(),
            ["PROPOSAL", "REGISTRATION_CERTIFICATE"]
        );
        assert_eq!(rules.rules()[0], RuleKind::NgoOnly);
        assert_eq!(rules.rules()[1], RuleKind::MinYearsRegistered { years: 2 });
        assert!(rules.set_required_documents(vec![" ".to_owned()]).is_err());
    }
}
