//! The management socket and `/metrics` served for real, without root: a
//! router state built offline from a config (the FIB as the daemon builds
//! it, no ports), the socket in a temporary directory, metrics on an
//! ephemeral loopback port.

mod mgmt_support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mgmt_support::{ApiClient, http, parse_exposition, sample};
use router::config::{ValidationEnv, parse_str};
use router::metrics::MetricsServer;
use router::mgmt::server::{MAX_CLIENTS, SOCKET_MODE};
use router::mgmt::{ManagementServer, RouterState, ServerError};

const CONFIG: &str = r#"
[[port]]
name = "p1"
addresses = ["10.1.0.1/24"]

[[port]]
name = "p2"
addresses = ["10.2.0.1/24", "2001:db8:2::1/64"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "10.2.0.2"

[[static-route]]
prefix = "203.0.113.0/24"
blackhole = true
"#;

fn state() -> Arc<RouterState> {
    let config = parse_str(CONFIG, "test.toml", &ValidationEnv { cpu_count: 4 }).unwrap();
    Arc::new(RouterState::offline(config).unwrap())
}

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vr-mgmt-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("api.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_socket_is_mode_0660_and_gone_after_stop() {
    let dir = TempDir::new();
    let path = dir.socket();
    let server = ManagementServer::start(&path, state()).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, SOCKET_MODE);
    assert_eq!(SOCKET_MODE, 0o660);
    // No temporary file left beside it.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    drop(server);
    assert!(!path.exists(), "the socket is removed at stop");
}

