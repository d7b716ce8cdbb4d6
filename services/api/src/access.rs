//! Who may call what: one table of every endpoint with its access rule. The router refuses
//! a route that is not in it (500, logged), the role part of each rule is enforced here
//! before any handler runs, the access-matrix test walks it, and `/openapi.json` is drawn
//! from it. Ward scope needs the resource (its ward), so handlers check that part.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use diaba_core::auth::Role;

/// The rule of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no token needed (a present token must still be valid).
    Public,
    /// Anyone; registrars of the record's ward (and admins) also see its personal data.
    PublicOwnersToRegistrars,
    /// Any signed-in user.
    SignedIn,
    /// Collectors (and admins), within their wards.
    Collector,
    /// Registrars (and admins), within their wards.
    Registrar,
    /// Sensors (and admins), within their datastreams (checked by the handler).
    Sensor,
    /// Admins only.
    Admin,
    /// Any signed-in user, or a signed-in citizen (session cookie, checked by the handler).
    SignedInOrCitizen,
    /// Registrars (and admins) within their wards, or the citizen whose dossier it is
    /// (session cookie, checked by the handler).
    RegistrarOrCitizen,
}

impl Access {
    /// The roles this rule lets through; `None` when no token is needed.
    pub fn roles(self) -> Option<&'static [Role]> {
        match self {
            Access::Public | Access::PublicOwnersToRegistrars => None,
            Access::SignedIn | Access::SignedInOrCitizen => Some(&[Role::Collector, Role::Registrar, Role::Admin]),
            Access::Collector => Some(&[Role::Collector, Role::Admin]),
            Access::Sensor => Some(&[Role::Sensor, Role::Admin]),
            Access::Admin => Some(&[Role::Admin]),
            Access::Registrar | Access::RegistrarOrCitizen => Some(&[Role::Registrar, Role::Admin]),
        }
    }

    /// Whether a request without a token goes on to the handler, which looks for a
    /// citizen's session.
    pub fn admits_citizens(self) -> bool {
        matches!(self, Access::SignedInOrCitizen | Access::RegistrarOrCitizen)
    }
}

/// A query parameter, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name in the query string.
    pub name: &'static str,
    /// JSON Schema type: "string", "number" or "integer".
    pub kind: &'static str,
    /// Whether the endpoint refuses a request without it.
    pub required: bool,
    /// What it means.
    pub description: &'static str,
}

const fn q(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param { name, kind, required: false, description }
}

const fn required(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param { name, kind, required: true, description }
}

/// One endpoint: method, path as routed (axum syntax), rule, and its documentation.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// HTTP method (HEAD is answered by GET).
    pub method: Method,
    /// Path as routed, e.g. `/v1/parcels/{id}`.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// OpenAPI tag (the resource).
    pub tag: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Query parameters.
    pub query: &'static [Param],
    /// The fields of the handler's query type, to check [`Endpoint::query`] against;
    /// `None` where the handler reads no typed query (none, or OGC's free filters).
    pub query_type: Option<fn() -> &'static [&'static str]>,
    /// Name of the request body schema in the OpenAPI components, if it takes one.
    pub body: Option<&'static str>,
    /// What the success answer is (media type).
    pub produces: &'static str,
}

const JSON: &str = "application/json";
const AT: Param = q("at", "string", "as-of date (YYYY-MM-DD, end of that day in Việt Nam) or RFC 3339 instant");
const LAT: Param = required("lat", "number", "latitude, WGS84 (Cần Thơ: about 9.9 to 10.3)");
const LON: Param = required("lon", "number", "longitude, WGS84 (Cần Thơ: about 105.3 to 105.9)");
const LIMIT: Param = q("limit", "integer", "page size");
const AFTER: Param = q("after", "integer", "keyset: the last id of the previous page");
const SEARCH: &[Param] = &[
    required("q", "string", "words, with or without diacritics"),
    q("limit", "integer", "1 to 100"),
    q("offset", "integer", "0 to 10 000"),
    q("autocomplete", "string", "true: the last word is still being typed (a prefix)"),
    q("focus", "string", "lat,lon: favour households near it"),
    q("ward", "string", "5-digit ward code: only its households"),
];
const OGC_ITEMS: &[Param] = &[
    q("bbox", "string", "minx,miny,maxx,maxy (in bbox-crs)"),
    q("bbox-crs", "string", "CRS of bbox: CRS84 or EPSG:5897"),
    q("crs", "string", "CRS of the answer: CRS84 or EPSG:5897"),
    q("limit", "integer", "1 to 10 000, default 100"),
    q("offset", "integer", "paging offset (follow the next link)"),
    q("datetime", "string", "as-of instant or date"),
    q("f", "string", "json"),
];

