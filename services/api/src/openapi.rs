//! `/openapi.json` (OpenAPI 3.1), drawn from [`crate::access::ENDPOINTS`]: every endpoint,
//! its parameters, its security, and the problem+json answers it may give. Request body
//! schemas are written out here; the handlers reject unknown fields, so they are closed.

use crate::access::{Access, ENDPOINTS, Endpoint};
use serde_json::{Map, Value, json};

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let path = endpoint.path.replace("{*path}", "{path}");
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_lowercase()] = operation(endpoint);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "diaba",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Land parcels, household addresses (Vpostcode) and flood risk of Cần Thơ. Errors are \
                            application/problem+json (RFC 9457). Public reads need no token; writes need a bearer \
                            token of the right role, within its wards.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "citizen": { "type": "apiKey", "in": "cookie", "name": crate::citizen::SESSION_COOKIE,
                             "description": "a citizen's session, opened by signing in at /auth/login" },
            },
            "schemas": schemas(),
            "responses": {
                "Problem": {
                    "description": "An error, explained",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
                },
            },
        },
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters: Vec<Value> = path_parameters(endpoint.path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters.extend(endpoint.query.iter().map(|p| {
        json!({ "name": p.name, "in": "query", "required": p.required, "description": p.description,
                "schema": { "type": p.kind } })
    }));
    if endpoint.body.is_some_and(|b| b != "LookupBatch") {
        for (name, description) in [
            ("If-Match", "the version being changed (writes of existing records)"),
            ("Idempotency-Key", "a key made by the client, for submissions"),
        ] {
            parameters.push(json!({ "name": name, "in": "header", "required": false, "description": description,
                                    "schema": { "type": "string" } }));
        }
    }
    let problem = json!({ "$ref": "#/components/responses/Problem" });
    let mut responses = json!({
        "200": { "description": "OK", "content": { endpoint.produces: {} } },
        "400": problem, "404": problem, "405": problem, "406": problem, "408": problem, "413": problem,
        "415": problem, "422": problem, "429": problem, "503": problem,
        "401": problem,
    });
    // The OGC documents are also web pages (`?f=html` or a browser's Accept).
    if endpoint.tag == "ogc" && endpoint.path != "/ogc/api" {
        responses["200"]["content"]["text/html"] = json!({});
    }
    if endpoint.access.roles().is_some() {
        responses["403"] = problem.clone();
    }
    // Sign-in sends the browser on (303); signing out answers nothing (204).
    if endpoint.tag == "citizens" {
        responses["204"] = json!({ "description": "Signed out" });
        responses["303"] = json!({ "description": "On to the provider, or back to the page" });
    }
    if endpoint.body.is_some() {
        for status in ["201", "409", "412", "428"] {
            responses[status] = if status == "201" { json!({ "description": "Created" }) } else { problem.clone() };
        }
    }
    if endpoint.produces != "application/json" {
        responses["204"] = json!({ "description": "Nothing there (an empty tile)" });
        responses["206"] = json!({ "description": "Part of the file (Range)" });
        responses["304"] = json!({ "description": "Not modified (If-None-Match)" });
        responses["416"] = problem.clone();
    }
    let mut operation = json!({
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": responses,
    });
    match endpoint.access {
        Access::Public => {}
        Access::PublicOwnersToRegistrars => {
            operation["description"] = json!(
                "Personal data (owners, authors, notes, capture details) is included only for registrars of the record's ward and admins."
            );
            operation["security"] = json!([{}, { "bearer": [] }]);
        }
        _ => operation["security"] = json!([{ "bearer": [] }]),
    }
    if endpoint.access.admits_citizens() {
        operation["security"] = json!([{ "bearer": [] }, { "citizen": [] }]);
    }
    if let Some(body) = endpoint.body {
        let content = if body == "Document" {
            let file = json!({ "schema": { "type": "string", "format": "binary" } });
            json!({ "application/pdf": file, "image/jpeg": file, "image/png": file })
        } else {
            json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } })
        };
        operation["requestBody"] = json!({ "required": body != "Decision", "content": content });
    }
    operation
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(|s| s.trim_start_matches('*'))
}

