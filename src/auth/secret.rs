//! The access-token signing secret: from configuration (at least 32 bytes), or, for the
//! zero-configuration default, generated once and kept in the data folder.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};

pub const MIN_SECRET_BYTES: usize = 32;

/// Loads the configured secret, or the generated one (creating it on first start).
pub fn load(
    configured: Option<&secrecy::SecretString>,
    data_dir: &Path,
) -> anyhow::Result<SecretSlice<u8>> {
    if let Some(secret) = configured {
        let bytes = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            bytes.len() >= MIN_SECRET_BYTES,
            "BRIDGEFUND_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (it has {})",
            bytes.len()
        );
        return Ok(SecretSlice::from(bytes.to_vec()));
    }
    let path = data_dir.join("jwt-secret");
    if !path.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        let mut bytes = vec![0_u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        // Several processes may start at once (a server and workers): each writes its candidate
        // to a file of its own and links it into place; the link is atomic and only the first
        // succeeds, so every process ends up reading the same, complete secret.
        let candidate = data_dir.join(format!(".jwt-secret.{}.tmp", uuid::Uuid::new_v4().simple()));
        write_private(&candidate, &STANDARD.encode(&bytes))
            .with_context(|| format!("cannot write the signing secret {}", candidate.display()))?;
        let linked = std::fs::hard_link(&candidate, &path);
        let _ = std::fs::remove_file(&candidate);
        match linked {
            Ok(()) => {
                tracing::warn!(path = %path.display(), "generated a signing secret for development; set BRIDGEFUND_JWT_SECRET in production")
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("cannot write the signing secret {}", path.display())
                });
            }
        }
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the signing secret {}", path.display()))?;
    let bytes = STANDARD
        .decode(text.trim())
        .with_context(|| format!("{} does not hold a base64 secret", path.display()))?;
    anyhow::ensure!(
        bytes.len() >= MIN_SECRET_BYTES,
        "{} holds a secret that is too short",
        path.display()
    );
    Ok(SecretSlice::from(bytes))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_configured_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = secrecy::SecretString::from("too short".to_owned());
        assert!(load(Some(&short), dir.path()).is_err());
        let long = secrecy::SecretString::from("x".repeat(32));
        assert_eq!(
            load(Some(&long), dir.path()).unwrap().expose_secret().len(),
            32
        );
    }

    #[test]
    fn processes_starting_together_agree_on_one_secret() {
        let dir = tempfile::tempdir().unwrap();
        let secrets: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load(None, dir.path()).unwrap().expose_secret().to_vec()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.windows(2).all(|pair| pair[0] == pair[1]));
    }

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(None, dir.path()).unwrap();
        let second = load(None, dir.path()).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert!(first.expose_secret().len() >= MIN_SECRET_BYTES);
    }
}
