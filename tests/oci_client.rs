//! The registry endpoint through a real OCI client (`oci-client`): what a Rust tool pushing and
//! pulling images and OCI 1.1 artifacts would do against ecrd.

mod common;

use std::collections::BTreeMap;

use common::TestServer;
use oci_client::client::{linux_amd64_resolver, ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest, OciManifest,
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_LAYER_GZIP_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::Digest as _;

const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const SBOM: &str = "application/spdx+json";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn bytes_of(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// An HTTP client that picks linux/amd64 out of an index, whatever this machine is.
fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        platform_resolver: Some(Box::new(linux_amd64_resolver)),
        ..Default::default()
    })
}

async fn auth(server: &TestServer) -> RegistryAuth {
    RegistryAuth::Basic("AWS".into(), server.password().await)
}

fn reference(server: &TestServer, repo_and_tag: &str) -> Reference {
    format!("{}/{repo_and_tag}", server.addr)
        .parse()
        .expect("a reference")
}

fn by_digest(server: &TestServer, repo: &str, digest: &str) -> Reference {
    Reference::with_digest(server.addr.to_string(), repo.to_owned(), digest.to_owned())
}

/// An image: a config and two layers, the first larger than the client's 4 MiB chunk so that it
/// goes up in several `Content-Range` PATCHes.
fn image(seed: u8) -> (Config, Vec<ImageLayer>) {
    let config = Config::oci_v1(
        format!(r#"{{"architecture":"amd64","os":"linux","seed":{seed}}}"#).into_bytes(),
        None,
    );
    let layers = vec![
        ImageLayer::oci_v1_gzip(bytes_of(seed, 5 * 1024 * 1024 + 123), None),
        ImageLayer::oci_v1_gzip(bytes_of(seed.wrapping_add(1), 777), None),
    ];
    (config, layers)
}

fn descriptor(media_type: &str, data: &[u8]) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.to_owned(),
        digest: digest(data),
        size: data.len() as i64,
        ..Default::default()
    }
}

