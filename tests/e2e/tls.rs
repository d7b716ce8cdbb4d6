//! TLS to PostgreSQL, as a managed PostGIS requires: a real cluster with `ssl = on` that
//! refuses plain TCP, and a self-signed certificate made here with openssl.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A throwaway PostgreSQL cluster listening on 127.0.0.1 with TLS only; stopped on drop.
struct TlsCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl TlsCluster {
    fn start() -> TlsCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|p| p.join("initdb").is_file())
            .max()
            .expect("PostgreSQL binaries under /usr/lib/postgresql");
        let as_postgres = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let dir = tempfile::Builder::new().prefix("diaba-tls-").tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = TlsCluster { dir, port, bin, as_postgres };
        let pgdata = cluster.pgdata();
        if as_postgres {
            run("chown", &["-R", "postgres:postgres", cluster.dir.path().to_str().unwrap()]);
        }
        cluster.pg("initdb", &["-D", pgdata.to_str().unwrap(), "-U", "diaba", "--auth=trust", "-E", "UTF8"]);
        // A CA, and a server certificate for localhost signed by it (synthetic, for this test).
        let tls = cluster.dir.path().join("pg");
        self_signed(&tls, "ca", "diaba test CA");
        openssl(
            &tls,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        std::fs::write(tls.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        openssl(
            &tls,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ],
        );
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\nssl = on\n\
             ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nfsync = off\n",
            port = cluster.port,
            dir = cluster.dir.path().display()
        );
        append(&pgdata.join("postgresql.conf"), &conf);
        // TLS or nothing: a plain TCP connection is refused.
        std::fs::write(
            pgdata.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        if as_postgres {
            run("chown", &["-R", "postgres:postgres", cluster.dir.path().to_str().unwrap()]);
            run("chmod", &["600", tls.join("server.key").to_str().unwrap()]);
        }
        let log = cluster.dir.path().join("postgres.log");
        cluster.pg("pg_ctl", &["start", "-w", "-D", pgdata.to_str().unwrap(), "-l", log.to_str().unwrap()]);
        cluster
    }

    fn pgdata(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        };
        let output = command.args(args).stdin(Stdio::null()).output().unwrap();
        assert!(output.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn url(&self, host: &str, options: &str) -> String {
        format!("postgres://diaba@{host}:{}/postgres?{options}", self.port)
    }

    fn ca(&self) -> String {
        self.pgdata().join("ca.pem").to_str().unwrap().to_owned()
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let pgdata = self.pgdata();
        self.pg("pg_ctl", &["stop", "-m", "immediate", "-D", pgdata.to_str().unwrap()]);
    }
}

fn run(program: &str, args: &[&str]) {
    assert!(Command::new(program).args(args).status().unwrap().success(), "{program} {args:?}");
}

/// A self-signed certificate `{name}.pem` (key `{name}.key`) for `subject` (synthetic).
fn self_signed(dir: &Path, name: &str, subject: &str) {
    let (key, pem, subject) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={subject}"));
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject, "-keyout", &key, "-out",
            &pem,
        ],
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(file).unwrap().write_all(text.as_bytes()).unwrap();
}

fn migrate(url: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["migrate", "--database-url", url])
        .env("DIABA_LOG", "warn")
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_postgis_that_requires_tls_is_reached_with_sslmode_require_and_verify_full() {
    let cluster = TlsCluster::start();
    let (ok, stderr) = migrate(&cluster.url("127.0.0.1", "sslmode=require"));
    assert!(ok, "sslmode=require: {stderr}");
    let verified = cluster.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", cluster.ca()));
    let (ok, stderr) = migrate(&verified);
    assert!(ok, "sslmode=verify-full with the CA: {stderr}");
    // Without TLS the server refuses; with the wrong CA diaba refuses the server.
    let (ok, _) = migrate(&cluster.url("127.0.0.1", "sslmode=disable"));
    assert!(!ok, "a plain connection must be refused by this server");
    let other_ca = cluster.dir.path().join("other.pem");
    self_signed(cluster.dir.path(), "other", "someone else");
    let (ok, stderr) =
        migrate(&cluster.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", other_ca.display())));
    assert!(!ok, "verify-full against another CA must fail");
    assert!(stderr.to_lowercase().contains("certificate") || stderr.contains("tls"), "{stderr}");
}
