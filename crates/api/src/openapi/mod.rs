//! The OpenAPI 3.1 document of the HTTP API, built from the handlers' `#[utoipa::path]` annotations.
//!
//! Each handler declares its path once, relative to where it is mounted; `GROUPS` lists the handlers
//! and the prefixes they are served under, and [`openapi_document`] expands every path for each prefix
//! (adding the `registry` path parameter and its 404 under `/registry/{registry}`). To document a new
//! route, annotate its handler and add it to one of the `#[openapi(paths(...))]` lists below, or add a
//! new group.
//!
//! The document is rendered once ([`openapi_yaml`], [`openapi_json`]) and served at `/openapi.yaml` and
//! `/openapi.json` (also under `/registry/{registry}`); `docs/openapi.yaml` is a committed copy that a
//! test keeps up to date.

pub(crate) mod docs_page;
pub mod schemas;
pub(crate) mod serve;
pub mod toolhive_schemas;

use std::sync::LazyLock;

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
    ResponseBuilder,
};

use crate::problem::PROBLEM_JSON;
use crate::routes::{ops, registries, servers, toolhive};

/// `info.version`: ToolHive's `api` sources require exactly this (the official registry's value).
pub const OPENAPI_INFO_VERSION: &str = "1.0.0";

/// The upstream project, which ToolHive's `api` sources look for in `info.description`.
pub const UPSTREAM_REPOSITORY: &str = "https://github.com/modelcontextprotocol/registry";

/// The `info.description` of the document.
const DESCRIPTION: &str = "thv-registry serves the MCP Registry API of \
https://github.com/modelcontextprotocol/registry as a subregistry: the read API for the aggregate of all \
configured registries under `/v0.1` and `/v0` (identical), and for one registry under \
`/registry/{registry}/v0.1` and `/registry/{registry}/v0`. Errors are RFC 9457 `application/problem+json`. \
Unknown paths answer 404, paths ending in `/` are redirected (308) to the path without it.";

/// The MCP Registry read API, annotated relative to its prefix.
#[derive(utoipa::OpenApi)]
#[openapi(paths(servers::list, servers::versions, servers::version))]
struct ReadApi;

/// The OpenAPI document itself.
#[derive(utoipa::OpenApi)]
#[openapi(paths(serve::yaml, serve::json))]
struct SpecApi;

/// The HTML page of the routes, served once at the root.
#[derive(utoipa::OpenApi)]
#[openapi(paths(docs_page::docs))]
struct DocsApi;

/// The ToolHive API, served once at the root.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    toolhive::list,
    toolhive::show,
    registries::list,
    registries::show,
    registries::changes,
    registries::sync
))]
struct ToolHiveApi;

/// Operational endpoints, served once at the root.
#[derive(utoipa::OpenApi)]
#[openapi(paths(ops::healthz, ops::ping, ops::readyz, ops::version, ops::metrics))]
struct OpsApi;

/// Where a group of handlers is mounted.
struct Prefix {
    /// Prepended to each annotated path.
    path: &'static str,
    /// Appended to each `operationId`, which must be unique in the document.
    operation_suffix: &'static str,
}

/// The prefixes of the MCP Registry read API (the router's `PREFIXES`), `/v0.1` first.
const READ_PREFIXES: &[Prefix] = &[
    Prefix { path: "/v0.1", operation_suffix: "" },
    Prefix { path: "/v0", operation_suffix: "V0" },
    Prefix { path: "/registry/{registry}/v0.1", operation_suffix: "ForRegistry" },
    Prefix { path: "/registry/{registry}/v0", operation_suffix: "ForRegistryV0" },
];

/// The root, and each registry's base URL.
const ROOT_AND_REGISTRY: &[Prefix] = &[
    Prefix { path: "", operation_suffix: "" },
    Prefix { path: "/registry/{registry}", operation_suffix: "ForRegistry" },
];

/// The root only.
const ROOT: &[Prefix] = &[Prefix { path: "", operation_suffix: "" }];

/// Handlers documented together and mounted under the same prefixes.
struct Group {
    /// The handlers' document, from `#[derive(utoipa::OpenApi)]`.
    api: fn() -> OpenApi,
    /// Where each of the annotated paths is served.
    prefixes: &'static [Prefix],
}

/// Every documented handler: a group's annotated paths are expanded under each of its prefixes. New routes
/// served once (e.g. under `/api/v1`) go into a `#[derive(utoipa::OpenApi)]` list with [`ROOT`]; the
/// `openapi` integration test fails while a `.route("…")` of `src/routes/` is missing here.
const GROUPS: &[Group] = &[
    Group { api: <ReadApi as utoipa::OpenApi>::openapi, prefixes: READ_PREFIXES },
    Group { api: <SpecApi as utoipa::OpenApi>::openapi, prefixes: ROOT_AND_REGISTRY },
    Group { api: <DocsApi as utoipa::OpenApi>::openapi, prefixes: ROOT },
    Group { api: <ToolHiveApi as utoipa::OpenApi>::openapi, prefixes: ROOT },
    Group { api: <OpsApi as utoipa::OpenApi>::openapi, prefixes: ROOT },
];

