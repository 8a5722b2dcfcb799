//! Image operations over the ECR API, and their agreement with the registry API: one core.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    DescribeImagesFilter, ImageFailureCode, ImageIdentifier, ImageTagMutability,
    ListImageReferrersFilter, ListImagesFilter, SubjectIdentifier, TagStatus,
};
use common::{image_manifest, push_blob, push_image, put_manifest, TestServer};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn by_tag(tag: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_tag(tag).build()
}

fn by_digest(digest: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_digest(digest).build()
}

#[tokio::test]
async fn images_pushed_over_oci_are_described_listed_and_fetched() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let v1 = push_image(&server, &basic, "app", "v1", "one").await;
    let v2 = push_image(&server, &basic, "app", "v2", "two").await;
    // A second tag on v2, and an untagged image pushed by digest.
    let body = server
        .http()
        .get(format!("{}/v2/app/manifests/v2", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        put_manifest(&server, &basic, "app", "latest", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
    let manifest = image_manifest(&server, &basic, "app", b"{\"untagged\":true}", &[b"x"])
        .await
        .to_string();
    let untagged = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
    assert_eq!(
        put_manifest(
            &server,
            &basic,
            "app",
            &untagged,
            OCI_MANIFEST,
            manifest.as_bytes()
        )
        .await
        .status(),
        201
    );

    let ecr = server.ecr();
    let described = ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let details = described.image_details();
    assert_eq!(details.len(), 3);
    assert_eq!(details[0].image_digest(), Some(v1.as_str()));
    assert_eq!(details[0].image_tags(), ["v1"]);
    assert_eq!(details[1].image_tags(), ["latest", "v2"]);
    assert!(details[2].image_tags().is_empty());
    assert_eq!(
        details[0].image_size_in_bytes(),
        Some("layer of one".len() as i64)
    );
    assert_eq!(details[0].image_manifest_media_type(), Some(OCI_MANIFEST));
    assert_eq!(
        details[0].artifact_media_type(),
        Some("application/vnd.oci.image.config.v1+json")
    );
    assert_eq!(details[0].registry_id(), Some("000000000000"));
    assert!(details[0].image_pushed_at().is_some());
    assert!(details[0].last_recorded_pull_time().is_none());
    // v2 was pulled above (GET by tag): the pull is visible at once.
    assert!(details[1].last_recorded_pull_time().is_some());

    let tagged = ecr
        .describe_images()
        .repository_name("app")
        .filter(
            DescribeImagesFilter::builder()
                .tag_status(TagStatus::Untagged)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.image_details().len(), 1);
    assert_eq!(
        tagged.image_details()[0].image_digest(),
        Some(untagged.as_str())
    );

    let by_ids = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_tag("latest"))
        .image_ids(by_digest(&v1))
        .send()
        .await
        .unwrap();
    assert_eq!(by_ids.image_details().len(), 2);
    assert_eq!(by_ids.image_details()[0].image_digest(), Some(v2.as_str()));

    let missing = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_tag("nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ImageNotFoundException"));
    assert_eq!(
        missing.message(),
        Some("The image with imageId {imageDigest:null, imageTag:'nope'} does not exist within the repository with name 'app' in the registry with id '000000000000'")
    );
    let mixed = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_tag("v1"))
        .max_results(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(mixed.code(), Some("InvalidParameterException"));
    let no_repo = ecr
        .describe_images()
        .repository_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_repo.code(), Some("RepositoryNotFoundException"));

    let listed = ecr
        .list_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let ids: Vec<(String, Option<String>)> = listed
        .image_ids()
        .iter()
        .map(|i| {
            (
                i.image_digest().unwrap().to_owned(),
                i.image_tag().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (v1.clone(), Some("v1".into())),
            (v2.clone(), Some("latest".into())),
            (v2.clone(), Some("v2".into())),
            (untagged.clone(), None)
        ]
    );
    let only_tagged = ecr
        .list_images()
        .repository_name("app")
        .filter(
            ListImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(only_tagged.image_ids().len(), 3);

    let got = ecr
        .batch_get_image()
        .repository_name("app")
        .image_ids(by_tag("latest"))
        .image_ids(by_tag("nope"))
        .image_ids(by_digest("sha256:zz"))
        .image_ids(ImageIdentifier::builder().build())
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(&v1)
                .image_tag("v2")
                .build(),
        )
        .accepted_media_types(OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(got.images().len(), 1);
    assert_eq!(
        got.images()[0].image_manifest().unwrap().as_bytes(),
        &body[..]
    );
    assert_eq!(
        got.images()[0].image_id().unwrap().image_digest(),
        Some(v2.as_str())
    );
    assert_eq!(
        got.images()[0].image_id().unwrap().image_tag(),
        Some("latest")
    );
    let codes: Vec<_> = got
        .failures()
        .iter()
        .map(|f| f.failure_code().unwrap().clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            ImageFailureCode::ImageNotFound,
            ImageFailureCode::InvalidImageDigest,
            ImageFailureCode::MissingDigestAndTag,
            ImageFailureCode::ImageTagDoesNotMatchDigest
        ]
    );
    assert_eq!(
        got.failures()[0].failure_reason(),
        Some("Requested image not found")
    );
}

