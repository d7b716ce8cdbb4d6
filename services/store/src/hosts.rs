//! A `DATABASE_URL` naming several servers, as libpq reads it: `postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write`
//! (or `?host=/run/a,/run/b&port=5432,5433` for Unix sockets). sqlx connects to one host,
//! so the list is split here into one set of options per server, tried in order; with
//! `read-write` (or `primary`) only a server that accepts writes is kept, so after a
//! failover the pool moves to the promoted standby by itself (the failover module).

use crate::error::{Error, Result};
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;

/// The servers of a `DATABASE_URL`, in the order to try them.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    /// `(host:port, options)` per server; the label never holds credentials.
    pub servers: Vec<(String, PgConnectOptions)>,
    /// Only a server that accepts writes will do (`target_session_attrs=read-write|primary`).
    pub read_write: bool,
}

impl Hosts {
    /// Splits `url` into one connection per host.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: String| Error::Io {
            action: "read DATABASE_URL",
            path: "DATABASE_URL".into(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("not a postgres:// URL".into()))?;
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = before_query.split_once('/').map_or((before_query, ""), |(a, p)| (a, p));
        let (userinfo, host_list) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));

        let mut read_write = false;
        let mut query_hosts: Vec<String> = Vec::new();
        let mut query_ports: Vec<String> = Vec::new();
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "target_session_attrs" => {
                    read_write = match value {
                        "any" => false,
                        "read-write" | "primary" => true,
                        other => {
                            return Err(bad(format!(
                                "target_session_attrs={other} is not supported: use read-write (or primary) or any"
                            )));
                        }
                    }
                }
                "host" => query_hosts = split_list(value),
                "port" => query_ports = split_list(value),
                _ => kept.push(pair),
            }
        }
        let authority_hosts: Vec<&str> = host_list.split(',').filter(|h| !h.is_empty()).collect();
        let mut servers = Vec::new();
        let prefix = if userinfo.is_empty() { String::new() } else { format!("{userinfo}@") };
        let query = kept.join("&");
        if query_hosts.is_empty() {
            // Hosts in the authority, each with its own port (or the default).
            for host in authority_hosts.iter().copied().chain(authority_hosts.is_empty().then_some("")) {
                let single = format!("{scheme}://{prefix}{host}/{path}?{query}");
                let port_part = query_ports.first().map(|p| format!("&port={p}")).unwrap_or_default();
                let options = PgConnectOptions::from_str(&format!("{single}{port_part}"))
                    .map_err(|e| bad(format!("host {host}: {e}")))?;
                servers.push((label(&options), options));
            }
        } else {
            // `?host=a,b&port=p,q` (how libpq names several sockets): ports pair with hosts,
            // or one port serves all.
            if query_ports.len() > 1 && query_ports.len() != query_hosts.len() {
                return Err(bad(format!("{} hosts but {} ports", query_hosts.len(), query_ports.len())));
            }
            for (i, host) in query_hosts.iter().enumerate() {
                let port = query_ports.get(i).or(query_ports.first());
                let mut single = format!("{scheme}://{prefix}{host_list}/{path}?{query}&host={host}");
                if let Some(port) = port {
                    single.push_str(&format!("&port={port}"));
                }
                let options = PgConnectOptions::from_str(&single).map_err(|e| bad(format!("host {host}: {e}")))?;
                servers.push((label(&options), options));
            }
        }
        Ok(Self { servers, read_write })
    }
}

/// `a,b` or `a%2Cb` as a list.
fn split_list(value: &str) -> Vec<String> {
    value.replace("%2C", ",").replace("%2c", ",").split(',').filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// `host:port` or `socket-dir:port`: names the server in logs and metrics, without secrets.
pub(crate) fn label(options: &PgConnectOptions) -> String {
    let host = options.get_socket().map_or_else(|| options.get_host().to_owned(), |s| s.display().to_string());
    format!("{host}:{}", options.get_port())
}

/// diaba's own connections, whichever server: named `application` (so an operator, or a
/// fault test, can tell the nodes apart) and without JIT compilation. PostGIS functions carry
/// high planner costs, which lift ordinary lookups over `jit_above_cost`; the compiler then
/// spends more than the query and can inline none of PostGIS (630 ms of a 1.5 s as-of batch
/// of 10 000 points; PostGIS's own advice is to turn JIT off).
pub(crate) fn for_diaba(options: PgConnectOptions, application: &str) -> PgConnectOptions {
    options.application_name(application).options([("jit", "off")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn diabas_own_connections_carry_its_name_and_run_without_jit() {
        use sqlx::{ConnectOptions, Connection};
        let db = diaba_test_harness::fresh_database().await;
        let options = for_diaba(PgConnectOptions::from_str(&db.url).unwrap(), "diaba-hosts-test");
        let mut conn = options.connect().await.unwrap();
        let (name, jit): (String, String) =
            sqlx::query_as("SELECT current_setting('application_name'), current_setting('jit')")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!((name.as_str(), jit.as_str()), ("diaba-hosts-test", "off"));
        conn.close().await.unwrap();
    }

    #[test]
    fn one_host_is_one_server_of_any_kind() {
        let hosts = Hosts::parse("postgres://diaba:secret@db.example:6432/diaba").unwrap();
        assert_eq!(hosts.servers.len(), 1);
        assert_eq!(hosts.servers[0].0, "db.example:6432");
        assert_eq!(hosts.servers[0].1.get_database(), Some("diaba"));
        assert!(!hosts.read_write);
    }

    #[test]
    fn several_hosts_keep_order_ports_and_credentials() {
        let hosts =
            Hosts::parse("postgres://diaba:secret@a.example:5432,b.example:5433/land?target_session_attrs=read-write&sslmode=disable")
                .unwrap();
        let labels: Vec<&str> = hosts.servers.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["a.example:5432", "b.example:5433"]);
        assert!(hosts.read_write);
        for (_, options) in &hosts.servers {
            assert_eq!(options.get_username(), "diaba");
            assert_eq!(options.get_database(), Some("land"));
        }
    }

    #[test]
    fn socket_lists_pair_hosts_with_ports() {
        let hosts = Hosts::parse(
            "postgres://diaba@localhost/diaba?host=/run/a,/run/b&port=5432,5433&target_session_attrs=primary",
        )
        .unwrap();
        let labels: Vec<&str> = hosts.servers.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["/run/a:5432", "/run/b:5433"]);
        assert!(hosts.read_write);
    }

    #[test]
    fn unsupported_session_attributes_are_refused() {
        let error = Hosts::parse("postgres://a,b/diaba?target_session_attrs=prefer-standby").unwrap_err();
        assert!(error.to_string().contains("prefer-standby"), "{error}");
        assert!(Hosts::parse("postgres://a:1,b:2/db?host=/x,/y&port=1,2,3").is_err());
    }
}
