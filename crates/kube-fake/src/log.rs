//! What tests observe and steer besides the objects: the log of every request, and injected faults
//! (failures and latency) for requests that match a verb and resource.

use std::time::Duration;

use crate::error::ApiError;
use crate::patch::PatchType;
use crate::route::Verb;

/// One request the fake answered, with what RBAC needs to authorize it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The client that sent it (see [`crate::FakeApiServer::client_as`]); `default` for
    /// [`crate::FakeApiServer::client`].
    pub client: String,
    /// The RBAC verb.
    pub verb: Verb,
    /// API group, empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// `status` for the status subresource.
    pub subresource: Option<String>,
    /// The namespace in the path; `None` for cluster-scoped objects and all-namespace lists and watches.
    pub namespace: Option<String>,
    /// The object name, for get, update, patch and delete.
    pub name: Option<String>,
    /// The patch type of a patch.
    pub patch: Option<PatchType>,
    /// The HTTP status code answered (200 for a watch that started).
    pub code: u16,
}

impl RequestRecord {
    /// The 403 RBAC answers for this request, worded as the API server words it.
    pub(crate) fn forbidden(&self) -> ApiError {
        let qualified =
            if self.group.is_empty() { self.resource.clone() } else { format!("{}.{}", self.resource, self.group) };
        let named = self.name.as_ref().map_or(String::new(), |name| format!(" {name:?}"));
        let scope = self
            .namespace
            .as_ref()
            .map_or_else(|| "at the cluster scope".to_string(), |ns| format!("in the namespace {ns:?}"));
        ApiError::new(
            403,
            format!(
                "{qualified}{named} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
                self.client,
                self.verb,
                self.rbac_resource(),
                self.group
            ),
        )
    }

    /// `resource` or `resource/subresource`, as RBAC rules name it.
    pub fn rbac_resource(&self) -> String {
        match &self.subresource {
            Some(subresource) => format!("{}/{subresource}", self.resource),
            None => self.resource.clone(),
        }
    }
}

/// What an injected fault does.
#[derive(Debug, Clone)]
pub enum FaultEffect {
    /// Answer with this error instead of handling the request.
    Fail(ApiError),
    /// Handle the request after this delay.
    Delay(Duration),
    /// Answer 403 as RBAC does, naming the user, verb, resource and namespace of the request.
    Forbidden,
}

/// A fault for requests matching a verb and resource: see [`crate::FakeApiServer::inject`].
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) verb: Option<Verb>,
    pub(crate) resource: Option<String>,
    pub(crate) subresource: Option<String>,
    pub(crate) client: Option<String>,
    pub(crate) remaining: Option<usize>,
    pub(crate) effect: FaultEffect,
}

impl Fault {
    /// Fail matching requests with `code` (a `Status` with the reason the API server pairs with it).
    pub fn fail(code: u16) -> Self {
        Self::fail_with(ApiError::new(code, format!("injected fault: {code}")))
    }

    /// Fail matching requests with this error.
    pub fn fail_with(error: ApiError) -> Self {
        Self {
            verb: None,
            resource: None,
            subresource: None,
            client: None,
            remaining: None,
            effect: FaultEffect::Fail(error),
        }
    }

    /// Refuse matching requests as RBAC does: 403 `Forbidden` with the API server's wording (`mcpregistries.
    /// toolhive.stacklok.io is forbidden: User "alice" cannot list resource "mcpregistries" in API group
    /// "toolhive.stacklok.io" in the namespace "team-a"`).
    pub fn forbidden() -> Self {
        Self { effect: FaultEffect::Forbidden, ..Self::fail(403) }
    }

    /// Delay matching requests.
    pub fn delay(delay: Duration) -> Self {
        Self { effect: FaultEffect::Delay(delay), ..Self::fail(500) }
    }

    /// Only requests with this verb and plural resource (`configmaps`, `mcpregistries`). A resource
    /// written `mcpregistries/status` matches only the status subresource; without `/…` it matches the
    /// main resource only.
    pub fn on(mut self, verb: Verb, resource: &str) -> Self {
        self.verb = Some(verb);
        match resource.split_once('/') {
            Some((resource, subresource)) => {
                self.resource = Some(resource.to_string());
                self.subresource = Some(subresource.to_string());
            }
            None => self.resource = Some(resource.to_string()),
        }
        self
    }

    /// Only requests of this client (its [`crate::FakeApiServer::client_as`] name, or over HTTP its bearer
    /// token): a user the cluster's RBAC refuses, with [`Fault::forbidden`].
    pub fn from_client(mut self, client: &str) -> Self {
        self.client = Some(client.to_string());
        self
    }

    /// Only the next `count` matching requests; without it, every matching request until cleared.
    pub fn times(mut self, count: usize) -> Self {
        self.remaining = Some(count);
        self
    }

    pub(crate) fn matches(&self, record: &RequestRecord) -> bool {
        self.client.as_ref().is_none_or(|client| *client == record.client)
            && self.verb.is_none_or(|verb| verb == record.verb)
            && self
                .resource
                .as_ref()
                .is_none_or(|resource| *resource == record.resource && self.subresource == record.subresource)
    }
}