fn schemas() -> Value {
    let text = |max: u32| json!({ "type": ["string", "null"], "maxLength": max });
    let land_use = json!({
        "type": "object",
        "required": ["code", "area_m2"],
        "properties": { "code": { "type": "string" }, "area_m2": { "type": "number" },
                        "term": { "type": ["string", "null"] }, "code_list": { "type": ["string", "null"] } },
    });
    let geometry = json!({
        "type": "object", "description": "GeoJSON Polygon or MultiPolygon, WGS84 (or with a crs member: EPSG:5897)",
        "required": ["type", "coordinates"],
        "properties": { "type": { "enum": ["Polygon", "MultiPolygon"] }, "coordinates": { "type": "array" } },
    });
    let submission = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["lat", "lon", "accuracy_m", "house_number", "captured_at"],
        "properties": {
            "lat": { "type": "number" }, "lon": { "type": "number" }, "accuracy_m": { "type": "number", "minimum": 0 },
            "house_number": { "type": "string", "maxLength": 200 }, "street": text(200), "hamlet": text(200),
            "head_name": text(200), "device_id": text(200), "captured_at": { "type": "string", "format": "date-time" },
            "vpostcode": { "type": ["string", "null"] },
        },
    });
    json!({
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                "detail": { "type": "string" }, "field": { "type": "string" },
                "parcels": { "type": "array", "items": { "type": "integer" } },
            },
        },
        "ParcelBody": {
            "type": "object",
            "additionalProperties": false,
            "description": "A new parcel needs ward, sheet, number, geometry and land_uses",
            "properties": {
                "ward": { "type": "string" }, "sheet": { "type": "integer" }, "number": { "type": "integer" },
                "geometry": geometry, "crs": { "type": ["string", "null"] }, "land_uses": { "type": "array", "items": land_use },
                "address_text": text(500), "certificate_serial": text(100), "registry_number": text(100),
                "owners": { "type": "array" }, "reason": text(500),
            },
        },
        "ParcelPatch": { "$ref": "#/components/schemas/ParcelBody" },
        "SplitBody": {
            "type": "object", "additionalProperties": false, "required": ["parts"],
            "properties": { "parts": { "type": "array", "items": { "type": "object" } }, "reason": text(500) },
        },
        "MergeBody": {
            "type": "object", "additionalProperties": false, "required": ["parcels"],
            "properties": { "parcels": { "type": "array", "items": { "type": "object" } }, "reason": text(500) },
        },
        "LookupBatch": {
            "type": "object", "required": ["points"],
            "additionalProperties": false,
            "properties": {
                "points": { "type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["lat", "lon"],
                    "properties": { "lat": { "type": "number" }, "lon": { "type": "number" } } } },
                "at": { "type": ["string", "null"] },
            },
        },
        "Submission": submission,
        "SubmissionBatch": {
            "type": "object", "additionalProperties": false, "required": ["submissions"],
            "properties": { "submissions": { "type": "array", "maxItems": 500, "items": { "type": "object" } } },
        },
        "Decision": { "type": "object", "additionalProperties": false, "properties": { "reason": text(200) } },
        "FloodRule": {
            "type": "object", "additionalProperties": false, "required": ["datastream", "threshold"],
            "properties": { "datastream": { "type": "integer" }, "threshold": { "type": "number" },
                            "watch_hours": { "type": ["number", "null"], "exclusiveMinimum": 0 } },
        },
        "SensorThingsEntity": {
            "description": "A SensorThings v1.1 entity (an Observation for sensors; Things, Locations, Sensors, \
                            ObservedProperties, Datastreams for admins), or for CreateObservations a list of \
                            {Datastream, components, dataArray}",
            "type": ["object", "array"],
        },
        "Application": {
            "type": "object", "additionalProperties": false,
            "required": ["certificate", "changes", "reason"],
            "properties": {
                "certificate": { "type": "string" }, "party_id": { "type": ["integer", "null"] },
                "applicant_name": text(200), "contact_email": text(254), "reason": { "type": "string", "maxLength": 2000 },
                "changes": { "type": "object", "additionalProperties": false,
                             "properties": { "name": text(200), "personal_id": text(12), "address": text(200) } },
            },
        },
        "Step": { "type": "object", "additionalProperties": false,
                  "properties": { "note": text(2000), "outcome": { "enum": ["endorsement", "new_certificate", null] },
                                  "new_certificate": text(20) } },
        "Payment": {
            "type": "object", "additionalProperties": false, "required": ["provider", "amount_vnd", "reference"],
            "properties": { "provider": { "enum": ["counter"] }, "amount_vnd": { "type": "integer" },
                            "reference": { "type": "string", "maxLength": 100 } },
        },
        "Endorsement": {
            "type": "object", "additionalProperties": false, "required": ["text"],
            "properties": {
                "endorsed_on": { "type": ["string", "null"], "format": "date" }, "text": { "type": "string", "maxLength": 2000 },
                "source": { "type": ["object", "null"], "additionalProperties": false, "required": ["kind"],
                            "properties": { "kind": { "type": "string" }, "number": text(100),
                                            "issued_on": { "type": ["string", "null"], "format": "date" },
                                            "issuer": text(200), "file_ref": text(500) } },
            },
        },
    })
}
