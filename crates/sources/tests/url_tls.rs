//! HTTPS with a private CA: a TLS server on loopback whose certificate is signed by a CA generated here.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use thv_sources::{FetchOutcome, Payload, Source, SourceError, UrlSource, UrlSpec};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BODY: &str = r#"{"servers": []}"#;

/// A CA (PEM) and a `localhost` certificate it signed, with the certificate's key.
fn private_pki() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "thv-registry test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (ca.pem(), leaf.der().clone(), key)
}

/// Answers every connection with one HTTP/1.1 response over TLS.
async fn start_tls_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // Handshakes the client rejects end here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn spec(url: String) -> UrlSpec {
    UrlSpec {
        url,
        headers: Default::default(),
        auth: None,
        ca_bundle: None,
        max_bytes: None,
        timeout: None,
        max_redirects: None,
        allow_link_local: false,
    }
}

#[tokio::test]
async fn a_private_ca_bundle_is_trusted_and_required() {
    let (ca_pem, cert, key) = private_pki();
    let addr = start_tls_server(cert, key).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, ca_pem).expect("write bundle");

    for host in ["localhost", "127.0.0.1"] {
        let mut with_ca = spec(format!("https://{host}:{}/registry.json", addr.port()));
        with_ca.ca_bundle = Some(bundle.clone());
        let outcome = UrlSource::new(with_ca).expect("source").fetch(None).await.expect(host);
        let FetchOutcome::Fetched(fetched) = outcome else { panic!("expected content") };
        assert_eq!(fetched.payload, Payload::Full(BODY.as_bytes().to_vec()));
    }

    let without = spec(format!("https://localhost:{}/registry.json", addr.port()));
    let err = UrlSource::new(without).expect("source").fetch(None).await.expect_err("untrusted certificate");
    assert!(matches!(err, SourceError::Network { .. }), "{err}");
    assert!(err.to_string().contains("UnknownIssuer") && err.to_string().contains("caBundle"), "{err}");
}
