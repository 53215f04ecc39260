//! A registry's API workload: the Deployment and Service `<name>-api` that serve its stored catalog read-only,
//! rendered from the MCPRegistry (pure), and the `APIReady` state read back from the Deployment's status.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::status::ApiState;
use crate::labels::{self, API_PORT};
use crate::{ApiSpec, SecretKeyRef, StorageSpec, StorageType};

/// Pod-template annotation with the digest of the API pod's configuration: a change rolls the pods.
pub const CONFIG_HASH_ANNOTATION: &str = "toolhive.stacklok.io/config-hash";

/// The ServiceAccount the API pods run as. It is not created by the operator: `deploy/registry-namespace`
/// creates it, with a Role to read ConfigMaps in the namespace, in each namespace that holds registries.
pub const API_SERVICE_ACCOUNT: &str = "thv-registry-api";

/// The user and group the API container runs as (distroless `nonroot`).
const NON_ROOT: i64 = 65532;

/// What every API workload shares: the image and how to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPodTemplate {
    /// The container image (the operator's own, `thv`).
    pub image: String,
}

impl ApiPodTemplate {
    /// The container's arguments for the registry `name` in `namespace`: `thv operator api`, serving the
    /// storage ConfigMap read-only on [`API_PORT`].
    pub fn args(&self, namespace: &str, name: &str) -> Vec<String> {
        ["operator", "api", "--namespace", namespace, "--registry", name, "--listen", &format!("0.0.0.0:{API_PORT}")]
            .map(str::to_owned)
            .to_vec()
    }
}

/// The rendered Deployment and Service of one registry.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiObjects {
    /// `<name>-api` Deployment.
    pub deployment: Deployment,
    /// `<name>-api` Service.
    pub service: Service,
}

fn label_map(pairs: impl IntoIterator<Item = (&'static str, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The labels that select a registry's API pods (a stable subset of [`labels::api_labels`]).
pub fn selector_labels(registry: &str) -> BTreeMap<String, String> {
    label_map(labels::api_labels(registry).into_iter().filter(|(key, _)| {
        matches!(*key, "app.kubernetes.io/name" | "app.kubernetes.io/component" | "app.kubernetes.io/instance")
    }))
}

/// The default resources of the API container when `spec.api.resources` is not set.
pub fn default_resources() -> ResourceRequirements {
    let quantities = |pairs: &[(&str, &str)]| {
        Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned()))).collect())
    };
    ResourceRequirements {
        requests: quantities(&[("cpu", "10m"), ("memory", "32Mi")]),
        limits: quantities(&[("memory", "256Mi")]),
        ..ResourceRequirements::default()
    }
}

/// Pod-template annotation with the `resourceVersion` of the storage Secret last seen: an edit of the Secret
/// (a new URL or password) rolls the pods, which read it only at start.
pub const STORAGE_SECRET_VERSION_ANNOTATION: &str = "toolhive.stacklok.io/storage-secret-version";

/// The environment variable through which an API pod gets the PostgreSQL URL (`thv operator api`'s
/// `--database`), from the Secret by `secretKeyRef`: the value is never in the pod spec.
pub const DATABASE_ENV: &str = "THV_DATABASE";

/// What the API pods read the catalog from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStorage<'a> {
    /// The storage ConfigMap, followed through the API.
    ConfigMap,
    /// The PostgreSQL database whose URL is in `secret`; `secret_version` is the Secret's
    /// `resourceVersion` as last seen (`None` when unknown).
    Postgres {
        /// The Secret and key.
        secret: &'a SecretKeyRef,
        /// Its `resourceVersion`.
        secret_version: Option<&'a str>,
    },
}

impl<'a> ApiStorage<'a> {
    /// The storage `spec` names.
    pub fn of(spec: &'a StorageSpec, secret_version: Option<&'a str>) -> Self {
        match (spec.type_, &spec.postgres) {
            (StorageType::Postgres, Some(postgres)) => Self::Postgres { secret: &postgres.secret_ref, secret_version },
            _ => Self::ConfigMap,
        }
    }
}

