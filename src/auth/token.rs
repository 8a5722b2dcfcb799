//! Registry passwords.
//!
//! `password = base64url(payload) "." base64url(HMAC-SHA256(secret, payload))` where the payload
//! is `{"a": account, "r": region, "e": expiry in ms}`. The password never contains `:` (the aws
//! CLI splits `AWS:<password>` on it), and checking it needs only the secret, which lives in the
//! data dir so tokens survive a restart.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use crate::core::Namespace;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Your authorization token is invalid.")]
    Invalid,
    #[error("Your authorization token has expired. Reauthenticate and try again.")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    a: String,
    r: String,
    e: i64,
}

/// Issues and checks registry passwords.
#[derive(Clone)]
pub struct Tokens {
    secret: [u8; 32],
}

impl Tokens {
    /// Loads the secret from `<dir>/token.secret`, creating it on first start.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Tokens> {
        let path = dir.join("token.secret");
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Tokens { secret });
            }
        }
        let secret: [u8; 32] = rand::random();
        let tmp = dir.join("token.secret.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(&secret)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(Tokens { secret })
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(data);
        mac
    }

    /// A password for `ns`, valid until `expires_at` (ms).
    pub fn issue(&self, ns: &Namespace, expires_at: i64) -> String {
        let payload = serde_json::to_vec(&Payload {
            a: ns.account.clone(),
            r: ns.region.clone(),
            e: expires_at,
        })
        .expect("payload serializes");
        let encoded = URL_SAFE_NO_PAD.encode(&payload);
        let tag = self.mac(encoded.as_bytes()).finalize().into_bytes();
        format!("{encoded}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The `authorizationToken` value: base64 of `AWS:<password>`.
    pub fn authorization_token(password: &str) -> String {
        STANDARD.encode(format!("AWS:{password}"))
    }

    /// The namespace a password was issued for, if it is genuine and unexpired at `now` (ms).
    pub fn verify(&self, password: &str, now: i64) -> Result<Namespace, TokenError> {
        let (encoded, tag) = password.split_once('.').ok_or(TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        self.mac(encoded.as_bytes())
            .verify_slice(&tag)
            .map_err(|_| TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| TokenError::Invalid)?;
        let payload: Payload = serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
        if now >= payload.e {
            return Err(TokenError::Expired);
        }
        Ok(Namespace::new(payload.a, payload.r))
    }

    /// A signature making `path` downloadable without other credentials until `expires_at` (ms):
    /// the URLs of GetDownloadUrlForLayer. What is signed, `url\n<path>\n<expiry>`, can never be
    /// a password payload (base64 has no newline), so neither passes for the other.
    pub fn sign_url(&self, path: &str, expires_at: i64) -> String {
        let tag = self
            .mac(format!("url\n{path}\n{expires_at}").as_bytes())
            .finalize()
            .into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    /// Checks a signature from [`Tokens::sign_url`] at `now` (ms): genuine first, then unexpired.
    pub fn verify_url(
        &self,
        path: &str,
        expires_at: i64,
        signature: &str,
        now: i64,
    ) -> Result<(), TokenError> {
        let tag = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Invalid)?;
        self.mac(format!("url\n{path}\n{expires_at}").as_bytes())
            .verify_slice(&tag)
            .map_err(|_| TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(())
    }

    /// Checks an HTTP `Authorization: Basic ...` value: user `AWS`, password one of ours.
    pub fn verify_basic(&self, header: &str, now: i64) -> Result<Namespace, TokenError> {
        let encoded = header
            .trim()
            .strip_prefix("Basic ")
            .ok_or(TokenError::Invalid)?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| TokenError::Invalid)?;
        let decoded = String::from_utf8(decoded).map_err(|_| TokenError::Invalid)?;
        match decoded.split_once(':') {
            Some(("AWS", password)) => self.verify(password, now),
            _ => Err(TokenError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::load_or_create(dir.path()).unwrap();
        let ns = Namespace::new("123456789012", "eu-west-1");
        let password = tokens.issue(&ns, 1_000);
        assert!(!password.contains(':'));
        assert_eq!(tokens.verify(&password, 999), Ok(ns.clone()));
        assert_eq!(tokens.verify(&password, 1_000), Err(TokenError::Expired));
        let basic = format!("Basic {}", Tokens::authorization_token(&password));
        assert_eq!(tokens.verify_basic(&basic, 0), Ok(ns));

        // Same secret after a restart; a forged payload fails.
        let again = Tokens::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&password, 0).is_ok());
        let (_, tag) = password.split_once('.').unwrap();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(br#"{"a":"999999999999","r":"eu-west-1","e":9999999999999}"#)
        );
        assert_eq!(tokens.verify(&forged, 0), Err(TokenError::Invalid));
        assert_eq!(
            tokens.verify_basic("Basic !!!", 0),
            Err(TokenError::Invalid)
        );
        let wrong_user = format!("Basic {}", STANDARD.encode(format!("bob:{password}")));
        assert_eq!(
            tokens.verify_basic(&wrong_user, 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn signed_urls_verify_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::load_or_create(dir.path()).unwrap();
        let path = "/_ecrd/layers/000000000000/us-east-1/app/sha256:00";
        let signature = tokens.sign_url(path, 1_000);
        assert_eq!(tokens.verify_url(path, 1_000, &signature, 999), Ok(()));
        assert_eq!(
            tokens.verify_url(path, 1_000, &signature, 1_000),
            Err(TokenError::Expired)
        );
        // Another path, a later expiry, or a garbled signature are forgeries.
        assert_eq!(
            tokens.verify_url(
                "/_ecrd/layers/000000000000/us-east-1/other/sha256:00",
                1_000,
                &signature,
                0
            ),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            tokens.verify_url(path, 2_000, &signature, 1_500),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            tokens.verify_url(path, 1_000, "!!", 0),
            Err(TokenError::Invalid)
        );
        // A URL signature is no password.
        assert_eq!(tokens.verify(&signature, 0), Err(TokenError::Invalid));
    }
}
