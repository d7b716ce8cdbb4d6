//! A private PostgreSQL + PostGIS cluster that diaba runs from the machine's own binaries.
//!
//! Layout of a data directory:
//! ```text
//! <data-dir>/users.lock   every process using the cluster holds a shared lock on it
//! <data-dir>/start.lock   held exclusively while a process starts or stops the cluster
//! <data-dir>/pg/          PGDATA, owned by the cluster user
//! <data-dir>/run/         Unix socket directory (no TCP at all) and postgres.log
//! ```
//! Several processes (a `serve`, a `seed`, a test) can share one cluster: the first starts
//! it, the last one to leave stops it. The locks are `flock`s, which the kernel drops when a
//! process dies, so a crash never leaves a lock that blocks the next start; a postmaster
//! orphaned by a `kill -9` is simply adopted by the next process.
//!
//! PostgreSQL refuses to run as root. When diaba runs as root (CI, many servers), the
//! cluster runs as an unprivileged OS user (default `postgres`) that owns `pg/` and `run/`.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The database superuser the cluster is created with.
pub const CLUSTER_SUPERUSER: &str = "diaba";
/// Default OS user for the cluster when diaba runs as root.
pub const DEFAULT_CLUSTER_USER: &str = "postgres";
/// Socket "port": only names the socket file, there is no TCP listener.
pub const SOCKET_PORT: u16 = 5432;
/// A Unix socket path must fit in `sun_path` (108 bytes on Linux, with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// How to run the embedded cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Directory that holds the cluster (created if missing).
    pub data_dir: PathBuf,
    /// Directory with `initdb`, `pg_ctl` and `postgres`; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// OS user to run PostgreSQL as when diaba itself runs as root.
    pub os_user: String,
    /// `false` turns off fsync and friends: only for throwaway test clusters.
    pub durable: bool,
    /// More `postgresql.conf` lines, written after diaba's own (the test harness loads
    /// `pg_stat_statements` to count what a request asked of the database).
    pub extra_settings: String,
}

impl ClusterOptions {
    /// Options for a durable cluster in `data_dir` with automatic binaries and user.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bin_dir: None,
            os_user: DEFAULT_CLUSTER_USER.into(),
            durable: true,
            extra_settings: String::new(),
        }
    }
}

/// A running embedded cluster, shared with any other process using the same data directory.
///
/// Dropping it without [`Cluster::release`] leaves the cluster running (as a crash would);
/// the next process adopts it.
#[derive(Debug)]
pub struct Cluster {
    paths: Paths,
    runner: Runner,
    socket_dir: PathBuf,
    postmaster_pid: u32,
    users_lock: File,
}

#[derive(Debug, Clone)]
struct Paths {
    data_dir: PathBuf,
    pgdata: PathBuf,
    run_dir: PathBuf,
    bin_dir: PathBuf,
}

/// Runs cluster commands as the right OS user.
#[derive(Debug, Clone)]
struct Runner {
    /// `Some((uid, gid))` when we are root and must drop to the cluster user.
    drop_to: Option<(u32, u32)>,
    os_user: String,
}

impl Cluster {
    /// Starts the cluster (creating it on first use) or joins it if it is already running.
    pub fn open(options: &ClusterOptions) -> Result<Self> {
        let data_dir = absolute(&options.data_dir)?;
        create_dir(&data_dir)?;
        let paths = Paths {
            pgdata: data_dir.join("pg"),
            run_dir: data_dir.join("run"),
            bin_dir: match &options.bin_dir {
                Some(dir) => dir.clone(),
                None => find_bin_dir()?,
            },
            data_dir,
        };
        let runner = Runner::for_user(&options.os_user)?;

        let start_lock = lock_file(&paths.data_dir.join("start.lock"))?;
        start_lock.lock().map_err(|source| io("lock", &paths.data_dir, source))?;
        let users_lock = lock_file(&paths.data_dir.join("users.lock"))?;
        users_lock.lock_shared().map_err(|source| io("lock", &paths.data_dir, source))?;

        runner.prepare_dirs(&paths)?;
        if !paths.pgdata.join("PG_VERSION").exists() {
            init(&paths, &runner)?;
        }
        let (postmaster_pid, socket_dir) = match running_postmaster(&paths.pgdata) {
            Some(running) => {
                tracing::info!(pid = running.0, data_dir = %paths.data_dir.display(), "joining running cluster");
                running
            }
            None => start(&paths, &runner, options)?,
        };
        drop(start_lock);
        Ok(Self { paths, runner, socket_dir, postmaster_pid, users_lock })
    }