#[tokio::test]
async fn push_and_pull_an_image() {
    let server = TestServer::start().await;
    server.create_repository("client/app").await;
    let (client, auth) = (client(), auth(&server).await);
    let tagged = reference(&server, "client/app:v1");
    let (config, layers) = image(1);

    let pushed = client
        .push(&tagged, &layers, config.clone(), &auth, None)
        .await
        .expect("pushed");
    let manifest_digest = client
        .fetch_manifest_digest(&tagged, &auth)
        .await
        .expect("digest by HEAD");
    assert_eq!(
        pushed.manifest_url,
        format!(
            "http://{}/v2/client/app/manifests/{manifest_digest}",
            server.addr
        )
    );
    assert_eq!(
        pushed.config_url,
        format!(
            "http://{}/v2/client/app/blobs/{}",
            server.addr,
            digest(&config.data)
        )
    );

    let pulled = client
        .pull(&tagged, &auth, vec![IMAGE_LAYER_GZIP_MEDIA_TYPE])
        .await
        .expect("pulled");
    assert_eq!(pulled.digest.as_deref(), Some(manifest_digest.as_str()));
    assert_eq!(pulled.config.data, config.data);
    assert_eq!(pulled.config.media_type, IMAGE_CONFIG_MEDIA_TYPE);
    assert_eq!(pulled.layers.len(), 2);
    // The client fetches layers concurrently and hands them back in completion order.
    let mut got: Vec<(String, usize)> = pulled
        .layers
        .iter()
        .map(|l| (digest(&l.data), l.data.len()))
        .collect();
    let mut sent: Vec<(String, usize)> = layers
        .iter()
        .map(|l| (digest(&l.data), l.data.len()))
        .collect();
    got.sort();
    sent.sort();
    assert_eq!(got, sent);
    let manifest = pulled.manifest.expect("manifest");
    assert_eq!(manifest.config.digest, digest(&config.data));
    let layer_digests: Vec<&str> = manifest.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(
        layer_digests,
        [digest(&layers[0].data), digest(&layers[1].data)]
    );

    // By digest: the exact bytes whose digest was announced.
    let pinned = by_digest(&server, "client/app", &manifest_digest);
    let (raw, raw_digest) = client
        .pull_manifest_raw(&pinned, &auth, &[OCI_IMAGE_MEDIA_TYPE])
        .await
        .expect("raw manifest");
    assert_eq!(raw_digest, manifest_digest);
    assert_eq!(digest(&raw), manifest_digest);
    let (by_digest_manifest, _) = client
        .pull_image_manifest(&pinned, &auth)
        .await
        .expect("manifest by digest");
    let digests = |m: &OciImageManifest| {
        m.layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(digests(&by_digest_manifest), digests(&manifest));

    // Blobs one by one, and whole-blob existence checks.
    for layer in &layers {
        let mut out = Vec::new();
        client
            .pull_blob(
                &tagged,
                &descriptor(&layer.media_type, &layer.data),
                &mut out,
            )
            .await
            .expect("blob");
        assert!(out == layer.data, "layer {} differs", layer.sha256_digest());
        assert!(client
            .blob_exists(&tagged, &layer.sha256_digest())
            .await
            .unwrap());
    }
    assert!(!client
        .blob_exists(&tagged, &digest(b"never pushed"))
        .await
        .unwrap());

    // Pushing the same image again is accepted (a mutable tag, identical bytes).
    let (config, layers) = image(1);
    client
        .push(&tagged, &layers, config, &auth, None)
        .await
        .expect("pushed again");
    assert_eq!(
        client.fetch_manifest_digest(&tagged, &auth).await.unwrap(),
        manifest_digest
    );
}

#[tokio::test]
async fn tags_catalog_and_mounts() {
    let server = TestServer::start().await;
    server.create_repository("client/tags").await;
    server.create_repository("client/mirror").await;
    let (client, auth) = (client(), auth(&server).await);
    let (config, layers) = image(2);
    client
        .push(
            &reference(&server, "client/tags:v1"),
            &layers,
            config.clone(),
            &auth,
            None,
        )
        .await
        .unwrap();
    let manifest = OciImageManifest::build(&layers, &config, None);
    for tag in ["v3", "v2", "latest"] {
        client
            .push_manifest(
                &reference(&server, &format!("client/tags:{tag}")),
                &manifest.clone().into(),
            )
            .await
            .unwrap();
    }

    let listed = client
        .list_tags(&reference(&server, "client/tags:v1"), &auth, None, None)
        .await
        .unwrap();
    assert_eq!(listed.name, "client/tags");
    assert_eq!(listed.tags, ["latest", "v1", "v2", "v3"]);
    let page = client
        .list_tags(
            &reference(&server, "client/tags:v1"),
            &auth,
            Some(2),
            Some("v1"),
        )
        .await
        .unwrap();
    assert_eq!(page.tags, ["v2", "v3"]);

    let catalog = client
        .catalog(&reference(&server, "client/tags:v1"), &auth, None, None)
        .await
        .unwrap();
    assert_eq!(catalog.repositories, ["client/mirror", "client/tags"]);

    // Mount the layers into the other repository instead of uploading them again (an account
    // setting, off in a new registry, as on ECR).
    server
        .ecr()
        .put_account_setting()
        .name("BLOB_MOUNTING")
        .value("ENABLED")
        .send()
        .await
        .unwrap();
    let mirror = reference(&server, "client/mirror:v1");
    let source = reference(&server, "client/tags:v1");
    for blob in layers
        .iter()
        .map(|l| l.sha256_digest())
        .chain([config.sha256_digest()])
    {
        assert!(!client.blob_exists(&mirror, &blob).await.unwrap());
        client
            .mount_blob(&mirror, &source, &blob)
            .await
            .expect("mounted");
        assert!(client.blob_exists(&mirror, &blob).await.unwrap());
    }
    client
        .push_manifest(&mirror, &manifest.clone().into())
        .await
        .expect("manifest over mounted blobs");
    let pulled = client
        .pull(&mirror, &auth, vec![IMAGE_LAYER_GZIP_MEDIA_TYPE])
        .await
        .unwrap();
    assert!(pulled.layers.iter().any(|l| l.data == layers[1].data));

    // A tag that does not exist, a repository that does not exist.
    let missing = client
        .pull_image_manifest(&reference(&server, "client/tags:nope"), &auth)
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            OciDistributionError::ImageManifestNotFoundError(_)
                | OciDistributionError::RegistryError { .. }
        ),
        "{missing:?}"
    );
    let missing = client
        .list_tags(&reference(&server, "client/none:v1"), &auth, None, None)
        .await
        .unwrap_err();
    match missing {
        OciDistributionError::RegistryError { envelope, .. } => {
            assert_eq!(envelope.errors[0].code, OciErrorCode::NameUnknown)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn multi_arch_index() {
    let server = TestServer::start().await;
    server.create_repository("client/multi").await;
    let (client, auth) = (client(), auth(&server).await);
    // push_blob and push_manifest_raw take no credentials: hand them over first.
    client
        .store_auth_if_needed(&server.addr.to_string(), &auth)
        .await;
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for (seed, arch) in [(3, "amd64"), (4, "arm64")] {
        let (config, layers) = image(seed);
        // Pushed by digest: untagged images, as buildx pushes the children of an index.
        let manifest = OciImageManifest::build(&layers, &config, None);
        let body = serde_json::to_vec(&manifest).unwrap();
        let child = by_digest(&server, "client/multi", &digest(&body));
        for layer in &layers {
            client
                .push_blob(&child, layer.data.clone(), &layer.sha256_digest())
                .await
                .unwrap();
        }
        client
            .push_blob(&child, config.data.clone(), &config.sha256_digest())
            .await
            .unwrap();
        client
            .push_manifest_raw(&child, body.clone(), OCI_IMAGE_MEDIA_TYPE.parse().unwrap())
            .await
            .unwrap();
        let entry: ImageIndexEntry = serde_json::from_value(serde_json::json!({
            "mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": digest(&body), "size": body.len(),
            "platform": {"architecture": arch, "os": "linux"}
        }))
        .unwrap();
        entries.push(entry);
        digests.push(digest(&body));
    }
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.into()),
        manifests: entries,
        artifact_type: None,
        annotations: None,
    };
    let latest = reference(&server, "client/multi:latest");
    client
        .push_manifest_list(&latest, &auth, index)
        .await
        .expect("index pushed");

    // The client resolves the index to linux/amd64 and says which index it came from.
    let (manifest, manifest_digest, list_digest) = client
        .pull_image_manifest_and_list_digest(&latest, &auth)
        .await
        .expect("resolved");
    assert_eq!(manifest_digest, digests[0]);
    assert_eq!(manifest.config.digest, digest(image(3).0.data.as_ref()));
    let index_digest = client.fetch_manifest_digest(&latest, &auth).await.unwrap();
    assert_eq!(list_digest.as_deref(), Some(index_digest.as_str()));
    match client.pull_manifest(&latest, &auth).await.unwrap().0 {
        OciManifest::ImageIndex(index) => {
            let listed: Vec<&str> = index.manifests.iter().map(|m| m.digest.as_str()).collect();
            assert_eq!(listed, [digests[0].as_str(), digests[1].as_str()]);
        }
        other => panic!("not an index: {other:?}"),
    }
}