macro_rules! endpoint {
    ($method:ident $path:literal, $access:ident, $tag:literal, $summary:literal $(, query: $query:expr)? $(, from: $from:ty)? $(, body: $body:literal)? $(, produces: $produces:expr)?) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            access: Access::$access,
            tag: $tag,
            summary: $summary,
            query: { #[allow(unused_variables)] let query: &[Param] = &[]; $(let query = $query;)? query },
            query_type: {
                #[allow(unused_variables)]
                let from: Option<fn() -> &'static [&'static str]> = None;
                $(let from: Option<fn() -> &'static [&'static str]> = Some(crate::fields::serde_fields::<$from>);)?
                from
            },
            body: { #[allow(unused_variables)] let body: Option<&str> = None; $(let body = Some($body);)? body },
            produces: { #[allow(unused_variables)] let produces = JSON; $(let produces = $produces;)? produces },
        }
    };
}

/// Every endpoint diaba serves.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint!(GET "/health", Public, "service", "Liveness and database reachability"),
    endpoint!(GET "/openapi.json", Public, "service", "This document"),
    endpoint!(GET "/metrics", Public, "service", "Prometheus metrics (OpenMetrics text): requests by route and status, latency, index sizes, change-feed lag, tile cache, pools, replica lag",
        produces: "application/openmetrics-text"),
    endpoint!(GET "/v1/me", SignedInOrCitizen, "service", "Who the bearer token belongs to (name, role, wards); for a signed-in citizen, their parties and rights"),
    endpoint!(GET "/auth/login", Public, "citizens", "Sign in at the OpenID provider (authorization code + PKCE)", query: &[q("return", "string", "a path of this service to come back to")],
        from: crate::routes::citizens::LoginQuery, produces: "text/html"),
    endpoint!(GET "/auth/callback", Public, "citizens", "Where the provider sends the citizen back (opens a session cookie)",
        query: &[q("code", "string", "authorization code"), q("state", "string", "the sign-in's state"), q("error", "string", "the provider's error"),
                 q("error_description", "string", "the provider's explanation"), q("iss", "string", "the provider's issuer (RFC 9207)")],
        from: crate::routes::citizens::CallbackQuery, produces: "text/html"),
    endpoint!(POST "/auth/logout", Public, "citizens", "End the citizen's session"),
    endpoint!(GET "/v1/units", Public, "units", "Administrative units at a point and date", query: &[LAT, LON, AT], from: crate::routes::units::UnitsQuery),
    endpoint!(GET "/v1/parcels", PublicOwnersToRegistrars, "parcels", "Find parcels by key, national id or bounding box",
        query: &[q("ward", "string", "5-digit ward code"), q("sheet", "integer", "map sheet"), q("number", "integer", "parcel number"),
                 q("national_id", "string", "12-character national parcel id"), q("bbox", "string", "minLon,minLat,maxLon,maxLat"), AT, LIMIT, AFTER],
        from: diaba_register::parcels::ParcelSearch),
    endpoint!(POST "/v1/parcels", Registrar, "parcels", "Register a new parcel", body: "ParcelBody"),
    endpoint!(POST "/v1/parcels/merge", Registrar, "parcels", "Merge adjacent parcels into one", body: "MergeBody"),
    endpoint!(GET "/v1/parcels/{id}", PublicOwnersToRegistrars, "parcels", "One parcel (ETag = version)", query: &[AT], from: crate::routes::parcels::AtQuery),
    endpoint!(PUT "/v1/parcels/{id}", Registrar, "parcels", "Replace a parcel (If-Match)", body: "ParcelBody"),
    endpoint!(PATCH "/v1/parcels/{id}", Registrar, "parcels", "Correct a parcel's fields (If-Match)", body: "ParcelPatch"),
    endpoint!(GET "/v1/parcels/{id}/history", PublicOwnersToRegistrars, "parcels", "Every version of a parcel"),
    endpoint!(GET "/v1/parcels/{id}/lineage", Public, "parcels", "Parents and children through splits and merges"),
    endpoint!(POST "/v1/parcels/{id}/split", Registrar, "parcels", "Split a parcel (If-Match)", body: "SplitBody"),
    endpoint!(GET "/v1/parcels/{id}/extract.pdf", PublicOwnersToRegistrars, "parcels",
        "The parcel extract (trích lục thửa đất), A4 PDF; holders for registrars of its ward", produces: "application/pdf"),
    endpoint!(GET "/v1/parcels/{id}/rights", PublicOwnersToRegistrars, "parties",
        "Whether a parcel is certified; its rights and holders for registrars of its ward", query: &[AT], from: crate::routes::parcels::AtQuery),
    endpoint!(GET "/v1/parties", Registrar, "parties", "Land users of your wards by personal ID or name",
        query: &[q("personal_id", "string", "12-digit personal ID (or a 9-digit older card)"), q("name", "string", "part of a name, diacritics optional"),
                 q("ward", "string", "only this ward (one of yours)")],
        from: diaba_register::parties::PartySearch),
    endpoint!(GET "/v1/parties/{id}", Registrar, "parties", "A land user and its rights (registrars of its parcels' wards)"),
    endpoint!(GET "/v1/parties/{id}/verification", Registrar, "parties",
        "A land user's details against the population register: what differs is shown, never corrected"),
    endpoint!(GET "/v1/population/{personal_id}", Registrar, "parties",
        "A resident in the office's copy of the population register, to pre-fill a party (each lookup logged)",
        query: &[required("ward", "string", "the ward (one of yours) the lookup is for")], from: crate::routes::parties::WardQuery),
    endpoint!(POST "/v1/applications", RegistrarOrCitizen, "applications",
        "A dossier (form Mẫu 18): a change of the certificate holder's name, personal ID or address, sent online by the signed-in holder or recorded at the counter by a registrar", body: "Application"),
    endpoint!(GET "/v1/applications", RegistrarOrCitizen, "applications", "Dossiers of your wards, by state, or overdue; a citizen's own dossiers",
        query: &[q("ward", "string", "5-digit ward code (one of yours)"), q("status", "string", "a dossier state"),
                 q("overdue", "string", "true: open dossiers past their due date")],
        from: diaba_register::applications::ApplicationSearch),
    endpoint!(GET "/v1/applications/figures", Registrar, "applications",
        "Per ward: dossiers received, decided on time, late, overdue now, and due on the next working day (to notify)",
        query: &[q("ward", "string", "5-digit ward code (one of yours)")], from: crate::routes::applications::FiguresQuery),
    endpoint!(GET "/v1/applications/{code}", RegistrarOrCitizen, "applications",
        "A dossier with its steps, due date, documents, certificate and (office) the population register's answer (ETag = version)"),
    endpoint!(GET "/v1/applications/{code}/qr.svg", Public, "applications",
        "The QR code of the dossier's status address (--public-url, or the request's host)", produces: "image/svg+xml"),
    endpoint!(GET "/v1/applications/{code}/status", Public, "applications",
        "A dossier's state, dates and timeline, for anyone with its code: nothing personal"),
    endpoint!(GET "/v1/applications/{code}/documents", RegistrarOrCitizen, "applications", "The documents attached to a dossier"),
    endpoint!(POST "/v1/applications/{code}/documents", RegistrarOrCitizen, "applications",
        "Attach a PDF, JPEG or PNG (the body; its type is read from its content)",
        query: &[required("kind", "string", "application_form, id_card, certificate, civil_status or other"),
                 required("name", "string", "the file's name")],
        from: crate::routes::applications::DocumentQuery, body: "Document"),
    endpoint!(GET "/v1/applications/{code}/documents/{id}", RegistrarOrCitizen, "applications", "One document's file", produces: "*/*"),
    endpoint!(POST "/v1/applications/{code}/payments", Registrar, "applications", "Record the fee paid (at the counter: the receipt number)", body: "Payment"),
    endpoint!(POST "/v1/applications/{code}/{step}", RegistrarOrCitizen, "applications",
        "receive, review, requisition, resubmit, approve, issue, close, refuse, withdraw, suspend or resume (If-Match); the citizen resubmits and withdraws", body: "Step"),
    endpoint!(GET "/v1/certificates/{serial}", PublicOwnersToRegistrars, "parties",
        "A certificate: serial, status, parcels; holders and endorsements for registrars of its ward (ETag = version)"),
    endpoint!(POST "/v1/certificates/{serial}/endorsements", Registrar, "parties", "Endorse a certificate (If-Match)", body: "Endorsement"),
    endpoint!(GET "/v1/lookup", Public, "lookup", "Ward, parcel, flood zones, address and Vpostcode at a point", query: &[LAT, LON, AT],
        from: crate::routes::lookup::LookupQuery),
    endpoint!(POST "/v1/lookup", Public, "lookup", "The same for many points", body: "LookupBatch"),
    endpoint!(GET "/v1/flood/zones", Public, "flood", "Flood-risk zones",
        query: &[q("scenario", "string", "scenario id"), q("level", "integer", "risk level, 1 (low) to 5 (very high)"), q("bbox", "string", "minLon,minLat,maxLon,maxLat: zones meeting the box")],
        from: crate::routes::flood::ZonesQuery),
    endpoint!(GET "/v1/flood/zones/{id}/exposure", Public, "flood", "Parcels and households in a flood zone", query: &[LIMIT, AFTER], from: crate::routes::flood::PageQuery),
    endpoint!(GET "/v1/flood/exposure", Public, "flood", "Flood exposure of a ward", query: &[q("ward", "string", "5-digit ward code"), q("scenario", "string", "scenario id")],
        from: crate::routes::flood::WardQuery),
    endpoint!(POST "/v1/addresses/submissions", Collector, "addresses", "Submit a household (Idempotency-Key)", body: "Submission"),
    endpoint!(GET "/v1/addresses/submissions", Registrar, "addresses", "Submissions of a ward, by status",
        query: &[required("ward", "string", "5-digit ward code"), q("status", "string", "pending, verified or rejected"), LIMIT, AFTER],
        from: crate::routes::addresses::SubmissionsQuery),
    endpoint!(POST "/v1/addresses/submissions/batch", Collector, "addresses", "Up to 500 queued submissions, each answered", body: "SubmissionBatch"),
    endpoint!(POST "/v1/addresses/submissions/{id}/{decision}", Registrar, "addresses", "Verify or reject a submission (If-Match)", body: "Decision"),
    endpoint!(GET "/v1/addresses", Public, "addresses", "Search verified addresses (as you type, typo-tolerant, Vietnamese-aware)",
        query: SEARCH, from: diaba_register::addresses::SearchRequest),
    endpoint!(GET "/v1/geocode", Public, "addresses", "The address search as a GeoJSON FeatureCollection (Photon-style)",
        query: SEARCH, from: diaba_register::addresses::SearchRequest, produces: "application/geo+json"),
    endpoint!(GET "/v1/addresses/nearest", Public, "addresses", "The nearest verified address", query: &[LAT, LON, q("radius_m", "number", "metres, at most 1000")],
        from: crate::routes::addresses::PointQuery),
    endpoint!(GET "/v1/addresses/nearby", Public, "addresses", "Verified addresses around a point, nearest first", query: &[LAT, LON, q("radius_m", "number", "metres, at most 1000")],
        from: crate::routes::addresses::PointQuery),
    endpoint!(GET "/v1/addresses/stats", Public, "addresses", "Households digitised, by ward, team and day", query: &[q("ward", "string", "5-digit ward code")],
        from: crate::routes::addresses::StatsQuery),
    endpoint!(GET "/v1/addresses/{id}", Public, "addresses", "One address (personal fields to its collector and the ward's registrars)"),
    endpoint!(GET "/v1/vpostcode", Public, "addresses", "The Vpostcode of a point", query: &[LAT, LON], from: crate::routes::addresses::EncodeQuery),
    endpoint!(GET "/v1/vpostcode/{code}", Public, "addresses", "Decode a Vpostcode: its cell and households"),
    endpoint!(GET "/ogc", Public, "ogc", "OGC API – Features landing page"),
    endpoint!(GET "/ogc/", Public, "ogc", "OGC API – Features landing page"),
    endpoint!(GET "/ogc/conformance", Public, "ogc", "Conformance classes"),
    endpoint!(GET "/ogc/api", Public, "ogc", "OpenAPI 3.0 document of /ogc", produces: "application/vnd.oai.openapi+json;version=3.0"),
    endpoint!(GET "/ogc/collections", Public, "ogc", "Collections"),
    endpoint!(GET "/ogc/collections/{id}", Public, "ogc", "One collection"),
    endpoint!(GET "/ogc/collections/{id}/items", PublicOwnersToRegistrars, "ogc", "Features, paged", query: OGC_ITEMS, produces: "application/geo+json"),
    endpoint!(GET "/ogc/collections/{id}/items/{feature}", PublicOwnersToRegistrars, "ogc", "One feature",
        query: &[q("crs", "string", "CRS84 or EPSG:5897"), q("datetime", "string", "as-of")], produces: "application/geo+json"),
    endpoint!(GET "/tiles/{layer}/{z}/{x}/{y}", Public, "tiles", "A Mapbox Vector Tile (y ends in .mvt)", produces: "application/vnd.mapbox-vector-tile"),
    endpoint!(GET "/tiles/{file}", Public, "tiles", "TileJSON ({layer}.json) or the MapLibre style (style.json)"),
    endpoint!(GET "/fonts/{fontstack}/{range}", Public, "tiles", "Label glyphs of the map style: a 256-code-point SDF range ({start}-{end}.pbf)", produces: "application/x-protobuf"),
    endpoint!(GET "/v1/packs/{file}", Public, "tiles", "A ward's offline PMTiles pack ({ward}.pmtiles, range requests)", produces: "application/vnd.pmtiles"),
    endpoint!(GET "/v1/flood/live", Public, "flood", "Flooding now: zones dry, on watch or flooded (since when), the exposure of those not dry by ward, the rules, the latest alerts"),
    endpoint!(GET "/v1/flood/live/events", Public, "flood", "Alerts as Server-Sent Events (event: alert), each with the zone, its change of state, the reading and the exposure", produces: "text/event-stream"),
    endpoint!(PUT "/v1/flood/rules/{scenario}/{level}", Admin, "flood", "Set the gauge and threshold that flood the zones of a scenario and risk level", body: "FloodRule"),
    endpoint!(GET "/sta/v1.1", Public, "sensors", "SensorThings API v1.1: the service root (entity sets)"),
    endpoint!(GET "/sta/v1.1/{*path}", Public, "sensors", "SensorThings entities: a set, one entity or one link deep (Datastreams(1)/Observations); $top $skip $count $orderby $filter; @iot.nextLink",
        query: &[q("$top", "integer", "page size (100, at most 10 000)"), q("$skip", "integer", "entities skipped"),
                 q("$count", "string", "true: @iot.count"), q("$orderby", "string", "e.g. phenomenonTime desc"),
                 q("$filter", "string", "e.g. phenomenonTime ge 2026-11-30T00:00:00Z and result gt 1.9")]),
    endpoint!(POST "/sta/v1.1/{*path}", Sensor, "sensors", "Ingest Observations (sensor tokens, their datastreams; CreateObservations for many) or, for admins, create Things, Locations, Sensors, ObservedProperties, Datastreams", body: "SensorThingsEntity"),
    endpoint!(GET "/", Public, "web", "The map page", produces: "text/html"),
    endpoint!(GET "/field", Public, "web", "The field (phone) page", produces: "text/html"),
    endpoint!(GET "/review", Public, "web", "The registrar's review page", produces: "text/html"),
    endpoint!(GET "/apply", Public, "web", "The citizen's page: apply for a change of the holder's details, follow a dossier", produces: "text/html"),
    endpoint!(GET "/office", Public, "web", "The registrar's dossier queue", produces: "text/html"),
    endpoint!(GET "/ioc", Public, "web", "The operations centre's wall: zones flooding now, gauges, exposure by ward, alerts", produces: "text/html"),
    endpoint!(GET "/sw.js", Public, "web", "The field page's service worker", produces: "text/javascript"),
    endpoint!(GET "/manifest.webmanifest", Public, "web", "The field page's web app manifest", produces: "application/manifest+json"),
    endpoint!(GET "/assets/{*path}", Public, "web", "Scripts, styles and icons of the pages", produces: "*/*"),
];

