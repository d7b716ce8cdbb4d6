//! `/sta/v1.1`: water-level sensors through the OGC SensorThings API v1.1 (the subset its
//! clients use): the entity sets, one entity, one link deep, `$top` `$skip` `$count`
//! `$orderby` `$filter` with `@iot.nextLink` paging, and ingest (`POST Observations`, or
//! many at once with `CreateObservations`) by sensor tokens within their datastreams.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::tiles::base_url;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use diaba_core::auth::{Caller, Role};
use diaba_register::flood_live::Writer;
use diaba_sensorthings::reading::{self, Fault};
use diaba_sensorthings::{EntitySet, NewEntity, Query, Resource, StaError};
use serde_json::{Map, Value, json};

/// Path prefix of the service.
const ROOT: &str = "/sta/v1.1";

pub fn router() -> Router<AppState> {
    Router::new().route("/sta/v1.1", get(service_document)).route("/sta/v1.1/{*path}", get(read).post(create))
}

impl From<StaError> for ApiError {
    fn from(error: StaError) -> Self {
        match error {
            StaError::BadRequest(detail) => ApiError::invalid("sensorthings", detail),
            StaError::NotFound(detail) => ApiError::not_found(detail),
        }
    }
}

/// The service root: the entity sets and what the server conforms to.
async fn service_document(headers: HeaderMap) -> Response {
    let base = format!("{}{ROOT}", base_url(&headers));
    let sets: Vec<Value> =
        EntitySet::ALL.iter().map(|s| json!({ "name": s.name(), "url": format!("{base}/{}", s.name()) })).collect();
    axum::Json(json!({
        "value": sets,
        "serverSettings": { "conformance": [
            "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
        ]},
    }))
    .into_response()
}

/// An entity (with its `@iot.id`, `@iot.selfLink` and navigation links) from its row.
fn annotate(base: &str, set: EntitySet, id: i64, body: Value) -> Value {
    let mut out = Map::new();
    out.insert("@iot.id".into(), json!(id));
    out.insert("@iot.selfLink".into(), json!(format!("{base}/{}({id})", set.name())));
    if let Value::Object(fields) = body {
        out.extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
    }
    for link in set.navigation() {
        out.insert(
            format!("{}@iot.navigationLink", link.name),
            json!(format!("{base}/{}({id})/{}", set.name(), link.name)),
        );
    }
    Value::Object(out)
}

