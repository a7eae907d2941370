//! DataLoaders for nested fields: a page of N items costs one statement per relation, not N.
//! Created per request, so nothing cached leaks from one viewer to another.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    application, application_budget_line, application_decision, application_document,
    application_partner, application_snapshot, call, fund, grant, host_country_registration,
    organization, organization_member, review_assignment, user_account,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::AppError;

/// The loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub members: Cached<MembersLoader>,
    pub registrations: Cached<RegistrationsLoader>,
    pub organizations: Cached<ByIdLoader<organization::Entity>>,
    pub applications: Cached<ByIdLoader<application::Entity>>,
    pub grants_by_id: Cached<ByIdLoader<grant::Entity>>,
    /// What applications looked like when submitted; read only when asked for.
    pub snapshots: Cached<ByIdLoader<application_snapshot::Entity>>,
    pub calls: Cached<ByIdLoader<call::Entity>>,
    pub funds: Cached<ByIdLoader<fund::Entity>>,
    pub partners: Cached<PartnersLoader>,
    pub budget_lines: Cached<BudgetLinesLoader>,
    pub documents: Cached<DocumentsLoader>,
    /// The organisations a user belongs to, keyed by user.
    pub memberships: Cached<MembershipsLoader>,
    /// The funds a user manages, keyed by user.
    pub managed_funds: Cached<ManagedFundsLoader>,
    /// Review assignments of applications, keyed by application.
    pub assignments: Cached<AssignmentsLoader>,
    /// The latest decision on each application.
    pub decisions: Cached<DecisionsLoader>,
    /// The grant of each approved application.
    pub grants: Cached<GrantsLoader>,
    /// The tranches of grants, keyed by grant, in order.
    pub disbursements: Cached<DisbursementsLoader>,
    /// The remittance filing of each disbursement.
    pub filings: Cached<FilingsLoader>,
}

/// A loader that remembers what it loaded for the rest of the request, so a value asked for
/// twice (or primed by a list resolver) costs no second statement.
pub type Cached<T> = DataLoader<T, HashMapCache>;

