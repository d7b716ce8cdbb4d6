use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so a fresh install is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default largest request body, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Default time a request may take, reading its body included (stops slow-body clients).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a client has to send a request's headers (stops slow-header clients,
/// which the request timeout, started once headers are read, cannot see).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP settings, built by the CLI from flags and environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes (413 above).
    pub body_limit: usize,
    /// Time limit for one request (408 after it).
    pub request_timeout: Duration,
    /// Time limit for a request's headers (the connection is closed after it).
    pub header_timeout: Duration,
    /// Largest number of vertices in one submitted parcel.
    pub max_vertices: usize,
    /// Most points in one `POST /v1/lookup`.
    pub max_batch: usize,
    /// Worst GPS accuracy, in metres, accepted for a household submission (422 above).
    pub max_accuracy_m: f32,
    /// Bytes of encoded tiles kept in memory (0: every tile is rendered per request).
    pub tile_cache_bytes: u64,
    /// Where a tile missing from the cache is drawn.
    pub render_tiles_on: RenderTilesOn,
    /// Built web pages (services/web/dist); `None` serves a note saying how to build them.
    pub web_dir: Option<PathBuf>,
    /// TrueType fonts the map's label glyphs are made from (`/fonts/…`).
    pub fonts_dir: PathBuf,
    /// Sensor observations are kept this many months (whole monthly partitions dropped).
    pub observation_retention_months: u32,
    /// The MQTT broker gauges publish to (`mqtt://host:1883`), when there is one.
    pub mqtt_url: Option<String>,
    /// Unknown tokens one client address may send in a minute before it gets 429 (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Origins allowed to call the API from a browser (CORS); reads of public data are
    /// open to every origin whatever this says, writes only to these.
    pub cors_origins: Vec<String>,
    /// Other database reads at once (OGC pages, exposures, history); more
    /// wait their turn, then get 503 with Retry-After, so writes are never starved.
    pub read_concurrency: usize,
    /// The address citizens reach this service at (`https://dichvu.example.vn`), for links
    /// printed as QR codes; when absent, the address the request came to.
    pub public_url: Option<String>,
    /// Wards of difficult communes (longer procedure time limits).
    pub difficult_wards: Vec<String>,
    /// Citizens' OpenID provider; `None`: citizens cannot sign in.
    pub oidc: Option<crate::OidcConfig>,
    /// The online service: fees, documents, notifications.
    pub service: diaba_register::service::Service,
    /// Largest attached document (a route of its own may take more than `body_limit`).
    pub max_document_bytes: usize,
}

/// Where a tile missing from the cache is drawn (`diaba serve --render-tiles-on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RenderTilesOn {
    /// On render threads of their own, two per core: a z14 tile takes milliseconds to draw,
    /// and on the async workers it holds up every other request of that worker (lookups
    /// have a p99 target of 5 ms).
    #[default]
    Blocking,
    /// On the async worker answering the request: no hand-over. As many tiles a second as
    /// the render threads when only tiles are served, but a slow tile holds up the other
    /// requests of its worker (bench/results/tiles.md).
    Workers,
}

/// Default database reads at once: with the default 16 connections, 8 stay for writes and
/// token checks whatever the readers do.
pub const DEFAULT_READ_CONCURRENCY: usize = 8;

/// Default unknown tokens per minute and client address.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 20;

/// Default worst GPS accuracy accepted for a household: 15 m, five Vpostcode cells.
pub const DEFAULT_MAX_ACCURACY_M: f32 = 15.0;

/// Default memory for cached tiles: 256 MiB holds every parcel tile of the city at z18.
pub const DEFAULT_TILE_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Default most points in one batch lookup.
pub const DEFAULT_MAX_BATCH: usize = 10_000;

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_vertices: diaba_core::parcel::DEFAULT_MAX_VERTICES,
            max_batch: DEFAULT_MAX_BATCH,
            max_accuracy_m: DEFAULT_MAX_ACCURACY_M,
            tile_cache_bytes: DEFAULT_TILE_CACHE_BYTES,
            render_tiles_on: RenderTilesOn::default(),
            web_dir: None,
            fonts_dir: diaba_glyphs::DEFAULT_FONTS_DIR.into(),
            observation_retention_months: 24,
            mqtt_url: None,
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
            cors_origins: Vec::new(),
            read_concurrency: DEFAULT_READ_CONCURRENCY,
            public_url: None,
            difficult_wards: Vec::new(),
            oidc: None,
            service: diaba_register::service::Service::default(),
            max_document_bytes: diaba_register::service::DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}