    /// The directory holding the cluster's Unix socket (its port is [`SOCKET_PORT`]).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// A `postgres://` URL for the socket, e.g. for `psql` or `DATABASE_URL`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{CLUSTER_SUPERUSER}@localhost/{database}?host={}&port={SOCKET_PORT}",
            self.socket_dir.display()
        )
    }

    /// Process id of the postmaster.
    pub fn postmaster_pid(&self) -> u32 {
        self.postmaster_pid
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }

    /// Leaves the cluster, stopping it cleanly if no other process is using it.
    /// Returns whether it was stopped.
    pub fn release(self) -> Result<bool> {
        let start_lock = lock_file(&self.paths.data_dir.join("start.lock"))?;
        start_lock.lock().map_err(|source| io("lock", &self.paths.data_dir, source))?;
        self.users_lock.unlock().map_err(|source| io("unlock", &self.paths.data_dir, source))?;
        let last_user = self.users_lock.try_lock().is_ok();
        if last_user {
            stop(&self.paths, &self.runner)?;
            tracing::info!(data_dir = %self.paths.data_dir.display(), "cluster stopped");
        }
        Ok(last_user)
    }
}

/// Reads `postmaster.pid` and returns (pid, socket dir) when that postmaster is alive and ready.
fn running_postmaster(pgdata: &Path) -> Option<(u32, PathBuf)> {
    let pid_file = pgdata.join("postmaster.pid");
    let text = fs::read_to_string(&pid_file).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid: u32 = lines.first()?.trim().parse().ok()?;
    // A pid file whose process is gone, or was reused by something else, is stale.
    if !is_live_postgres(pid) {
        tracing::warn!(pid, "removing stale postmaster.pid left by a crash");
        let _ = fs::remove_file(&pid_file);
        return None;
    }
    let socket_dir = PathBuf::from(lines.get(4)?.trim());
    wait_until(Duration::from_secs(30), || {
        fs::read_to_string(&pid_file).is_ok_and(|t| t.lines().nth(7).is_some_and(|s| s.trim() == "ready"))
    });
    Some((pid, socket_dir))
}

/// `/proc/<pid>/stat` reads `pid (comm) state …`; an exited, unreaped process is `Z`.
fn is_live_postgres(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    match (stat.find('('), stat.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            &stat[open + 1..close] == "postgres" && !stat[close + 1..].trim_start().starts_with('Z')
        }
        _ => false,
    }
}

fn init(paths: &Paths, runner: &Runner) -> Result<()> {
    tracing::info!(pgdata = %paths.pgdata.display(), "creating PostgreSQL cluster");
    runner.run(
        paths,
        Command::new(paths.bin_dir.join("initdb"))
            .arg("--pgdata")
            .arg(&paths.pgdata)
            .args(["--username", CLUSTER_SUPERUSER, "--encoding=UTF8", "--no-locale"])
            // Socket only, in a directory only the cluster user can enter.
            .args(["--auth-local=trust", "--auth-host=reject"]),
    )?;
    let conf = paths.pgdata.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf).map_err(|source| io("read", &conf, source))?;
    text.push_str("\n# diaba writes its own settings here at every start\ninclude_if_exists = 'diaba.conf'\n");
    fs::write(&conf, text).map_err(|source| io("write", &conf, source))
}

