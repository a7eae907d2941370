//! Emails to a set of users, each in their own language: one outbox row per user, inside the
//! caller's transaction, with a de-duplication key per user so that an event is told once.

use entity::user_account;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::context::AppContext;
use crate::domain::locale::Locale;
use crate::error::{AppError, AppResult};
use crate::notify::{EmailKind, Recipient, enqueue};

/// Which of two texts a reader sees: their language's when there is one, else the other.
pub fn pick(zh: bool, zh_text: Option<&str>, en_text: Option<&str>) -> String {
    let (first, second) = if zh {
        (zh_text, en_text)
    } else {
        (en_text, zh_text)
    };
    first.or(second).unwrap_or_default().to_owned()
}

/// Emails `kind` to each of `users`. `event` names what happened (for example
/// `review_assigned:<assignment id>`); the de-duplication key adds the user. `context` builds the
/// template values for one user, told whether they read Chinese.
pub async fn email_users(
    ctx: &AppContext,
    db: &impl ConnectionTrait,
    kind: EmailKind,
    users: &[Uuid],
    event: &str,
    context: impl Fn(&user_account::Model, bool) -> serde_json::Value,
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let accounts = user_account::Entity::find()
        .filter(user_account::Column::Id.is_in(users.iter().copied()))
        .all(db)
        .await?;
    for user in &accounts {
        let locale: Option<Locale> = user.locale.parse().ok();
        let address = user
            .email
            .parse()
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored email is invalid: {e}")))?;
        enqueue(
            db,
            &ctx.notifier,
            &ctx.clock,
            kind,
            Recipient {
                address: &address,
                name: Some(&user.name),
                locale,
            },
            &format!("{event}:{}", user.id),
            &context(user, locale == Some(Locale::ZhCn)),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn readers_get_their_language_and_fall_back_to_the_other() {
        assert_eq!(pick(true, Some("水井"), Some("Wells")), "水井");
        assert_eq!(pick(false, Some("水井"), Some("Wells")), "Wells");
        assert_eq!(pick(true, None, Some("Wells")), "Wells");
        assert_eq!(pick(false, Some("水井"), None), "水井");
        assert_eq!(pick(false, None, None), "");
    }
}