#[tokio::test]
async fn put_image_is_the_same_push_as_the_registry_api() {
    let server = TestServer::start().await;
    server.create_repository("api").await;
    let basic = server.basic().await;
    let manifest = image_manifest(&server, &basic, "api", b"{\"put\":\"image\"}", &[b"layer"])
        .await
        .to_string();
    let ecr = server.ecr();
    let put = ecr
        .put_image()
        .repository_name("api")
        .image_manifest(&manifest)
        .image_manifest_media_type(OCI_MANIFEST)
        .image_tag("v1")
        .send()
        .await
        .unwrap();
    let image = put.image().unwrap();
    let digest = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
    assert_eq!(
        image.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert_eq!(image.image_manifest(), Some(manifest.as_str()));
    // Pull over the registry API: the exact bytes.
    let pulled = server
        .http()
        .get(format!("{}/v2/api/manifests/v1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(pulled.bytes().await.unwrap(), manifest.as_bytes());

    let again = ecr
        .put_image()
        .repository_name("api")
        .image_manifest(&manifest)
        .image_tag("v1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ImageAlreadyExistsException"));
    let wrong = ecr
        .put_image()
        .repository_name("api")
        .image_manifest(&manifest)
        .image_digest(format!("sha256:{}", "0".repeat(64)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("ImageDigestDoesNotMatchException"));
    let missing_layer = manifest.replace(&digest[7..17], "0000000000");
    let layers = ecr
        .put_image()
        .repository_name("api")
        .image_manifest(
            serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", "1".repeat(64)), "size": 3},
                "layers": []
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(layers.code(), Some("LayersNotFoundException"));
    let _ = missing_layer;
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": format!("sha256:{}", "2".repeat(64)), "size": 10}]
    });
    let children = ecr
        .put_image()
        .repository_name("api")
        .image_manifest(index.to_string())
        .send()
        .await
        .unwrap_err();
    assert_eq!(children.code(), Some("ReferencedImagesNotFoundException"));
    let garbage = ecr
        .put_image()
        .repository_name("api")
        .image_manifest("not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(garbage.code(), Some("InvalidParameterException"));
    let no_repo = ecr
        .put_image()
        .repository_name("nope")
        .image_manifest(&manifest)
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_repo.code(), Some("RepositoryNotFoundException"));

    // Nothing of the failed pushes is visible.
    let described = ecr
        .describe_images()
        .repository_name("api")
        .send()
        .await
        .unwrap();
    assert_eq!(described.image_details().len(), 1);
}

#[tokio::test]
async fn immutable_tags_refuse_repushes_on_both_fronts() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.create_repository()
        .repository_name("locked")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    let basic = server.basic().await;
    push_image(&server, &basic, "locked", "v1", "first").await;
    let other = image_manifest(&server, &basic, "locked", b"{\"other\":1}", &[b"o"])
        .await
        .to_string();
    let refused = put_manifest(
        &server,
        &basic,
        "locked",
        "v1",
        OCI_MANIFEST,
        other.as_bytes(),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "TAG_INVALID");

    let api = ecr
        .put_image()
        .repository_name("locked")
        .image_manifest(&other)
        .image_tag("v1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(api.code(), Some("ImageTagAlreadyExistsException"));
    // A new tag is fine.
    ecr.put_image()
        .repository_name("locked")
        .image_manifest(&other)
        .image_tag("v2")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn batch_delete_image_by_tag_digest_and_both() {
    let server = TestServer::start().await;
    server.create_repository("del").await;
    let basic = server.basic().await;
    let a = push_image(&server, &basic, "del", "a1", "a").await;
    let body = server
        .http()
        .get(format!("{}/v2/del/manifests/a1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    put_manifest(&server, &basic, "del", "a2", OCI_MANIFEST, &body).await;
    let b = push_image(&server, &basic, "del", "b1", "b").await;
    let ecr = server.ecr();

    // Removing one of two tags keeps the image.
    let out = ecr
        .batch_delete_image()
        .repository_name("del")
        .image_ids(by_tag("a1"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.image_ids().len(), 1);
    assert_eq!(out.image_ids()[0].image_digest(), Some(a.as_str()));
    assert_eq!(out.image_ids()[0].image_tag(), Some("a1"));
    assert!(out.failures().is_empty());
    let left = ecr
        .describe_images()
        .repository_name("del")
        .image_ids(by_digest(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(left.image_details()[0].image_tags(), ["a2"]);

    // Removing the last tag deletes the image.
    ecr.batch_delete_image()
        .repository_name("del")
        .image_ids(by_tag("a2"))
        .send()
        .await
        .unwrap();
    let gone = ecr
        .describe_images()
        .repository_name("del")
        .image_ids(by_digest(&a))
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("ImageNotFoundException"));
    let pull = server
        .http()
        .get(format!("{}/v2/del/manifests/{a}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), 404);

    // Both, not matching → failure; matching → whole image with all its tags.
    let mismatch = ecr
        .batch_delete_image()
        .repository_name("del")
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(&b)
                .image_tag("a1")
                .build(),
        )
        .image_ids(by_digest("bad"))
        .image_ids(ImageIdentifier::builder().build())
        .image_ids(by_tag("missing"))
        .send()
        .await
        .unwrap();
    assert!(mismatch.image_ids().is_empty());
    let codes: Vec<_> = mismatch
        .failures()
        .iter()
        .map(|f| f.failure_code().unwrap().clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            ImageFailureCode::ImageNotFound,
            ImageFailureCode::InvalidImageDigest,
            ImageFailureCode::MissingDigestAndTag,
            ImageFailureCode::ImageNotFound
        ]
    );
    let both = ecr
        .batch_delete_image()
        .repository_name("del")
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(&b)
                .image_tag("b1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(both.image_ids().len(), 1);
    let listed = ecr
        .list_images()
        .repository_name("del")
        .send()
        .await
        .unwrap();
    assert!(listed.image_ids().is_empty());

    // An image listed by an index cannot be deleted by digest.
    let child = push_image(&server, &basic, "del", "child", "c").await;
    let child_size = server
        .http()
        .head(format!("{}/v2/del/manifests/child", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .headers()["content-length"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child, "size": child_size,
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    })
    .to_string();
    assert_eq!(
        put_manifest(
            &server,
            &basic,
            "del",
            "multi",
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes()
        )
        .await
        .status(),
        201
    );
    let refused = ecr
        .batch_delete_image()
        .repository_name("del")
        .image_ids(by_digest(&child))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.failures()[0].failure_code(),
        Some(&ImageFailureCode::ImageReferencedByManifestList)
    );
    let index_detail = ecr
        .describe_images()
        .repository_name("del")
        .image_ids(by_tag("multi"))
        .send()
        .await
        .unwrap();
    // An index is as large as its largest image.
    assert_eq!(
        index_detail.image_details()[0].image_size_in_bytes(),
        Some("layer of c".len() as i64)
    );
}

#[tokio::test]
async fn pagination_walks_every_image_once_even_while_images_are_added() {
    let server = TestServer::start().await;
    server.create_repository("many").await;
    let basic = server.basic().await;
    let config = push_blob(&server, &basic, "many", b"{}").await;
    let ecr = server.ecr();
    for i in 0..30 {
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [], "annotations": {"n": i.to_string()}
        });
        ecr.put_image()
            .repository_name("many")
            .image_manifest(manifest.to_string())
            .image_tag(format!("t{i:02}"))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ecr
            .describe_images()
            .repository_name("many")
            .max_results(7)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.image_details()
                .iter()
                .map(|d| d.image_tags()[0].clone()),
        );
        if seen.len() == 7 {
            // An image pushed mid-walk shows up at the end, and nothing repeats.
            let manifest = serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                "layers": [], "annotations": {"n": "late"}
            });
            ecr.put_image()
                .repository_name("many")
                .image_manifest(manifest.to_string())
                .image_tag("late")
                .send()
                .await
                .unwrap();
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 31);
    assert_eq!(seen.last().map(String::as_str), Some("late"));

    let listed: Vec<_> = ecr
        .list_images()
        .repository_name("many")
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(listed.len(), 31);
    let paged = ecr
        .list_images()
        .repository_name("many")
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.image_ids().len(), 10);
    let token = paged.next_token().unwrap();
    let wrong_op = ecr
        .describe_images()
        .repository_name("many")
        .next_token(token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong_op.code(), Some("InvalidParameterException"));
}

#[tokio::test]
async fn referrers_are_listed_from_the_same_index_on_both_fronts() {
    let server = TestServer::start().await;
    server.create_repository("sig").await;
    let basic = server.basic().await;
    let subject = push_image(&server, &basic, "sig", "v1", "subject").await;
    let empty = push_blob(&server, &basic, "sig", b"{}").await;
    let mut referrers = Vec::new();
    for (kind, n) in [
        ("application/vnd.cncf.notary.signature", 1),
        ("application/spdx+json", 2),
        ("application/spdx+json", 3),
    ] {
        let payload = push_blob(&server, &basic, "sig", format!("payload {n}").as_bytes()).await;
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": kind, "digest": payload, "size": format!("payload {n}").len()}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
            "annotations": {"n": n.to_string()}
        })
        .to_string();
        let digest = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
        let pushed = put_manifest(
            &server,
            &basic,
            "sig",
            &digest,
            OCI_MANIFEST,
            manifest.as_bytes(),
        )
        .await;
        assert_eq!(pushed.headers()["oci-subject"], subject.as_str());
        referrers.push(digest);
    }
    let ecr = server.ecr();
    let listed = ecr
        .list_image_referrers()
        .repository_name("sig")
        .subject_id(
            SubjectIdentifier::builder()
                .image_digest(&subject)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let digests: Vec<_> = listed
        .referrers()
        .iter()
        .map(|r| r.digest().to_owned())
        .collect();
    assert_eq!(digests, referrers);
    assert_eq!(
        listed.referrers()[0].artifact_type(),
        Some("application/vnd.cncf.notary.signature")
    );
    assert_eq!(listed.referrers()[1].annotations().unwrap()["n"], "2");

    let sboms = ecr
        .list_image_referrers()
        .repository_name("sig")
        .subject_id(
            SubjectIdentifier::builder()
                .image_digest(&subject)
                .build()
                .unwrap(),
        )
        .filter(
            ListImageReferrersFilter::builder()
                .artifact_types("application/spdx+json")
                .build(),
        )
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(sboms.referrers().len(), 1);
    let next = ecr
        .list_image_referrers()
        .repository_name("sig")
        .subject_id(
            SubjectIdentifier::builder()
                .image_digest(&subject)
                .build()
                .unwrap(),
        )
        .filter(
            ListImageReferrersFilter::builder()
                .artifact_types("application/spdx+json")
                .build(),
        )
        .max_results(1)
        .next_token(sboms.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.referrers()[0].digest(), referrers[2]);
    assert!(next.next_token().is_none());

    // Referrers are images too: DescribeImages lists them with their subject.
    let described = ecr
        .describe_images()
        .repository_name("sig")
        .image_ids(by_digest(&referrers[0]))
        .send()
        .await
        .unwrap();
    let detail = &described.image_details()[0];
    assert_eq!(detail.subject_manifest_digest(), Some(subject.as_str()));
    assert_eq!(
        detail.artifact_media_type(),
        Some("application/vnd.cncf.notary.signature")
    );

    // Deleting a referrer over the API removes it from the registry's referrers index.
    ecr.batch_delete_image()
        .repository_name("sig")
        .image_ids(by_digest(&referrers[0]))
        .send()
        .await
        .unwrap();
    let index: serde_json::Value = server
        .http()
        .get(format!("{}/v2/sig/referrers/{subject}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_referrers_page_token_survives_the_deletion_of_its_last_item() {
    let server = TestServer::start().await;
    server.create_repository("sigs").await;
    let basic = server.basic().await;
    let subject = push_image(&server, &basic, "sigs", "v1", "subject").await;
    let empty = push_blob(&server, &basic, "sigs", b"{}").await;
    let mut referrers = Vec::new();
    for n in 0..3 {
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
            "annotations": {"n": n.to_string()}
        })
        .to_string();
        let digest = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
        put_manifest(
            &server,
            &basic,
            "sigs",
            &digest,
            OCI_MANIFEST,
            manifest.as_bytes(),
        )
        .await;
        referrers.push(digest);
    }
    let ecr = server.ecr();
    let subject_id = SubjectIdentifier::builder()
        .image_digest(&subject)
        .build()
        .unwrap();
    let first = ecr
        .list_image_referrers()
        .repository_name("sigs")
        .subject_id(subject_id.clone())
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.referrers()[0].digest(), referrers[0]);
    ecr.batch_delete_image()
        .repository_name("sigs")
        .image_ids(by_digest(&referrers[0]))
        .send()
        .await
        .unwrap();
    let rest = ecr
        .list_image_referrers()
        .repository_name("sigs")
        .subject_id(subject_id)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let digests: Vec<&str> = rest.referrers().iter().map(|r| r.digest()).collect();
    assert_eq!(digests, [referrers[1].as_str(), referrers[2].as_str()]);
}
