//! The embedded cluster: started and stopped by the service, survives crashes, shared.

use crate::server::{Server, get_json};
use std::path::Path;
use std::process::Command;

/// A data directory for one test; whatever cluster is left in it is killed at the end.
pub(crate) struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    pub(crate) fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("diaba-e2e-").tempdir().expect("tempdir") }
    }

    pub(crate) fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn postmaster_pid(&self) -> Option<u32> {
        postmaster_pid(&self.dir.path().join("pg"))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid() {
            let _ = Command::new("kill").args(["-QUIT", &pid.to_string()]).status();
        }
    }
}

fn postmaster_pid(pgdata: &Path) -> Option<u32> {
    std::fs::read_to_string(pgdata.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
}

/// A live process; an exited one waiting to be reaped (a zombie) does not count.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

async fn assert_serves_ninh_kieu(server: &Server) {
    let (status, _, body) = get_json(&server.url("/v1/units?lat=10.0325&lon=105.7830")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ward"]["code"], "31135");
}

#[tokio::test]
async fn sigterm_stops_the_embedded_cluster_and_a_second_serve_starts_cleanly() {
    let data = DataDir::new();
    let server = Server::start(&["--data-dir", data.path()]);
    assert_serves_ninh_kieu(&server).await;
    let postmaster = data.postmaster_pid().expect("the embedded cluster is running");
    assert!(alive(postmaster));

    assert!(server.stop_with("TERM"), "diaba exits with success on SIGTERM");
    assert!(!alive(postmaster), "the postmaster stopped with the service");
    assert!(data.postmaster_pid().is_none(), "no postmaster.pid is left behind");

    let again = Server::start(&["--data-dir", data.path()]);
    assert_serves_ninh_kieu(&again).await;
    assert!(again.stop_with("TERM"));
}

#[tokio::test]
async fn after_kill_9_the_next_serve_starts_with_no_manual_step() {
    let data = DataDir::new();
    let server = Server::start(&["--data-dir", data.path()]);
    assert_serves_ninh_kieu(&server).await;
    server.stop_with("KILL");

    let again = Server::start(&["--data-dir", data.path()]);
    assert_serves_ninh_kieu(&again).await;
    let postmaster = data.postmaster_pid().expect("running");
    assert!(again.stop_with("TERM"));
    assert!(!alive(postmaster), "the adopted cluster is stopped by the service that adopted it");
}

#[tokio::test]
async fn another_command_on_the_same_data_dir_joins_the_running_cluster_and_leaves_it_up() {
    let data = DataDir::new();
    let server = Server::start(&["--data-dir", data.path()]);
    let postmaster = data.postmaster_pid().expect("running");

    let status = Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["migrate", "--data-dir", data.path()])
        .env("DIABA_LOG", "warn")
        .status()
        .expect("run diaba migrate");
    assert!(status.success());
    assert_eq!(data.postmaster_pid(), Some(postmaster), "migrate did not restart or stop the cluster");
    assert_serves_ninh_kieu(&server).await;
    assert!(server.stop_with("TERM"));
}

#[tokio::test]
async fn a_command_with_no_server_running_starts_and_stops_the_cluster_itself() {
    let data = DataDir::new();
    let status = Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["migrate", "--data-dir", data.path()])
        .env("DIABA_LOG", "warn")
        .status()
        .expect("run diaba migrate");
    assert!(status.success());
    assert!(data.postmaster_pid().is_none(), "the cluster was stopped after the command");
}