#[test]
fn one_connection_carries_many_requests_and_survives_bad_ones() {
    let dir = TempDir::new();
    let _server = ManagementServer::start(&dir.socket(), state()).unwrap();
    let mut client = ApiClient::connect(&dir.socket());

    let reply = client.ask(r#"{"version":1,"request":{"show":"routes","prefix":"10.0.0.0/8"}}"#);
    assert_eq!(reply["version"], 1);
    let prefixes: Vec<&str> = reply["ok"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(
        prefixes,
        ["10.1.0.0/24", "10.1.0.1/32", "10.2.0.0/24", "10.2.0.1/32"]
    );

    for (line, code) in [
        ("this is not json", "malformed_json"),
        (r#"{"version":1}"#, "invalid_request"),
        (
            r#"{"version":9,"request":{"show":"routes"}}"#,
            "unsupported_version",
        ),
        (
            r#"{"version":1,"request":{"show":"bgp"}}"#,
            "unknown_request",
        ),
        (
            r#"{"version":1,"request":{"show":"fib","address":"10.0.0.1","protocol":1,"source_port":1}}"#,
            "invalid_request",
        ),
    ] {
        let reply = client.ask(line);
        assert_eq!(reply["version"], 1, "{line}");
        assert_eq!(reply["error"]["code"], code, "{line}: {reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(reply.get("ok").is_none());
    }
    // Blank lines are skipped, invalid UTF-8 is just malformed JSON, and
    // the connection still answers afterwards.
    client.send_raw(b"\n\r\n\xff\xfe\n");
    assert_eq!(client.reply()["error"]["code"], "malformed_json");
    let reply = client.ask(r#"{"version":1,"request":{"show":"fib","address":"8.8.8.8"}}"#);
    assert_eq!(reply["ok"]["verdict"], "forward");
    assert_eq!(reply["ok"]["chosen"]["via"], "10.2.0.2");
}

#[test]
fn an_over_long_line_is_refused_and_closes_the_connection() {
    let dir = TempDir::new();
    let _server = ManagementServer::start(&dir.socket(), state()).unwrap();
    let mut client = ApiClient::connect(&dir.socket());
    client.send_raw(&vec![b'x'; router::mgmt::api::MAX_REQUEST_BYTES + 10]);
    assert_eq!(client.reply()["error"]["code"], "line_too_long");
    assert!(client.is_closed());
}

#[test]
fn a_silent_client_does_not_hold_up_others() {
    let dir = TempDir::new();
    let _server = ManagementServer::start(&dir.socket(), state()).unwrap();
    let mut silent = ApiClient::connect(&dir.socket());
    silent.send_raw(br#"{"version":1,"request":"#);
    let started = Instant::now();
    let mut other = ApiClient::connect(&dir.socket());
    let reply = other.ask(r#"{"version":1,"request":{"show":"counters"}}"#);
    assert!(reply["ok"]["drops"]["no_route"].is_u64());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );
}

#[test]
fn clients_beyond_the_limit_are_told_busy() {
    let dir = TempDir::new();
    let _server = ManagementServer::start(&dir.socket(), state()).unwrap();
    let mut held: Vec<ApiClient> = (0..MAX_CLIENTS)
        .map(|_| ApiClient::connect(&dir.socket()))
        .collect();
    // Each held client is served (so accepted) before the next one.
    for client in &mut held {
        let reply = client.ask(r#"{"version":1,"request":{"show":"interfaces"}}"#);
        assert!(reply["ok"]["interfaces"].is_array());
    }
    let mut extra = ApiClient::connect(&dir.socket());
    assert_eq!(extra.reply()["error"]["code"], "busy");
    drop(held);
    // Room again once they are gone (the server notices the close).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = ApiClient::connect(&dir.socket());
        let reply = again.ask(r#"{"version":1,"request":{"show":"interfaces"}}"#);
        if reply.get("ok").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "still busy: {reply}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not() {
    let dir = TempDir::new();
    let path = dir.socket();
    // Stale: bound, then its listener closed; the file stays behind.
    drop(UnixListener::bind(&path).unwrap());
    assert!(UnixStream::connect(&path).is_err());
    let server = ManagementServer::start(&path, state()).unwrap();
    ApiClient::connect(&path).ask(r#"{"version":1,"request":{"show":"config"}}"#);

    // Live: the first server keeps it, the second refuses.
    match ManagementServer::start(&path, state()) {
        Err(ServerError::InUse(p)) => assert_eq!(p, path),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("took over a live socket"),
    }
    let reply = ApiClient::connect(&path).ask(r#"{"version":1,"request":{"show":"config"}}"#);
    assert!(reply["ok"]["config"]["port"].is_array(), "{reply}");
    drop(server);

    // Not a socket: left alone.
    let file = dir.0.join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    assert!(matches!(
        ManagementServer::start(&file, state()),
        Err(ServerError::NotASocket(_))
    ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn metrics_scrape_parses_and_has_the_promised_series() {
    let state = state();
    state.counters.ports[1].tx_packets.add(42);
    state
        .counters
        .count_drop(dataplane::pipeline::DropReason::TtlExpired);
    state.counters.punt(dataplane::pipeline::PuntClass::Arp);
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::clone(&state)).unwrap();
    let addr = server.local_addr();

    let (status, head, body) = http(addr, "GET", "/metrics");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    let samples = parse_exposition(&body);
    assert_eq!(
        sample(&samples, r#"vrouter_port_tx_packets_total{port="p2"}"#),
        42.0
    );
    assert_eq!(
        sample(&samples, r#"vrouter_port_rx_packets_total{port="p1"}"#),
        0.0
    );
    assert_eq!(
        sample(&samples, r#"vrouter_drops_total{reason="ttl_expired"}"#),
        1.0
    );
    assert_eq!(
        sample(&samples, r#"vrouter_drops_total{reason="no_route"}"#),
        0.0
    );
    assert_eq!(sample(&samples, r#"vrouter_punts_total{class="arp"}"#), 1.0);
    // 2 connected + 2 local IPv4 on p1/p2, default + blackhole; 1 + 1 IPv6.
    assert_eq!(
        sample(&samples, r#"vrouter_fib_routes{family="ipv4"}"#),
        6.0
    );
    assert_eq!(
        sample(&samples, r#"vrouter_fib_routes{family="ipv6"}"#),
        2.0
    );
    assert_eq!(sample(&samples, r#"vrouter_routes{source="static"}"#), 2.0);
    assert_eq!(
        sample(&samples, r#"vrouter_routes{source="connected"}"#),
        3.0
    );
    assert_eq!(
        sample(
            &samples,
            r#"vrouter_nexthop_up{nexthop="3",interface="p2",via="10.2.0.2"}"#
        ),
        1.0
    );
    let drop_series = samples
        .iter()
        .filter(|(s, _)| s.starts_with("vrouter_drops_total{"))
        .count();
    assert_eq!(drop_series, dataplane::pipeline::DropReason::COUNT);

    assert_eq!(http(addr, "GET", "/").0, 404);
    assert_eq!(http(addr, "POST", "/metrics").0, 405);
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err(), "stopped");
}

#[test]
fn stopping_does_not_need_the_socket_file() {
    let dir = TempDir::new();
    let path = dir.socket();
    let server = ManagementServer::start(&path, state()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