fn start(paths: &Paths, runner: &Runner, options: &ClusterOptions) -> Result<(u32, PathBuf)> {
    let socket_dir = socket_dir(paths)?;
    let conf = paths.pgdata.join("diaba.conf");
    // wal_buffers: an office import writes all its rows in one transaction; with the default
    // (1/32 of shared_buffers, 8 MB) it waited on WAL writes (0.3–0.5 s of 16 s, #21).
    let mut settings = format!(
        "listen_addresses = ''\nunix_socket_directories = {}\nunix_socket_permissions = 0700\n\
         port = {SOCKET_PORT}\nmax_connections = 200\nshared_buffers = 256MB\nwal_buffers = 64MB\n\
         log_min_messages = warning\nlog_min_error_statement = panic\n",
        conf_quote(&socket_dir)
    );
    if !options.durable {
        settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    }
    settings.push_str(&options.extra_settings);
    fs::write(&conf, settings).map_err(|source| io("write", &conf, source))?;
    runner.chown(&conf)?;

    let log = paths.run_dir.join("postgres.log");
    runner.run(
        paths,
        Command::new(paths.bin_dir.join("pg_ctl"))
            .arg("start")
            .arg("--pgdata")
            .arg(&paths.pgdata)
            .arg("--log")
            .arg(&log)
            .args(["--wait", "--timeout=60", "--silent"]),
    )?;
    let (pid, socket_dir) = running_postmaster(&paths.pgdata).ok_or_else(|| Error::ClusterCommand {
        command: "pg_ctl start".into(),
        data_dir: paths.data_dir.clone(),
        detail: format!("postmaster did not stay up; see {}", log.display()),
    })?;
    tracing::info!(pid, socket = %socket_dir.display(), "cluster started");
    Ok((pid, socket_dir))
}

fn stop(paths: &Paths, runner: &Runner) -> Result<()> {
    if running_postmaster(&paths.pgdata).is_none() {
        return Ok(());
    }
    runner.run(
        paths,
        Command::new(paths.bin_dir.join("pg_ctl")).arg("stop").arg("--pgdata").arg(&paths.pgdata).args([
            "--mode=fast",
            "--wait",
            "--timeout=60",
            "--silent",
        ]),
    )
}

/// `<data-dir>/run`, or a short directory under /tmp when that path is too long for a socket.
fn socket_dir(paths: &Paths) -> Result<PathBuf> {
    let socket_name_len = format!("/.s.PGSQL.{SOCKET_PORT}.lock").len();
    if paths.run_dir.as_os_str().len() + socket_name_len <= MAX_SOCKET_PATH {
        return Ok(paths.run_dir.clone());
    }
    let short =
        std::env::temp_dir().join(format!("diaba-{:016x}", fnv1a(paths.data_dir.as_os_str().as_encoded_bytes())));
    create_dir(&short)?;
    set_mode(&short, 0o700)?;
    Ok(short)
}

impl Runner {
    fn for_user(os_user: &str) -> Result<Self> {
        let drop_to = if current_uid()? == 0 { Some(lookup_user(os_user)?) } else { None };
        Ok(Self { drop_to, os_user: os_user.to_owned() })
    }

    /// Creates `pg/` and `run/` owned by the cluster user, and checks that user can reach them.
    fn prepare_dirs(&self, paths: &Paths) -> Result<()> {
        for dir in [&paths.pgdata, &paths.run_dir] {
            create_dir(dir)?;
            self.chown(dir)?;
            set_mode(dir, 0o700)?;
        }
        if self.drop_to.is_some() {
            // The cluster user must be able to traverse our directory to reach pg/ and run/.
            set_mode(&paths.data_dir, 0o711)?;
            let reachable =
                self.command(Command::new("test").arg("-w").arg(&paths.pgdata)).status().is_ok_and(|s| s.success());
            if !reachable {
                return Err(Error::ClusterUser {
                    user: self.os_user.clone(),
                    reason: format!(
                        "PostgreSQL refuses to run as root, so the cluster runs as this user, who cannot reach {}; \
                         a parent directory is not searchable by other users. Use a --data-dir such as /var/lib/diaba",
                        paths.pgdata.display()
                    ),
                });
            }
        }
        Ok(())
    }

