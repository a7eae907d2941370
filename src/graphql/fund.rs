//! Funds over GraphQL: public identity (name, currency), and for its managers and admins the
//! money (budget, allocated, committed, disbursed, available) and the people (managers and the
//! reviewer pool).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::fund;

use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, request};
use crate::graphql::identity::User;
use crate::graphql::loaders::Loaders;
use crate::graphql::pagination::{Conn, PageRequest, connection, wants_total};
use crate::graphql::types::{LocalizedText, MoneyInput, MoneyOutput, optional_text, stored_money};
use crate::service::fund::{self as service, FundRole, FundSettings};

/// Where a fund's money stands, in its currency.
#[derive(SimpleObject)]
pub struct FundTotals {
    pub budget: MoneyOutput,
    /// Sum of the budgets of its calls.
    pub allocated: MoneyOutput,
    /// Sum of its grants.
    pub committed: MoneyOutput,
    /// Payments sent or confirmed.
    pub disbursed: MoneyOutput,
    /// Budget not yet allocated to calls.
    pub available: MoneyOutput,
}

pub struct Fund(pub fund::Model);

#[Object]
impl Fund {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> LocalizedText {
        LocalizedText {
            en: Some(self.0.name_en.clone()),
            zh: self.0.name_zh.clone(),
        }
    }

    async fn description(&self) -> LocalizedText {
        LocalizedText {
            en: self.0.description_en.clone(),
            zh: self.0.description_zh.clone(),
        }
    }

    /// ISO 4217: every amount of the fund is in it.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// The money; for the fund's managers and admins only (null for anyone else).
    async fn totals(&self, ctx: &Context<'_>) -> AppResult<Option<FundTotals>> {
        let request = request(ctx);
        if !service::can_see_internals(request.app, &request.viewer, self.0.id).await? {
            return Ok(None);
        }
        let f = &self.0;
        Ok(Some(FundTotals {
            budget: stored_money(f.budget_minor, &f.currency)?,
            allocated: stored_money(f.allocated_minor, &f.currency)?,
            committed: stored_money(f.committed_minor, &f.currency)?,
            disbursed: stored_money(f.disbursed_minor, &f.currency)?,
            // A budget lowered below what its calls were given leaves nothing, not a debt.
            available: stored_money((f.budget_minor - f.allocated_minor).max(0), &f.currency)?,
        }))
    }

    /// A single payment whose equivalent is above this needs a tax record filing before it is
    /// sent.
    async fn remittance_threshold(&self) -> AppResult<MoneyOutput> {
        stored_money(
            self.0.remittance_threshold_minor,
            &self.0.remittance_threshold_currency,
        )
    }

