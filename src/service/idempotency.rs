//! Idempotency keys for requests that move money. The key is claimed inside the request's own
//! transaction, so the claim and the effect commit together: a retry, or a request racing the
//! first (from any instance), waits for the first to finish and is answered with its outcome.
//! PostgreSQL makes the racing `INSERT … ON CONFLICT DO NOTHING` wait on the first's row; SQLite
//! serialises writers with `BEGIN IMMEDIATE`. A refusal rolls back only the effect's savepoint
//! and is stored on the held key in the same transaction, so it is replayed too. Keys are kept at
//! least [`RETENTION_HOURS`].

use chrono::Duration;
use entity::idempotency_key as record;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::AppContext;
use crate::error::{AppError, AppResult, ErrorCode};

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

/// What claiming a key found.
#[derive(Debug)]
enum Claim {
    /// No key, or a new one: run the request in this transaction.
    Run(Option<Uuid>),
    /// The key was used before with the same arguments: answer this again.
    Replay(AppResult<Uuid>),
}

fn hash(arguments: &serde_json::Value) -> String {
    Sha256::digest(arguments.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn outcome_of(result: &AppResult<Uuid>) -> serde_json::Value {
    match result {
        Ok(id) => json!({ "ok": id }),
        Err(error) => {
            let field = match error {
                AppError::BadUserInput { field, .. } => Some(field.clone()),
                _ => None,
            };
            json!({ "error": { "code": error.code().as_str(), "message": error.to_string(), "field": field } })
        }
    }
}

fn replay(outcome: &serde_json::Value) -> AppResult<AppResult<Uuid>> {
    if let Some(id) = outcome.get("ok").and_then(|v| v.as_str()) {
        return Ok(Ok(Uuid::parse_str(id).map_err(AppError::internal)?));
    }
    let error = &outcome["error"];
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let code: ErrorCode = error["code"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("stored outcome has no code")))?;
    Ok(Err(match (code, error["field"].as_str()) {
        (ErrorCode::BadUserInput, Some(field)) => AppError::bad_input(field, message),
        _ => AppError::Replayed { code, message },
    }))
}

/// Claims `keyed` for `user` in `txn`, the request's transaction. Call first thing.
async fn claim(
    ctx: &AppContext,
    txn: &DatabaseTransaction,
    user: Uuid,
    keyed: Option<&Keyed>,
) -> AppResult<Claim> {
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
    let id = Uuid::now_v7();
    let request_hash = hash(&keyed.arguments);
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
        .filter(scope)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Conflict("the idempotency key is in use; retry".into()))?;
    if existing.request_hash != request_hash {
        return Err(AppError::Conflict(
            "this idempotency key was used for a different request".into(),
        ));
    }
    match existing.outcome {
        Some(outcome) => Ok(Claim::Replay(replay(&outcome)?)),
        // Committed without an outcome cannot happen; a key still being written is a race we
        // answer without a second effect.
        None => Err(AppError::Conflict(
            "a request with this idempotency key is still running".into(),
        )),
    }
}

/// Runs `effect` in one write transaction under `keyed`: the effect happens at most once per key,
/// and a retry gets the first outcome. Without a key it simply runs in the transaction.
///
/// Under a key the effect runs in a savepoint: a refusal rolls back only the effect, and its
/// outcome is written on the claimed row in the same transaction, so the key stays held until
/// the outcome is there and a racing request can only ever see that outcome.
pub async fn run<F>(
    ctx: &AppContext,
    user: Uuid,
    keyed: Option<&Keyed>,
    effect: F,
) -> AppResult<Uuid>
where
    F: AsyncFnOnce(&DatabaseTransaction) -> AppResult<Uuid>,
{
    let txn = ctx.begin_write().await?;
    let claimed = match claim(ctx, &txn, user, keyed).await? {
        Claim::Replay(outcome) => {
            txn.rollback().await?;
            return outcome;
        }
        Claim::Run(None) => {
            let result = effect(&txn).await;
            if result.is_ok() {
                txn.commit().await?;
            }
            return result;
        }
        Claim::Run(Some(id)) => id,
    };
    // SAVEPOINT and RELEASE (or ROLLBACK TO) count as statements too.
    ctx.statements
        .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    let savepoint = txn.begin().await?;
    let result = effect(&savepoint).await;
    match &result {
        Ok(_) => savepoint.commit().await?,
        Err(AppError::Internal(_)) => {
            // A failure of the system is not an answer: nothing is kept, and a retry runs anew.
            savepoint.rollback().await?;
            txn.rollback().await?;
            return result;
        }
        Err(_) => savepoint.rollback().await?,
    }
    record::Entity::update_many()
        .col_expr(
            record::Column::Outcome,
            sea_orm::sea_query::Expr::value(outcome_of(&result)),
        )
        .filter(record::Column::Id.eq(claimed))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    result
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
    fn outcomes_replay_as_they_were() {
        let id = Uuid::now_v7();
        assert_eq!(replay(&outcome_of(&Ok(id))).unwrap().unwrap(), id);
        let refused: AppResult<Uuid> = Err(AppError::InvalidState("already sent".into()));
        let replayed = replay(&outcome_of(&refused)).unwrap().unwrap_err();
        assert_eq!(replayed.code(), ErrorCode::InvalidState);
        assert_eq!(replayed.to_string(), "already sent");
        let bad: AppResult<Uuid> = Err(AppError::bad_input("input.amount", "too much"));
        match replay(&outcome_of(&bad)).unwrap().unwrap_err() {
            AppError::BadUserInput { field, message } => {
                assert_eq!(
                    (field.as_str(), message.as_str()),
                    ("input.amount", "too much")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_same_arguments_hash_the_same() {
        let a = json!({ "id": "x", "input": { "amount": "10.00" } });
        let b = json!({ "id": "x", "input": { "amount": "10.01" } });
        assert_eq!(hash(&a), hash(&a.clone()));
        assert_ne!(hash(&a), hash(&b));
    }
}
