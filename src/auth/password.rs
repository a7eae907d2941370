//! Password hashing with Argon2id and the OWASP parameters (m = 19456 KiB, t = 2, p = 1), off the
//! async runtime: a hash takes tens of milliseconds of CPU.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::identity::Password;

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None)
        .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string.
pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await
    .context("the hashing task failed")?
}

/// Checks a password against a stored hash. With no hash (the account does not exist) it checks
/// against a fixed dummy hash and answers false, so an unknown email costs the same time.
pub async fn verify(candidate: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let candidate = candidate.to_owned();
    let known = stored.is_some();
    let stored = match stored {
        Some(hash) => hash.to_owned(),
        None => dummy_hash()?.to_owned(),
    };
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| anyhow::anyhow!("stored hash is malformed: {e}"))?;
        let matches = argon2()?
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && known)
    })
    .await
    .context("the verification task failed")?
}

fn dummy_hash() -> anyhow::Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2()?
        .hash_password(b"not a password anyone has", &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string();
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("anything at all", None).await.unwrap());
        assert!(!verify("not a password anyone has", None).await.unwrap());
    }
}
