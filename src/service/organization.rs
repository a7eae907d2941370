//! Organisations: profiles with their derived applicant category, membership (owners invite by
//! email, invitees accept), and host-country registrations. Members and admins see an
//! organisation; to anyone else it does not exist.

use chrono::{Duration, NaiveDate};
use entity::{
    host_country_registration as registration, organization, organization_invitation as invitation,
    organization_member as member, user_account,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::auth::token::{self, OpaqueKind};
use crate::context::AppContext;
use crate::domain::country::CountryCode;
use crate::domain::email::EmailAddress;
use crate::domain::identity::GlobalRole;
use crate::domain::money::Money;
use crate::domain::organization::{
    ApplicantCategory, IatiOrganisationType, RegistryIdentifier, applicant_category,
};
use crate::error::{AppError, AppResult, unique_violation};
use crate::notify::{EmailKind, Recipient, enqueue};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::service::audit::{self, AuditActor, AuditTarget};
use crate::service::identity::global_roles;

pub const INVITATION_LIFETIME: Duration = Duration::days(14);

pub const OWNER: &str = "OWNER";
pub const MEMBER: &str = "MEMBER";

/// An organisation's profile, parsed at the edge.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name_en: String,
    pub name_zh: Option<String>,
    pub org_type: IatiOrganisationType,
    pub country: CountryCode,
    pub registry: RegistryIdentifier,
    pub registered_on: Option<NaiveDate>,
    pub website: Option<String>,
    pub annual_budget: Option<Money>,
}

/// A host-country registration, parsed at the edge.
#[derive(Debug, Clone)]
pub struct Registration {
    pub country: CountryCode,
    pub agency: String,
    pub number: String,
    pub valid_until: Option<NaiveDate>,
}

/// The derived applicant category of a stored organisation.
pub fn category_of(org: &organization::Model) -> ApplicantCategory {
    let org_type = IatiOrganisationType::from_code(org.org_type as u16).ok();
    let country = CountryCode::parse(&org.country).ok();
    let registry = RegistryIdentifier::parse(&org.registry_identifier).ok();
    match (org_type, country) {
        (Some(org_type), Some(country)) => applicant_category(org_type, country, registry.as_ref()),
        _ => ApplicantCategory::Other,
    }
}

fn snapshot(org: &organization::Model) -> serde_json::Value {
    json!({
        "nameEn": org.name_en,
        "nameZh": org.name_zh,
        "type": org.org_type,
        "country": org.country,
        "registryIdentifier": org.registry_identifier,
        "registeredOn": org.registered_on,
        "website": org.website,
        "annualBudgetMinor": org.annual_budget_minor,
        "annualBudgetCurrency": org.annual_budget_currency,
        "category": category_of(org).as_str(),
    })
}

fn conflict_on_registry(error: sea_orm::DbErr) -> AppError {
    match unique_violation(&error) {
        Some(_) => AppError::BadUserInput {
            field: "input.registryIdentifier".into(),
            message: "an organisation with this registry identifier exists already".into(),
        },
        None => error.into(),
    }
}

/// The viewer's role in an organisation, if a member.
pub async fn membership(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<String>> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org_id))
        .filter(member::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|m| m.role))
}

