//! ECR API errors as they go on the wire (awsJson1.1).
//!
//! An [`EcrError`] is either one of the model's exception shapes
//! ([`ErrorCode`]) or one of the errors the JSON front door raises before an
//! operation runs (SerializationException, UnknownOperationException) or for
//! operations ecrd does not implement (NotImplementedException, HTTP 501).
//!
//! No HTTP framework types here: the protocol layer turns an `EcrError` into a
//! response from [`EcrError::http_status`], [`EcrError::type_name`] and
//! [`EcrError::to_body`], adding the request id, `x-amzn-ErrorType` and the
//! content type.

use serde_json::{Map, Value};

use super::generated::ErrorCode;

/// What kind of error an [`EcrError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An exception shape of the ECR model.
    Modelled(ErrorCode),
    /// The request body is not a JSON object, or a member has the wrong JSON type.
    Serialization,
    /// The `X-Amz-Target` header names no ECR operation.
    UnknownOperation,
    /// A modelled operation ecrd does not implement (yet).
    NotImplemented,
}

/// An error response of the ECR API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", self.type_name())]
pub struct EcrError {
    pub code: ErrorKind,
    pub message: String,
    /// Modelled members of the exception besides `message`, e.g.
    /// InvalidLayerPartException's `registryId`, `repositoryName`, `uploadId`
    /// and `lastValidByteReceived`, or KmsException's `kmsError`.
    pub extra: Map<String, Value>,
}

impl EcrError {
    fn of(code: ErrorKind, message: impl Into<String>) -> EcrError {
        EcrError {
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// A modelled error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> EcrError {
        EcrError::of(ErrorKind::Modelled(code), message)
    }

    /// InvalidParameterException with a free-form message.
    pub fn invalid_parameter(message: impl Into<String>) -> EcrError {
        EcrError::new(ErrorCode::InvalidParameterException, message)
    }

    /// InvalidParameterException in ECR's form for a violated model constraint:
    /// `Invalid parameter at '<member>' failed to satisfy constraint: '<constraint>'`.
    pub fn constraint(member: &str, constraint: impl AsRef<str>) -> EcrError {
        EcrError::invalid_parameter(format!(
            "Invalid parameter at '{member}' failed to satisfy constraint: '{}'",
            constraint.as_ref()
        ))
    }

    /// ServerException: something went wrong on ecrd's side.
    pub fn server(message: impl Into<String>) -> EcrError {
        EcrError::new(ErrorCode::ServerException, message)
    }

    /// SerializationException: the body is not a JSON object or a member has the wrong type.
    pub fn serialization(message: impl Into<String>) -> EcrError {
        EcrError::of(ErrorKind::Serialization, message)
    }

    /// UnknownOperationException for an `X-Amz-Target` that names no operation.
    pub fn unknown_operation(target: &str) -> EcrError {
        EcrError::of(
            ErrorKind::UnknownOperation,
            format!("Unknown operation {target}"),
        )
    }

    /// NotImplementedException (HTTP 501) for a modelled operation ecrd lacks.
    pub fn not_implemented(operation: &str) -> EcrError {
        EcrError::of(
            ErrorKind::NotImplemented,
            format!("{operation} is not implemented by ecrd yet"),
        )
    }

    /// Adds a modelled member besides `message` to the error body.
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> EcrError {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The modelled error code, if this is a modelled error.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self.code {
            ErrorKind::Modelled(code) => Some(code),
            _ => None,
        }
    }

    /// Whether this is the modelled error `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == ErrorKind::Modelled(code)
    }

    /// 500 for server faults, 501 for unimplemented operations, 400 otherwise.
    pub fn http_status(&self) -> u16 {
        match self.code {
            ErrorKind::Modelled(code) => code.http_status(),
            ErrorKind::Serialization | ErrorKind::UnknownOperation => 400,
            ErrorKind::NotImplemented => 501,
        }
    }

    /// The short error name (no namespace): the body's `__type` and the
    /// `x-amzn-ErrorType` header.
    pub fn type_name(&self) -> &str {
        match self.code {
            ErrorKind::Modelled(code) => code.as_str(),
            ErrorKind::Serialization => "SerializationException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::NotImplemented => "NotImplementedException",
        }
    }

    /// The JSON error body: `{"__type": ..., "message": ..., <extra members>}`.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("__type".to_owned(), Value::from(self.type_name()));
        body.insert("message".to_owned(), Value::from(self.message.as_str()));
        for (k, v) in &self.extra {
            if k != "__type" && k != "message" {
                body.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&Value::Object(body)).expect("a JSON value always serializes")
    }
}

impl From<ErrorCode> for EcrError {
    /// A modelled error with an empty message.
    fn from(code: ErrorCode) -> EcrError {
        EcrError::new(code, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(e: &EcrError) -> Value {
        serde_json::from_slice(&e.to_body()).unwrap()
    }

    #[test]
    fn constraint_message_has_ecr_form() {
        let e = EcrError::constraint("repositoryName", "Member must not be null");
        assert!(e.is(ErrorCode::InvalidParameterException));
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            e.message,
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"
        );
        assert_eq!(e.type_name(), "InvalidParameterException");
        assert_eq!(
            body(&e),
            serde_json::json!({
                "__type": "InvalidParameterException",
                "message": "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'",
            })
        );
    }

    #[test]
    fn statuses_and_type_names() {
        let server = EcrError::server("boom");
        assert_eq!(
            (server.http_status(), server.type_name()),
            (500, "ServerException")
        );
        let ni = EcrError::not_implemented("PutImage");
        assert_eq!(
            (ni.http_status(), ni.type_name()),
            (501, "NotImplementedException")
        );
        assert_eq!(ni.message, "PutImage is not implemented by ecrd yet");
        let ser = EcrError::serialization("bad");
        assert_eq!(
            (ser.http_status(), ser.type_name()),
            (400, "SerializationException")
        );
        let unk = EcrError::unknown_operation("Foo.Bar");
        assert_eq!(
            (unk.http_status(), unk.type_name()),
            (400, "UnknownOperationException")
        );
        let nf = EcrError::new(ErrorCode::RepositoryNotFoundException, "nope");
        assert_eq!(nf.http_status(), 400);
        assert_eq!(
            nf.error_code(),
            Some(ErrorCode::RepositoryNotFoundException)
        );
        assert_eq!(ni.error_code(), None);
        assert_eq!(nf.to_string(), "RepositoryNotFoundException: nope");
        // Every modelled error but the server fault is the caller's.
        for code in ErrorCode::ALL {
            let expected = if code == ErrorCode::ServerException {
                500
            } else {
                400
            };
            assert_eq!(EcrError::from(code).http_status(), expected, "{code}");
        }
    }

    #[test]
    fn extra_members_go_in_the_body() {
        let e = EcrError::new(ErrorCode::InvalidLayerPartException, "bad part")
            .with_extra("registryId", "123456789012")
            .with_extra("repositoryName", "app")
            .with_extra("uploadId", "u-1")
            .with_extra("lastValidByteReceived", 41)
            .with_extra("message", "ignored: message is the message field");
        assert_eq!(
            body(&e),
            serde_json::json!({
                "__type": "InvalidLayerPartException",
                "message": "bad part",
                "registryId": "123456789012",
                "repositoryName": "app",
                "uploadId": "u-1",
                "lastValidByteReceived": 41,
            })
        );
        let kms = EcrError::new(ErrorCode::KmsException, "kms says no")
            .with_extra("kmsError", "Disabled");
        assert_eq!(body(&kms)["kmsError"], "Disabled");
    }
}
