//! Command-line interface: every flag also reads an environment variable.

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use diaba_core::Layer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;

/// diaba — the land and address register of Cần Thơ, as a spatial API over PostGIS.
///
/// With no DATABASE_URL, diaba runs its own private PostgreSQL + PostGIS cluster in
/// --data-dir (Unix socket only), started and stopped with the service.
#[derive(Debug, Parser)]
#[command(name = "diaba", version, about, long_about)]
pub struct Cli {
    /// Log filter (tracing syntax, e.g. `info` or `diaba_api=debug`); DIABA_LOG overrides it.
    #[arg(long, global = true, default_value = "info,sqlx=warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (migrates and loads the shipped Cần Thơ data first).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and load the shipped administrative units, then exit.
    Migrate(DbArgs),
    /// Import a file (GeoJSON, Shapefile, GeoPackage, FlatGeobuf … through GDAL).
    Import(ImportArgs),
    /// Load the synthetic demo parcels (labelled synthetic) inside the real wards.
    Seed(SeedArgs),
    /// Manage users and their bearer tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the embedded PostgreSQL cluster.
    #[command(subcommand)]
    Db(DbCommand),
    /// Encode or decode household codes (`94107 9QCJ+2VX`) with the shipped postcode areas.
    #[command(subcommand)]
    Vpostcode(VpostcodeCommand),
    /// Convert coordinates between WGS84 and VN-2000 / TM-3 (official datum shift).
    #[command(subcommand)]
    Crs(CrsCommand),
    /// Print the national parcel id (12-character GeoHash of an interior point) of a polygon.
    ParcelId(ParcelIdArgs),
    /// Bake a ward's vector tiles into a PMTiles v3 archive, for phones working offline.
    Bake(BakeArgs),
    /// Export a layer (verified household addresses as CSV, public fields only).
    Export(ExportArgs),
    /// Write a parcel's extract (trích lục thửa đất) as an A4 PDF, holders included (the
    /// office's copy) unless --public.
    Extract(ExtractArgs),
    /// The office's copy of the population register, which parties are checked against.
    #[command(subcommand)]
    Population(PopulationCommand),
}

