//! Organisations over GraphQL: profiles with their derived applicant category, members,
//! invitations and host-country registrations.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{host_country_registration, organization, organization_member};

use crate::domain::country::CountryCode;
use crate::domain::money::{Currency, Money};
use crate::domain::organization::{
    ApplicantCategory as DomainCategory, IatiOrganisationType, parse_registry_identifier,
};
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, request};
use crate::graphql::identity::User;
use crate::graphql::loaders::Loaders;
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::types::{LocalizedText, MoneyInput, MoneyOutput};
use crate::service::organization::{self as service, Profile, Registration};

/// Who an organisation is to the fund, derived from its type, country and registry identifier;
/// never declared by the applicant. Only the three NGO categories can receive money.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApplicantCategory {
    ChineseNgo,
    InternationalNgo,
    HostCountryNgo,
    Company,
    Other,
}

impl From<DomainCategory> for ApplicantCategory {
    fn from(category: DomainCategory) -> Self {
        match category {
            DomainCategory::ChineseNgo => ApplicantCategory::ChineseNgo,
            DomainCategory::InternationalNgo => ApplicantCategory::InternationalNgo,
            DomainCategory::HostCountryNgo => ApplicantCategory::HostCountryNgo,
            DomainCategory::Company => ApplicantCategory::Company,
            DomainCategory::Other => ApplicantCategory::Other,
        }
    }
}

impl From<ApplicantCategory> for DomainCategory {
    fn from(category: ApplicantCategory) -> Self {
        match category {
            ApplicantCategory::ChineseNgo => DomainCategory::ChineseNgo,
            ApplicantCategory::InternationalNgo => DomainCategory::InternationalNgo,
            ApplicantCategory::HostCountryNgo => DomainCategory::HostCountryNgo,
            ApplicantCategory::Company => DomainCategory::Company,
            ApplicantCategory::Other => DomainCategory::Other,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrganizationRole {
    Owner,
    Member,
}

/// Shared with the request's loaders, so resolving a page of applications with their
/// organisations copies no rows.
pub struct Organization(pub std::sync::Arc<organization::Model>);

impl From<organization::Model> for Organization {
    fn from(model: organization::Model) -> Self {
        Organization(std::sync::Arc::new(model))
    }
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> LocalizedText {
        LocalizedText {
            en: Some(self.0.name_en.clone()),
            zh: self.0.name_zh.clone(),
        }
    }

    /// IATI OrganisationType code (21 International NGO, 22 National NGO, 70 Private Sector, …).
    async fn organization_type(&self) -> i32 {
        i32::from(self.0.org_type)
    }

    async fn organization_type_name(&self) -> Option<&'static str> {
        IatiOrganisationType::from_code(self.0.org_type as u16)
            .ok()
            .map(|t| t.english_name())
    }

    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        &self.0.country
    }

    /// org-id.guide identifier, such as `CN-USCI-51530000836900607T`.
    async fn registry_identifier(&self) -> &str {
        &self.0.registry_identifier
    }

    async fn registered_on(&self) -> Option<NaiveDate> {
        self.0.registered_on
    }

    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }

    async fn annual_budget(&self) -> AppResult<Option<MoneyOutput>> {
        match (self.0.annual_budget_minor, &self.0.annual_budget_currency) {
            (Some(minor), Some(code)) => {
                let currency = Currency::parse(code).map_err(AppError::internal)?;
                let money = Money::new(minor, currency).map_err(AppError::internal)?;
                Ok(Some(money.into()))
            }
            _ => Ok(None),
        }
    }

    async fn applicant_category(&self) -> ApplicantCategory {
        service::category_of(&self.0).into()
    }

    /// Whether this organisation may receive money, as applicant or partner.
    async fn can_receive_money(&self) -> bool {
        service::category_of(&self.0).can_receive_money()
    }

