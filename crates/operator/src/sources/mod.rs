//! Fetching in the cluster: [`build`] makes the source of a registry — the ConfigMap source, read through
//! the API ([`ConfigMapSource`]), or any other kind from `thv_sources` — with credentials kept in Kubernetes
//! Secrets read at each fetch ([`SecretResolver`]).
//!
//! (`crate::source` is the resource's `spec.source` block; this module is what fetches it.)

mod config_map;
mod secret;

use std::sync::Arc;

use thv_sources::{Source, SourceContext, SourceError, SourceSpec};
use thv_sync::RegistrySpec;

pub use self::config_map::ConfigMapSource;
pub use self::secret::SecretResolver;

/// The source of the registry `spec` describes, for a registry in `namespace`: a ConfigMap source reads
/// through `client`; URL, Git and registry-API sources read `authSecret` credentials from Secrets in
/// `namespace` through `client` at each fetch (a rotated Secret is used at the next fetch). `ctx` says
/// where Git clones are cached.
pub fn build(
    spec: &RegistrySpec,
    client: kube::Client,
    namespace: &str,
    ctx: &SourceContext,
) -> Result<Box<dyn Source>, SourceError> {
    match &spec.source {
        SourceSpec::ConfigMap(config_map) => Ok(Box::new(ConfigMapSource::new(client, namespace, config_map))),
        other => {
            let ctx = ctx.clone().with_credentials(Arc::new(SecretResolver::new(client, namespace)));
            thv_sources::build(other, &ctx)
        }
    }
}