/// The rule of `method` on the routed `path`.
pub fn endpoint(method: &Method, path: &str) -> Option<&'static Endpoint> {
    // HEAD is answered by GET routes.
    let method = if method == Method::HEAD { &Method::GET } else { method };
    ENDPOINTS.iter().find(|e| e.method == *method && e.path == path)
}

/// Route layer: finds the endpoint's rule, resolves the bearer token once (handlers reuse
/// it), and turns away a missing token (401) or a role the rule does not admit (403).
pub async fn authorize(State(state): State<AppState>, matched: MatchedPath, request: Request, next: Next) -> Response {
    let path = matched.as_str();
    let Some(endpoint) = endpoint(request.method(), path) else {
        if ENDPOINTS.iter().any(|e| e.path == path) {
            return next.run(request).await; // another method of a known path: axum's 405
        }
        tracing::error!(method = %request.method(), path, "route without an access rule in access::ENDPOINTS");
        return ApiError::Internal(format!("no access rule for {} {path}", request.method()).into()).into_response();
    };
    let (mut parts, body) = request.into_parts();
    let auth = match Auth::resolve(&parts, &state).await {
        Ok(auth) => auth,
        Err(error) => return error.into_response(),
    };
    if let Some(roles) =
        endpoint.access.roles().filter(|_| auth.caller().is_some() || !endpoint.access.admits_citizens())
    {
        let caller = match auth.required() {
            Ok(caller) => caller,
            Err(error) => return error.into_response(),
        };
        if !roles.contains(&caller.role) {
            let wanted: Vec<&str> = roles.iter().map(diaba_core::auth::Role::as_str).collect();
            return ApiError::Forbidden {
                detail: format!(
                    "{} {path} is for a {}; you are a {}",
                    endpoint.method,
                    wanted.join(" or "),
                    caller.role.as_str()
                ),
            }
            .into_response();
        }
    }
    parts.extensions.insert(auth);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `.route("path", get(..).post(..))` in the route modules, as (METHOD, path).
    fn routed() -> BTreeSet<(String, String)> {
        let sources = [
            ("addresses", include_str!("routes/addresses.rs")),
            ("applications", include_str!("routes/applications.rs")),
            ("citizens", include_str!("routes/citizens.rs")),
            ("flood", include_str!("routes/flood.rs")),
            ("health", include_str!("routes/health.rs")),
            ("lookup", include_str!("routes/lookup.rs")),
            ("me", include_str!("routes/me.rs")),
            ("ogc", include_str!("routes/ogc.rs")),
            ("openapi", include_str!("routes/openapi.rs")),
            ("parcels", include_str!("routes/parcels.rs")),
            ("parties", include_str!("routes/parties.rs")),
            ("sta", include_str!("routes/sta.rs")),
            ("tiles", include_str!("routes/tiles.rs")),
            ("units", include_str!("routes/units.rs")),
        ];
        // Every route module is read here (a new one left out would hide its routes from
        // this check); the others route nothing or only the static pages.
        let unrouted = ["ogc_html", "ogc_query", "web"];
        for line in include_str!("routes/mod.rs").lines() {
            if let Some(module) = line.strip_prefix("pub(crate) mod ").and_then(|m| m.strip_suffix(';')) {
                assert!(
                    sources.iter().any(|(name, _)| *name == module) || unrouted.contains(&module),
                    "routes/{module}.rs is not read by this test: add it to `sources`"
                );
            }
        }
        let mut found = BTreeSet::new();
        for (_, source) in sources {
            for call in source.split(".route(\"").skip(1) {
                let (path, rest) = call.split_once('"').expect("a quoted path");
                let methods = rest.split_once(")\n").map_or(rest, |(m, _)| m);
                for method in ["get", "post", "put", "patch", "delete"] {
                    if methods.contains(&format!("{method}(")) {
                        found.insert((method.to_uppercase(), path.to_owned()));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_documented_query_parameter_is_one_the_handler_reads_and_back() {
        for endpoint in ENDPOINTS {
            let documented: BTreeSet<&str> = endpoint.query.iter().map(|p| p.name).collect();
            let Some(fields) = endpoint.query_type else {
                // OGC items read free property filters from the raw query, SensorThings its
                // $-options (checked by diaba-sensorthings); the rest read none.
                let raw = endpoint.path.starts_with("/ogc/") || endpoint.path.starts_with("/sta/");
                assert!(
                    raw || documented.is_empty(),
                    "{} {}: documented without a query type",
                    endpoint.method,
                    endpoint.path
                );
                continue;
            };
            let read: BTreeSet<&str> = fields().iter().copied().collect();
            assert_eq!(documented, read, "{} {}: documented vs read by the handler", endpoint.method, endpoint.path);
        }
    }

    #[test]
    fn every_routed_endpoint_has_exactly_one_rule() {
        let table: Vec<(String, String)> = ENDPOINTS
            .iter()
            .filter(|e| e.tag != "web") // the pages are static routes, listed by hand
            .map(|e| (e.method.to_string(), e.path.to_owned()))
            .collect();
        let unique: BTreeSet<_> = table.iter().cloned().collect();
        assert_eq!(unique.len(), table.len(), "an endpoint is listed twice");
        assert_eq!(unique, routed(), "access::ENDPOINTS and the routers must list the same endpoints");
    }
}