    fn chown(&self, path: &Path) -> Result<()> {
        match self.drop_to {
            Some((uid, gid)) => chown(path, Some(uid), Some(gid)).map_err(|source| io("chown", path, source)),
            None => Ok(()),
        }
    }

    fn command<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        if let Some((uid, gid)) = self.drop_to {
            // std clears supplementary groups when a root process sets a uid.
            command.uid(uid).gid(gid);
        }
        // Own process group: a Ctrl-C or a group-wide SIGTERM meant for diaba must reach
        // neither the postmaster nor a pg_ctl in flight; diaba stops the cluster itself
        // after draining requests.
        command.env("LC_ALL", "C").env_remove("PGDATA").process_group(0)
    }

    fn run(&self, paths: &Paths, command: &mut Command) -> Result<()> {
        let shown = format!("{command:?}");
        let output: Output = self
            .command(command)
            .current_dir(&paths.run_dir)
            .output()
            .map_err(|source| io("run", Path::new(command.get_program()), source))?;
        if output.status.success() {
            return Ok(());
        }
        let mut detail = format!("{}; {}{}", output.status, tail(&output.stderr), tail(&output.stdout));
        let log = paths.run_dir.join("postgres.log");
        if let Ok(text) = fs::read(&log) {
            detail.push_str(&format!("; postgres.log: {}", tail(&text)));
        }
        Err(Error::ClusterCommand { command: shown, data_dir: paths.data_dir.clone(), detail })
    }
}

/// `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin with initdb.
fn find_bin_dir() -> Result<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_initdb(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_initdb(&bin).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, dir)| dir).ok_or(Error::NoPostgresBinaries)
}

fn current_uid() -> Result<u32> {
    let status =
        fs::read_to_string("/proc/self/status").map_err(|source| io("read", Path::new("/proc/self/status"), source))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| Error::ClusterUser { user: "root".into(), reason: "cannot read own uid".into() })
}

/// uid and gid of an OS user, through NSS (`getent`), so LDAP users work too.
fn lookup_user(name: &str) -> Result<(u32, u32)> {
    let unusable = |reason: &str| Error::ClusterUser { user: name.into(), reason: reason.into() };
    let out =
        Command::new("getent").args(["passwd", name]).output().map_err(|e| unusable(&format!("getent failed: {e}")))?;
    let line = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = line.trim().split(':').collect();
    match (fields.get(2).and_then(|u| u.parse().ok()), fields.get(3).and_then(|g| g.parse().ok())) {
        (Some(0), _) => Err(unusable("is root; PostgreSQL refuses to run as root")),
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err(unusable(
            "no such user; PostgreSQL refuses root, so create one (the postgresql package creates `postgres`) or pass --cluster-user",
        )),
    }
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ready()
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| io("resolve", path, source))
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|source| io("create", path, source))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| io("chmod", path, source))
}

fn lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| io("open", path, source))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io { action, path: path.to_owned(), source }
}

fn conf_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_dir_stays_inside_the_data_dir_when_short_enough() {
        let paths = Paths {
            data_dir: "/var/lib/diaba".into(),
            pgdata: "/var/lib/diaba/pg".into(),
            run_dir: "/var/lib/diaba/run".into(),
            bin_dir: "/usr/bin".into(),
        };
        assert_eq!(socket_dir(&paths).unwrap(), PathBuf::from("/var/lib/diaba/run"));
    }

    #[test]
    fn a_long_data_dir_gets_a_short_socket_dir() {
        let long = PathBuf::from("/tmp").join("d".repeat(120));
        let paths =
            Paths { pgdata: long.join("pg"), run_dir: long.join("run"), bin_dir: "/usr/bin".into(), data_dir: long };
        let dir = socket_dir(&paths).unwrap();
        assert!(dir.as_os_str().len() + 20 <= MAX_SOCKET_PATH, "{}", dir.display());
    }

    #[test]
    fn conf_values_escape_quotes() {
        assert_eq!(conf_quote(Path::new("/a'b")), "'/a''b'");
    }
}