    /// The managers; for the fund's managers and admins only.
    async fn managers(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<User>>> {
        self.people(ctx, FundRole::Manager).await
    }

    /// The reviewer pool; for the fund's managers and admins only.
    async fn reviewers(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<User>>> {
        self.people(ctx, FundRole::Reviewer).await
    }

    /// Whether payments can be approved: that takes two managers (four eyes).
    async fn can_move_money(&self, ctx: &Context<'_>) -> AppResult<bool> {
        let request = request(ctx);
        Ok(
            service::people(&request.app.db, self.0.id, FundRole::Manager)
                .await?
                .len()
                >= 2,
        )
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl Fund {
    async fn people(&self, ctx: &Context<'_>, role: FundRole) -> AppResult<Option<Vec<User>>> {
        let request = request(ctx);
        if !service::can_see_internals(request.app, &request.viewer, self.0.id).await? {
            return Ok(None);
        }
        let ids = service::people(&request.app.db, self.0.id, role).await?;
        let loaders = ctx.data_unchecked::<std::sync::Arc<Loaders>>();
        let users = loaders.users.load_many(ids.iter().copied()).await?;
        Ok(Some(
            ids.iter()
                .filter_map(|id| users.get(id).cloned())
                .map(User)
                .collect(),
        ))
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FundRoleKind {
    FundManager,
    Reviewer,
}

impl From<FundRole> for FundRoleKind {
    fn from(role: FundRole) -> Self {
        match role {
            FundRole::Manager => FundRoleKind::FundManager,
            FundRole::Reviewer => FundRoleKind::Reviewer,
        }
    }
}

/// A role a user holds in one fund.
pub struct FundRoleGrant {
    pub fund_id: uuid::Uuid,
    pub role: FundRole,
}

#[Object]
impl FundRoleGrant {
    async fn role(&self) -> FundRoleKind {
        self.role.into()
    }

    async fn fund(&self, ctx: &Context<'_>) -> AppResult<Fund> {
        let request = request(ctx);
        service::find(&request.app.db, self.fund_id).await.map(Fund)
    }
}

#[derive(InputObject)]
pub struct FundInput {
    pub name_en: String,
    pub name_zh: Option<String>,
    pub description_en: Option<String>,
    pub description_zh: Option<String>,
    /// The fund's total budget; its currency becomes the fund's currency.
    pub budget: MoneyInput,
    /// Defaults to USD 50,000.00.
    pub remittance_threshold: Option<MoneyInput>,
    /// Managers (at least one) when creating; ignored when updating.
    pub manager_ids: Option<Vec<ID>>,
}

impl FundInput {
    fn parse(self) -> AppResult<(FundSettings, Vec<uuid::Uuid>)> {
        let name_en = optional_text(Some(self.name_en), "input.nameEn", 300)?
            .ok_or_else(|| AppError::bad_input("input.nameEn", "the name cannot be empty"))?;
        let budget = self.budget.parse("input.budget")?;
        if budget.is_zero() {
            return Err(AppError::bad_input(
                "input.budget.amount",
                "the budget must be more than zero",
            ));
        }
        let managers = self
            .manager_ids
            .unwrap_or_default()
            .iter()
            .map(|id| parse_id(id, "input.managerIds"))
            .collect::<AppResult<Vec<_>>>()?;
        Ok((
            FundSettings {
                name_en,
                name_zh: optional_text(self.name_zh, "input.nameZh", 300)?,
                description_en: optional_text(self.description_en, "input.descriptionEn", 10_000)?,
                description_zh: optional_text(self.description_zh, "input.descriptionZh", 10_000)?,
                budget,
                remittance_threshold: self
                    .remittance_threshold
                    .map(|t| t.parse("input.remittanceThreshold"))
                    .transpose()?,
            },
            managers,
        ))
    }
}

#[derive(Default)]
pub struct FundQuery;

#[Object]
impl FundQuery {
    /// A fund (public: name, description, currency; the rest for its managers and admins).
    async fn fund(&self, ctx: &Context<'_>, id: ID) -> AppResult<Fund> {
        let id = parse_id(&id, "id")?;
        let request = request(ctx);
        service::find(&request.app.db, id).await.map(Fund)
    }

    /// Every fund.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn funds(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Fund>> {
        let page = PageRequest::parse(first, after)?.counting(wants_total(ctx));
        let request = request(ctx);
        let rows = service::list(request.app, &page).await?;
        Ok(connection(rows.map(Fund), &page))
    }
}

#[derive(Default)]
pub struct FundMutation;

#[Object]
impl FundMutation {
    /// Creates a fund with its managers (admins only).
    async fn create_fund(&self, ctx: &Context<'_>, input: FundInput) -> AppResult<Fund> {
        let (settings, managers) = input.parse()?;
        let request = request(ctx);
        service::create(
            request.app,
            &request.viewer,
            &request.actor(),
            settings,
            managers,
        )
        .await
        .map(Fund)
    }

    /// Changes a fund's settings (admins only).
    async fn update_fund(&self, ctx: &Context<'_>, id: ID, input: FundInput) -> AppResult<Fund> {
        let id = parse_id(&id, "id")?;
        let (settings, _) = input.parse()?;
        let request = request(ctx);
        service::update(request.app, &request.viewer, &request.actor(), id, settings)
            .await
            .map(Fund)
    }

    /// Makes a user a manager of the fund (admins only).
    async fn add_fund_manager(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        user_id: ID,
    ) -> AppResult<Fund> {
        self.change(ctx, fund_id, user_id, FundRole::Manager, true)
            .await
    }

    /// Removes a manager from the fund; the last one stays (admins only).
    async fn remove_fund_manager(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        user_id: ID,
    ) -> AppResult<Fund> {
        self.change(ctx, fund_id, user_id, FundRole::Manager, false)
            .await
    }

    /// Adds a user to the fund's reviewer pool (the fund's managers).
    async fn add_reviewer_to_pool(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        user_id: ID,
    ) -> AppResult<Fund> {
        self.change(ctx, fund_id, user_id, FundRole::Reviewer, true)
            .await
    }

    /// Removes a user from the fund's reviewer pool (the fund's managers).
    async fn remove_reviewer_from_pool(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        user_id: ID,
    ) -> AppResult<Fund> {
        self.change(ctx, fund_id, user_id, FundRole::Reviewer, false)
            .await
    }
}

impl FundMutation {
    async fn change(
        &self,
        ctx: &Context<'_>,
        fund_id: ID,
        user_id: ID,
        role: FundRole,
        add: bool,
    ) -> AppResult<Fund> {
        let fund_id = parse_id(&fund_id, "fundId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let request = request(ctx);
        let actor = request.actor();
        let fund = if add {
            service::add_member(request.app, &request.viewer, &actor, fund_id, user_id, role)
                .await?
        } else {
            service::remove_member(request.app, &request.viewer, &actor, fund_id, user_id, role)
                .await?
        };
        Ok(Fund(fund))
    }
}
