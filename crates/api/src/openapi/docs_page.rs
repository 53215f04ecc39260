//! `GET /docs`: a small static HTML page, built once from the OpenAPI document, that lists every route with
//! its summary and links to `/openapi.yaml` and `/openapi.json` (the 404 text of unknown paths points here,
//! as the official registry's does).

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::Operation;

/// The media type of the page.
pub const HTML_MEDIA_TYPE: &str = "text/html; charset=utf-8";

static PAGE: LazyLock<String> = LazyLock::new(|| render(&super::openapi_document()));

/// `text` with the characters that mean something in HTML escaped (braces too, so path templates read as
/// text in every renderer).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            c => out.push(c),
        }
    }
    out
}

fn render(document: &OpenApi) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>thv-registry API</title>\n</head>\n<body>\n<h1>thv-registry API</h1>\n\
         <p>The MCP Registry API (<code>/v0.1</code>, <code>/v0</code>, and per registry under \
         <code>/registry/&#123;registry&#125;</code>), the ToolHive API (<code>/api/v1</code>) and operational \
         endpoints. The full description is the OpenAPI 3.1 document: \
         <a href=\"/openapi.yaml\">/openapi.yaml</a> or <a href=\"/openapi.json\">/openapi.json</a>.</p>\n\
         <table>\n<tr><th>Method</th><th>Path</th><th>Summary</th></tr>\n",
    );
    for (path, item) in &document.paths.paths {
        let operations: [(&str, &Option<Operation>); 5] = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let summary = operation.summary.as_deref().or(operation.description.as_deref()).unwrap_or_default();
            let _ = writeln!(
                html,
                "<tr><td>{method}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(path),
                escape(summary)
            );
        }
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

/// `GET /docs`.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "docs",
    tag = "openapi",
    summary = "This API's routes, as an HTML page",
    responses(
        (status = 200, description = "A static HTML page listing every route and linking the OpenAPI document.",
            body = String, content_type = "text/html; charset=utf-8"),
        (status = 400, description = "A NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
    )
)]
pub async fn docs() -> Response {
    let mut response = PAGE.as_str().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML_MEDIA_TYPE));
    response
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'{y}</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#123;y&#125;&lt;/a&gt;");
    }
}
