//! Accounts and sign-in over GraphQL: thin resolvers that parse input and call the identity
//! service.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::user_account;

use crate::domain::email::EmailAddress;
use crate::domain::identity::{GlobalRole, Password, parse_person_name};
use crate::domain::locale::Locale;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, request};
use crate::graphql::fund::FundRoleGrant;
use crate::graphql::organization::Organization;
use crate::service::identity::{self, ProfileChange, Registration, Session};

/// Roles held across the whole system.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
}

impl From<GlobalRole> for Role {
    fn from(role: GlobalRole) -> Self {
        match role {
            GlobalRole::Admin => Role::Admin,
        }
    }
}

impl From<Role> for GlobalRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => GlobalRole::Admin,
        }
    }
}

/// A person with an account.
pub struct User(pub user_account::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// `en` or `zh-CN`: the language of every message sent to this person.
    async fn locale(&self) -> &str {
        &self.0.locale
    }

    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }

    /// The global roles; shown only to the user themself.
    async fn roles(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<Role>>> {
        let request = request(ctx);
        if request.viewer.optional_user_id() != Some(self.0.id) {
            return Ok(None);
        }
        Ok(Some(
            identity::global_roles(&request.app.db, self.0.id)
                .await?
                .into_iter()
                .map(Role::from)
                .collect(),
        ))
    }

    /// The roles the user holds in funds (manager, reviewer); shown only to the user themself.
    async fn fund_roles(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<FundRoleGrant>>> {
        let request = request(ctx);
        if request.viewer.optional_user_id() != Some(self.0.id) {
            return Ok(None);
        }
        Ok(Some(
            crate::service::fund::roles_of(&request.app.db, self.0.id)
                .await?
                .into_iter()
                .map(|(fund_id, role)| FundRoleGrant { fund_id, role })
                .collect(),
        ))
    }

    /// The organisations the user belongs to; shown only to the user themself.
    async fn organizations(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<Organization>>> {
        let request = request(ctx);
        if request.viewer.optional_user_id() != Some(self.0.id) {
            return Ok(None);
        }
        Ok(Some(
            crate::service::organization::mine(request.app, &request.viewer)
                .await?
                .into_iter()
                .map(Organization::from)
                .collect(),
        ))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The tokens of a signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Sent as `Authorization: Bearer …`; valid for 15 minutes.
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    /// Exchanged for a new pair with `refreshToken`; single use.
    refresh_token: String,
    user: User,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        AuthPayload {
            access_token: session.access_token,
            access_token_expires_at: session.access_token_expires_at,
            refresh_token: session.refresh_token,
            user: User(session.user),
        }
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub name: String,
    /// `en` or `zh-CN`.
    pub locale: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct UpdateMeInput {
    pub name: Option<String>,
    pub locale: Option<String>,
    /// Required with `newPassword`.
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

fn parse_email(text: &str, field: &str) -> AppResult<EmailAddress> {
    text.parse().map_err(|e| AppError::bad_input(field, e))
}

fn parse_locale(text: &str, field: &str) -> AppResult<Locale> {
    text.parse().map_err(|e| AppError::bad_input(field, e))
}

fn parse_password(text: &str, field: &str) -> AppResult<Password> {
    Password::parse(text).map_err(|e| AppError::bad_input(field, e))
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in viewer.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        let request = request(ctx);
        identity::me(request.app, &request.viewer).await.map(User)
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account and sends a verification email. An address with an account already
    /// gets the same answer (a placeholder, never the account), and its owner a reset link.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> AppResult<User> {
        let registration = Registration {
            email: parse_email(&input.email, "input.email")?,
            name: parse_person_name(&input.name)
                .map_err(|e| AppError::bad_input("input.name", e))?,
            locale: parse_locale(&input.locale, "input.locale")?,
            password: parse_password(&input.password, "input.password")?,
        };
        let request = request(ctx);
        identity::register(
            request.app,
            &request.actor(),
            request.client_ip(),
            registration,
        )
        .await
        .map(User)
    }

    /// Confirms an email address with the token from the verification email.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> AppResult<bool> {
        let request = request(ctx);
        identity::verify_email(request.app, &request.actor(), &token).await?;
        Ok(true)
    }

    /// Signs in. A wrong email and a wrong password get the same answer.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> AppResult<AuthPayload> {
        let request = request(ctx);
        identity::login(
            request.app,
            &request.actor(),
            request.client_ip(),
            &email,
            &password,
        )
        .await
        .map(AuthPayload::from)
    }

    /// Trades a refresh token for a new pair; the old one stops working.
    async fn refresh_token(&self, ctx: &Context<'_>, token: String) -> AppResult<AuthPayload> {
        let request = request(ctx);
        identity::refresh(request.app, &token)
            .await
            .map(AuthPayload::from)
    }

    /// Ends the session of this refresh token (its whole family).
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        let request = request(ctx);
        identity::logout(request.app, &request.actor(), &refresh_token).await?;
        Ok(true)
    }

    /// Sends a reset link if the address has an account; answers `true` either way.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> AppResult<bool> {
        let email = parse_email(&email, "email")?;
        let request = request(ctx);
        identity::request_password_reset(
            request.app,
            &request.actor(),
            request.client_ip(),
            &email,
        )
        .await?;
        Ok(true)
    }

    /// Sets a new password with the token from the reset email, and signs out every session.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> AppResult<bool> {
        let password = parse_password(&password, "password")?;
        let request = request(ctx);
        identity::reset_password(request.app, &request.actor(), &token, &password).await?;
        Ok(true)
    }

    /// Changes the viewer's name, language or password (with the current password).
    async fn update_me(&self, ctx: &Context<'_>, input: UpdateMeInput) -> AppResult<User> {
        let change = ProfileChange {
            name: input
                .name
                .as_deref()
                .map(|n| parse_person_name(n).map_err(|e| AppError::bad_input("input.name", e)))
                .transpose()?,
            locale: input
                .locale
                .as_deref()
                .map(|l| parse_locale(l, "input.locale"))
                .transpose()?,
            password: match (input.current_password, input.new_password) {
                (Some(current), Some(new)) => {
                    Some((current, parse_password(&new, "input.newPassword")?))
                }
                (None, Some(_)) => {
                    return Err(AppError::bad_input(
                        "input.currentPassword",
                        "give the current password to change it",
                    ));
                }
                _ => None,
            },
        };
        let request = request(ctx);
        identity::update_me(request.app, &request.viewer, &request.actor(), change)
            .await
            .map(User)
    }

    /// Grants a global role (admins only).
    async fn grant_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> AppResult<User> {
        let user_id = parse_id(&user_id, "userId")?;
        let request = request(ctx);
        identity::grant_role(
            request.app,
            &request.viewer,
            &request.actor(),
            user_id,
            role.into(),
        )
        .await
        .map(User)
    }

    /// Revokes a global role (admins only).
    async fn revoke_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> AppResult<User> {
        let user_id = parse_id(&user_id, "userId")?;
        let request = request(ctx);
        identity::revoke_role(
            request.app,
            &request.viewer,
            &request.actor(),
            user_id,
            role.into(),
        )
        .await
        .map(User)
    }
}
