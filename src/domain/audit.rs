//! What an audit event may hold. Snapshots of objects go into the append-only trail, which is
//! read by many and never rewritten, so secrets are removed before they get there.

use serde_json::Value;

/// Key fragments that mark a secret, compared case-insensitively.
const SECRET_MARKERS: [&str; 6] = ["password", "token", "secret", "hash", "credential", "otp"];

pub const REDACTED: &str = "[redacted]";

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|marker| key.contains(marker))
}

/// Replaces the value of every key that names a secret, at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    if is_secret_key(&key) {
                        (key, Value::String(REDACTED.to_owned()))
                    } else {
                        (key, redact(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let redacted = redact(json!({
            "email": "a@example.org",
            "passwordHash": "$argon2id$...",
            "sessions": [{ "refreshToken": "abc", "ip": "127.0.0.1" }],
            "settings": { "smtpSecret": "x", "locale": "en" }
        }));
        assert_eq!(
            redacted,
            json!({
                "email": "a@example.org",
                "passwordHash": REDACTED,
                "sessions": [{ "refreshToken": REDACTED, "ip": "127.0.0.1" }],
                "settings": { "smtpSecret": REDACTED, "locale": "en" }
            })
        );
    }

    #[test]
    fn values_without_secrets_are_unchanged() {
        let value = json!({ "name": "Fund", "budget": { "amount": "10.00", "currency": "USD" } });
        assert_eq!(redact(value.clone()), value);
    }
}
