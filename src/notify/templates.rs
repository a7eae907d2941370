//! Email templates: one set per kind, in English and Simplified Chinese, plain text and HTML,
//! rendered with minijinja from the files in `templates/email` (compiled into the binary, so a
//! deployment cannot miss one). HTML values are escaped; subjects are one line, so no header can
//! be injected through a name or a subject.

use std::fmt;
use std::str::FromStr;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::domain::locale::Locale;

/// What a message is about. Stored in the outbox as its `as_str` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    Test,
    VerifyEmail,
    PasswordReset,
    OrganizationInvitation,
    /// To the applicant's members: we received your application.
    ApplicationSubmitted,
    /// To the fund's managers: a new application arrived.
    ApplicationReceived,
    /// To the applicant's members: the call closes soon and this is still a draft.
    DraftReminder,
    /// To a reviewer: you were assigned an application.
    ReviewAssigned,
    /// To a reviewer: your review is due soon.
    ReviewReminder,
    /// To a reviewer: your review is past its due date.
    ReviewOverdue,
    /// To the fund's managers: a reviewer declared a conflict and needs replacing.
    ConflictDeclared,
    /// To the applicant's members: the decision on their application.
    DecisionLetter,
    /// To the grantee's members: a tranche was sent.
    TrancheSent,
    /// To the fund's managers: the grantee confirmed a tranche arrived.
    ReceiptConfirmed,
    /// To the fund's managers: a payment needs a remittance filing before it is sent.
    FilingNeeded,
    /// To the fund's managers: a planned tranche is past its due date.
    TrancheOverdue,
    /// To the fund's managers: the grantee changed its bank details.
    BankDetailsChanged,
    /// To a partner organisation's members: an application names them, with the terms asked.
    PartnershipRequested,
    /// To members with a draft in a call: the managers closed the call before its closing time.
    CallClosedEarly,
}

impl EmailKind {
    pub const ALL: [EmailKind; 19] = [
        EmailKind::Test,
        EmailKind::VerifyEmail,
        EmailKind::PasswordReset,
        EmailKind::OrganizationInvitation,
        EmailKind::ApplicationSubmitted,
        EmailKind::ApplicationReceived,
        EmailKind::DraftReminder,
        EmailKind::ReviewAssigned,
        EmailKind::ReviewReminder,
        EmailKind::ReviewOverdue,
        EmailKind::ConflictDeclared,
        EmailKind::DecisionLetter,
        EmailKind::TrancheSent,
        EmailKind::ReceiptConfirmed,
        EmailKind::FilingNeeded,
        EmailKind::TrancheOverdue,
        EmailKind::BankDetailsChanged,
        EmailKind::PartnershipRequested,
        EmailKind::CallClosedEarly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Test => "test",
            EmailKind::VerifyEmail => "verify_email",
            EmailKind::PasswordReset => "password_reset",
            EmailKind::OrganizationInvitation => "organization_invitation",
            EmailKind::ApplicationSubmitted => "application_submitted",
            EmailKind::ApplicationReceived => "application_received",
            EmailKind::DraftReminder => "draft_reminder",
            EmailKind::ReviewAssigned => "review_assigned",
            EmailKind::ReviewReminder => "review_reminder",
            EmailKind::ReviewOverdue => "review_overdue",
            EmailKind::ConflictDeclared => "conflict_declared",
            EmailKind::DecisionLetter => "decision_letter",
            EmailKind::TrancheSent => "tranche_sent",
            EmailKind::ReceiptConfirmed => "receipt_confirmed",
            EmailKind::FilingNeeded => "filing_needed",
            EmailKind::TrancheOverdue => "tranche_overdue",
            EmailKind::BankDetailsChanged => "bank_details_changed",
            EmailKind::PartnershipRequested => "partnership_requested",
            EmailKind::CallClosedEarly => "call_closed_early",
        }
    }

    /// Messages that carry a secret (a sign-in link) are never shown through the API.
    pub fn carries_secret(self) -> bool {
        matches!(
            self,
            EmailKind::VerifyEmail | EmailKind::PasswordReset | EmailKind::OrganizationInvitation
        )
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown email kind `{0}`")]
pub struct UnknownEmailKind(pub String);

impl FromStr for EmailKind {
    type Err = UnknownEmailKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEmailKind(s.to_owned()))
    }
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! template_files {
    ($($kind:literal),* $(,)?) => {
        &[
            ("layout.html", include_str!("../../templates/email/layout.html")),
            $(
                (concat!($kind, ".en.subject"), include_str!(concat!("../../templates/email/", $kind, ".en.subject"))),
                (concat!($kind, ".en.txt"), include_str!(concat!("../../templates/email/", $kind, ".en.txt"))),
                (concat!($kind, ".en.html"), include_str!(concat!("../../templates/email/", $kind, ".en.html"))),
                (concat!($kind, ".zh-CN.subject"), include_str!(concat!("../../templates/email/", $kind, ".zh-CN.subject"))),
                (concat!($kind, ".zh-CN.txt"), include_str!(concat!("../../templates/email/", $kind, ".zh-CN.txt"))),
                (concat!($kind, ".zh-CN.html"), include_str!(concat!("../../templates/email/", $kind, ".zh-CN.html"))),
            )*
        ]
    };
}