/// Paths served by the handler of another documented path: (alias, documented path, operationId).
const ALIASES: &[(&str, &str, &str)] = &[("/health", "/healthz", "health")];

/// Builds the OpenAPI document of the whole API.
pub fn openapi_document() -> OpenApi {
    let info = InfoBuilder::new()
        .title("thv-registry")
        .version(OPENAPI_INFO_VERSION)
        .description(Some(DESCRIPTION))
        .license(Some(LicenseBuilder::new().name("Apache-2.0").identifier(Some("Apache-2.0")).build()))
        .build();
    let tags = [
        ("servers", "The MCP Registry read API (list and fetch server versions)."),
        ("toolhive", "The ToolHive API: latest servers, filtered, and one server in ToolHive's format."),
        ("registries", "Registry status, change sets and manual syncs."),
        ("openapi", "This document, and an HTML page of the routes (`/docs`)."),
        ("operations", "Liveness, readiness, build information and metrics."),
    ]
    .map(|(name, description)| TagBuilder::new().name(name).description(Some(description)).build());
    let mut document = OpenApiBuilder::new().info(info).tags(Some(tags)).build();
    let mut components = Components::new();
    for group in GROUPS {
        let api = (group.api)();
        if let Some(found) = api.components {
            components.schemas.extend(found.schemas);
        }
        for prefix in group.prefixes {
            for (path, item) in &api.paths.paths {
                document.paths.paths.insert(format!("{}{path}", prefix.path), mounted(item, prefix));
            }
        }
    }
    for (alias, path, operation_id) in ALIASES {
        if let Some(mut item) = document.paths.paths.get(*path).cloned() {
            if let Some(operation) = item.get.as_mut() {
                operation.operation_id = Some((*operation_id).to_owned());
            }
            document.paths.paths.insert((*alias).to_owned(), item);
        }
    }
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "A token from the server's token file (`thv registry token create`) or an OIDC JWT. Needed for writes, \
             and for reads when the server runs with `--require-auth-for-reads` (then any catalog route may also \
             answer 401). A read that needs no token ignores one the server does not know.",
        ))
        .build();
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    document.components = Some(components);
    document
}

/// `item` as served under `prefix`: suffixed operation ids and, under a registry, the `registry`
/// parameter and its 404.
fn mounted(item: &PathItem, prefix: &Prefix) -> PathItem {
    let mut item = item.clone();
    let per_registry = prefix.path.contains("{registry}");
    for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
        .into_iter()
        .filter_map(Option::as_mut)
    {
        if let Some(id) = operation.operation_id.as_mut() {
            id.push_str(prefix.operation_suffix);
        }
        if per_registry {
            add_registry(operation);
        }
        add_nul_rejection(operation);
    }
    item
}

/// Adds the 400 that any route answers for a NUL byte in the path or query, where the annotation has none.
fn add_nul_rejection(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    if responses.contains_key("400") {
        return;
    }
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    let response = ResponseBuilder::new()
        .description("A NUL byte in the request (sent as `application/json`).")
        .content(PROBLEM_JSON, problem())
        .content("application/json", problem());
    responses.insert("400".to_owned(), RefOr::T(response.build()));
}

/// Adds the `registry` path parameter (first) and the 404 for an unknown registry.
fn add_registry(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name("registry")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("The name of a configured registry."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    operation.parameters.get_or_insert_with(Vec::new).insert(0, RefOr::T(parameter));
    const UNKNOWN: &str = "The registry is unknown";
    let responses = &mut operation.responses.responses;
    match responses.get_mut("404") {
        Some(RefOr::T(response)) => response.description = format!("{} {UNKNOWN}.", response.description),
        _ => {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let response = ResponseBuilder::new().description(format!("{UNKNOWN}.")).content(PROBLEM_JSON, content);
            responses.insert("404".to_owned(), RefOr::T(response.build()));
        }
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<OpenApi> = LazyLock::new(openapi_document);

/// The YAML rendering, built once.
static YAML: LazyLock<String> = LazyLock::new(|| {
    // Serialising a document we built cannot fail: every map key is a string.
    serde_saphyr::to_string(&*DOCUMENT).expect("the OpenAPI document serialises to YAML")
});

/// The JSON rendering, built once.
static JSON: LazyLock<String> = LazyLock::new(|| {
    let mut text = DOCUMENT.to_pretty_json().expect("the OpenAPI document serialises to JSON");
    text.push('\n');
    text
});

/// The document as YAML (what `/openapi.yaml` serves and `docs/openapi.yaml` holds).
pub fn openapi_yaml() -> String {
    YAML.clone()
}

/// The document as pretty-printed JSON (what `/openapi.json` serves).
pub fn openapi_json() -> String {
    JSON.clone()
}

fn openapi_yaml_str() -> &'static str {
    &YAML
}

fn openapi_json_str() -> &'static str {
    &JSON
}