#[derive(Debug, Subcommand)]
pub enum PopulationCommand {
    /// Load a population-register extract (CSV: personal_id/so_dinh_danh, full_name/ho_ten,
    /// date_of_birth/ngay_sinh, permanent_address/thuong_tru, card_status/trang_thai) in
    /// place of the last one; all rows or none, every problem reported.
    Import {
        /// The CSV file (UTF-8, header row).
        file: PathBuf,
        /// The file is a synthetic register (tests, demos).
        #[arg(long)]
        synthetic: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The parcel's id.
    pub parcel_id: String,
    /// The PDF to write.
    pub out: PathBuf,
    /// The public variant: no holders.
    #[arg(long)]
    pub public: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(long, value_enum)]
    pub layer: ExportLayer,
    /// File format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Gpkg)]
    pub format: ExportFormat,
    /// Coordinates: EPSG:4326 (lon/lat) or EPSG:5897 (VN-2000 / TM-3 105°; parcels are
    /// written with their legal geometry).
    #[arg(long, default_value = "EPSG:4326")]
    pub crs: String,
    /// Only this ward (current code); every ward otherwise.
    #[arg(long)]
    pub ward: Option<String>,
    /// As of this date (YYYY-MM-DD, end of day in Vietnam) or RFC 3339 instant: parcels
    /// and units as they were then.
    #[arg(long)]
    pub at: Option<String>,
    /// The file to write (standard output for CSV when omitted).
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Formats `diaba export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// GeoPackage.
    Gpkg,
    /// ESRI Shapefile.
    Shp,
    /// GeoJSON.
    Geojson,
    /// FlatGeobuf.
    Fgb,
    /// Comma-separated values, UTF-8, one header row (addresses: one column per field;
    /// other layers: geometry as WKT).
    Csv,
}

#[derive(Debug, Args)]
pub struct BakeArgs {
    /// Ward code (a current ward of the service area), e.g. 31299 for Phong Điền.
    #[arg(long)]
    pub ward: String,
    /// Lowest zoom in the pack.
    #[arg(long, default_value_t = diaba_tilecache::PACK_ZOOMS.0)]
    pub minzoom: u8,
    /// Deepest zoom in the pack.
    #[arg(long, default_value_t = diaba_tilecache::PACK_ZOOMS.1)]
    pub maxzoom: u8,
    /// The archive to write (e.g. phong-dien.pmtiles); replaced only when complete.
    pub out: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read (its first layer).
    pub file: PathBuf,
    /// What the file holds.
    #[arg(long, value_enum)]
    pub layer: ImportLayer,
    /// Coordinate system of the file when its metadata lacks one, is ambiguous or is wrong:
    /// EPSG:4326, EPSG:5897 (VN-2000 / TM-3 105°), EPSG:9209 (105°30'), EPSG:3405 or
    /// EPSG:3406 (VN-2000 / UTM 48N, 49N). Without it, VN-2000 is recognised from a .prj's
    /// parameters (TM-3 or UTM grid, VN-2000 datum or the official TOWGS84).
    #[arg(long)]
    pub src_crs: Option<String>,
    /// Scenario for zones whose file has no scenario field.
    #[arg(long, default_value = "imported")]
    pub scenario: String,
    /// Validate and report only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid features even when others are rejected (default: all or nothing).
    #[arg(long)]
    pub partial: bool,
    /// Which file field holds an attribute, e.g. `--map sheet=TO --map number=THUA`.
    /// Parcels: ward, sheet, number, land_use, area, national_id, address, order (a
    /// coordinate table's corner order); addresses: house_number, street, hamlet, ward,
    /// head_name, vpostcode. Without it the usual names are tried: MaXa, SoHieuToBanDo
    /// (SoHieuToBa in a DBF, SHBANDO), SoThuTuThua (SoThuTuThu, SHTHUA), LoaiDat
    /// (MucDichSuDung, MALOAIDAT, KHLOAIDAT), DienTich, SoNha, TenDuong, Ap, ChuHo, STT …
    #[arg(long = "map", value_name = "ATTRIBUTE=FIELD")]
    pub mapping: Vec<String>,
    /// One value of an attribute for every feature of a file that has no field for it,
    /// e.g. `--set ward=31135 --set sheet=12` for one map sheet of one ward.
    #[arg(long = "set", value_name = "ATTRIBUTE=VALUE")]
    pub values: Vec<String>,
    /// DGN drawings: the level the parcel outlines are drawn on (closed shapes and closed
    /// line strings); texts inside an outline give its number and land use. Default: all levels.
    #[arg(long)]
    pub dgn_level: Option<i64>,
    /// Also write the report (accepted, fixed and rejected features with their ids in the
    /// file and reasons, the outcome, the batch id) to this JSON file, whatever the outcome.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Text encoding of a Shapefile's attributes: UTF-8, CP1258, tcvn3 (ABC fonts), vni
    /// (VNI Windows fonts), or any GDAL knows (e.g. ISO-8859-1). Without it a .cpg is
    /// followed, else a table that is not UTF-8 is read as whichever of CP1258, TCVN3 and
    /// VNI gives Vietnamese words, and the guess reported.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Most vertices in one parcel, as the API's `--max-vertices`.
    #[arg(long, default_value_t = diaba_core::parcel::DEFAULT_MAX_VERTICES)]
    pub max_vertices: usize,
    /// Largest difference, in percent, between a parcel's declared (legal) area and the
    /// area of its outline before the parcel is refused.
    #[arg(long, default_value_t = diaba_interop::DEFAULT_AREA_TOLERANCE_PERCENT)]
    pub area_tolerance: f64,
    #[command(flatten)]
    pub db: DbArgs,
}

/// A layer as `diaba export --layer` names it (public fields: no owners, no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLayer(pub Layer);

/// A layer as `diaba import --layer` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLayer(pub Layer);

/// The `--layer` value of `layer` for export, or `None` when it is not exported.
fn export_value(layer: Layer) -> Option<PossibleValue> {
    Some(match layer {
        Layer::Units => {
            PossibleValue::new("wards").alias("units").help("Administrative units with polygons valid on the day")
        }
        Layer::Parcels => PossibleValue::new("parcels").help("Live land parcels (or as of --at)"),
        Layer::Addresses => PossibleValue::new("addresses").help("Verified household addresses"),
        Layer::FloodZones => PossibleValue::new("flood-zones").help("Flood-risk zones in force"),
        // Personal data: never in an export.
        Layer::Parties | Layer::Rights | Layer::Certificates => return None,
    })
}

/// The `--layer` value of `layer` for import, or `None` when it is not imported.
fn import_value(layer: Layer) -> Option<PossibleValue> {
    Some(match layer {
        Layer::Units => PossibleValue::new("units").alias("wards").help(
            "Administrative unit outlines (code, valid_from; name, postcode optional): a new version of a known \
             unit from that date, or a new unit",
        ),
        Layer::Parcels => PossibleValue::new("parcels")
            .help("Land parcels (keys, main land use, legal area, outline), validated as the API does"),
        Layer::Addresses => PossibleValue::new("addresses").help(
            "Household addresses (points): placed in their ward, coded with their Vpostcode, stored as verified \
             records of the office that holds them",
        ),
        Layer::FloodZones => PossibleValue::new("flood-zones").help("Flood-risk zones with a 1–5 risk level"),
        // Holders come with the parcels of an office's file (its holder columns).
        Layer::Parties | Layer::Rights | Layer::Certificates => return None,
    })
}

static EXPORT_LAYERS: LazyLock<Vec<ExportLayer>> =
    LazyLock::new(|| Layer::ALL.iter().filter(|l| export_value(**l).is_some()).map(|l| ExportLayer(*l)).collect());
static IMPORT_LAYERS: LazyLock<Vec<ImportLayer>> =
    LazyLock::new(|| Layer::ALL.iter().filter(|l| import_value(**l).is_some()).map(|l| ImportLayer(*l)).collect());

impl ValueEnum for ExportLayer {
    fn value_variants<'a>() -> &'a [Self] {
        &EXPORT_LAYERS
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        export_value(self.0)
    }
}

impl ValueEnum for ImportLayer {
    fn value_variants<'a>() -> &'a [Self] {
        &IMPORT_LAYERS
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        import_value(self.0)
    }
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// small ≈ 5 000 parcels (a neighbourhood per ward), full ≈ 250 000.
    #[arg(long, value_enum, default_value_t = DemoProfile::Small)]
    pub profile: DemoProfile,
    /// Seed of the generator: the same seed gives the same parcels.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Seed of the demo generator unless --seed says otherwise.
pub const DEFAULT_SEED: u64 = 20250701;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (or update its role and wards) and print a new token, once.
    Add {
        /// Unique user name.
        name: String,
        /// collector, registrar, admin or sensor.
        #[arg(long)]
        role: String,
        /// Comma-separated 2025 ward codes the user may act in (e.g. 31135,31147).
        #[arg(long, value_delimiter = ',')]
        wards: Vec<String>,
        /// Team name (for collectors' progress reports).
        #[arg(long)]
        team: Option<String>,
        /// For a sensor: comma-separated ids of the SensorThings datastreams it writes to.
        #[arg(long, value_delimiter = ',')]
        datastreams: Vec<i64>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke every token of a user, effective immediately.
    Revoke {
        /// User name.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum VpostcodeCommand {
    /// The code of a position (postcode of the unit containing it + 7 OLC characters).
    Encode {
        /// Latitude, decimal degrees (WGS84).
        #[arg(allow_negative_numbers = true)]
        lat: String,
        /// Longitude, decimal degrees (WGS84).
        #[arg(allow_negative_numbers = true)]
        lon: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The ≈3 m cell a code names, checked against its postcode's area.
    Decode {
        /// The code, with or without space and "+", any case (e.g. "94119 QXHJ+2VX").
        code: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CrsCommand {
    /// WGS84 latitude/longitude → VN-2000 easting/northing.
    ToVn2000 {
        /// Latitude, decimal degrees.
        #[arg(allow_negative_numbers = true)]
        lat: String,
        /// Longitude, decimal degrees.
        #[arg(allow_negative_numbers = true)]
        lon: String,
        #[command(flatten)]
        zone: ZoneArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// VN-2000 easting/northing → WGS84 latitude/longitude.
    ToWgs84 {
        /// Easting in metres (around 500 000). Survey tables call this Y.
        easting: f64,
        /// Northing in metres. Survey tables call this X.
        northing: f64,
        #[command(flatten)]
        zone: ZoneArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Args)]
pub struct ZoneArgs {
    /// TM-3 central meridian in degrees: 105 is Cần Thơ (EPSG:5897), 105.5 former Sóc Trăng
    /// (EPSG:9209).
    #[arg(long, default_value_t = 105.0)]
    pub meridian: f64,
}

#[derive(Debug, Args)]
pub struct ParcelIdArgs {
    /// GeoJSON file with a Polygon or MultiPolygon (a geometry, a Feature, or the first
    /// feature of a FeatureCollection).
    pub file: std::path::PathBuf,
    /// Coordinates of the file: EPSG:4326 (lon/lat) or EPSG:5897 / EPSG:9209 (VN-2000 metres).
    #[arg(long, default_value = "EPSG:4326")]
    pub crs: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Print a connection URL for the embedded cluster (for psql), starting it if needed.
    Url(ClusterArgs),
    /// Stop the embedded cluster if no diaba process is using it.
    Stop(ClusterArgs),
}

/// Where the data lives: an external server, or the embedded cluster.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// PostgreSQL + PostGIS server to use instead of the embedded cluster.
    /// Several servers may be named, libpq-style, for failover:
    /// `postgres://u@a:5432,b:5432/diaba?target_session_attrs=read-write` uses whichever
    /// accepts writes and moves to a promoted standby by itself.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A streaming replica for reads that may be a moment behind (index and search loading,
    /// OGC items, exports); repeat for several. Writes and the change feed stay on the primary.
    #[arg(long = "read-database-url", env = "DIABA_READ_DATABASE_URLS", value_delimiter = ' ', hide_env_values = true)]
    pub read_database_urls: Vec<String>,
    /// Seconds a replica may lag behind the primary before its reads go to the primary.
    #[arg(long, env = "DIABA_MAX_REPLICA_LAG", default_value_t = 5.0)]
    pub max_replica_lag: f64,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The embedded cluster.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Directory of the embedded cluster (used when DATABASE_URL is not set).
    #[arg(long, env = "DIABA_DATA_DIR", default_value = "./.diaba")]
    pub data_dir: PathBuf,
    /// Directory holding initdb and pg_ctl [default: `pg_config --bindir`, else the newest
    /// /usr/lib/postgresql/*/bin].
    #[arg(long, env = "DIABA_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,
    /// OS user that runs the cluster when diaba runs as root (PostgreSQL refuses root).
    #[arg(long, env = "DIABA_CLUSTER_USER", default_value = diaba_store::DEFAULT_CLUSTER_USER)]
    pub cluster_user: String,
}