const TEMPLATE_FILES: &[(&str, &str)] = template_files![
    "test",
    "verify_email",
    "password_reset",
    "organization_invitation",
    "application_submitted",
    "application_received",
    "draft_reminder",
    "review_assigned",
    "review_reminder",
    "review_overdue",
    "conflict_declared",
    "decision_letter",
    "tranche_sent",
    "receipt_confirmed",
    "filing_needed",
    "tranche_overdue",
    "bank_details_changed",
    "partnership_requested",
    "call_closed_early",
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name} failed to render: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// Renders messages. Built once at start; cheap to share.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new() -> Result<Self, RenderError> {
        let mut env = Environment::new();
        // A missing value is a bug in the caller, not an empty string in someone's inbox.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Escaping follows the template name: `.html` escapes, text and subjects do not.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        for (name, source) in TEMPLATE_FILES {
            env.add_template(name, source)
                .map_err(|source| RenderError::Template {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Renderer { env })
    }

    /// Renders a message in the recipient's language, or in both (English first) when the
    /// recipient has none.
    pub fn render(
        &self,
        kind: EmailKind,
        locale: Option<Locale>,
        context: &impl Serialize,
    ) -> Result<RenderedEmail, RenderError> {
        let locales: &[Locale] = match locale {
            Some(Locale::En) => &[Locale::En],
            Some(Locale::ZhCn) => &[Locale::ZhCn],
            None => &[Locale::En, Locale::ZhCn],
        };
        let context = Value::from_serialize(context);
        let mut subjects = Vec::new();
        let mut texts = Vec::new();
        let mut sections = Vec::new();
        for locale in locales {
            let name = |part: &str| format!("{}.{}.{part}", kind.as_str(), locale.as_tag());
            subjects.push(one_line(&self.render_one(&name("subject"), &context)?));
            texts.push(self.render_one(&name("txt"), &context)?.trim().to_owned());
            sections.push(Value::from_safe_string(
                self.render_one(&name("html"), &context)?,
            ));
        }
        let subject = subjects.join(" / ");
        let html = self.render_one(
            "layout.html",
            &minijinja::context! {
                lang => locale.unwrap_or(Locale::En).as_tag(),
                subject => &subject,
                sections => sections,
            },
        )?;
        Ok(RenderedEmail {
            subject,
            text: texts.join("\n\n----------------------------------------\n\n") + "\n",
            html,
        })
    }

    fn render_one(&self, name: &str, context: &Value) -> Result<String, RenderError> {
        let error = |source| RenderError::Template {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(error)?
            .render(context)
            .map_err(error)
    }
}

