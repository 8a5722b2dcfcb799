//! Tests of the generated ECR API code: request decoding, validation with
//! ECR's messages, serialization of outputs, and dispatch.

use serde_json::{json, Value};

use super::error::{EcrError, ErrorKind};
use super::generated::*;
use super::wire_types::{Blob, Timestamp};

/// An API that implements nothing: every operation is NotImplemented.
struct Nothing;

impl EcrApi for Nothing {
    type Context = ();
}

/// An API implementing two operations, the way the real one will (`async fn`).
struct Some2;

impl EcrApi for Some2 {
    type Context = String;

    async fn create_repository(
        &self,
        ctx: &String,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResponse, EcrError> {
        Ok(CreateRepositoryResponse {
            repository: Some(Repository {
                registry_id: Some(ctx.clone()),
                repository_name: input.repository_name,
                created_at: Some(Timestamp::from_unix_millis(1_767_225_600_123)),
                image_tag_mutability: Some(
                    input
                        .image_tag_mutability
                        .unwrap_or(ImageTagMutability::Mutable),
                ),
                ..Default::default()
            }),
        })
    }

    async fn delete_repository(
        &self,
        _ctx: &String,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResponse, EcrError> {
        Err(EcrError::new(
            ErrorCode::RepositoryNotFoundException,
            format!(
                "The repository with name '{}' does not exist",
                input.repository_name.unwrap_or_default()
            ),
        ))
    }
}

async fn call(op: Operation, body: &str) -> Result<Value, EcrError> {
    let out = dispatch(&Nothing, &(), op, body.as_bytes()).await?;
    Ok(serde_json::from_slice(&out).expect("dispatch returns JSON"))
}

/// The error of dispatching `body` to `op` on an API that implements nothing.
async fn rejection(op: Operation, body: &str) -> EcrError {
    match call(op, body).await {
        Ok(v) => panic!("{op} accepted {body}: {v}"),
        Err(e) => e,
    }
}

fn constraint(member: &str, text: &str) -> String {
    format!("Invalid parameter at '{member}' failed to satisfy constraint: '{text}'")
}

fn assert_invalid(e: &EcrError, member: &str, text: &str) {
    assert_eq!(
        e.code,
        ErrorKind::Modelled(ErrorCode::InvalidParameterException),
        "{e}"
    );
    assert_eq!(e.message, constraint(member, text));
}

#[tokio::test]
async fn bad_enum_value_gets_the_enum_message() {
    let e = rejection(
        Operation::CreateRepository,
        r#"{"repositoryName":"app","imageTagMutability":"SOMETIMES"}"#,
    )
    .await;
    assert_invalid(
        &e,
        "imageTagMutability",
        "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]",
    );
    // Enum values are case-sensitive.
    let e = rejection(
        Operation::CreateRepository,
        r#"{"repositoryName":"app","imageTagMutability":"mutable"}"#,
    )
    .await;
    assert!(e.message.contains("enum value set"), "{e}");
}

#[tokio::test]
async fn missing_or_null_required_member() {
    for body in [
        "",
        "  \n",
        "{}",
        r#"{"repositoryName":null}"#,
        r#"{"imageTagMutability":"MUTABLE"}"#,
    ] {
        let e = rejection(Operation::CreateRepository, body).await;
        assert_invalid(&e, "repositoryName", "Member must not be null");
    }
}

#[tokio::test]
async fn repository_name_length_and_pattern() {
    let e = rejection(Operation::CreateRepository, r#"{"repositoryName":"a"}"#).await;
    assert_invalid(
        &e,
        "repositoryName",
        "Member must have length greater than or equal to 2",
    );

    let long = "a".repeat(257);
    let e = rejection(
        Operation::CreateRepository,
        &format!(r#"{{"repositoryName":"{long}"}}"#),
    )
    .await;
    assert_invalid(
        &e,
        "repositoryName",
        "Member must have length less than or equal to 256",
    );
    // 256 is fine.
    let ok = "a".repeat(256);
    let e = rejection(
        Operation::CreateRepository,
        &format!(r#"{{"repositoryName":"{ok}"}}"#),
    )
    .await;
    assert_eq!(e.code, ErrorKind::NotImplemented);

    let pattern = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*";
    for bad in ["MyApp", "app/", "-app", "app..x", "app name"] {
        let e = rejection(
            Operation::CreateRepository,
            &json!({ "repositoryName": bad }).to_string(),
        )
        .await;
        assert_invalid(
            &e,
            "repositoryName",
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        );
    }
    // The pattern must match the whole value, and good names pass.
    for good in ["app", "team/app", "a-b_c.d", "a--b", "a__b/c"] {
        let e = rejection(
            Operation::CreateRepository,
            &json!({ "repositoryName": good }).to_string(),
        )
        .await;
        assert_eq!(e.code, ErrorKind::NotImplemented, "{good}: {e}");
    }
}

#[tokio::test]
async fn integer_range() {
    let e = rejection(Operation::DescribeRepositories, r#"{"maxResults":0}"#).await;
    assert_invalid(
        &e,
        "maxResults",
        "Member must have value greater than or equal to 1",
    );
    let e = rejection(Operation::DescribeRepositories, r#"{"maxResults":1001}"#).await;
    assert_invalid(
        &e,
        "maxResults",
        "Member must have value less than or equal to 1000",
    );
    let e = rejection(Operation::DescribeRepositories, r#"{"maxResults":1000}"#).await;
    assert_eq!(e.code, ErrorKind::NotImplemented);
}

#[tokio::test]
async fn nested_structures_lists_and_items_are_validated() {
    // A required member of a nested structure, named by its own name.
    let e = rejection(
        Operation::CreateRepository,
        r#"{"repositoryName":"app","encryptionConfiguration":{}}"#,
    )
    .await;
    assert_invalid(&e, "encryptionType", "Member must not be null");
    // A list's own length.
    let e = rejection(Operation::DescribeRepositories, r#"{"repositoryNames":[]}"#).await;
    assert_invalid(
        &e,
        "repositoryNames",
        "Member must have length greater than or equal to 1",
    );
    // A list item's constraint is reported at the list member.
    let e = rejection(
        Operation::DescribeRepositories,
        r#"{"repositoryNames":["ok","X"]}"#,
    )
    .await;
    assert_invalid(
        &e,
        "repositoryNames",
        "Member must have length greater than or equal to 2",
    );
    // Structures inside lists.
    let e = rejection(
        Operation::TagResource,
        r#"{"resourceArn":"arn:aws:ecr:us-east-1:123456789012:repository/app","tags":[{"Key":"k"}]}"#,
    )
    .await;
    assert_invalid(&e, "Value", "Member must not be null");
    // Registry ids are 12 digits.
    let e = rejection(Operation::DescribeRepositories, r#"{"registryId":"1234"}"#).await;
    assert_invalid(
        &e,
        "registryId",
        "Member must satisfy regular expression pattern: [0-9]{12}",
    );
}

#[tokio::test]
async fn required_members_come_first() {
    // Both a missing required member and a bad optional one: the missing one wins.
    let e = rejection(
        Operation::CreateRepository,
        r#"{"imageTagMutability":"NOPE"}"#,
    )
    .await;
    assert_invalid(&e, "repositoryName", "Member must not be null");
}

#[tokio::test]
async fn wrong_json_is_a_serialization_error() {
    for body in [
        r#"{"repositoryName":"app","maxResults":"10"}"#, // string for a number
        r#"{"repositoryNames":"app"}"#,                  // string for a list
        r#"{"repositoryNames":[1]}"#,                    // number for a string
        r#"{"maxResults":1.5}"#,                         // float for an integer
        r#"{"maxResults":99999999999}"#,                 // out of i32 range
        "[]",
        r#""app""#,
        "null",
        "{",
        r#"{"repositoryNames":["a"]} trailing"#,
    ] {
        let e = rejection(Operation::DescribeRepositories, body).await;
        assert_eq!(e.code, ErrorKind::Serialization, "{body}: {e}");
        assert_eq!(e.type_name(), "SerializationException");
        assert_eq!(e.http_status(), 400);
        assert!(!e.message.is_empty());
    }
}

#[tokio::test]
async fn unknown_members_are_ignored() {
    let e = rejection(
        Operation::CreateRepository,
        r#"{"repositoryName":"app","somethingNew":{"x":[1,2]},"Tags":5}"#,
    )
    .await;
    assert_eq!(e.code, ErrorKind::NotImplemented);
}

/// A body that satisfies every operation's required members (members an
/// operation does not know are ignored).
fn everything_required() -> Value {
    json!({
        "repositoryName": "app",
        "repositoryNames": ["app"],
        "layerDigests": ["sha256:0123abcd"],
        "layerDigest": "sha256:0123abcd",
        "imageIds": [{"imageTag": "latest"}],
        "imageId": {"imageTag": "latest"},
        "subjectId": {"imageDigest": "sha256:0123abcd"},
        "uploadId": "0b5c2a6e-1f4d-4c8e-9a3b-7d2e1f0c9b8a",
        "partFirstByte": 0,
        "partLastByte": 3,
        "layerPartBlob": "AAECAw==",
        "ecrRepositoryPrefix": "hub",
        "upstreamRegistryUrl": "registry-1.docker.io",
        "prefix": "team",
        "appliedFor": ["REPLICATION"],
        "principalArn": "arn:aws:iam::123456789012:role/puller",
        "name": "BASIC_SCAN_TYPE_VERSION",
        "value": "AWS_NATIVE",
        "resourceArn": "arn:aws:ecr:us-east-1:123456789012:repository/app",
        "tags": [{"Key": "team", "Value": "core"}],
        "tagKeys": ["team"],
        "imageManifest": "{}",
        "imageScanningConfiguration": {"scanOnPush": true},
        "imageTagMutability": "IMMUTABLE",
        "lifecyclePolicyText": format!("{{\"rules\":[]{}}}", " ".repeat(100)),
        "policyText": "{}",
        "replicationConfiguration": {"rules": [{"destinations": [{"region": "eu-west-1", "registryId": "123456789012"}]}]},
        "signingConfiguration": {"rules": []},
        "targetStorageClass": "ARCHIVE",
    })
}

#[tokio::test]
async fn every_operation_defaults_to_not_implemented() {
    assert_eq!(Operation::ALL.len(), 58);
    let body = everything_required().to_string();
    for op in Operation::ALL {
        let e = rejection(op, &body).await;
        assert_eq!(e.code, ErrorKind::NotImplemented, "{op}: {e}");
        assert_eq!(e.http_status(), 501);
        assert_eq!(e.type_name(), "NotImplementedException");
        assert_eq!(
            e.message,
            format!("{} is not implemented by ecrd yet", op.name())
        );
    }
}

#[test]
fn operations_and_targets() {
    for op in Operation::ALL {
        let target = format!("AmazonEC2ContainerRegistry_V20150921.{}", op.name());
        assert_eq!(Operation::from_target(&target), Some(op));
        assert_eq!(Operation::from_name(op.name()), Some(op));
        assert!(!op.errors().is_empty(), "{op}");
        assert!(op.errors().contains(&ErrorCode::ServerException), "{op}");
    }
    assert_eq!(TARGET_PREFIX, "AmazonEC2ContainerRegistry_V20150921");
    assert_eq!(CONTENT_TYPE, "application/x-amz-json-1.1");
    for bad in [
        "CreateRepository",
        "AmazonEC2ContainerRegistry_V20150921CreateRepository",
        "AmazonEC2ContainerRegistry_V20150921.createRepository",
        "AmazonEC2ContainerRegistry_V20150921.CreateRepository ",
        "AmazonEC2ContainerRegistry_V20150921.",
        "Other_V1.CreateRepository",
    ] {
        assert_eq!(Operation::from_target(bad), None, "{bad}");
    }
    assert_eq!(
        Operation::UploadLayerPart.errors(),
        &[
            ErrorCode::ServerException,
            ErrorCode::InvalidParameterException,
            ErrorCode::InvalidLayerPartException,
            ErrorCode::RepositoryNotFoundException,
            ErrorCode::UploadNotFoundException,
            ErrorCode::LimitExceededException,
            ErrorCode::KmsException,
        ]
    );
}

#[test]
fn error_codes() {
    assert!(ErrorCode::ServerException.is_fault());
    assert_eq!(ErrorCode::ServerException.http_status(), 500);
    assert!(!ErrorCode::RepositoryNotFoundException.is_fault());
    assert_eq!(ErrorCode::RepositoryNotFoundException.http_status(), 400);
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
    }
    assert_eq!(ErrorCode::from_name("NotImplementedException"), None);
}

#[test]
fn enums_round_trip_and_keep_unknown_values() {
    let v: ImageTagMutability = serde_json::from_str("\"IMMUTABLE_WITH_EXCLUSION\"").unwrap();
    assert_eq!(v, ImageTagMutability::ImmutableWithExclusion);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        "\"IMMUTABLE_WITH_EXCLUSION\""
    );
    let u: ImageTagMutability = serde_json::from_str("\"SOMETIMES\"").unwrap();
    assert_eq!(u, ImageTagMutability::Unknown("SOMETIMES".into()));
    assert!(!u.is_known());
    assert_eq!(u.as_str(), "SOMETIMES");
    assert_eq!(serde_json::to_string(&u).unwrap(), "\"SOMETIMES\"");
    assert_eq!(EncryptionType::from("KMS_DSSE"), EncryptionType::KmsDsse);
    assert_eq!(EncryptionType::Aes256.to_string(), "AES256");
    assert_eq!(TagStatus::VALUES, ["TAGGED", "UNTAGGED", "ANY"]);
    assert_eq!(
        ImageFailureCode::from(String::from("ImageNotFound")),
        ImageFailureCode::ImageNotFound
    );
    assert_eq!(
        LayerFailureCode::MissingLayerDigest.as_str(),
        "MissingLayerDigest"
    );
    assert_eq!(UpstreamRegistry::EcrPublic.as_str(), "ecr-public");
    assert!(serde_json::from_str::<TagStatus>("1").is_err());
}

#[tokio::test]
async fn implemented_operations_are_called_and_outputs_encoded() {
    let ctx = "123456789012".to_owned();
    let out = dispatch(
        &Some2,
        &ctx,
        Operation::CreateRepository,
        br#"{"repositoryName":"team/app"}"#,
    )
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    // Absent members are omitted; timestamps are epoch seconds.
    assert_eq!(
        v,
        json!({"repository": {
            "registryId": "123456789012",
            "repositoryName": "team/app",
            "createdAt": 1767225600.123,
            "imageTagMutability": "MUTABLE",
        }})
    );
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("\"createdAt\":1767225600.123"));

    let e = dispatch(
        &Some2,
        &ctx,
        Operation::DeleteRepository,
        br#"{"repositoryName":"gone","force":true}"#,
    )
    .await
    .unwrap_err();
    assert!(e.is(ErrorCode::RepositoryNotFoundException));
    assert_eq!(e.message, "The repository with name 'gone' does not exist");

    // Validation happens before the method is called.
    let e = dispatch(&Some2, &ctx, Operation::DeleteRepository, b"{}")
        .await
        .unwrap_err();
    assert_invalid(&e, "repositoryName", "Member must not be null");
    // Unimplemented operations still default.
    let e = dispatch(&Some2, &ctx, Operation::DescribeRepositories, b"")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorKind::NotImplemented);
}

#[test]
fn the_dispatch_future_is_send() {
    fn assert_send<T: Send>(_: T) {}
    assert_send(dispatch(&Nothing, &(), Operation::ListImages, b"{}"));
    let ctx = String::new();
    assert_send(dispatch(&Some2, &ctx, Operation::ListImages, b"{}"));
}

#[test]
fn wire_types_in_structures() {
    let req: UploadLayerPartRequest = serde_json::from_value(json!({
        "repositoryName": "app",
        "uploadId": "0b5c2a6e-1f4d-4c8e-9a3b-7d2e1f0c9b8a",
        "partFirstByte": 0,
        "partLastByte": 3,
        "layerPartBlob": "AAECAw==",
    }))
    .unwrap();
    assert_eq!(req.layer_part_blob, Some(Blob::new(vec![0, 1, 2, 3])));
    req.validate().unwrap();
    let back = serde_json::to_value(&req).unwrap();
    assert_eq!(back["layerPartBlob"], "AAECAw==");
    assert_eq!(back["partLastByte"], 3);

    let bad = UploadLayerPartRequest {
        part_first_byte: Some(-1),
        ..req.clone()
    };
    assert_invalid(
        &bad.validate().unwrap_err(),
        "partFirstByte",
        "Member must have value greater than or equal to 0",
    );
    let bad = UploadLayerPartRequest {
        upload_id: Some("not-a-uuid".into()),
        ..req
    };
    assert!(bad.validate().unwrap_err().message.contains("'uploadId'"));

    let auth = GetAuthorizationTokenResponse {
        authorization_data: Some(vec![AuthorizationData {
            authorization_token: Some("QVdTOnNlY3JldA==".into()),
            expires_at: Some(Timestamp::from_unix_secs(1_767_268_800)),
            proxy_endpoint: Some("https://123456789012.dkr.ecr.us-east-1.amazonaws.com".into()),
        }]),
    };
    assert_eq!(
        serde_json::to_value(&auth).unwrap(),
        json!({"authorizationData": [{
            "authorizationToken": "QVdTOnNlY3JldA==",
            "expiresAt": 1767268800,
            "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        }]})
    );
    // An empty output serializes as an empty object.
    assert_eq!(
        serde_json::to_string(&TagResourceResponse {}).unwrap(),
        "{}"
    );
}