/// Renders the API Deployment and Service of the registry `name` in `namespace`, owned by `owner`, reading
/// `storage`.
pub fn render(
    template: &ApiPodTemplate,
    namespace: &str,
    name: &str,
    api: &ApiSpec,
    storage: ApiStorage<'_>,
    owner: OwnerReference,
) -> ApiObjects {
    let object_name = labels::api_name(name);
    let all_labels = label_map(labels::api_labels(name));
    let metadata = ObjectMeta {
        name: Some(object_name.clone()),
        namespace: Some(namespace.to_owned()),
        labels: Some(all_labels.clone()),
        owner_references: Some(vec![owner]),
        ..ObjectMeta::default()
    };
    let probe = |path: &str, period: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        ..Probe::default()
    };
    let container = Container {
        name: "api".to_owned(),
        image: Some(template.image.clone()),
        args: Some(template.args(namespace, name)),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_owned()),
            container_port: i32::from(API_PORT),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/healthz", 20)),
        readiness_probe: Some(probe("/readyz", 5)),
        resources: Some(api.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), ..Capabilities::default() }),
            ..SecurityContext::default()
        }),
        env: match storage {
            ApiStorage::ConfigMap => None,
            ApiStorage::Postgres { secret, .. } => Some(vec![EnvVar {
                name: DATABASE_ENV.to_owned(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret.name.clone(),
                        key: secret.key.clone(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            }]),
        },
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    let mut pod = PodSpec {
        service_account_name: Some(API_SERVICE_ACCOUNT.to_owned()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(NON_ROOT),
            run_as_group: Some(NON_ROOT),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), ..SeccompProfile::default() }),
            ..PodSecurityContext::default()
        }),
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: "tmp".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("16Mi".to_owned())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    pod.automount_service_account_token = Some(true);
    let hash = config_hash(&pod);
    let deployment = Deployment {
        metadata: metadata.clone(),
        spec: Some(DeploymentSpec {
            replicas: Some(api.replicas),
            selector: LabelSelector { match_labels: Some(selector_labels(name)), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(all_labels),
                    annotations: Some(template_annotations(hash, storage)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    };
    let service = Service {
        metadata,
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(name)),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: i32::from(API_PORT),
                target_port: Some(IntOrString::String("http".to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    ApiObjects { deployment, service }
}

fn template_annotations(hash: String, storage: ApiStorage<'_>) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([(CONFIG_HASH_ANNOTATION.to_owned(), hash)]);
    if let ApiStorage::Postgres { secret_version: Some(version), .. } = storage {
        annotations.insert(STORAGE_SECRET_VERSION_ANNOTATION.to_owned(), version.to_owned());
    }
    annotations
}

/// `sha256:<hex>` of the pod's configuration (its spec as JSON).
fn config_hash(pod: &PodSpec) -> String {
    let json = serde_json::to_vec(pod).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&json)))
}

/// `APIReady` from the Deployment as the API server returned it.
pub fn api_state(deployment: &Deployment) -> ApiState {
    let wanted = deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = deployment.status.as_ref() else {
        return ApiState::Progressing(format!("Deployment {} has no status yet", name_of(deployment)));
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let condition = |type_: &str| conditions.iter().find(|c| c.type_ == type_);
    let detail = |c: &k8s_openapi::api::apps::v1::DeploymentCondition| {
        let reason = c.reason.as_deref().unwrap_or_default();
        let message = c.message.as_deref().unwrap_or_default();
        format!("{reason}: {message}").trim_matches([' ', ':']).to_owned()
    };
    if let Some(failure) = condition("ReplicaFailure").filter(|c| c.status == "True") {
        return ApiState::Failed(format!("Deployment {}: {}", name_of(deployment), detail(failure)));
    }
    if let Some(stuck) = condition("Progressing")
        .filter(|c| c.status == "False" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        return ApiState::Failed(format!("Deployment {}: {}", name_of(deployment), detail(stuck)));
    }
    let generation = deployment.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let counts = format!("{available}/{wanted} replicas available");
    if observed < generation {
        return ApiState::Progressing(format!(
            "Deployment {}: rollout of generation {generation} not observed yet",
            name_of(deployment)
        ));
    }
    let all_updated = updated >= wanted && status.replicas.unwrap_or(0) <= wanted;
    if available >= wanted && all_updated {
        return ApiState::Available(format!("Deployment {}: {counts}", name_of(deployment)));
    }
    ApiState::Progressing(format!("Deployment {}: {counts}, {updated}/{wanted} updated", name_of(deployment)))
}

fn name_of(deployment: &Deployment) -> &str {
    deployment.metadata.name.as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

    use super::*;

    fn owner() -> OwnerReference {
        OwnerReference {
            api_version: "toolhive.stacklok.io/v1alpha1".into(),
            kind: "MCPRegistry".into(),
            name: "platform".into(),
            uid: "uid-1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn template() -> ApiPodTemplate {
        ApiPodTemplate { image: "ghcr.io/thv-registry/thv-registry:0.1.0".into() }
    }

    #[test]
    fn the_api_runs_non_root_read_only_with_probes_and_the_registry_resources() {
        let api = ApiSpec { replicas: 2, ..ApiSpec::default() };
        let objects = render(&template(), "team-a", "platform", &api, ApiStorage::ConfigMap, owner());
        let deployment = &objects.deployment;
        assert_eq!(deployment.metadata.name.as_deref(), Some("platform-api"));
        assert_eq!(deployment.metadata.owner_references.as_ref().expect("owner")[0].uid, "uid-1");
        let spec = deployment.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(2));
        let pod = spec.template.spec.as_ref().expect("pod");
        let container = &pod.containers[0];
        assert_eq!(
            container.args.as_deref().expect("args"),
            ["operator", "api", "--namespace", "team-a", "--registry", "platform", "--listen", "0.0.0.0:8080"]
        );
        let security = container.security_context.as_ref().expect("security");
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(pod.security_context.as_ref().and_then(|s| s.run_as_non_root), Some(true));
        let probe_path = |p: &Option<Probe>| p.as_ref().and_then(|p| p.http_get.as_ref()).and_then(|h| h.path.clone());
        assert_eq!(probe_path(&container.liveness_probe).as_deref(), Some("/healthz"));
        assert_eq!(probe_path(&container.readiness_probe).as_deref(), Some("/readyz"));
        assert_eq!(container.resources, Some(default_resources()));
        // The selector picks the pod template's labels, and the Service selects the same pods.
        let pod_labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).expect("labels");
        for (key, value) in spec.selector.match_labels.as_ref().expect("selector") {
            assert_eq!(pod_labels.get(key), Some(value), "{key}");
        }
        let service = objects.service.spec.as_ref().expect("service");
        assert_eq!(service.selector.as_ref(), spec.selector.match_labels.as_ref());
        assert_eq!(service.ports.as_ref().expect("ports")[0].port, 8080);
    }

    #[test]
    fn the_config_hash_follows_the_pod_configuration() {
        let hash = |api: &ApiSpec, template: &ApiPodTemplate| {
            let objects = render(template, "ns", "platform", api, ApiStorage::ConfigMap, owner());
            let template = objects.deployment.spec.expect("spec").template;
            template.metadata.and_then(|m| m.annotations).expect("annotations")[CONFIG_HASH_ANNOTATION].clone()
        };
        let api = ApiSpec::default();
        let base = hash(&api, &template());
        assert!(base.starts_with("sha256:") && base.len() == 71, "{base}");
        assert_eq!(hash(&api, &template()), base, "deterministic");
        assert_eq!(hash(&ApiSpec { replicas: 3, ..api.clone() }, &template()), base, "replicas do not roll the pods");
        let resources = ResourceRequirements {
            limits: Some([("memory".to_owned(), Quantity("1Gi".to_owned()))].into()),
            ..ResourceRequirements::default()
        };
        assert_ne!(hash(&ApiSpec { resources: Some(resources), ..api.clone() }, &template()), base);
        assert_ne!(hash(&api, &ApiPodTemplate { image: "thv:other".into() }), base);
    }

    fn deployment(replicas: i32, status: Option<DeploymentStatus>) -> Deployment {
        let mut d = render(
            &template(),
            "ns",
            "platform",
            &ApiSpec { replicas, ..ApiSpec::default() },
            ApiStorage::ConfigMap,
            owner(),
        )
        .deployment;
        d.metadata.generation = Some(2);
        d.status = status;
        d
    }

    fn condition(type_: &str, status: &str, reason: &str) -> DeploymentCondition {
        DeploymentCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(format!("{reason} happened")),
            ..DeploymentCondition::default()
        }
    }

    #[test]
    fn api_readiness_follows_the_deployment_status() {
        assert!(matches!(api_state(&deployment(1, None)), ApiState::Progressing(_)));
        let rolling = DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(2),
            updated_replicas: Some(1),
            available_replicas: Some(1),
            ..DeploymentStatus::default()
        };
        assert_eq!(
            api_state(&deployment(2, Some(rolling.clone()))),
            ApiState::Progressing("Deployment platform-api: 1/2 replicas available, 1/2 updated".into())
        );
        let stale = DeploymentStatus { observed_generation: Some(1), available_replicas: Some(2), ..rolling.clone() };
        assert!(matches!(api_state(&deployment(2, Some(stale))), ApiState::Progressing(_)));
        let available = DeploymentStatus { updated_replicas: Some(2), available_replicas: Some(2), ..rolling.clone() };
        assert_eq!(
            api_state(&deployment(2, Some(available))),
            ApiState::Available("Deployment platform-api: 2/2 replicas available".into())
        );
        let stuck = DeploymentStatus {
            conditions: Some(vec![condition("Progressing", "False", "ProgressDeadlineExceeded")]),
            ..rolling.clone()
        };
        assert_eq!(
            api_state(&deployment(2, Some(stuck))),
            ApiState::Failed(
                "Deployment platform-api: ProgressDeadlineExceeded: ProgressDeadlineExceeded happened".into()
            )
        );
        let no_account =
            DeploymentStatus { conditions: Some(vec![condition("ReplicaFailure", "True", "FailedCreate")]), ..rolling };
        assert!(
            matches!(api_state(&deployment(2, Some(no_account))), ApiState::Failed(m) if m.contains("FailedCreate"))
        );
        let scaled_to_zero = DeploymentStatus { observed_generation: Some(2), ..DeploymentStatus::default() };
        assert!(matches!(api_state(&deployment(0, Some(scaled_to_zero))), ApiState::Available(_)));
    }

    #[test]
    fn a_postgres_registry_gets_its_url_from_the_secret_and_rolls_when_the_secret_changes() {
        let secret = SecretKeyRef { name: "registry-db".into(), key: "url".into() };
        let storage = |version| ApiStorage::Postgres { secret: &secret, secret_version: version };
        let api = ApiSpec { replicas: 3, ..ApiSpec::default() };
        let objects = render(&template(), "team-a", "platform", &api, storage(Some("41")), owner());
        let spec = objects.deployment.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(3));
        let pod = spec.template.spec.as_ref().expect("pod");
        let env = pod.containers[0].env.as_deref().expect("env");
        assert_eq!(env.len(), 1);
        assert_eq!((env[0].name.as_str(), env[0].value.as_deref()), (DATABASE_ENV, None), "never the value");
        let selector = env[0].value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).expect("secretKeyRef");
        assert_eq!((selector.name.as_str(), selector.key.as_str()), ("registry-db", "url"));
        let annotations = |objects: &ApiObjects| {
            objects
                .deployment
                .spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.annotations.clone())
        };
        let first = annotations(&objects).expect("annotations");
        assert_eq!(first.get(STORAGE_SECRET_VERSION_ANNOTATION).map(String::as_str), Some("41"));
        let rotated = annotations(&render(&template(), "team-a", "platform", &api, storage(Some("42")), owner()));
        assert_ne!(Some(first), rotated, "a Secret edit rolls the pods");
        let config_map = render(&template(), "team-a", "platform", &api, ApiStorage::ConfigMap, owner());
        let pod = config_map.deployment.spec.and_then(|s| s.template.spec).expect("pod");
        assert_eq!(pod.containers[0].env, None, "a ConfigMap registry has no database");
    }
}