#[tokio::test]
async fn push_an_artifact_with_a_subject() {
    let server = TestServer::start().await;
    server.create_repository("client/signed").await;
    let (client, auth) = (client(), auth(&server).await);
    let tagged = reference(&server, "client/signed:v1");
    let (config, layers) = image(5);
    client
        .push(&tagged, &layers, config, &auth, None)
        .await
        .unwrap();
    let subject_digest = client.fetch_manifest_digest(&tagged, &auth).await.unwrap();
    let (subject_bytes, _) = client
        .pull_manifest_raw(&tagged, &auth, &[OCI_IMAGE_MEDIA_TYPE])
        .await
        .unwrap();

    // An OCI 1.1 artifact: empty config, artifactType, subject, pushed by digest (no tag).
    let sbom = br#"{"spdxVersion":"SPDX-2.3","name":"client/signed"}"#.to_vec();
    let artifact = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: descriptor(OCI_EMPTY, b"{}"),
        layers: vec![descriptor(SBOM, &sbom)],
        subject: Some(descriptor(OCI_IMAGE_MEDIA_TYPE, &subject_bytes)),
        artifact_type: Some(SBOM.into()),
        annotations: Some(BTreeMap::from([(
            "org.example.kind".to_owned(),
            "sbom".to_owned(),
        )])),
    };
    let body = serde_json::to_vec(&artifact).unwrap();
    let artifact_ref = by_digest(&server, "client/signed", &digest(&body));
    client
        .push_blob(&artifact_ref, b"{}".to_vec(), &digest(b"{}"))
        .await
        .unwrap();
    client
        .push_blob(&artifact_ref, sbom.clone(), &digest(&sbom))
        .await
        .unwrap();
    let url = client
        .push_manifest_raw(
            &artifact_ref,
            body.clone(),
            OCI_IMAGE_MEDIA_TYPE.parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(url.ends_with(&digest(&body)), "{url}");

    // The referrers API lists it under its subject, filtered or not.
    let subject = by_digest(&server, "client/signed", &subject_digest);
    let referrers = client
        .pull_referrers(&subject, None)
        .await
        .expect("referrers");
    assert_eq!(
        referrers.media_type.as_deref(),
        Some(OCI_IMAGE_INDEX_MEDIA_TYPE)
    );
    assert_eq!(referrers.manifests.len(), 1);
    let entry = &referrers.manifests[0];
    assert_eq!(entry.digest, digest(&body));
    assert_eq!(entry.size, body.len() as i64);
    assert_eq!(entry.media_type, OCI_IMAGE_MEDIA_TYPE);
    assert_eq!(entry.artifact_type.as_deref(), Some(SBOM));
    assert_eq!(
        entry.annotations.as_ref().unwrap()["org.example.kind"],
        "sbom"
    );
    let filtered = client.pull_referrers(&subject, Some(SBOM)).await.unwrap();
    assert_eq!(filtered.manifests.len(), 1);
    let none = client
        .pull_referrers(&subject, Some("application/vnd.example.none"))
        .await
        .unwrap();
    assert!(none.manifests.is_empty());

    // The artifact pulls back byte for byte; its tag list is untouched.
    let (raw, raw_digest) = client
        .pull_manifest_raw(&artifact_ref, &auth, &[OCI_IMAGE_MEDIA_TYPE])
        .await
        .unwrap();
    assert_eq!(raw, body);
    assert_eq!(raw_digest, digest(&body));
    let mut out = Vec::new();
    client
        .pull_blob(&artifact_ref, &descriptor(SBOM, &sbom), &mut out)
        .await
        .unwrap();
    assert_eq!(out, sbom);
    assert_eq!(
        client
            .list_tags(&tagged, &auth, None, None)
            .await
            .unwrap()
            .tags,
        ["v1"]
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let server = TestServer::start().await;
    server.create_repository("client/locked").await;
    let client = client();
    let wrong = RegistryAuth::Basic("AWS".into(), "not-a-token".into());
    let err = client
        .list_tags(&reference(&server, "client/locked:v1"), &wrong, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OciDistributionError::UnauthorizedError { .. }),
        "{err:?}"
    );
    let (config, layers) = image(6);
    let Err(err) = client
        .push(
            &reference(&server, "client/locked:v1"),
            &layers,
            config,
            &wrong,
            None,
        )
        .await
    else {
        panic!("pushed with a wrong password");
    };
    assert!(err.to_string().contains("401"), "{err}");
}
