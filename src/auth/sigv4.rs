//! Reading identity out of a SigV4 `Authorization` header (without verifying the signature, as
//! LocalStack does: any secret key works).

/// What the credential scope says: `Credential=<AKID>/<date>/<region>/<service>/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub region: String,
}

/// Parses the credential scope out of an `AWS4-HMAC-SHA256 Credential=..., ...` header.
pub fn credential_scope(authorization: &str) -> Option<CredentialScope> {
    let rest = authorization.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let mut fields = credential.split('/');
    let access_key_id = fields.next()?.to_owned();
    let _date = fields.next()?;
    let region = fields.next()?.to_owned();
    if access_key_id.is_empty() || region.is_empty() {
        return None;
    }
    Some(CredentialScope {
        access_key_id,
        region,
    })
}

/// The account an access key id stands for: a 12-digit key id is that account; anything else
/// (e.g. `test`) is `None`, meaning the configured default.
pub fn account_from_access_key(access_key_id: &str) -> Option<String> {
    (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| access_key_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scope_the_cli_sends() {
        let h = "AWS4-HMAC-SHA256 Credential=123456789012/20260101/eu-west-1/ecr/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc";
        let scope = credential_scope(h).unwrap();
        assert_eq!(scope.region, "eu-west-1");
        assert_eq!(
            account_from_access_key(&scope.access_key_id).as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_from_access_key("test"), None);
        assert_eq!(account_from_access_key("1234567890123"), None);
        assert_eq!(credential_scope("Basic abc"), None);
        assert_eq!(credential_scope("AWS4-HMAC-SHA256 Credential=/x"), None);
    }
}
