//! The `vrctl` binary end to end, without root: against no daemon, and
//! against a management server over a router state built offline from a
//! config (the FIB as vrouterd builds it, no ports).

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use router::config::{ValidationEnv, parse_str};
use router::mgmt::{ManagementServer, RouterState};

const CONFIG: &str = r#"
[[port]]
name = "p1"
addresses = ["10.1.0.1/24"]

[[port]]
name = "p2"
addresses = ["10.2.0.1/24"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "10.2.0.2"

[[static-route]]
prefix = "203.0.113.0/24"
reject = true
"#;

fn vrctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrctl"))
        .args(args)
        .output()
        .expect("vrctl runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vrctl-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn serve(dir: &Path) -> (ManagementServer, String) {
    let config = parse_str(CONFIG, "t.toml", &ValidationEnv { cpu_count: 4 }).unwrap();
    let state = Arc::new(RouterState::offline(config).unwrap());
    let socket = dir.join("api.sock");
    let server = ManagementServer::start(&socket, state).unwrap();
    (server, socket.to_string_lossy().into_owned())
}

#[test]
fn no_daemon_says_so_with_the_socket_path_and_exits_3() {
    let out = vrctl(&["-s", "/nonexistent/vr.sock", "show", "routes"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out).1,
        "vrctl: vrouterd is not running (no socket at /nonexistent/vr.sock): start it or pass -s\n"
    );
    // A socket file nobody listens on: the daemon died.
    let dir = temp_dir();
    let stale = dir.join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let out = vrctl(&["-s", stale.to_str().unwrap(), "show", "counters", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out).1.contains("nothing listens on"),
        "{:?}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_errors_exit_2_and_completions_exit_0() {
    assert_eq!(vrctl(&["show", "bgp"]).status.code(), Some(2));
    assert_eq!(
        vrctl(&["show", "fib", "not-an-address"]).status.code(),
        Some(2)
    );
    let out = vrctl(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).0.contains("nexthop-groups"));
}

#[test]
fn show_commands_answer_from_a_server() {
    let dir = temp_dir();
    let (_server, socket) = serve(&dir);
    let show = |args: &[&str]| {
        let mut all = vec!["-s", socket.as_str(), "show"];
        all.extend_from_slice(args);
        let out = vrctl(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", text(&out));
        text(&out).0
    };

    let routes = show(&["routes"]);
    assert!(routes.starts_with("Codes: C connected"), "{routes}");
    assert!(routes.contains("S>  0.0.0.0/0"), "{routes}");
    assert!(routes.contains("10.2.0.2"), "{routes}");
    assert!(routes.contains("C>  10.1.0.0/24"), "{routes}");
    assert!(routes.contains("L>  10.1.0.1/32"), "{routes}");
    assert!(routes.contains("reject"), "{routes}");

    let fib = show(&[
        "fib",
        "192.0.2.7",
        "--proto",
        "udp",
        "--sport",
        "1",
        "--dport",
        "2",
    ]);
    assert!(fib.starts_with("192.0.2.7 -> forward\n"), "{fib}");
    assert!(fib.contains("matched   0.0.0.0/0 (static)"), "{fib}");
    assert!(fib.contains("next hop  10.2.0.2 on p2"), "{fib}");

    let json: serde_json::Value =
        serde_json::from_str(&show(&["fib", "203.0.113.1", "--json"])).unwrap();
    assert_eq!(json["verdict"], "reject");
    assert_eq!(json["matched"], "203.0.113.0/24");

    let config = show(&["config"]);
    let back = parse_str(&config, "shown.toml", &ValidationEnv { cpu_count: 4 }).unwrap();
    assert_eq!(back.static_routes.len(), 2);
    for what in [
        "interfaces",
        "nexthop-groups",
        "neighbors",
        "counters",
        "static",
    ] {
        assert!(!show(&[what]).is_empty(), "{what}");
    }

    // The daemon's refusal: exit 1, the reason on stderr.
    let out = vrctl(&[
        "-s",
        &socket,
        "show",
        "fib",
        "10.0.0.1",
        "--src",
        "2001:db8::1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("different IP versions"),
        "{:?}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(dir);
}
