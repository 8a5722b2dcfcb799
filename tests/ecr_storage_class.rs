//! UpdateImageStorageClass through aws-sdk-ecr, checked against the registry API: archived images
//! cannot be pulled, restored ones can; indexes, their images and referrers move together by
//! ecrd's rules (see `core::storage_class`).

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ArtifactStatusFilter, DescribeImagesFilter, ImageIdentifier, ImageStatus, ImageStatusFilter,
    ListImageReferrersFilter, SubjectIdentifier, TargetStorageClass,
};
use common::{push_image, push_referrer, put_manifest, TestServer, T0};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn by_tag(tag: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_tag(tag).build()
}

fn by_digest(digest: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_digest(digest).build()
}

async fn update(
    server: &TestServer,
    repo: &str,
    id: ImageIdentifier,
    target: TargetStorageClass,
) -> Result<
    aws_sdk_ecr::operation::update_image_storage_class::UpdateImageStorageClassOutput,
    (String, String),
> {
    server
        .ecr()
        .update_image_storage_class()
        .repository_name(repo)
        .image_id(id)
        .target_storage_class(target)
        .send()
        .await
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_owned(),
                e.message().unwrap_or_default().to_owned(),
            )
        })
}

/// The status of an image, found among all images whatever their status.
async fn status_of(server: &TestServer, repo: &str, digest: &str) -> ImageStatus {
    let out = server
        .ecr()
        .describe_images()
        .repository_name(repo)
        .image_ids(by_digest(digest))
        .send()
        .await
        .unwrap();
    out.image_details()[0].image_status().unwrap().clone()
}

/// GET of a manifest over the registry API: `(status, error code)`.
async fn pull(server: &TestServer, basic: &str, repo: &str, reference: &str) -> (u16, String) {
    let response = server
        .http()
        .get(format!("{}/v2/{repo}/manifests/{reference}", server.url))
        .header("authorization", basic)
        .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (
        status,
        body["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn millis(t: &aws_sdk_ecr::primitives::DateTime) -> i64 {
    t.to_millis().unwrap()
}

/// Pushes an index listing `children` under `tag`; returns its digest.
async fn push_index(
    server: &TestServer,
    basic: &str,
    repo: &str,
    tag: &str,
    children: &[&str],
) -> String {
    let manifests: Vec<_> = children
        .iter()
        .map(|d| {
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d, "size": 100,
                                    "platform": {"architecture": "amd64", "os": "linux"}})
        })
        .collect();
    let body =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
            .to_string();
    let response = put_manifest(server, basic, repo, tag, OCI_INDEX, body.as_bytes()).await;
    assert_eq!(response.status(), 201);
    ecrd::core::names::Digest::of(body.as_bytes()).to_string()
}

