//! DataLoaders for nested fields: a page of N items costs one statement per relation, not N.
//! Created per request, so nothing cached leaks from one viewer to another.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{host_country_registration, organization_member, user_account};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::app::AppContext;
use crate::error::AppError;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub members: DataLoader<MembersLoader>,
    pub registrations: DataLoader<RegistrationsLoader>,
}

impl Loaders {
    pub fn new(context: &AppContext) -> Self {
        let db = context.db.clone();
        Loaders {
            users: DataLoader::new(UserLoader(db.clone()), tokio::spawn),
            members: DataLoader::new(MembersLoader(db.clone()), tokio::spawn),
            registrations: DataLoader::new(RegistrationsLoader(db), tokio::spawn),
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
        let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
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
        let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
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