    /// The members; shown to members of this organisation and to admins (an organisation met
    /// as a partner on an application shows none).
    async fn members(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<OrganizationMember>>> {
        let loaders = ctx.data_unchecked::<std::sync::Arc<Loaders>>();
        let members = loaders
            .members
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let request = request(ctx);
        let Some(viewer) = request.viewer.optional_user_id() else {
            return Ok(None);
        };
        let visible = members.iter().any(|m| m.user_id == viewer)
            || crate::service::identity::global_roles(&request.app.db, viewer)
                .await?
                .contains(&crate::domain::identity::GlobalRole::Admin);
        Ok(visible.then(|| members.into_iter().map(OrganizationMember).collect()))
    }

    async fn host_country_registrations(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<HostCountryRegistration>> {
        let loaders = ctx.data_unchecked::<std::sync::Arc<Loaders>>();
        Ok(loaders
            .registrations
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(HostCountryRegistration)
            .collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct OrganizationMember(pub organization_member::Model);

#[Object]
impl OrganizationMember {
    async fn role(&self) -> OrganizationRole {
        if self.0.role == service::OWNER {
            OrganizationRole::Owner
        } else {
            OrganizationRole::Member
        }
    }

    async fn user(&self, ctx: &Context<'_>) -> AppResult<User> {
        let loaders = ctx.data_unchecked::<std::sync::Arc<Loaders>>();
        loaders
            .users
            .load_one(self.0.user_id)
            .await?
            .map(User)
            .ok_or(AppError::NotFound("user"))
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct HostCountryRegistration(pub host_country_registration::Model);

#[Object]
impl HostCountryRegistration {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn country(&self) -> &str {
        &self.0.country
    }
    async fn agency(&self) -> &str {
        &self.0.agency
    }
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn valid_until(&self) -> Option<NaiveDate> {
        self.0.valid_until
    }
}

/// An invitation sent by email.
pub struct OrganizationInvitation(pub entity::organization_invitation::Model);

#[Object]
impl OrganizationInvitation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
}

#[derive(InputObject)]
pub struct OrganizationInput {
    /// Name in English (required) and Chinese (optional).
    pub name_en: String,
    pub name_zh: Option<String>,
    /// IATI OrganisationType code.
    pub organization_type: i32,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// org-id.guide identifier; Chinese organisations give `CN-USCI-` and their Unified Social
    /// Credit Identifier.
    pub registry_identifier: String,
    pub registered_on: Option<NaiveDate>,
    pub website: Option<String>,
    pub annual_budget: Option<MoneyInput>,
}

fn clean_name(text: &str, field: &str) -> AppResult<String> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(AppError::bad_input(field, "the name cannot be empty")),
        n if n > 300 => Err(AppError::bad_input(field, "at most 300 characters")),
        _ => Ok(name),
    }
}

impl OrganizationInput {
    fn parse(self, today: NaiveDate) -> AppResult<Profile> {
        let org_type = u16::try_from(self.organization_type)
            .ok()
            .and_then(|code| IatiOrganisationType::from_code(code).ok())
            .ok_or_else(|| {
                AppError::bad_input(
                    "input.organizationType",
                    "not an IATI OrganisationType code",
                )
            })?;
        let country = CountryCode::parse(&self.country)
            .map_err(|e| AppError::bad_input("input.country", e))?;
        let registry = parse_registry_identifier(country, Some(&self.registry_identifier))
            .map_err(|e| AppError::bad_input("input.registryIdentifier", e))?
            .ok_or_else(|| {
                AppError::bad_input(
                    "input.registryIdentifier",
                    "the registry identifier is required",
                )
            })?;
        if self.registered_on.is_some_and(|date| date > today) {
            return Err(AppError::bad_input(
                "input.registeredOn",
                "the registration date cannot be in the future",
            ));
        }
        let website = match self
            .website
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            None => None,
            Some(site) => {
                let url = url::Url::parse(site)
                    .map_err(|_| AppError::bad_input("input.website", "not a web address"))?;
                if !matches!(url.scheme(), "http" | "https") || site.len() > 300 {
                    return Err(AppError::bad_input(
                        "input.website",
                        "give an http or https address of at most 300 characters",
                    ));
                }
                Some(url.to_string())
            }
        };
        Ok(Profile {
            name_en: clean_name(&self.name_en, "input.nameEn")?,
            name_zh: self
                .name_zh
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| clean_name(n, "input.nameZh"))
                .transpose()?,
            org_type,
            country,
            registry,
            registered_on: self.registered_on,
            website,
            annual_budget: self
                .annual_budget
                .map(|b| b.parse("input.annualBudget"))
                .transpose()?,
        })
    }
}

#[derive(InputObject)]
pub struct HostCountryRegistrationInput {
    pub country: String,
    pub agency: String,
    pub number: String,
    pub valid_until: Option<NaiveDate>,
}

fn one_line(text: &str, field: &str, max: usize) -> AppResult<String> {
    let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("give 1 to {max} characters"),
        ));
    }
    Ok(value)
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// An organisation the viewer belongs to (admins see all).
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> AppResult<Organization> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::get(request.app, &request.viewer, id)
            .await
            .map(Organization::from)
    }

    /// The organisations the viewer belongs to.
    async fn my_organizations(&self, ctx: &Context<'_>) -> AppResult<Vec<Organization>> {
        let request = request(ctx);
        Ok(service::mine(request.app, &request.viewer)
            .await?
            .into_iter()
            .map(Organization::from)
            .collect())
    }

    /// Every organisation (admins only).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Organization>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let request = request(ctx);
        let rows = service::list(request.app, &request.viewer, &page).await?;
        Ok(connection(rows.map(Organization::from), &page))
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates an organisation; the viewer becomes its owner.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationInput,
    ) -> AppResult<Organization> {
        let request = request(ctx);
        let profile = input.parse(request.app.clock.now().date_naive())?;
        service::create(request.app, &request.viewer, &request.actor(), profile)
            .await
            .map(Organization::from)
    }

    /// Changes an organisation's profile (owners only).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: OrganizationInput,
    ) -> AppResult<Organization> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        let profile = input.parse(request.app.clock.now().date_naive())?;
        service::update(request.app, &request.viewer, &request.actor(), id, profile)
            .await
            .map(Organization::from)
    }

    /// Invites someone by email to join (owners only).
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        email: String,
    ) -> AppResult<OrganizationInvitation> {
        let id = parse_id(&organization_id, "organizationId")?;
        let email = email.parse().map_err(|e| AppError::bad_input("email", e))?;
        let request = request(ctx);
        service::invite(request.app, &request.viewer, &request.actor(), id, &email)
            .await
            .map(OrganizationInvitation)
    }

    /// Joins an organisation with the token of an invitation sent to the viewer's address.
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> AppResult<Organization> {
        let request = request(ctx);
        service::accept_invitation(request.app, &request.viewer, &request.actor(), &token)
            .await
            .map(Organization::from)
    }

    /// Records a registration with a host-country authority (owners only).
    async fn add_host_country_registration(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        input: HostCountryRegistrationInput,
    ) -> AppResult<HostCountryRegistration> {
        let id = parse_id(&organization_id, "organizationId")?;
        let registration = Registration {
            country: CountryCode::parse(&input.country)
                .map_err(|e| AppError::bad_input("input.country", e))?,
            agency: one_line(&input.agency, "input.agency", 200)?,
            number: one_line(&input.number, "input.number", 100)?,
            valid_until: input.valid_until,
        };
        let request = request(ctx);
        service::add_registration(
            request.app,
            &request.viewer,
            &request.actor(),
            id,
            registration,
        )
        .await
        .map(HostCountryRegistration)
    }

    /// Removes a host-country registration (owners only).
    async fn remove_host_country_registration(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::remove_registration(request.app, &request.viewer, &request.actor(), id).await?;
        Ok(true)
    }
}