/// Folds any line breaks or control characters into single spaces: a header value stays one line.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renderer() -> Renderer {
        Renderer::new().expect("templates compile")
    }

    fn verify_context(name: &str) -> serde_json::Value {
        json!({ "name": name, "link": "https://app.example.org/verify?token=abc&x=1", "expires_hours": 48 })
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        let renderer = renderer();
        let context = json!({
            "name": "Li Wei", "link": "https://x.example/a", "expires_hours": 48,
            "expires_minutes": 30, "sent_at": "2027-01-01T00:00:00Z",
            "organization": "Green Bridge", "inviter": "Li Wei", "expires_days": 14,
            "reference": "BF-2027-0001", "title": "Wells", "call": "Water", "requested": "1000.00 CNY",
            "submitted_at": "2027-03-01 08:00 UTC", "closes_at": "2027-04-01 00:00 UTC",
            "due_at": "2027-04-15 00:00 UTC", "reviewer": "Ana", "reason": "Former employee",
            "outcome": "APPROVE", "amount": "CNY 250,000.00", "conditions": "Quarterly reports",
            "rationale": "Strong partner", "grant": "BF-2027-0001", "sent_on": "2027-05-01",
            "bank_reference": "KCB-991", "confirmed_by": "Ana", "usd_amount": "USD 51,000.00",
            "threshold": "USD 50,000.00", "due_on": "2027-05-01", "changed_by": "Ana",
            "lead": "Green Bridge", "budget_share": "20000.00 CNY", "closed_at": "2027-03-20 10:00 UTC"
        });
        for kind in EmailKind::ALL {
            for locale in [Some(Locale::En), Some(Locale::ZhCn), None] {
                let email = renderer.render(kind, locale, &context).unwrap();
                assert!(!email.subject.is_empty() && !email.text.is_empty());
                assert!(email.html.contains("<html"));
            }
        }
    }

    #[test]
    fn decision_letters_say_the_outcome_and_share_only_what_was_given() {
        let renderer = renderer();
        let letter = |outcome: &str, rationale: Option<&str>| {
            renderer
                .render(
                    EmailKind::DecisionLetter,
                    Some(Locale::En),
                    &json!({
                        "name": "Ana", "reference": "BF-2027-0001", "title": "Wells",
                        "call": "Water", "organization": "Green Bridge", "outcome": outcome,
                        "amount": "CNY 250,000.00", "conditions": null, "rationale": rationale,
                    }),
                )
                .unwrap()
        };
        let approved = letter("APPROVE", Some("Strong partner"));
        assert!(approved.text.contains("CNY 250,000.00"));
        assert!(approved.text.contains("Strong partner"));
        let rejected = letter("REJECT", None);
        assert!(!rejected.text.contains("250,000"));
        assert_ne!(approved.subject, rejected.subject);
        assert_ne!(letter("WAITLIST", None).subject, rejected.subject);
        let chinese = renderer
            .render(
                EmailKind::DecisionLetter,
                Some(Locale::ZhCn),
                &json!({
                    "name": "李伟", "reference": "BF-2027-0001", "title": "水井", "call": "饮水",
                    "organization": "绿桥", "outcome": "APPROVE", "amount": "CNY 250,000.00",
                    "conditions": "", "rationale": "",
                }),
            )
            .unwrap();
        assert!(chinese.subject.contains("批准"), "{}", chinese.subject);
    }

    #[test]
    fn english_recipients_get_english() {
        let email = renderer()
            .render(
                EmailKind::VerifyEmail,
                Some(Locale::En),
                &verify_context("Ana"),
            )
            .unwrap();
        assert_eq!(email.subject, "Confirm your email address for Bridgefund");
        assert!(email.text.starts_with("Hello Ana,"));
        assert!(!email.text.contains("您好"));
        assert!(email.html.contains(r#"<html lang="en">"#));
    }

    #[test]
    fn chinese_recipients_get_chinese() {
        let email = renderer()
            .render(
                EmailKind::VerifyEmail,
                Some(Locale::ZhCn),
                &verify_context("李伟"),
            )
            .unwrap();
        assert_eq!(email.subject, "请确认您在 Bridgefund 的邮箱地址");
        assert!(email.text.starts_with("李伟，您好："));
        assert!(!email.text.contains("Hello"));
        assert!(email.html.contains(r#"<html lang="zh-CN">"#));
    }

    #[test]
    fn recipients_without_a_locale_get_both_english_first() {
        let email = renderer()
            .render(
                EmailKind::PasswordReset,
                None,
                &json!({"name": "Sam", "link": "https://x.example/r", "expires_minutes": 30}),
            )
            .unwrap();
        assert_eq!(
            email.subject,
            "Reset your Bridgefund password / 重置您的 Bridgefund 密码"
        );
        let english = email.text.find("Hello Sam").unwrap();
        let chinese = email.text.find("Sam，您好").unwrap();
        assert!(english < chinese);
        assert!(
            email.html.find("Choose a new password").unwrap()
                < email.html.find("设置新密码").unwrap()
        );
    }

    #[test]
    fn values_are_escaped_in_html_but_not_in_text() {
        let email = renderer()
            .render(
                EmailKind::VerifyEmail,
                Some(Locale::En),
                &verify_context("<script>alert(1)</script>"),
            )
            .unwrap();
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&lt;script&gt;"));
        assert!(email.html.contains("token=abc&amp;x=1"));
        assert!(email.text.contains("Hello <script>alert(1)</script>,"));
    }

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(
            one_line("Hi\r\nBcc: victim@example.org"),
            "Hi Bcc: victim@example.org"
        );
        assert_eq!(one_line("  a \t b\u{0}c "), "a b c");
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_blank() {
        let result = renderer().render(
            EmailKind::VerifyEmail,
            Some(Locale::En),
            &json!({"name": "x"}),
        );
        assert!(result.is_err());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EmailKind::ALL {
            assert_eq!(kind.as_str().parse::<EmailKind>().unwrap(), kind);
        }
        assert!("nope".parse::<EmailKind>().is_err());
        assert!(EmailKind::PasswordReset.carries_secret());
        assert!(!EmailKind::Test.carries_secret());
    }
}