/// The organisation, if the viewer may see it (a member, or an admin); `NOT_FOUND` otherwise.
pub async fn get(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<organization::Model> {
    let user = viewer.user_id()?;
    let org = organization::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if membership(&ctx.db, id, user).await?.is_some()
        || global_roles(&ctx.db, user)
            .await?
            .contains(&GlobalRole::Admin)
    {
        Ok(org)
    } else {
        Err(AppError::NotFound("organization"))
    }
}

/// The organisation, for an owner to change; members who are not owners get `FORBIDDEN`, others
/// `NOT_FOUND`.
async fn owned(db: &impl ConnectionTrait, user: Uuid, id: Uuid) -> AppResult<organization::Model> {
    let org = organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    match membership(db, id, user).await?.as_deref() {
        Some(OWNER) => Ok(org),
        Some(_) => Err(AppError::Forbidden(
            "only owners of the organisation may do this".into(),
        )),
        // Admins see every organisation, so for them it exists; they still do not own it.
        None if global_roles(db, user).await?.contains(&GlobalRole::Admin) => Err(
            AppError::Forbidden("only owners of the organisation may do this".into()),
        ),
        None => Err(AppError::NotFound("organization")),
    }
}

#[tracing::instrument(skip_all, fields(viewer = ?viewer.optional_user_id()))]
pub async fn create(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    profile: Profile,
) -> AppResult<organization::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name_en: Set(profile.name_en),
        name_zh: Set(profile.name_zh),
        org_type: Set(profile.org_type.code() as i16),
        country: Set(profile.country.as_str().to_owned()),
        registry_identifier: Set(profile.registry.as_str().to_owned()),
        registered_on: Set(profile.registered_on),
        website: Set(profile.website),
        annual_budget_minor: Set(profile.annual_budget.map(|m| m.minor())),
        annual_budget_currency: Set(profile
            .annual_budget
            .map(|m| m.currency().code().to_owned())),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(conflict_on_registry)?;
    member::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        user_id: Set(user),
        role: Set(OWNER.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "organization.create",
        AuditTarget {
            kind: "organization",
            id: Some(org.id),
        },
        None,
        Some(snapshot(&org)),
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn update(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
    profile: Profile,
) -> AppResult<organization::Model> {
    let user = viewer.user_id()?;
    let txn = ctx.begin_write().await?;
    let org = owned(&txn, user, id).await?;
    let before = snapshot(&org);
    let mut active = org.into_active_model();
    active.name_en = Set(profile.name_en);
    active.name_zh = Set(profile.name_zh);
    active.org_type = Set(profile.org_type.code() as i16);
    active.country = Set(profile.country.as_str().to_owned());
    active.registry_identifier = Set(profile.registry.as_str().to_owned());
    active.registered_on = Set(profile.registered_on);
    active.website = Set(profile.website);
    active.annual_budget_minor = Set(profile.annual_budget.map(|m| m.minor()));
    active.annual_budget_currency = Set(profile
        .annual_budget
        .map(|m| m.currency().code().to_owned()));
    active.updated_at = Set(ctx.clock.now());
    let org = active.update(&txn).await.map_err(conflict_on_registry)?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "organization.update",
        AuditTarget {
            kind: "organization",
            id: Some(org.id),
        },
        Some(before),
        Some(snapshot(&org)),
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

/// The organisations the viewer belongs to.
pub async fn mine(ctx: &AppContext, viewer: &Viewer) -> AppResult<Vec<organization::Model>> {
    let user = viewer.user_id()?;
    let ids: Vec<Uuid> = member::Entity::find()
        .filter(member::Column::UserId.eq(user))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|m| m.organization_id)
        .collect();
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .order_by_asc(organization::Column::NameEn)
        .all(&ctx.db)
        .await?)
}

/// Every organisation, by id (admins only).
pub async fn list(
    ctx: &AppContext,
    viewer: &Viewer,
    page: &PageRequest,
) -> AppResult<Page<organization::Model>> {
    crate::service::identity::require_admin(ctx, viewer).await?;
    let total = if page.count_total {
        organization::Entity::find().count(&ctx.db).await?
    } else {
        0
    };
    let mut query = organization::Entity::find();
    if let Some(after) = &page.after {
        query = query.filter(organization::Column::Id.gt(after.id));
    }
    let rows = query
        .order_by_asc(organization::Column::Id)
        .limit(page.limit + 1)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|o| {
            (
                Cursor {
                    key: String::new(),
                    id: o.id,
                },
                o,
            )
        })
        .collect();
    Ok(Page::from_rows(rows, page, total))
}

