//! Accounts and sign-in: registration with email verification, login with throttling, rotating
//! refresh tokens, password reset, the viewer's own profile, and global roles.

use chrono::{DateTime, Duration, Utc};
use entity::{email_token, login_throttle, refresh_token, user_account, user_role};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::token::{self, OpaqueKind};
use crate::auth::{Viewer, password};
use crate::context::AppContext;
use crate::domain::email::EmailAddress;
use crate::domain::identity::{GlobalRole, Password, ThrottlePolicy, ThrottleState};
use crate::domain::locale::Locale;
use crate::error::{AppError, AppResult, unique_violation};
use crate::notify::{EmailKind, Recipient, enqueue};
use crate::service::audit::{self, AuditActor, AuditTarget};

pub const VERIFY_EMAIL_LIFETIME: Duration = Duration::hours(48);
pub const PASSWORD_RESET_LIFETIME: Duration = Duration::minutes(30);
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(30);

const PURPOSE_VERIFY: &str = "verify_email";
const PURPOSE_RESET: &str = "password_reset";

/// A new account, parsed at the edge.
#[derive(Debug)]
pub struct Registration {
    pub email: EmailAddress,
    pub name: String,
    pub locale: Locale,
    pub password: Password,
}

/// Tokens handed out at sign-in and refresh.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub user: user_account::Model,
}

/// Changes to the viewer's own profile.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub locale: Option<Locale>,
    /// The new password, with the current one as proof.
    pub password: Option<(String, Password)>,
}

fn snapshot(user: &user_account::Model) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "locale": user.locale,
        "emailVerified": user.email_verified_at.is_some(),
    })
}

fn locale_of(user: &user_account::Model) -> Option<Locale> {
    user.locale.parse().ok()
}

fn stored_email(user: &user_account::Model) -> AppResult<EmailAddress> {
    user.email
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("stored email is invalid: {e}")))
}