async fn read(
    State(state): State<AppState>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resource = Resource::parse(&path)?;
    let set = resource.set();
    let raw = raw.unwrap_or_default();
    // Navigation's source id is $1; a filter's values follow it.
    let query = Query::parse(set, &raw, if matches!(resource, Resource::Set(_)) { 1 } else { 2 })?;
    let base = format!("{}{ROOT}", base_url(&headers));
    let mut page = state.register.store().sta_rows(&resource, &query).await?;
    if resource.is_single() {
        let (id, body) = page.rows.pop().ok_or_else(|| ApiError::not_found(format!("no {path}")))?;
        return Ok(axum::Json(annotate(&base, set, id, body)).into_response());
    }
    if let Resource::Linked { from, id, .. } = resource {
        // The collection of a missing entity is a 404, not an empty list.
        let source = Resource::Entity(from, id);
        let found = state.register.store().sta_rows(&source, &query).await?;
        if found.rows.is_empty() {
            return Err(ApiError::not_found(format!("no {}({id})", from.name())));
        }
    }
    let more = page.rows.len() as i64 > query.top;
    page.rows.truncate(usize::try_from(query.top).unwrap_or(usize::MAX));
    let mut out = Map::new();
    if let Some(count) = page.count {
        out.insert("@iot.count".into(), json!(count));
    }
    if more {
        out.insert("@iot.nextLink".into(), json!(next_link(&base, &path, &raw, query.top, query.skip)));
    }
    let value: Vec<Value> = page.rows.into_iter().map(|(id, body)| annotate(&base, set, id, body)).collect();
    out.insert("value".into(), Value::Array(value));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// The same request one page on: `$skip` moved by `$top`, the other options kept.
fn next_link(base: &str, path: &str, raw: &str, top: i64, skip: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        if key != "$skip" && key != "$top" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("$top", &top.to_string()).append_pair("$skip", &(skip + top).to_string());
    format!("{base}/{}?{}", path.trim_matches('/'), query.finish())
}

/// `POST`: an Observation (`Observations`, `Datastreams(n)/Observations`), many at once
/// (`CreateObservations`), or, for admins, a Thing, Location, Sensor, ObservedProperty or
/// Datastream.
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(path): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Result<Response, ApiError> {
    let caller = auth.required()?;
    let base = format!("{}{ROOT}", base_url(&headers));
    if path == "CreateObservations" {
        return create_observations(&state, caller, &base, &body).await;
    }
    let (datastream, set) = match Resource::parse(&path)? {
        Resource::Set(set) => (None, set),
        Resource::Linked { from: EntitySet::Datastreams, id, link } if link.target == EntitySet::Observations => {
            (Some(id), EntitySet::Observations)
        }
        _ => return Err(ApiError::invalid("sensorthings", format!("cannot create at {path}; POST to an entity set"))),
    };
    if set == EntitySet::Observations {
        let observation = reading::observation(&body, datastream);
        let ingested = state.register.ingest(Writer::Caller(caller), vec![observation]).await?;
        let id = match ingested.outcome.into_iter().next() {
            Some(Ok(id)) => id,
            Some(Err(fault)) => return Err(ApiError::invalid("Observation", fault.to_string())),
            None => return Err(ApiError::invalid("Observation", "no observation in the body")),
        };
        let location = format!("{base}/Observations({id})");
        return Ok(
            (StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(json!({ "@iot.id": id }))).into_response()
        );
    }
    if caller.role != Role::Admin {
        return Err(ApiError::Forbidden {
            detail: format!("only admins create {}; sensors write Observations", set.name()),
        });
    }
    let entity = NewEntity::parse(set, &body)?;
    let id = state.register.store().sta_create(&entity).await.map_err(|e| match e {
        diaba_store::Error::UnknownLink { detail } => {
            ApiError::invalid("@iot.id", format!("a linked entity does not exist: {detail}"))
        }
        other => other.into(),
    })?;
    let created = state.register.store().sta_rows(&Resource::Entity(set, id), &Query::parse(set, "", 2)?).await?;
    let body = created.rows.into_iter().next().map_or(Value::Null, |(_, body)| body);
    let location = format!("{base}/{}({id})", set.name());
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(annotate(&base, set, id, body)))
        .into_response())
}

/// `CreateObservations` (SensorThings §14): per datastream, `components` naming the
/// columns and a `dataArray` of rows; answered with one selfLink or `"error"` per row.
async fn create_observations(
    state: &AppState,
    caller: &Caller,
    base: &str,
    body: &Value,
) -> Result<Response, ApiError> {
    let groups = body.as_array().ok_or_else(|| {
        ApiError::invalid("CreateObservations", "the body is a list of {Datastream, components, dataArray}")
    })?;
    let mut observations = Vec::new();
    for group in groups {
        let stream = group.get("Datastream").and_then(|d| d.get("@iot.id")).and_then(Value::as_i64);
        let components: Vec<&str> =
            group.get("components").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        for row in group.get("dataArray").and_then(Value::as_array).into_iter().flatten() {
            let fields: Map<String, Value> = components
                .iter()
                .zip(row.as_array().into_iter().flatten())
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect();
            observations.push(match stream {
                Some(stream) => reading::observation(&Value::Object(fields), Some(stream)),
                None => Err(Fault::Malformed("each group names its Datastream: {\"@iot.id\": n}".into())),
            });
        }
    }
    let ingested = state.register.ingest(Writer::Caller(caller), observations).await?;
    let answer: Vec<Value> = ingested
        .outcome
        .iter()
        .map(|o| match o {
            Ok(id) => json!(format!("{base}/Observations({id})")),
            // The specification answers a refused row with the bare string "error".
            Err(_) => json!("error"),
        })
        .collect();
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
