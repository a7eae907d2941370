//! Access tokens are short-lived JWTs signed with HS256 (the only algorithm accepted); every
//! registered claim is required. Refresh and email tokens are opaque random strings, stored only
//! as SHA-256 hashes, and carry a prefix so one kind can never pass for another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const ISSUER: &str = "bridgefund";
pub const AUDIENCE: &str = "bridgefund-api";
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);

/// The claims of an access token. None is optional: a token without one does not decode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
}

/// Signs and checks access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid access token")]
pub struct InvalidToken;

impl TokenKeys {
    pub fn new(secret: &SecretSlice<u8>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose_secret()),
            decoding: DecodingKey::from_secret(secret.expose_secret()),
            validation,
        }
    }

    /// Issues an access token for `user`, valid from `now` for the standard lifetime.
    pub fn issue(&self, user: Uuid, now: DateTime<Utc>) -> anyhow::Result<(String, DateTime<Utc>)> {
        let expires_at = now + ACCESS_TOKEN_LIFETIME;
        let claims = AccessClaims {
            sub: user,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("cannot sign an access token: {e}"))?;
        Ok((token, expires_at))
    }

    /// Checks a presented token at `now`: signature, algorithm, issuer, audience, expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, InvalidToken> {
        let mut validation = self.validation.clone();
        // Expiry is checked against our clock, not the system's, so tests can move time.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|_| InvalidToken)?;
        let claims = data.claims;
        if claims.exp <= now.timestamp() || claims.iat > now.timestamp() + 60 {
            return Err(InvalidToken);
        }
        Ok(claims)
    }
}

/// The kinds of opaque token, told apart by their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueKind {
    Refresh,
    VerifyEmail,
    PasswordReset,
    Invitation,
}

impl OpaqueKind {
    fn prefix(self) -> &'static str {
        match self {
            OpaqueKind::Refresh => "bfr_",
            OpaqueKind::VerifyEmail => "bfv_",
            OpaqueKind::PasswordReset => "bfp_",
            OpaqueKind::Invitation => "bfi_",
        }
    }
}

/// A new random token of a kind, and the hash to store.
pub fn new_opaque(kind: OpaqueKind) -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_opaque(&token);
    (token, hash)
}

/// The stored form of an opaque token, if it is of the expected kind.
pub fn opaque_hash(kind: OpaqueKind, token: &str) -> Option<String> {
    token
        .trim()
        .starts_with(kind.prefix())
        .then(|| hash_opaque(token.trim()))
}

fn hash_opaque(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretSlice::from(vec![7_u8; 32]))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let user = Uuid::new_v4();
        let (token, expires_at) = keys().issue(user, now()).unwrap();
        assert_eq!(expires_at, now() + Duration::minutes(15));
        assert_eq!(keys().verify(&token, now()).unwrap().sub, user);
        assert!(keys().verify(&token, expires_at).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = TokenKeys::new(&SecretSlice::from(vec![8_u8; 32]));
        let (token, _) = other.issue(Uuid::new_v4(), now()).unwrap();
        assert!(keys().verify(&token, now()).is_err());
    }

    #[test]
    fn opaque_tokens_of_one_kind_do_not_pass_for_another() {
        let (token, hash) = new_opaque(OpaqueKind::Refresh);
        assert_eq!(opaque_hash(OpaqueKind::Refresh, &token), Some(hash));
        assert_eq!(opaque_hash(OpaqueKind::PasswordReset, &token), None);
        assert!(
            keys().verify(&token, now()).is_err(),
            "a refresh token is not an access token"
        );
    }
}