/// Creates an account and sends the verification email, in one transaction.
///
/// An address that has an account already gets the same answer, so registering cannot tell
/// anyone which addresses have accounts: the answer is a placeholder shaped like a new account
/// (a fresh id, unverified, nothing of the existing one), and the owner is mailed a password
/// reset link instead, which says an account exists and lets them back in if it was them. Both
/// branches hash the password, so they also take comparable time. The emails count against
/// [`ThrottlePolicy::MAIL_PER_ACCOUNT`] and [`ThrottlePolicy::MAIL_PER_ADDRESS`].
#[tracing::instrument(skip_all)]
pub async fn register(
    ctx: &AppContext,
    actor: &AuditActor,
    client: Option<std::net::IpAddr>,
    registration: Registration,
) -> AppResult<user_account::Model> {
    if !admit_attempt(ctx, &mail_keys(&registration.email, client)).await? {
        return Err(mail_limit());
    }
    let password_hash = password::hash(&registration.password).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let existing = user_account::Entity::find()
        .filter(user_account::Column::Email.eq(registration.email.as_str()))
        .one(&txn)
        .await?;
    if let Some(owner) = existing {
        send_email_token(ctx, &txn, &owner, EmailKind::PasswordReset).await?;
        audit::record(
            &txn,
            &ctx.clock,
            &AuditActor {
                user_id: Some(owner.id),
                ..actor.clone()
            },
            "user.register_taken",
            AuditTarget {
                kind: "user",
                id: Some(owner.id),
            },
            None,
            None,
        )
        .await?;
        txn.commit().await?;
        return Ok(placeholder(registration, password_hash, now));
    }
    let user = user_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(registration.email.as_str().to_owned()),
        name: Set(registration.name),
        locale: Set(registration.locale.as_tag().to_owned()),
        password_hash: Set(password_hash),
        email_verified_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match unique_violation(&e) {
        // Registered a moment ago by a concurrent request: still no word on existence.
        Some(_) => AppError::Conflict("this registration could not be completed; try again".into()),
        None => e.into(),
    })?;
    send_email_token(ctx, &txn, &user, EmailKind::VerifyEmail).await?;
    let actor = AuditActor {
        user_id: Some(user.id),
        ..actor.clone()
    };
    audit::record(
        &txn,
        &ctx.clock,
        &actor,
        "user.register",
        AuditTarget {
            kind: "user",
            id: Some(user.id),
        },
        None,
        Some(snapshot(&user)),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// What `register` answers for an address that has an account: shaped like a new account and
/// holding only what the caller sent. It is never stored.
fn placeholder(
    registration: Registration,
    password_hash: String,
    now: DateTime<Utc>,
) -> user_account::Model {
    user_account::Model {
        id: Uuid::now_v7(),
        email: registration.email.as_str().to_owned(),
        name: registration.name,
        locale: registration.locale.as_tag().to_owned(),
        password_hash,
        email_verified_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// The counters an identity email (verification, reset) is charged to: the address it goes to,
/// and the client that asked. They are charged whether or not the address has an account, so a
/// refusal says nothing about existence either.
fn mail_keys(
    email: &EmailAddress,
    client: Option<std::net::IpAddr>,
) -> Vec<(String, ThrottlePolicy)> {
    let mut keys = vec![(
        format!("mail:account:{}", email.as_str()),
        ThrottlePolicy::MAIL_PER_ACCOUNT,
    )];
    if let Some(ip) = client {
        keys.push((
            format!("mail:address:{ip}"),
            ThrottlePolicy::MAIL_PER_ADDRESS,
        ));
    }
    keys
}

fn mail_limit() -> AppError {
    AppError::LimitExceeded("too many emails asked for; try again later".into())
}

/// Issues a single-use token and enqueues the email that carries it.
async fn send_email_token(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    user: &user_account::Model,
    kind: EmailKind,
) -> AppResult<()> {
    let now = ctx.clock.now();
    let (opaque, purpose, lifetime, path) = match kind {
        EmailKind::VerifyEmail => (
            OpaqueKind::VerifyEmail,
            PURPOSE_VERIFY,
            VERIFY_EMAIL_LIFETIME,
            "verify-email",
        ),
        EmailKind::PasswordReset => (
            OpaqueKind::PasswordReset,
            PURPOSE_RESET,
            PASSWORD_RESET_LIFETIME,
            "reset-password",
        ),
        EmailKind::Test
        | EmailKind::OrganizationInvitation
        | EmailKind::ApplicationSubmitted
        | EmailKind::ApplicationReceived
        | EmailKind::DraftReminder
        | EmailKind::ReviewAssigned
        | EmailKind::ReviewReminder
        | EmailKind::ReviewOverdue
        | EmailKind::ConflictDeclared
        | EmailKind::DecisionLetter
        | EmailKind::TrancheSent
        | EmailKind::ReceiptConfirmed
        | EmailKind::FilingNeeded
        | EmailKind::TrancheOverdue
        | EmailKind::BankDetailsChanged
        | EmailKind::PartnershipRequested
        | EmailKind::CallClosedEarly => {
            return Err(AppError::internal(anyhow::anyhow!(
                "test messages carry no token"
            )));
        }
    };
    let (token, token_hash) = token::new_opaque(opaque);
    let token_id = Uuid::now_v7();
    email_token::ActiveModel {
        id: Set(token_id),
        user_id: Set(user.id),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(token_hash),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let link = format!(
        "{}/{path}?token={token}",
        ctx.config.mail.public_url.trim_end_matches('/')
    );
    let address = stored_email(user)?;
    enqueue(
        db,
        &ctx.notifier,
        &ctx.clock,
        kind,
        Recipient {
            address: &address,
            name: Some(&user.name),
            locale: locale_of(user),
        },
        &format!("{}:{}", kind.as_str(), token_id),
        &json!({
            "name": user.name,
            "link": link,
            "expires_hours": VERIFY_EMAIL_LIFETIME.num_hours(),
            "expires_minutes": PASSWORD_RESET_LIFETIME.num_minutes(),
        }),
    )
    .await?;
    Ok(())
}

/// Consumes a single-use email token: it must exist, be of the purpose, unused and unexpired.
/// The conditional update makes a token usable once even when presented twice at the same time.
async fn consume_email_token(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    kind: OpaqueKind,
    purpose: &str,
    token: &str,
) -> AppResult<email_token::Model> {
    let invalid = || AppError::bad_input("token", "this link is invalid, used or expired");
    let hash = token::opaque_hash(kind, token).ok_or_else(invalid)?;
    let now = ctx.clock.now();
    let row = email_token::Entity::find()
        .filter(email_token::Column::TokenHash.eq(hash))
        .filter(email_token::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if row.used_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let used = email_token::Entity::update_many()
        .col_expr(email_token::Column::UsedAt, Expr::value(now))
        .col_expr(email_token::Column::UpdatedAt, Expr::value(now))
        .filter(email_token::Column::Id.eq(row.id))
        .filter(email_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(invalid());
    }
    Ok(row)
}

#[tracing::instrument(skip_all)]
pub async fn verify_email(ctx: &AppContext, actor: &AuditActor, token: &str) -> AppResult<()> {
    let txn = ctx.begin_write().await?;
    let row =
        consume_email_token(ctx, &txn, OpaqueKind::VerifyEmail, PURPOSE_VERIFY, token).await?;
    let user = find_user(&txn, row.user_id).await?;
    let before = snapshot(&user);
    let now = ctx.clock.now();
    let mut active = user.into_active_model();
    active.email_verified_at = Set(Some(now));
    active.updated_at = Set(now);
    let user = active.update(&txn).await?;
    let actor = AuditActor {
        user_id: Some(user.id),
        ..actor.clone()
    };
    audit::record(
        &txn,
        &ctx.clock,
        &actor,
        "user.verify_email",
        AuditTarget {
            kind: "user",
            id: Some(user.id),
        },
        Some(before),
        Some(snapshot(&user)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn find_user(db: &impl ConnectionTrait, id: Uuid) -> AppResult<user_account::Model> {
    user_account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))
}

fn throttle_state(row: &login_throttle::Model) -> ThrottleState {
    ThrottleState {
        failures: row.failures,
        window_started_at: row.window_started_at,
        locked_until: row.locked_until,
    }
}

fn throttle_keys(email: &str, client: Option<std::net::IpAddr>) -> Vec<(String, ThrottlePolicy)> {
    let mut keys = vec![(
        // The key column holds 300 characters; no address is longer than 254, so cut there.
        format!(
            "account:{}",
            email
                .trim()
                .to_lowercase()
                .chars()
                .take(254)
                .collect::<String>()
        ),
        ThrottlePolicy::ACCOUNT,
    )];
    if let Some(ip) = client {
        keys.push((format!("address:{ip}"), ThrottlePolicy::ADDRESS));
    }
    keys
}

/// Signs in. The answer to a wrong password and to an unknown email is the same, and takes the
/// same time (one Argon2 verification either way).
///
/// Every attempt is counted per account and per client address before the password is checked,
/// in one transaction that holds the counters' rows, so concurrent attempts (a batch, many
/// connections, several instances) queue on the rows and each sees the others' counts: once a
/// key is at its limit, attempts are refused without checking a password. An attempt with the
/// right password is given back, so only guesses use up the allowance.
#[tracing::instrument(skip_all)]
pub async fn login(
    ctx: &AppContext,
    actor: &AuditActor,
    client: Option<std::net::IpAddr>,
    email: &str,
    candidate: &str,
) -> AppResult<Session> {
    let keys = throttle_keys(email, client);
    if !admit_attempt(ctx, &keys).await? {
        return Err(AppError::LimitExceeded(
            "too many failed sign-ins; try again later".into(),
        ));
    }

    let normalised = email.parse::<EmailAddress>().ok();
    let user = match &normalised {
        Some(address) => {
            user_account::Entity::find()
                .filter(user_account::Column::Email.eq(address.as_str()))
                .one(&ctx.db)
                .await?
        }
        None => None,
    };
    let matches =
        password::verify(candidate, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let refused = || AppError::BadUserInput {
        field: "password".into(),
        message: "the email address or the password is wrong".into(),
    };
    let Some(user) = user.filter(|_| matches) else {
        return Err(refused());
    };

    let txn = ctx.begin_write().await?;
    give_back_attempt(ctx, &txn, &keys).await?;
    if user.email_verified_at.is_none() {
        txn.commit().await?;
        return Err(AppError::Forbidden(
            "confirm your email address first: follow the link we sent".into(),
        ));
    }
    let session = open_session(ctx, &txn, user, Uuid::now_v7()).await?;
    let actor = AuditActor {
        user_id: Some(session.user.id),
        ..actor.clone()
    };
    audit::record(
        &txn,
        &ctx.clock,
        &actor,
        "user.login",
        AuditTarget {
            kind: "user",
            id: Some(session.user.id),
        },
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

/// Counts one sign-in attempt against every key, or none if any key is locked: `false` means
/// refuse without checking the password. The rows are created if missing and then locked
/// (`FOR UPDATE` on PostgreSQL; SQLite's write transaction is exclusive), and each update is
/// conditional on the count read, so no two attempts can both take the last one allowed.
async fn admit_attempt(ctx: &AppContext, keys: &[(String, ThrottlePolicy)]) -> AppResult<bool> {
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    for (key, policy) in keys {
        login_throttle::Entity::insert(login_throttle::ActiveModel {
            key: Set(key.clone()),
            failures: Set(0),
            window_started_at: Set(now),
            locked_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let Some(row) = login_throttle::Entity::find_by_id(key.clone())
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Ok(false);
        };
        let current = (row.failures > 0).then(|| throttle_state(&row));
        if policy.is_locked(current.as_ref(), now) {
            txn.rollback().await?;
            return Ok(false);
        }
        let next = policy.after_failure(current.as_ref(), now);
        let counted = login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::value(next.failures))
            .col_expr(
                login_throttle::Column::WindowStartedAt,
                Expr::value(next.window_started_at),
            )
            .col_expr(
                login_throttle::Column::LockedUntil,
                Expr::value(next.locked_until),
            )
            .col_expr(login_throttle::Column::UpdatedAt, Expr::value(now))
            .filter(login_throttle::Column::Key.eq(key.clone()))
            .filter(login_throttle::Column::Failures.eq(row.failures))
            .exec(&txn)
            .await?;
        if counted.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// Undoes the count of an attempt that proved the password: the account's count starts again,
/// and the address gets its attempt back.
async fn give_back_attempt(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    keys: &[(String, ThrottlePolicy)],
) -> AppResult<()> {
    let now = ctx.clock.now();
    for (index, (key, policy)) in keys.iter().enumerate() {
        if index == 0 {
            login_throttle::Entity::delete_many()
                .filter(login_throttle::Column::Key.eq(key.clone()))
                .exec(db)
                .await?;
            continue;
        }
        let Some(row) = login_throttle::Entity::find_by_id(key.clone())
            .lock_exclusive()
            .one(db)
            .await?
        else {
            continue;
        };
        let next = policy.after_success(&throttle_state(&row));
        login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::value(next.failures))
            .col_expr(
                login_throttle::Column::LockedUntil,
                Expr::value(next.locked_until),
            )
            .col_expr(login_throttle::Column::UpdatedAt, Expr::value(now))
            .filter(login_throttle::Column::Key.eq(key.clone()))
            .exec(db)
            .await?;
    }
    Ok(())
}

async fn open_session(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    user: user_account::Model,
    family_id: Uuid,
) -> AppResult<Session> {
    let now = ctx.clock.now();
    let (refresh, refresh_hash) = token::new_opaque(OpaqueKind::Refresh);
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(family_id),
        token_hash: Set(refresh_hash),
        expires_at: Set(now + REFRESH_TOKEN_LIFETIME),
        rotated_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let (access_token, access_token_expires_at) = ctx.tokens.issue(user.id, now)?;
    Ok(Session {
        access_token,
        access_token_expires_at,
        refresh_token: refresh,
        user,
    })
}

async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .col_expr(refresh_token::Column::UpdatedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Trades a refresh token for a new pair. The old token is rotated out; presenting a rotated
/// token again means it was stolen or replayed, and the whole family is revoked.
#[tracing::instrument(skip_all)]
pub async fn refresh(ctx: &AppContext, presented: &str) -> AppResult<Session> {
    let hash =
        token::opaque_hash(OpaqueKind::Refresh, presented).ok_or(AppError::Unauthenticated)?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .col_expr(refresh_token::Column::UpdatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if rotated.rows_affected != 1 {
        // Reuse of a rotated token: revoke the family, and commit that before refusing.
        revoke_family(&txn, row.family_id, now).await?;
        audit::record(
            &txn,
            &ctx.clock,
            &AuditActor {
                user_id: Some(row.user_id),
                request_id: None,
            },
            "user.refresh_token_reused",
            AuditTarget {
                kind: "user",
                id: Some(row.user_id),
            },
            None,
            Some(json!({ "familyId": row.family_id })),
        )
        .await?;
        txn.commit().await?;
        return Err(AppError::Unauthenticated);
    }
    let user = find_user(&txn, row.user_id)
        .await
        .map_err(|_| AppError::Unauthenticated)?;
    let session = open_session(ctx, &txn, user, row.family_id).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends a session: the refresh token's whole family is revoked.
#[tracing::instrument(skip_all)]
pub async fn logout(ctx: &AppContext, actor: &AuditActor, presented: &str) -> AppResult<()> {
    let hash =
        token::opaque_hash(OpaqueKind::Refresh, presented).ok_or(AppError::Unauthenticated)?;
    let txn = ctx.begin_write().await?;
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    revoke_family(&txn, row.family_id, ctx.clock.now()).await?;
    let actor = AuditActor {
        user_id: Some(row.user_id),
        ..actor.clone()
    };
    audit::record(
        &txn,
        &ctx.clock,
        &actor,
        "user.logout",
        AuditTarget {
            kind: "user",
            id: Some(row.user_id),
        },
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sends a reset link if the address has an account. The answer is the same either way, and so
/// is most of the work: the request is counted against the address and the client
/// ([`mail_keys`]) and audited in both cases, so only the token and its email are extra when
/// the account exists.
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    ctx: &AppContext,
    actor: &AuditActor,
    client: Option<std::net::IpAddr>,
    email: &EmailAddress,
) -> AppResult<()> {
    if !admit_attempt(ctx, &mail_keys(email, client)).await? {
        return Err(mail_limit());
    }
    let txn = ctx.begin_write().await?;
    let user = user_account::Entity::find()
        .filter(user_account::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if let Some(user) = &user {
        send_email_token(ctx, &txn, user, EmailKind::PasswordReset).await?;
    }
    let user_id = user.as_ref().map(|u| u.id);
    audit::record(
        &txn,
        &ctx.clock,
        &AuditActor {
            user_id,
            ..actor.clone()
        },
        "user.request_password_reset",
        AuditTarget {
            kind: "user",
            id: user_id,
        },
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token (single use), and signs out every session.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    ctx: &AppContext,
    actor: &AuditActor,
    token: &str,
    new_password: &Password,
) -> AppResult<()> {
    let hash = password::hash(new_password).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let row =
        consume_email_token(ctx, &txn, OpaqueKind::PasswordReset, PURPOSE_RESET, token).await?;
    let user = find_user(&txn, row.user_id).await?;
    let mut active = user.into_active_model();
    active.password_hash = Set(hash);
    // Following the link proves the mailbox, as verification would.
    if active.email_verified_at.as_ref().is_none() {
        active.email_verified_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let user = active.update(&txn).await?;
    revoke_all_sessions(&txn, user.id, now).await?;
    let actor = AuditActor {
        user_id: Some(user.id),
        ..actor.clone()
    };
    audit::record(
        &txn,
        &ctx.clock,
        &actor,
        "user.reset_password",
        AuditTarget {
            kind: "user",
            id: Some(user.id),
        },
        None,
        Some(json!({ "password": "changed" })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn revoke_all_sessions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .col_expr(refresh_token::Column::UpdatedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The viewer's own account. A token for an account that no longer exists is not a viewer.
pub async fn me(ctx: &AppContext, viewer: &Viewer) -> AppResult<user_account::Model> {
    let id = viewer.user_id()?;
    user_account::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or(AppError::Unauthenticated)
}

#[tracing::instrument(skip_all, fields(viewer = ?viewer.optional_user_id()))]
pub async fn update_me(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    change: ProfileChange,
) -> AppResult<user_account::Model> {
    let user = me(ctx, viewer).await?;
    let new_hash = match &change.password {
        Some((current, new)) => {
            if !password::verify(current, Some(&user.password_hash)).await? {
                return Err(AppError::bad_input(
                    "input.currentPassword",
                    "the current password is wrong",
                ));
            }
            Some(password::hash(new).await?)
        }
        None => None,
    };
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let user = find_user(&txn, user.id).await?;
    let before = snapshot(&user);
    let mut active = user.into_active_model();
    if let Some(name) = change.name {
        active.name = Set(name);
    }
    if let Some(locale) = change.locale {
        active.locale = Set(locale.as_tag().to_owned());
    }
    let password_changed = new_hash.is_some();
    if let Some(hash) = new_hash {
        active.password_hash = Set(hash);
    }
    active.updated_at = Set(now);
    let user = active.update(&txn).await?;
    let mut after = snapshot(&user);
    if password_changed {
        after["password"] = json!("changed");
    }
    audit::record(
        &txn,
        &ctx.clock,
        actor,
        "user.update",
        AuditTarget {
            kind: "user",
            id: Some(user.id),
        },
        Some(before),
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

pub async fn global_roles(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Vec<GlobalRole>> {
    let rows = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    Ok(rows.iter().filter_map(|r| r.role.parse().ok()).collect())
}

/// The viewer, who must be an admin.
pub async fn require_admin(ctx: &AppContext, viewer: &Viewer) -> AppResult<Uuid> {
    let id = viewer.user_id()?;
    if global_roles(&ctx.db, id)
        .await?
        .contains(&GlobalRole::Admin)
    {
        Ok(id)
    } else {
        Err(AppError::Forbidden("only admins may do this".into()))
    }
}

#[tracing::instrument(skip_all, fields(user_id = %user_id, viewer = ?viewer.optional_user_id()))]
pub async fn grant_role(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    user_id: Uuid,
    role: GlobalRole,
) -> AppResult<user_account::Model> {
    let admin = require_admin(ctx, viewer).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let user = find_user(&txn, user_id).await?;
    let inserted = user_role::Entity::insert(user_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        role: Set(role.as_str().to_owned()),
        granted_by: Set(Some(admin)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([user_role::Column::UserId, user_role::Column::Role])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        audit::record(
            &txn,
            &ctx.clock,
            actor,
            "role.grant",
            AuditTarget {
                kind: "user",
                id: Some(user.id),
            },
            None,
            Some(json!({ "role": role.as_str() })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(user)
}

#[tracing::instrument(skip_all, fields(user_id = %user_id, viewer = ?viewer.optional_user_id()))]
pub async fn revoke_role(
    ctx: &AppContext,
    viewer: &Viewer,
    actor: &AuditActor,
    user_id: Uuid,
    role: GlobalRole,
) -> AppResult<user_account::Model> {
    let admin = require_admin(ctx, viewer).await?;
    if admin == user_id && role == GlobalRole::Admin {
        return Err(AppError::InvalidState(
            "an admin cannot revoke their own admin role".into(),
        ));
    }
    let txn = ctx.begin_write().await?;
    let user = find_user(&txn, user_id).await?;
    let deleted = user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(user.id))
        .filter(user_role::Column::Role.eq(role.as_str()))
        .exec(&txn)
        .await?;
    if deleted.rows_affected > 0 {
        audit::record(
            &txn,
            &ctx.clock,
            actor,
            "role.revoke",
            AuditTarget {
                kind: "user",
                id: Some(user.id),
            },
            Some(json!({ "role": role.as_str() })),
            None,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(user)
}

/// Creates a verified admin account, or makes an existing account admin (the bootstrap path:
/// `bridgefund admin create`, or the admin variables read at first start).
pub async fn ensure_admin(
    ctx: &AppContext,
    email: &EmailAddress,
    name: &str,
    password: &Password,
) -> AppResult<Uuid> {
    let hash = password::hash(password).await?;
    let now = ctx.clock.now();
    let txn = ctx.begin_write().await?;
    let user = match user_account::Entity::find()
        .filter(user_account::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?
    {
        Some(user) => user,
        None => {
            user_account::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(email.as_str().to_owned()),
                name: Set(name.to_owned()),
                locale: Set(Locale::En.as_tag().to_owned()),
                password_hash: Set(hash),
                email_verified_at: Set(Some(now)),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let inserted = user_role::Entity::insert(user_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        role: Set(GlobalRole::Admin.as_str().to_owned()),
        granted_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([user_role::Column::UserId, user_role::Column::Role])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        audit::record(
            &txn,
            &ctx.clock,
            &AuditActor::default(),
            "role.grant",
            AuditTarget {
                kind: "user",
                id: Some(user.id),
            },
            None,
            Some(json!({ "role": "ADMIN", "bootstrap": true })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(user.id)
}

/// Whether any admin exists (the first start creates one from the environment if none does).
pub async fn admin_exists(ctx: &AppContext) -> AppResult<bool> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::Role.eq(GlobalRole::Admin.as_str()))
        .one(&ctx.db)
        .await?
        .is_some())
}