/// Invites someone to join by email. Only owners may.
#[tracing::instrument(skip_all, fields(org_id = %org_id, viewer = ?viewer.optional_user_id()))]
pub async fn invite(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    org_id: Uuid,
    email: &EmailAddress,
) -> AppResult<invitation::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let org = owned(&txn, user, org_id).await?;
    let inviter = user_account::Entity::find_by_id(user)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let invitee = user_account::Entity::find()
        .filter(user_account::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if let Some(invitee) = &invitee
        && membership(&txn, org_id, invitee.id).await?.is_some()
    {
        return Err(AppError::Conflict("this person is a member already".into()));
    }
    let (token, token_hash) = token::new_opaque(OpaqueKind::Invitation);
    let row = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org_id),
        email: Set(email.as_str().to_owned()),
        token_hash: Set(token_hash),
        invited_by: Set(user),
        expires_at: Set(now + INVITATION_LIFETIME),
        accepted_at: Set(None),
        accepted_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let link = format!(
        "{}/join?token={token}",
        ctx.config.mail.public_url.trim_end_matches('/')
    );
    let locale = invitee.as_ref().and_then(|u| u.locale.parse().ok());
    let organization_name = match (&org.name_zh, locale) {
        (Some(zh), Some(crate::domain::locale::Locale::ZhCn)) => zh.clone(),
        _ => org.name_en.clone(),
    };
    enqueue(
        &txn,
        &ctx.notifier,
        &ctx.clock,
        EmailKind::OrganizationInvitation,
        Recipient {
            address: email,
            name: invitee.as_ref().map(|u| u.name.as_str()),
            locale,
        },
        &format!("organization_invitation:{}", row.id),
        &json!({
            "organization": organization_name,
            "inviter": inviter.name,
            "link": link,
            "expires_days": INVITATION_LIFETIME.num_days(),
        }),
    )
    .await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "organization.invite",
        AuditTarget {
            kind: "organization",
            id: Some(org_id),
        },
        None,
        Some(json!({ "email": email.as_str() })),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Accepts an invitation: the signed-in viewer's email must be the invited one.
#[tracing::instrument(skip_all, fields(viewer = ?viewer.optional_user_id()))]
pub async fn accept_invitation(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    token: &str,
) -> AppResult<organization::Model> {
    let user_id = viewer.user_id()?;
    let invalid = || AppError::bad_input("token", "this invitation is invalid, used or expired");
    let hash = token::opaque_hash(OpaqueKind::Invitation, token).ok_or_else(invalid)?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    if row.accepted_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let user = user_account::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.email != row.email {
        return Err(AppError::Forbidden(
            "this invitation was sent to another email address".into(),
        ));
    }
    let accepted = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(user_id))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(row.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    if accepted.rows_affected != 1 {
        return Err(invalid());
    }
    if membership(&txn, row.organization_id, user_id)
        .await?
        .is_none()
    {
        member::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(row.organization_id),
            user_id: Set(user_id),
            role: Set(MEMBER.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let org = organization::Entity::find_by_id(row.organization_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "organization.join",
        AuditTarget {
            kind: "organization",
            id: Some(org.id),
        },
        None,
        Some(json!({ "userId": user_id, "role": MEMBER })),
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

#[tracing::instrument(skip_all, fields(org_id = %org_id, viewer = ?viewer.optional_user_id()))]
pub async fn add_registration(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    org_id: Uuid,
    input: Registration,
) -> AppResult<registration::Model> {
    let user = viewer.user_id()?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    owned(&txn, user, org_id).await?;
    let row = registration::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org_id),
        country: Set(input.country.as_str().to_owned()),
        agency: Set(input.agency),
        number: Set(input.number),
        valid_until: Set(input.valid_until),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => AppError::Conflict("this registration is recorded already".into()),
        None => e.into(),
    })?;
    audit::record(&txn, &ctx.clock, actor, "organization.add_registration", AuditTarget { kind: "organization", id: Some(org_id) }, None, Some(json!({ "country": row.country, "agency": row.agency, "number": row.number, "validUntil": row.valid_until }))).await?;
    txn.commit().await?;
    Ok(row)
}

#[tracing::instrument(skip_all, fields(id = %id, viewer = ?viewer.optional_user_id()))]
pub async fn remove_registration(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    id: Uuid,
) -> AppResult<()> {
    let user = viewer.user_id()?;
    let txn = ctx.begin_write().await?;
    let row = registration::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("host country registration"))?;
    owned(&txn, user, row.organization_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("host country registration"),
            other => other,
        })?;
    registration::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "organization.remove_registration",
        AuditTarget {
            kind: "organization",
            id: Some(row.organization_id),
        },
        Some(json!({ "country": row.country, "agency": row.agency, "number": row.number })),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