#[tokio::test]
async fn archiving_hides_an_image_and_restoring_brings_it_back() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    // Set before the registry token is made, which would expire by the jump.
    let clock = server.state.registry.clock().clone();
    clock.set(T0);
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;
    let other = push_image(&server, &basic, "app", "v2", "two").await;

    let out = update(&server, "app", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap();
    assert_eq!(out.registry_id(), Some("000000000000"));
    assert_eq!(out.repository_name(), Some("app"));
    assert_eq!(
        out.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert_eq!(out.image_id().unwrap().image_tag(), Some("v1"));
    assert_eq!(out.image_status(), Some(&ImageStatus::Archived));

    // Not pullable, by tag or digest; the other image is.
    assert_eq!(
        pull(&server, &basic, "app", "v1").await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(
        pull(&server, &basic, "app", &digest).await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(pull(&server, &basic, "app", "v2").await.0, 200);
    // Hidden from default listings, shown when asked for.
    let ecr = server.ecr();
    let listed = ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let digests: Vec<_> = listed
        .image_details()
        .iter()
        .map(|d| d.image_digest().unwrap())
        .collect();
    assert_eq!(digests, [other.as_str()]);
    let archived = ecr
        .describe_images()
        .repository_name("app")
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Archived)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let detail = &archived.image_details()[0];
    assert_eq!(detail.image_digest(), Some(digest.as_str()));
    assert_eq!(detail.image_status(), Some(&ImageStatus::Archived));
    assert!((millis(detail.last_archived_at().unwrap()) - T0).abs() < 5_000);
    assert!(detail.last_activated_at().is_none());

    // Archiving again is refused, and changes nothing.
    clock.set(T0 + 3_600_000);
    let (code, message) = update(
        &server,
        "app",
        by_digest(&digest),
        TargetStorageClass::Archive,
    )
    .await
    .unwrap_err();
    assert_eq!(code, "ImageStorageClassUpdateNotSupportedException");
    assert_eq!(
        message,
        format!("The image with digest '{digest}' is already in the ARCHIVE storage class")
    );
    let again = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_digest(&digest))
        .send()
        .await
        .unwrap();
    assert!((millis(again.image_details()[0].last_archived_at().unwrap()) - T0).abs() < 5_000);

    // Restore: ACTIVATING in the answer, ACTIVE right after.
    let out = update(
        &server,
        "app",
        by_digest(&digest),
        TargetStorageClass::Standard,
    )
    .await
    .unwrap();
    assert_eq!(out.image_status(), Some(&ImageStatus::Activating));
    assert_eq!(
        out.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert_eq!(out.image_id().unwrap().image_tag(), None);
    assert_eq!(pull(&server, &basic, "app", "v1").await.0, 200);
    let restored = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .unwrap();
    let detail = &restored.image_details()[0];
    assert_eq!(detail.image_status(), Some(&ImageStatus::Active));
    assert!((millis(detail.last_activated_at().unwrap()) - (T0 + 3_600_000)).abs() < 5_000);
    assert!((millis(detail.last_archived_at().unwrap()) - T0).abs() < 5_000);
    assert_eq!(
        ecr.describe_images()
            .repository_name("app")
            .send()
            .await
            .unwrap()
            .image_details()
            .len(),
        2
    );

    // Restoring an active image is refused.
    let (code, message) = update(&server, "app", by_tag("v1"), TargetStorageClass::Standard)
        .await
        .unwrap_err();
    assert_eq!(code, "ImageStorageClassUpdateNotSupportedException");
    assert_eq!(
        message,
        format!("The image with digest '{digest}' is already in the STANDARD storage class")
    );
    assert_eq!(
        status_of(&server, "app", &digest).await,
        ImageStatus::Active
    );
}

#[tokio::test]
async fn missing_images_and_repositories() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;

    let (code, message) = update(&server, "app", by_tag("v9"), TargetStorageClass::Archive)
        .await
        .unwrap_err();
    assert_eq!(code, "ImageNotFoundException");
    assert_eq!(
        message,
        "The image with imageId {imageDigest:null, imageTag:'v9'} does not exist within the repository with name 'app' in the registry with id '000000000000'"
    );
    let absent = format!("sha256:{}", "0".repeat(64));
    let (code, message) = update(
        &server,
        "app",
        by_digest(&absent),
        TargetStorageClass::Archive,
    )
    .await
    .unwrap_err();
    assert_eq!(code, "ImageNotFoundException");
    assert_eq!(
        message,
        format!("The image with imageId {{imageDigest:'{absent}', imageTag:null}} does not exist within the repository with name 'app' in the registry with id '000000000000'")
    );
    // A tag that names another image than the digest.
    let other = push_image(&server, &basic, "app", "v2", "two").await;
    let mismatched = ImageIdentifier::builder()
        .image_digest(&other)
        .image_tag("v1")
        .build();
    let (code, _) = update(&server, "app", mismatched, TargetStorageClass::Archive)
        .await
        .unwrap_err();
    assert_eq!(code, "ImageNotFoundException");

    let (code, message) = update(&server, "nope", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap_err();
    assert_eq!(code, "RepositoryNotFoundException");
    assert_eq!(
        message,
        "The repository with name 'nope' does not exist in the registry with id '000000000000'"
    );
    let (code, _) = update(
        &server,
        "app",
        by_tag("v1"),
        TargetStorageClass::from("GLACIER"),
    )
    .await
    .unwrap_err();
    assert_eq!(code, "InvalidParameterException");
    // Nothing changed.
    assert_eq!(
        status_of(&server, "app", &digest).await,
        ImageStatus::Active
    );
    assert_eq!(status_of(&server, "app", &other).await, ImageStatus::Active);
}

#[tokio::test]
async fn an_image_an_active_index_lists_cannot_be_archived() {
    let server = TestServer::start().await;
    server.create_repository("multi").await;
    let basic = server.basic().await;
    let amd = push_image(&server, &basic, "multi", "amd", "amd").await;
    let arm = push_image(&server, &basic, "multi", "arm", "arm").await;
    let index = push_index(&server, &basic, "multi", "latest", &[&amd, &arm]).await;

    let (code, message) = update(&server, "multi", by_tag("amd"), TargetStorageClass::Archive)
        .await
        .unwrap_err();
    assert_eq!(code, "ImageStorageClassUpdateNotSupportedException");
    assert_eq!(
        message,
        format!("The image with digest '{amd}' is referenced by the image index with digest '{index}', which is not archived. Archive the image index first")
    );
    assert_eq!(status_of(&server, "multi", &amd).await, ImageStatus::Active);

    // Archiving the index leaves its images as they are.
    let out = update(
        &server,
        "multi",
        by_tag("latest"),
        TargetStorageClass::Archive,
    )
    .await
    .unwrap();
    assert_eq!(out.image_status(), Some(&ImageStatus::Archived));
    assert_eq!(
        pull(&server, &basic, "multi", "latest").await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(pull(&server, &basic, "multi", "amd").await.0, 200);
    assert_eq!(status_of(&server, "multi", &arm).await, ImageStatus::Active);

    // Now its images may go too; restoring the index brings them back with it.
    update(&server, "multi", by_tag("amd"), TargetStorageClass::Archive)
        .await
        .unwrap();
    assert_eq!(pull(&server, &basic, "multi", "amd").await.0, 404);
    let out = update(
        &server,
        "multi",
        by_digest(&index),
        TargetStorageClass::Standard,
    )
    .await
    .unwrap();
    assert_eq!(out.image_status(), Some(&ImageStatus::Activating));
    for digest in [&index, &amd, &arm] {
        assert_eq!(
            status_of(&server, "multi", digest).await,
            ImageStatus::Active
        );
    }
    assert_eq!(pull(&server, &basic, "multi", "latest").await.0, 200);
    assert_eq!(pull(&server, &basic, "multi", "amd").await.0, 200);
}

#[tokio::test]
async fn referrers_follow_their_subject() {
    let server = TestServer::start().await;
    server.create_repository("sig").await;
    let basic = server.basic().await;
    let subject = push_image(&server, &basic, "sig", "v1", "subject").await;
    let signature = push_referrer(
        &server,
        &basic,
        "sig",
        &subject,
        "application/vnd.cncf.notary.signature",
    )
    .await;
    // A signature of the signature follows too.
    let countersignature = push_referrer(
        &server,
        &basic,
        "sig",
        &signature,
        "application/vnd.cncf.notary.signature",
    )
    .await;

    update(&server, "sig", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap();
    for digest in [&subject, &signature, &countersignature] {
        assert_eq!(
            status_of(&server, "sig", digest).await,
            ImageStatus::Archived
        );
    }
    let ecr = server.ecr();
    let referrers = |status: ArtifactStatusFilter| {
        ecr.list_image_referrers()
            .repository_name("sig")
            .subject_id(
                SubjectIdentifier::builder()
                    .image_digest(&subject)
                    .build()
                    .unwrap(),
            )
            .filter(
                ListImageReferrersFilter::builder()
                    .artifact_status(status)
                    .build(),
            )
            .send()
    };
    assert!(referrers(ArtifactStatusFilter::Active)
        .await
        .unwrap()
        .referrers()
        .is_empty());
    let archived = referrers(ArtifactStatusFilter::Archived).await.unwrap();
    assert_eq!(archived.referrers().len(), 1);
    assert_eq!(archived.referrers()[0].digest(), signature);

    update(
        &server,
        "sig",
        by_digest(&subject),
        TargetStorageClass::Standard,
    )
    .await
    .unwrap();
    for digest in [&subject, &signature, &countersignature] {
        assert_eq!(status_of(&server, "sig", digest).await, ImageStatus::Active);
    }
    assert_eq!(pull(&server, &basic, "sig", &signature).await.0, 200);

    // A referrer alone may be archived; its subject stays.
    update(
        &server,
        "sig",
        by_digest(&signature),
        TargetStorageClass::Archive,
    )
    .await
    .unwrap();
    assert_eq!(
        status_of(&server, "sig", &subject).await,
        ImageStatus::Active
    );
    assert_eq!(
        status_of(&server, "sig", &signature).await,
        ImageStatus::Archived
    );
}

#[tokio::test]
async fn pushing_an_archived_image_again_restores_it() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;
    let body = server
        .http()
        .get(format!("{}/v2/app/manifests/v1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    update(&server, "app", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap();
    assert_eq!(pull(&server, &basic, "app", "v1").await.0, 404);

    // Over the registry API.
    assert_eq!(
        put_manifest(&server, &basic, "app", "v1", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
    assert_eq!(
        status_of(&server, "app", &digest).await,
        ImageStatus::Active
    );
    assert_eq!(pull(&server, &basic, "app", "v1").await.0, 200);

    // Over PutImage: an identical push of an archived image is a restore, not a duplicate.
    update(&server, "app", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap();
    let ecr = server.ecr();
    ecr.put_image()
        .repository_name("app")
        .image_tag("v1")
        .image_manifest(String::from_utf8(body.to_vec()).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&server, "app", &digest).await,
        ImageStatus::Active
    );
    // Once active, the same push is a duplicate again.
    let err = ecr
        .put_image()
        .repository_name("app")
        .image_tag("v1")
        .image_manifest(String::from_utf8(body.to_vec()).unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ImageAlreadyExistsException"));
}

#[tokio::test]
async fn batch_get_image_of_an_archived_image_fails_as_a_pull_does() {
    let server = TestServer::start().await;
    server.create_repository("cold").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "cold", "v1", "cold").await;
    update(&server, "cold", by_tag("v1"), TargetStorageClass::Archive)
        .await
        .unwrap();
    let got = server
        .ecr()
        .batch_get_image()
        .repository_name("cold")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .unwrap();
    assert!(got.images().is_empty());
    assert_eq!(
        got.failures()[0].failure_code(),
        Some(&aws_sdk_ecr::types::ImageFailureCode::ImageInaccessible)
    );
    // DescribeImages by id still shows it (with its status); only pulls are refused.
    let described = server
        .ecr()
        .describe_images()
        .repository_name("cold")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.image_details()[0].image_status(),
        Some(&ImageStatus::Archived)
    );
}
