//! Who is asking, and in which namespace.
//!
//! * [`token`] — registry passwords from GetAuthorizationToken: HMAC-signed, carrying account,
//!   region and expiry, so checking one needs no database.
//! * [`sigv4`] — the ECR API's identity: region from the SigV4 credential scope, account from the
//!   access key id (LocalStack's convention). Signatures are not verified.

pub mod sigv4;
pub mod token;