/// Loads `keys` at once and keeps the values for the rest of the request, returning them. For
/// a page whose keys are all known up front: a `load_many` would wait out the batching delay
/// and hop through a spawned task and a timer thread for nothing.
pub async fn prefetch<T>(
    loader: &Cached<T>,
    keys: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, T::Value>, AppError>
where
    T: Loader<Uuid, Error = AppError>,
    T::Value: Clone,
{
    let mut keys: Vec<Uuid> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let values = loader.loader().load(&keys).await?;
    loader
        .feed_many(values.iter().map(|(key, value)| (*key, value.clone())))
        .await;
    Ok(values)
}

impl Loaders {
    pub fn new(context: &AppContext) -> Self {
        let db = context.db.clone();
        Loaders {
            users: DataLoader::with_cache(
                UserLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            members: DataLoader::with_cache(
                MembersLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            registrations: DataLoader::with_cache(
                RegistrationsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            organizations: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            applications: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            snapshots: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            grants_by_id: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            calls: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            funds: DataLoader::with_cache(
                ByIdLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            partners: DataLoader::with_cache(
                PartnersLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            budget_lines: DataLoader::with_cache(
                BudgetLinesLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            documents: DataLoader::with_cache(
                DocumentsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            memberships: DataLoader::with_cache(
                MembershipsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            managed_funds: DataLoader::with_cache(
                ManagedFundsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            assignments: DataLoader::with_cache(
                AssignmentsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            decisions: DataLoader::with_cache(
                DecisionsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            grants: DataLoader::with_cache(
                GrantsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            disbursements: DataLoader::with_cache(
                DisbursementsLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            filings: DataLoader::with_cache(
                FilingsLoader(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }
}

pub struct UserLoader(DatabaseConnection);

impl Loader<Uuid> for UserLoader {
    type Value = user_account::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(user_account::Entity::find()
            .filter(user_account::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|user| (user.id, user))
            .collect())
    }
}

/// Members of organisations, keyed by organisation.
pub struct MembersLoader(DatabaseConnection);

impl Loader<Uuid> for MembersLoader {
    type Value = Vec<organization_member::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in organization_member::Entity::find()
            .filter(organization_member::Column::OrganizationId.is_in(keys.iter().copied()))
            .order_by_asc(organization_member::Column::CreatedAt)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.organization_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// Host-country registrations, keyed by organisation.
pub struct RegistrationsLoader(DatabaseConnection);

impl Loader<Uuid> for RegistrationsLoader {
    type Value = Vec<host_country_registration::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in host_country_registration::Entity::find()
            .filter(host_country_registration::Column::OrganizationId.is_in(keys.iter().copied()))
            .order_by_asc(host_country_registration::Column::Country)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.organization_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// Rows of any table whose primary key is a UUID `id`, by id.
pub struct ByIdLoader<E> {
    db: DatabaseConnection,
    entity: std::marker::PhantomData<E>,
}

impl<E> ByIdLoader<E> {
    fn new(db: DatabaseConnection) -> Self {
        ByIdLoader {
            db,
            entity: std::marker::PhantomData,
        }
    }
}

/// Tables loaded by id: the model tells its id.
pub trait HasId {
    fn row_id(&self) -> Uuid;
}

impl HasId for organization::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl HasId for application::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl HasId for application_snapshot::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl HasId for grant::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl HasId for call::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl HasId for fund::Model {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl<E> Loader<Uuid> for ByIdLoader<E>
where
    E: EntityTrait + Send + Sync + 'static,
    E::Model: HasId + Clone + Send + Sync + 'static,
    E::Column: sea_orm::ColumnTrait,
{
    /// Shared: nested fields and access checks read the same row many times in one request (a
    /// page of fifty applications asks for its call a few hundred times), and a row may be large.
    type Value = std::sync::Arc<E::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let id = <E::Column as std::str::FromStr>::from_str("id")
            .map_err(|_| AppError::internal(anyhow::anyhow!("table has no id column")))?;
        Ok(E::find()
            .filter(id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.row_id(), std::sync::Arc::new(row)))
            .collect())
    }
}

/// Partners of applications, keyed by application.
pub struct PartnersLoader(DatabaseConnection);

impl Loader<Uuid> for PartnersLoader {
    type Value = Vec<application_partner::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in application_partner::Entity::find()
            .filter(application_partner::Column::ApplicationId.is_in(keys.iter().copied()))
            .order_by_asc(application_partner::Column::CreatedAt)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.application_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// Budget lines of applications, keyed by application, in order.
pub struct BudgetLinesLoader(DatabaseConnection);

impl Loader<Uuid> for BudgetLinesLoader {
    type Value = Vec<application_budget_line::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in application_budget_line::Entity::find()
            .filter(application_budget_line::Column::ApplicationId.is_in(keys.iter().copied()))
            .order_by_asc(application_budget_line::Column::Position)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.application_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The organisations each user belongs to, keyed by user.
pub struct MembershipsLoader(DatabaseConnection);

impl Loader<Uuid> for MembershipsLoader {
    type Value = Vec<Uuid>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in organization_member::Entity::find()
            .filter(organization_member::Column::UserId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?
        {
            grouped
                .entry(row.user_id)
                .or_default()
                .push(row.organization_id);
        }
        Ok(grouped)
    }
}

/// Documents of applications, keyed by application, oldest first.
pub struct DocumentsLoader(DatabaseConnection);

impl Loader<Uuid> for DocumentsLoader {
    type Value = Vec<application_document::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in application_document::Entity::find()
            .filter(application_document::Column::ApplicationId.is_in(keys.iter().copied()))
            .order_by_asc(application_document::Column::CreatedAt)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.application_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The funds each user manages, keyed by user.
pub struct ManagedFundsLoader(DatabaseConnection);

impl Loader<Uuid> for ManagedFundsLoader {
    type Value = Vec<Uuid>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in entity::fund_manager::Entity::find()
            .filter(entity::fund_manager::Column::UserId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?
        {
            grouped.entry(row.user_id).or_default().push(row.fund_id);
        }
        Ok(grouped)
    }
}

/// Review assignments of applications, keyed by application, in assignment order.
pub struct AssignmentsLoader(DatabaseConnection);

impl Loader<Uuid> for AssignmentsLoader {
    type Value = Vec<review_assignment::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in review_assignment::Entity::find()
            .filter(review_assignment::Column::ApplicationId.is_in(keys.iter().copied()))
            .order_by_asc(review_assignment::Column::CreatedAt)
            .order_by_asc(review_assignment::Column::Id)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.application_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The latest decision on each application, keyed by application.
pub struct DecisionsLoader(DatabaseConnection);

impl Loader<Uuid> for DecisionsLoader {
    type Value = Option<application_decision::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut latest: HashMap<Uuid, Self::Value> = keys.iter().map(|key| (*key, None)).collect();
        // Oldest first, so each application ends with its latest decision.
        for row in application_decision::Entity::find()
            .filter(application_decision::Column::ApplicationId.is_in(keys.iter().copied()))
            .order_by_asc(application_decision::Column::DecidedAt)
            .order_by_asc(application_decision::Column::Id)
            .all(&self.0)
            .await?
        {
            latest.insert(row.application_id, Some(row));
        }
        Ok(latest)
    }
}

/// The grant of each application, keyed by application.
pub struct GrantsLoader(DatabaseConnection);

impl Loader<Uuid> for GrantsLoader {
    type Value = Option<grant::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut grants: HashMap<Uuid, Self::Value> = keys.iter().map(|key| (*key, None)).collect();
        for row in grant::Entity::find()
            .filter(grant::Column::ApplicationId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?
        {
            grants.insert(row.application_id, Some(row));
        }
        Ok(grants)
    }
}

/// The tranches of grants, keyed by grant, in order.
pub struct DisbursementsLoader(DatabaseConnection);

impl Loader<Uuid> for DisbursementsLoader {
    type Value = Vec<entity::disbursement::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets an entry, empty or not, so that the cache also remembers "none".
        let mut grouped: HashMap<Uuid, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in entity::disbursement::Entity::find()
            .filter(entity::disbursement::Column::GrantId.is_in(keys.iter().copied()))
            .order_by_asc(entity::disbursement::Column::Sequence)
            .all(&self.0)
            .await?
        {
            grouped.entry(row.grant_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The remittance filing of each disbursement, keyed by disbursement.
pub struct FilingsLoader(DatabaseConnection);

impl Loader<Uuid> for FilingsLoader {
    type Value = Option<entity::remittance_filing::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut filings: HashMap<Uuid, Self::Value> = keys.iter().map(|key| (*key, None)).collect();
        for row in entity::remittance_filing::Entity::find()
            .filter(entity::remittance_filing::Column::DisbursementId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?
        {
            filings.insert(row.disbursement_id, Some(row));
        }
        Ok(filings)
    }
}
