//! The `/ogc` documents as web pages, for a person browsing the service (`?f=html`, or a
//! browser's `Accept: text/html`): links, collections and features as tables. Drawn from
//! the same JSON the machines get, so the two never disagree. Every value is escaped.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::fmt::Write;

/// Whether the caller asked for HTML: `f=html`, or (without `f`) a browser's Accept header.
pub fn wants_html(headers: &HeaderMap, f: Option<&str>) -> bool {
    match f {
        Some(f) => f == "html",
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.trim_start().starts_with("text/html")),
    }
}

/// `doc` as a page titled `title`.
pub fn page(title: &str, doc: &Value) -> Response {
    let mut body = String::new();
    let heading = doc["title"].as_str().unwrap_or(title);
    let _ = write!(body, "<h1>{}</h1>", escape(heading));
    if let Some(description) = doc["description"].as_str() {
        let _ = write!(body, "<p>{}</p>", escape(description));
    }
    if let (Some(matched), Some(returned)) = (doc["numberMatched"].as_i64(), doc["numberReturned"].as_i64()) {
        let _ = write!(body, "<p>{returned} of {matched} features.</p>");
    }
    links(&mut body, doc);
    if let Some(collections) = doc["collections"].as_array() {
        body.push_str("<table><tr><th>collection</th><th>title</th></tr>");
        for c in collections {
            let id = c["id"].as_str().unwrap_or_default();
            let href = c["links"][0]["href"].as_str().unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td></tr>",
                escape(&as_html(href)),
                escape(id),
                escape(c["title"].as_str().unwrap_or_default())
            );
        }
        body.push_str("</table>");
    }
    if let Some(features) = doc["features"].as_array() {
        features_table(&mut body, features);
    }
    if doc["type"] == "Feature" {
        features_table(&mut body, std::slice::from_ref(doc));
    }
    if let Some(classes) = doc["conformsTo"].as_array() {
        body.push_str("<ul>");
        for class in classes.iter().filter_map(Value::as_str) {
            let _ = write!(body, "<li>{}</li>", escape(class));
        }
        body.push_str("</ul>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · diaba OGC API</title><link rel=\"stylesheet\" href=\"/assets/css/app.css\"></head>\
         <body class=\"ogc\"><main>{body}<p><a href=\"/\">map</a> · <a href=\"/ogc?f=html\">OGC API</a> · \
         the same document as <a href=\"{json}\">JSON</a></p></main></body></html>",
        escape(heading),
        json = escape(&self_as(doc, "json"))
    );
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn links(body: &mut String, doc: &Value) {
    let Some(links) = doc["links"].as_array() else { return };
    body.push_str("<ul class=\"links\">");
    for link in links {
        let (Some(href), Some(rel)) = (link["href"].as_str(), link["rel"].as_str()) else { continue };
        // Documents stay pages as you follow them; the API definition stays itself.
        let target = if rel == "service-desc" { href.to_owned() } else { as_html(href) };
        let label = link["title"].as_str().unwrap_or(rel);
        let _ = write!(body, "<li><a rel=\"{}\" href=\"{}\">{}</a></li>", escape(rel), escape(&target), escape(label));
    }
    body.push_str("</ul>");
}

fn features_table(body: &mut String, features: &[Value]) {
    let mut columns: Vec<String> = Vec::new();
    for feature in features {
        if let Some(properties) = feature["properties"].as_object() {
            for key in properties.keys() {
                if !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    body.push_str("<table><tr><th>id</th>");
    for column in &columns {
        let _ = write!(body, "<th>{}</th>", escape(column));
    }
    body.push_str("</tr>");
    for feature in features {
        let id = match &feature["id"] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(body, "<tr><td>{}</td>", escape(&id));
        for column in &columns {
            let cell = match &feature["properties"][column] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(body, "<td>{}</td>", escape(&cell));
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
}

/// `href` asking for the HTML view (replacing any `f`).
fn as_html(href: &str) -> String {
    with_format(href, "html")
}

/// The document's own link (with its paging and filters) in format `f`.
fn self_as(doc: &Value, f: &str) -> String {
    let own = doc["links"].as_array().and_then(|links| links.iter().find(|l| l["rel"] == "self"));
    with_format(own.and_then(|l| l["href"].as_str()).unwrap_or("?"), f)
}

fn with_format(href: &str, f: &str) -> String {
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    let format = format!("f={f}");
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("f=")).collect();
    pairs.push(&format);
    format!("{path}?{}", pairs.join("&"))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_links_replace_the_format() {
        assert_eq!(
            as_html("http://h/ogc/collections/parcels/items?limit=5&f=json"),
            "http://h/ogc/collections/parcels/items?limit=5&f=html"
        );
        assert_eq!(as_html("http://h/ogc"), "http://h/ogc?f=html");
    }

    #[test]
    fn values_are_escaped() {
        assert_eq!(escape("<script>\"x\" & 'y'"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;");
    }

    #[test]
    fn browsers_get_html_and_f_decides_over_accept() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(wants_html(&headers, None));
        assert!(!wants_html(&headers, Some("json")));
        assert!(!wants_html(&HeaderMap::new(), None));
        assert!(wants_html(&HeaderMap::new(), Some("html")));
    }
}
