//! Leader election on the fake API server: one replica holds the Lease, a standby takes over when the holder
//! steps down (releasing the Lease) or stops renewing it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use thv_kube_fake::FakeApiServer;
use thv_operator::controller::leader::{self, LeaderSettings};

fn settings(identity: &str) -> LeaderSettings {
    LeaderSettings {
        lease_name: "thv-operator".into(),
        namespace: "default".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(3),
        renew_before: Duration::from_secs(1),
    }
}

fn holder(fake: &FakeApiServer) -> Option<String> {
    let lease: Lease = fake.get("default", "thv-operator").expect("get")?;
    lease.spec?.holder_identity
}

#[tokio::test]
async fn one_replica_leads_and_a_standby_takes_over_when_it_steps_down() {
    let fake = FakeApiServer::new();
    let mut first = leader::join(fake.client_as("operator-a"), &settings("operator-a")).await.expect("join a");
    assert!(tokio::time::timeout(Duration::from_secs(10), first.acquired()).await.expect("a leads in time"));
    assert_eq!(holder(&fake).as_deref(), Some("operator-a"));

    let mut second = leader::join(fake.client_as("operator-b"), &settings("operator-b")).await.expect("join b");
    let waited = tokio::time::timeout(Duration::from_secs(4), second.acquired()).await;
    assert!(waited.is_err(), "b waits while a renews the Lease");
    assert_eq!(holder(&fake).as_deref(), Some("operator-a"));

    first.step_down().await;
    assert!(tokio::time::timeout(Duration::from_secs(10), second.acquired()).await.expect("b leads in time"));
    assert_eq!(holder(&fake).as_deref(), Some("operator-b"));
    second.step_down().await;
}
