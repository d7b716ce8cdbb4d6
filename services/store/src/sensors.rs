//! Sensors in the SensorThings data model: the entities, observations in monthly
//! partitions (made when a reading first needs one, dropped past the retention), and the
//! count of readings refused. The SQL of queries comes from `diaba-sensorthings`, over
//! whitelisted columns with every value bound.

use crate::error::{Error, QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diaba_sensorthings::reading::Reading;
use diaba_sensorthings::{Bind, NewEntity, Query, Resource};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// One page of a SensorThings resource: `(id, entity JSON without annotations)` rows, one
/// more than asked when there is a next page, and the total when asked.
#[derive(Debug, Clone)]
pub struct StaRows {
    /// The rows.
    pub rows: Vec<(i64, Value)>,
    /// `@iot.count`, when asked.
    pub count: Option<i64>,
}

/// What a datastream allows a writer: its sensor and the range it can measure.
#[derive(Debug, Clone, Copy)]
pub struct DatastreamLimits {
    /// The Sensor of the datastream.
    pub sensor: i64,
    /// Lowest and highest measurable results.
    pub range: (Option<f64>, Option<f64>),
}

type Sql<'q> = sqlx::query::QueryAs<'q, sqlx::Postgres, (i64, Value), sqlx::postgres::PgArguments>;

fn bind_all<'q>(mut query: Sql<'q>, binds: &'q [Bind]) -> Sql<'q> {
    for bind in binds {
        query = match bind {
            Bind::Int(n) => query.bind(*n),
            Bind::Float(x) => query.bind(*x),
            Bind::Text(t) => query.bind(t.as_str()),
            Bind::Time(t) => query.bind(*t),
        };
    }
    query
}

impl Store {
    /// The rows answering `resource` with `query`'s options (ignored for one entity).
    pub async fn sta_rows(&self, resource: &Resource, query: &Query) -> Result<StaRows> {
        let set = resource.set();
        let (mut conditions, id) = match resource {
            Resource::Set(_) => (Vec::new(), None),
            Resource::Entity(_, id) => (vec!["e.id = $1".to_string()], Some(*id)),
            Resource::Linked { id, link, .. } => (vec![link.condition.to_string()], Some(*id)),
        };
        let single = resource.is_single();
        let mut binds: Vec<Bind> = id.map(Bind::Int).into_iter().collect();
        if !single && let Some(filter) = &query.filter_sql {
            conditions.push(filter.clone());
            binds.extend(query.binds.iter().cloned());
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let from = format!("FROM {} e{filter}", set.table());
        let page = if single {
            " LIMIT 1".to_string()
        } else {
            format!(" ORDER BY {} LIMIT {} OFFSET {}", query.order_sql, query.top + 1, query.skip)
        };
        let sql = format!("SELECT e.id, {} {from}{page}", set.json_sql());
        let rows = bind_all(sqlx::query_as(&sql), &binds).fetch_all(self.pool()).await.query("sensorthings rows")?;
        let count = if query.count && !single {
            let sql = format!("SELECT count(*), 'null'::jsonb {from}");
            let counted =
                bind_all(sqlx::query_as(&sql), &binds).fetch_one(self.pool()).await.query("sensorthings count")?;
            Some(counted.0)
        } else {
            None
        };
        Ok(StaRows { rows, count })
    }

    /// Creates an entity; its id. A link to an entity that does not exist is
    /// [`Error::UnknownLink`].
    pub async fn sta_create(&self, entity: &NewEntity) -> Result<i64> {
        let mut tx = self.pool().begin().await.query("begin sensorthings create")?;
        let id: i64 = match entity {
            NewEntity::Thing { name, description, properties, locations } => {
                let id = sqlx::query_scalar("INSERT INTO sta_thing (name, description, properties) VALUES ($1, $2, $3) RETURNING id")
                    .bind(name)
                    .bind(description)
                    .bind(properties)
                    .fetch_one(&mut *tx)
                    .await
                    .query("create thing")?;
                link_things(&mut tx, &[id], locations).await?;
                id
            }
            NewEntity::Location { name, description, point: [lon, lat], things } => {
                let id = sqlx::query_scalar(
                    "INSERT INTO sta_location (name, description, location) \
                     VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326)) RETURNING id",
                )
                .bind(name)
                .bind(description)
                .bind(lon)
                .bind(lat)
                .fetch_one(&mut *tx)
                .await
                .query("create location")?;
                link_things(&mut tx, things, &[id]).await?;
                id
            }
            NewEntity::Sensor { name, description, encoding_type, metadata } => sqlx::query_scalar(
                "INSERT INTO sta_sensor (name, description, encoding_type, metadata) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name)
            .bind(description)
            .bind(encoding_type)
            .bind(metadata)
            .fetch_one(&mut *tx)
            .await
            .query("create sensor")?,
            NewEntity::ObservedProperty { name, definition, description } => sqlx::query_scalar(
                "INSERT INTO sta_observed_property (name, definition, description) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(name)
            .bind(definition)
            .bind(description)
            .fetch_one(&mut *tx)
            .await
            .query("create observed property")?,
            NewEntity::Datastream { name, description, unit_of_measurement, thing, sensor, observed_property, range } => {
                sqlx::query_scalar(
                    "INSERT INTO sta_datastream (name, description, unit_of_measurement, thing_id, sensor_id, \
                       observed_property_id, result_min, result_max) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(name)
                .bind(description)
                .bind(unit_of_measurement)
                .bind(thing)
                .bind(sensor)
                .bind(observed_property)
                .bind(range.0)
                .bind(range.1)
                .fetch_one(&mut *tx)
                .await
                .map_err(unknown_link)?
            }
        };
        tx.commit().await.query("commit sensorthings create")?;
        Ok(id)
    }

    /// The datastreams among `ids` that writer `user_id` may write to (an admin: all), with
    /// their limits.
    pub async fn sta_writable(&self, user_id: i64, admin: bool, ids: &[i64]) -> Result<HashMap<i64, DatastreamLimits>> {
        let rows: Vec<(i64, i64, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT d.id, d.sensor_id, d.result_min, d.result_max FROM sta_datastream d \
             WHERE d.id = ANY($1) AND ($3 OR EXISTS (SELECT 1 FROM app_user u WHERE u.id = $2 AND d.id = ANY(u.datastreams)))",
        )
        .bind(ids)
        .bind(user_id)
        .bind(admin)
        .fetch_all(self.pool())
        .await
        .query("writable datastreams")?;
        Ok(rows
            .into_iter()
            .map(|(id, sensor, min, max)| (id, DatastreamLimits { sensor, range: (min, max) }))
            .collect())
    }

    /// Stores checked readings in one statement (making the months' partitions first);
    /// their ids, in order.
    pub async fn sta_insert(&self, readings: &[Reading]) -> Result<Vec<i64>> {
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        let months: BTreeSet<(i32, u32)> =
            readings.iter().map(|r| (r.phenomenon_time.year(), r.phenomenon_time.month())).collect();
        for (year, month) in months {
            self.ensure_observation_partition(year, month).await?;
        }
        let streams: Vec<i64> = readings.iter().map(|r| r.datastream).collect();
        let times: Vec<DateTime<Utc>> = readings.iter().map(|r| r.phenomenon_time).collect();
        let result_times: Vec<Option<DateTime<Utc>>> = readings.iter().map(|r| r.result_time).collect();
        let results: Vec<f64> = readings.iter().map(|r| r.result).collect();
        sqlx::query_scalar(
            "INSERT INTO sta_observation (datastream_id, phenomenon_time, result_time, result) \
             SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::timestamptz[], $4::float8[]) RETURNING id",
        )
        .bind(&streams)
        .bind(&times)
        .bind(&result_times)
        .bind(&results)
        .fetch_all(self.pool())
        .await
        .query("insert observations")
    }

    /// Makes the partition of `year`-`month` if it is not there. Creating a partition locks
    /// the whole table, so it is looked for first (without a lock) and made once.
    async fn ensure_observation_partition(&self, year: i32, month: u32) -> Result<()> {
        let name = format!("sta_observation_{year:04}_{month:02}");
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&name)
            .fetch_one(self.pool())
            .await
            .query("find partition")?;
        if exists {
            return Ok(());
        }
        let from = NaiveDate::from_ymd_opt(year, month, 1).ok_or(Error::Geometry { detail: "month".into() })?;
        let to = from + chrono::Months::new(1);
        let mut tx = self.pool().begin().await.query("begin partition")?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('sta_observation partitions'))")
            .execute(&mut *tx)
            .await
            .query("lock partitions")?;
        // Names and bounds are made of numbers only.
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF sta_observation FOR VALUES FROM ('{from}') TO ('{to}')"
        ))
        .execute(&mut *tx)
        .await
        .query("create partition")?;
        tx.commit().await.query("commit partition")
    }

    /// Drops the observation partitions whose month ended before `cutoff`; their names.
    pub async fn sta_drop_partitions_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'sta_observation'::regclass ORDER BY 1",
        )
        .fetch_all(self.pool())
        .await
        .query("list partitions")?;
        let mut dropped = Vec::new();
        for name in names {
            let month = name.strip_prefix("sta_observation_").and_then(|ym| {
                let (y, m) = ym.split_once('_')?;
                NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
            });
            let Some(month) = month else { continue };
            let end = (month + chrono::Months::new(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            if end <= cutoff {
                sqlx::query(&format!("DROP TABLE {name}")).execute(self.pool()).await.query("drop partition")?;
                dropped.push(name);
            }
        }
        Ok(dropped)
    }

    /// Counts refused readings per sensor (0: unknown datastream) and reason.
    pub async fn sta_count_rejections(&self, refused: &[(i64, &str)]) -> Result<()> {
        let mut counts: HashMap<(i64, &str), i64> = HashMap::new();
        for key in refused {
            *counts.entry(*key).or_default() += 1;
        }
        for ((sensor, reason), count) in counts {
            sqlx::query(
                "INSERT INTO sta_rejection (sensor_id, reason, count) VALUES ($1, $2, $3) \
                 ON CONFLICT (sensor_id, reason) DO UPDATE SET count = sta_rejection.count + excluded.count, last_at = now()",
            )
            .bind(sensor)
            .bind(reason)
            .bind(count)
            .execute(self.pool())
            .await
            .query("count rejections")?;
        }
        Ok(())
    }

    /// Refused readings so far: `(sensor, reason, count)`.
    pub async fn sta_rejections(&self) -> Result<Vec<(i64, String, i64)>> {
        sqlx::query_as("SELECT sensor_id, reason, count FROM sta_rejection ORDER BY 1, 2")
            .fetch_all(self.pool())
            .await
            .query("rejections")
    }
}

async fn link_things(tx: &mut sqlx::PgConnection, things: &[i64], locations: &[i64]) -> Result<()> {
    for thing in things {
        for location in locations {
            sqlx::query(
                "INSERT INTO sta_thing_location (thing_id, location_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(thing)
            .bind(location)
            .execute(&mut *tx)
            .await
            .map_err(unknown_link)?;
        }
    }
    Ok(())
}

/// A foreign key that found nothing: the request named an entity that does not exist.
pub(crate) fn unknown_link(source: sqlx::Error) -> Error {
    match source.as_database_error() {
        Some(db) if db.code().as_deref() == Some("23503") => {
            // PostgreSQL's detail names the key: "Key (thing_id)=(99) is not present in …".
            let detail = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|e| e.detail());
            Error::UnknownLink { detail: detail.unwrap_or_else(|| db.message()).to_string() }
        }
        _ => Error::Query { query: "sensorthings link", source },
    }
}
