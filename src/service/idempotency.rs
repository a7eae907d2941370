//! Idempotency keys for requests that move money. The key is claimed inside the request's own
//! transaction, so the claim and the effect commit together: a retry, or a request racing the
//! first (from any instance), waits for the first to finish and is answered with its outcome.
//! PostgreSQL makes the racing `INSERT … ON CONFLICT DO NOTHING` wait on the first's row; SQLite
//! serialises writers with `BEGIN IMMEDIATE`.
//!
//! Only a completed effect is kept under its key. A refusal (bad input, a precondition not met, a
//! permission, not found, ineligible, invalid state, a limit, a conflict with the business rules)
//! rolls the whole transaction back, the claim with it: nothing happened, so there is nothing to
//! replay, and the client may retry with the same key once the cause is fixed and get the real
//! effect. A request that waited on a refused one finds the key free and runs itself. An answer
//! that repeats an earlier effect says so ([`Outcome::replayed`]), and the API marks it as a
//! replay. Keys are kept at least [`RETENTION_HOURS`].

use chrono::Duration;
use entity::idempotency_key as record;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{AppError, AppResult};

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 48;
/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// A client's idempotency key, parsed at the edge: 1 to 255 printable characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: &str) -> AppResult<IdempotencyKey> {
        let length = key.chars().count();
        if length == 0 || length > MAX_KEY_CHARS || key.chars().any(char::is_control) {
            return Err(AppError::bad_input(
                "idempotencyKey",
                format!("an idempotency key is 1 to {MAX_KEY_CHARS} printable characters"),
            ));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One request under a key: which mutation, and its arguments (hashed to tell a retry from a
/// different request that reuses the key).
#[derive(Debug, Clone)]
pub struct Keyed {
    pub mutation: &'static str,
    pub key: IdempotencyKey,
    pub arguments: serde_json::Value,
}

/// What a request under a key was answered with: the effect's value, and whether that value
/// repeats the effect of an earlier request with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<T> {
    pub value: T,
    /// The effect happened for an earlier request; this one changed nothing.
    pub replayed: bool,
}

impl<T> Outcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        Outcome {
            value: f(self.value),
            replayed: self.replayed,
        }
    }
}

/// What claiming a key found.
#[derive(Debug)]
enum Claim<T> {
    /// No key, or a new one: run the request in this transaction.
    Run(Option<Uuid>),
    /// The key's effect completed for an earlier request with the same arguments: answer its
    /// value again.
    Replay(T),
}