/// Which synthetic (demo) layers to add on first start. Real units are always loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoProfile {
    /// Only the real shipped data.
    None,
    /// About 5 000 synthetic parcels and 3 000 households, for trying things out and tests.
    Small,
    /// About 250 000 synthetic parcels and 150 000 households, for benchmarks.
    Full,
}

/// Where `serve` draws a tile missing from its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderTilesOn {
    /// Render threads of their own, two per core (off the async workers).
    Blocking,
    /// The async worker answering the request.
    Workers,
}

impl From<RenderTilesOn> for diaba_api::RenderTilesOn {
    fn from(on: RenderTilesOn) -> Self {
        match on {
            RenderTilesOn::Blocking => Self::Blocking,
            RenderTilesOn::Workers => Self::Workers,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "DIABA_LISTEN", default_value = diaba_api::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Synthetic demo layers to load on first start.
    #[arg(long, env = "DIABA_DEMO", value_enum, default_value_t = DemoProfile::Small)]
    pub demo: DemoProfile,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "DIABA_BODY_LIMIT", default_value_t = diaba_api::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Time limit for one request in seconds, body upload included.
    #[arg(long, env = "DIABA_REQUEST_TIMEOUT", default_value_t = diaba_api::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    pub request_timeout: u64,
    /// Time a client has to send a request's headers, in seconds (the connection is closed
    /// after it: a client sending a byte a second cannot hold it).
    #[arg(long, env = "DIABA_HEADER_TIMEOUT", default_value_t = diaba_api::DEFAULT_HEADER_TIMEOUT.as_secs())]
    pub header_timeout: u64,
    /// Largest number of vertices in one submitted parcel.
    #[arg(long, env = "DIABA_MAX_VERTICES", default_value_t = diaba_core::parcel::DEFAULT_MAX_VERTICES)]
    pub max_vertices: usize,
    /// Most points in one batch lookup (POST /v1/lookup).
    #[arg(long, env = "DIABA_MAX_BATCH", default_value_t = diaba_api::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Worst GPS accuracy, in metres, accepted for a household submission.
    #[arg(long, env = "DIABA_MAX_ACCURACY_M", default_value_t = diaba_api::DEFAULT_MAX_ACCURACY_M)]
    pub max_accuracy_m: f32,
    /// Memory for cached vector tiles, in MiB (0 renders every tile per request).
    #[arg(long, env = "DIABA_TILE_CACHE_MB", default_value_t = diaba_api::DEFAULT_TILE_CACHE_BYTES / (1024 * 1024))]
    pub tile_cache_mb: u64,
    /// Where a tile missing from the cache is drawn: on render threads of their own (two
    /// per core), so a slow z14 tile never holds up the requests sharing its async worker,
    /// or on that worker (no hand-over, far worse p99 latency under load).
    #[arg(long, env = "DIABA_RENDER_TILES_ON", value_enum, default_value_t = RenderTilesOn::Blocking)]
    pub render_tiles_on: RenderTilesOn,
    /// Largest number of database connections.
    #[arg(long, env = "DIABA_DB_CONNECTIONS", default_value_t = 16)]
    pub db_connections: u32,
    /// Built web pages (services/web/dist) [default: services/web/dist under the current
    /// directory, else under the checkout the binary was built in].
    #[arg(long, env = "DIABA_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// TrueType fonts the map's label glyphs are made from: Noto Sans Regular, Bold and
    /// Italic as NotoSans-Regular.ttf … (Debian's fonts-noto-core).
    #[arg(long, env = "DIABA_FONTS_DIR", default_value = diaba_api::DEFAULT_FONTS_DIR)]
    pub fonts_dir: PathBuf,
    /// Run the demo's synthetic tide gauge: a reading every 5 s of a compressed tide (12 min)
    /// with rain, and rules on the demo's tidal-peak zones (levels 5, 4, 3 flood at 1.6,
    /// 1.8, 2.0 m). `./scripts/run` turns it on; tests keep it off.
    #[arg(long, env = "DIABA_DEMO_GAUGES")]
    pub demo_gauges: bool,
    /// Months of sensor observations kept; older monthly partitions are dropped.
    #[arg(long, env = "DIABA_OBSERVATION_RETENTION_MONTHS", default_value_t = 24)]
    pub observation_retention_months: u32,
    /// MQTT broker the gauges publish SensorThings Observations to
    /// (v1.1/Datastreams(ID)/Observations), e.g. mqtt://127.0.0.1:1883.
    #[arg(long, env = "DIABA_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// Unknown bearer tokens one client address may send per minute before it gets 429
    /// (0: no limit). Behind a reverse proxy every client shares the proxy's address.
    #[arg(long, env = "DIABA_AUTH_FAILURES_PER_MINUTE", default_value_t = diaba_api::DEFAULT_AUTH_FAILURES_PER_MINUTE)]
    pub auth_failures_per_minute: u32,
    /// Origins (https://example.org) whose pages may write through the API (CORS);
    /// comma-separated. Reads are open to every origin.
    #[arg(long, env = "DIABA_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// The address citizens reach this service at (https://dichvu.example.vn), for links
    /// printed as QR codes (a dossier's status); the request's own host when absent.
    #[arg(long, env = "DIABA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Wards of difficult communes (comma-separated codes), where a holder change may take
    /// 14 working days instead of 4 (Decree 151/2025).
    #[arg(long, env = "DIABA_DIFFICULT_WARDS", value_delimiter = ',')]
    pub difficult_wards: Vec<String>,
    /// Other database reads at once (OGC pages, flood exposures, history);
    /// more wait up to 5 s for their turn, then get 503 with Retry-After, so writes always
    /// find a connection. Keep it under --db-connections.
    #[arg(long, env = "DIABA_READ_CONCURRENCY", default_value_t = diaba_api::DEFAULT_READ_CONCURRENCY)]
    pub read_concurrency: usize,
    #[command(flatten)]
    pub online: OnlineServiceArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// The online land service: citizens' sign-in, fees, documents and notifications.
#[derive(Debug, Args)]
pub struct OnlineServiceArgs {
    /// Citizens' OpenID Connect provider (issuer URL; the national e-ID in production).
    /// Citizens cannot sign in without it.
    #[arg(long, env = "DIABA_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret"])]
    pub oidc_issuer: Option<String>,
    /// diaba's client id at the provider (its redirect URI: PUBLIC_URL/auth/callback).
    #[arg(long, env = "DIABA_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// diaba's client secret at the provider.
    #[arg(long, env = "DIABA_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The ID-token claim carrying the citizen's 12-digit personal ID.
    #[arg(long, env = "DIABA_OIDC_PERSONAL_ID_CLAIM", default_value = "personal_id")]
    pub oidc_personal_id_claim: String,
    /// A procedure's fee, PROCEDURE=VND (e.g. holder_change=50000); repeatable. None: free.
    #[arg(long = "fee", env = "DIABA_FEES", value_delimiter = ',', value_parser = parse_fee)]
    pub fees: Vec<(String, i64)>,
    /// Where attached documents are kept [default: DATA_DIR/documents].
    #[arg(long, env = "DIABA_DOCUMENTS_DIR")]
    pub documents_dir: Option<PathBuf>,
    /// Largest attached document, in MiB.
    #[arg(long, env = "DIABA_MAX_DOCUMENT_MB", default_value_t = 10)]
    pub max_document_mb: usize,
    /// SMTP server for e-mail notices: smtp://host:25, smtp://host:587?tls=required,
    /// smtps://user:password@host. None: e-mail notices wait in the outbox.
    #[arg(long, env = "DIABA_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of e-mail notices.
    #[arg(long, env = "DIABA_MAIL_FROM", default_value = "diaba <no-reply@localhost>")]
    pub mail_from: String,
    /// URL called (POST, JSON) at every step of a dossier: code, state, ward, dates only.
    #[arg(long, env = "DIABA_NOTIFY_WEBHOOK")]
    pub notify_webhook: Option<String>,
    /// The office's address, told of dossiers due on the next working day.
    #[arg(long, env = "DIABA_OFFICE_EMAIL")]
    pub office_email: Option<String>,
    /// URL called (POST, JSON) with every flood alert; repeatable.
    #[arg(long, env = "DIABA_FLOOD_ALERT_WEBHOOKS", value_delimiter = ' ')]
    pub flood_alert_webhook: Vec<String>,
    /// Address sent every flood alert (the operations centre's duty desk); repeatable.
    #[arg(long, env = "DIABA_FLOOD_ALERT_EMAILS", value_delimiter = ' ')]
    pub flood_alert_email: Vec<String>,
}

fn parse_fee(text: &str) -> Result<(String, i64), String> {
    let (procedure, amount) = text.split_once('=').ok_or("PROCEDURE=VND, e.g. holder_change=50000")?;
    let amount: i64 = amount.trim().parse().map_err(|_| format!("{amount:?} is not a whole number of VND"))?;
    if procedure.trim() != diaba_register::applications::PROCEDURE || amount < 0 {
        return Err(format!("the procedures are {}; fees are 0 VND or more", diaba_register::applications::PROCEDURE));
    }
    Ok((procedure.trim().to_owned(), amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["diaba", "serve"].iter().chain(flags))?;
        match cli.command {
            Command::Serve(args) => Ok(*args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn tiles_render_on_the_blocking_pool_unless_told_the_workers() {
        // The environment variable, when set, overrides the default.
        if std::env::var_os("DIABA_RENDER_TILES_ON").is_none() {
            assert_eq!(serve(&[]).unwrap().render_tiles_on, RenderTilesOn::Blocking);
        }
        assert_eq!(serve(&["--render-tiles-on", "workers"]).unwrap().render_tiles_on, RenderTilesOn::Workers);
        assert_eq!(serve(&["--render-tiles-on", "blocking"]).unwrap().render_tiles_on, RenderTilesOn::Blocking);
        assert!(serve(&["--render-tiles-on", "gpu"]).is_err());
        assert_eq!(diaba_api::RenderTilesOn::from(RenderTilesOn::Workers), diaba_api::RenderTilesOn::Workers);
    }
}