fn hash(arguments: &serde_json::Value) -> String {
    Sha256::digest(arguments.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored form of a completed effect's value.
fn outcome_of<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    Ok(json!({ "ok": serde_json::to_value(value).map_err(AppError::internal)? }))
}

/// The completed effect's value in a stored outcome; `None` for anything else (a refusal kept by
/// an earlier version, which no longer holds the key).
fn replay<T: DeserializeOwned>(outcome: &serde_json::Value) -> AppResult<Option<T>> {
    outcome
        .get("ok")
        .map(|value| serde_json::from_value(value.clone()).map_err(AppError::internal))
        .transpose()
}

/// Claims `keyed` for `user` in `txn`, the request's transaction. Call first thing.
async fn claim<T: DeserializeOwned>(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    keyed: Option<&Keyed>,
) -> AppResult<Claim<T>> {
    let Some(keyed) = keyed else {
        return Ok(Claim::Run(None));
    };
    let now = ctx.clock.now();
    let scope = Condition::all()
        .add(record::Column::UserId.eq(user))
        .add(record::Column::Mutation.eq(keyed.mutation))
        .add(record::Column::Key.eq(keyed.key.as_str()));
    // A key past its retention is forgotten, even if not purged yet.
    record::Entity::delete_many()
        .filter(scope.clone())
        .filter(record::Column::ExpiresAt.lt(now))
        .exec(txn)
        .await?;
    let request_hash = hash(&keyed.arguments);
    // At most twice: a second time only after removing a refusal an earlier version kept.
    let mut freed_stale = false;
    loop {
        let id = Uuid::now_v7();
        let inserted = record::Entity::insert(record::ActiveModel {
            id: Set(id),
            user_id: Set(user),
            mutation: Set(keyed.mutation.to_owned()),
            key: Set(keyed.key.as_str().to_owned()),
            request_hash: Set(request_hash.clone()),
            outcome: Set(None),
            created_at: Set(now),
            expires_at: Set(now + Duration::hours(RETENTION_HOURS)),
        })
        .on_conflict(
            OnConflict::columns([
                record::Column::UserId,
                record::Column::Mutation,
                record::Column::Key,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        if inserted == 1 {
            return Ok(Claim::Run(Some(id)));
        }
        let existing = record::Entity::find()
            .filter(scope.clone())
            .one(txn)
            .await?
            .ok_or_else(|| AppError::Conflict("the idempotency key is in use; retry".into()))?;
        if existing.request_hash != request_hash {
            return Err(AppError::Conflict(
                "this idempotency key was used for a different request".into(),
            ));
        }
        match existing.outcome {
            Some(outcome) => match replay(&outcome)? {
                Some(value) => return Ok(Claim::Replay(value)),
                None if !freed_stale => {
                    record::Entity::delete_many()
                        .filter(record::Column::Id.eq(existing.id))
                        .exec(txn)
                        .await?;
                    freed_stale = true;
                }
                None => {
                    return Err(AppError::Conflict(
                        "the idempotency key is in use; retry".into(),
                    ));
                }
            },
            // Only a completed effect commits its claim, and it commits with its outcome; a key
            // without one is still being written, a race we answer without a second effect.
            None => {
                return Err(AppError::Conflict(
                    "a request with this idempotency key is still running".into(),
                ));
            }
        }
    }
}

/// Runs `effect` in one write transaction under `keyed`, for a caller that does not tell its
/// client about replays; see [`run_with_replay`].
pub async fn run<T, F>(
    ctx: &AppContext,
    user: Uuid,
    keyed: Option<&Keyed>,
    effect: F,
) -> AppResult<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>,
{
    run_with_replay(ctx, user, keyed, effect)
        .await
        .map(|outcome| outcome.value)
}

/// Runs `effect` in one write transaction under `keyed`: the effect completes at most once per
/// key, and a retry gets the value of the completed effect, marked as replayed. Without a key it
/// simply runs in the transaction.
///
/// A refusal rolls back the transaction, claim and all, so the key is free again: the claim is
/// held, and visible to racing requests, only while the effect runs, and it commits only with
/// the effect's outcome.
pub async fn run_with_replay<T, F>(
    ctx: &AppContext,
    user: Uuid,
    keyed: Option<&Keyed>,
    effect: F,
) -> AppResult<Outcome<T>>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>,
{
    let txn = ctx.begin_write().await?;
    let claimed = match claim(ctx, &txn, user, keyed).await? {
        Claim::Replay(value) => {
            txn.rollback().await?;
            return Ok(Outcome {
                value,
                replayed: true,
            });
        }
        Claim::Run(claimed) => claimed,
    };
    let value = match effect(&txn).await {
        Ok(value) => value,
        Err(error) => {
            // The refusal is the answer even if the rollback fails: then the transaction never
            // commits either, and the connection is dropped with it.
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(
                    error = format!("{rollback:#}"),
                    "rollback after a refusal failed"
                );
            }
            return Err(error);
        }
    };
    if let Some(claimed) = claimed {
        record::Entity::update_many()
            .col_expr(
                record::Column::Outcome,
                sea_orm::sea_query::Expr::value(outcome_of(&value)?),
            )
            .filter(record::Column::Id.eq(claimed))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Outcome {
        value,
        replayed: false,
    })
}

/// Forgets keys past their retention. Run by the scheduler.
pub async fn purge_expired(ctx: &AppContext) -> AppResult<u64> {
    let deleted = record::Entity::delete_many()
        .filter(record::Column::ExpiresAt.lt(ctx.clock.now()))
        .exec(&ctx.db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn keys_are_one_to_255_printable_characters() {
        assert!(IdempotencyKey::parse("pay-2027-03-01-a").is_ok());
        assert!(IdempotencyKey::parse(&"键".repeat(255)).is_ok());
        for bad in [String::new(), "k".repeat(256), "a\nb".to_owned()] {
            let error = IdempotencyKey::parse(&bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::BadUserInput);
        }
    }

    #[test]
    fn completed_effects_replay_as_they_were() {
        let id = Uuid::now_v7();
        let stored = outcome_of(&id).unwrap();
        assert_eq!(
            stored,
            json!({ "ok": id.to_string() }),
            "the form kept since the first version"
        );
        assert_eq!(replay::<Uuid>(&stored).unwrap(), Some(id));
        let ids = vec![Uuid::now_v7(), Uuid::now_v7()];
        assert_eq!(
            replay::<Vec<Uuid>>(&outcome_of(&ids).unwrap()).unwrap(),
            Some(ids)
        );
    }

    #[test]
    fn a_refusal_kept_by_an_earlier_version_is_not_replayed() {
        let refused =
            json!({ "error": { "code": "INVALID_STATE", "message": "no filing", "field": null } });
        assert_eq!(replay::<Uuid>(&refused).unwrap(), None);
    }

    #[test]
    fn the_same_arguments_hash_the_same() {
        let a = json!({ "id": "x", "input": { "amount": "10.00" } });
        let b = json!({ "id": "x", "input": { "amount": "10.01" } });
        assert_eq!(hash(&a), hash(&a.clone()));
        assert_ne!(hash(&a), hash(&b));
    }
}
