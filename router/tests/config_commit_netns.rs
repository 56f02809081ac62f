//! Configuration transactions against a running vrouterd, with `vrctl`:
//! a commit adds a route while traffic on another route runs and loses
//! none of it; a confirmed commit that is not confirmed rolls back by
//! itself; `rollback` and a restart come back to what was committed.
//! Root only.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn config_with(socket: &std::path::Path, extra: &str) -> String {
    ThreeNodeLab::config(
        1500,
        &format!("{extra}\n[management]\nsocket = \"{}\"\n", socket.display()),
    )
}

const ROUTE_TO_H2: &str = r#"
[[static-route]]
prefix = "10.99.0.0/16"
[[static-route.next-hop]]
via = "10.2.0.2"
"#;

fn reachable(lab: &ThreeNodeLab, target: &str) -> bool {
    lab.h1
        .try_sh(&format!("ping -c 1 -W 1 {target}"))
        .unwrap()
        .status
        .success()
}

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_commit_adds_a_route_without_losing_a_packet_of_the_others_and_can_be_rolled_back() {
    if skip_unless_root() {
        return;
    }
    let lab = ThreeNodeLab::new();
    lab.h2.run("ip addr add 10.99.0.1/32 dev lo");
    let dir = std::env::temp_dir().join(format!("vrouterd-{}", lab.rtr.name));
    let socket = dir.join("api.sock");
    let mut vr = Vrouterd::start(&lab.rtr, &config_with(&socket, ""));
    let file = dir.join("vrouter.toml");
    let original = std::fs::read_to_string(&file).unwrap();

    wait_until("h2 reachable", Duration::from_secs(10), || {
        reachable(&lab, "10.2.0.2")
    });
    assert!(!reachable(&lab, "10.99.0.1"), "no route to 10.99/16 yet");

    // 1500 pings, 2 ms apart, on the connected route to h2 while the
    // commit happens in the middle of them.
    let stream = lab
        .h1
        .spawn_sh("ping -n -q -i 0.002 -c 1500 -W 1 10.2.0.2")
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1000));
    let candidate = dir.join("candidate.toml");
    std::fs::write(&candidate, config_with(&socket, ROUTE_TO_H2)).unwrap();
    let cand = candidate.to_str().unwrap();
    let diff = vrctl(&socket, &["config", "diff", cand]);
    assert!(
        diff.contains("10.99.0.0/16"),
        "the diff names the new route:\n{diff}"
    );
    let commit = vrctl_json(
        &socket,
        &["config", "commit", cand, "--comment", "add 10.99/16"],
    );
    let summary = stream.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(
        text.contains("1500 packets transmitted, 1500 received"),
        "not a packet of the other route lost during the commit:\n{text}\ncommit: {commit}\n{}",
        vr.log_text()
    );
    assert!(reachable(&lab, "10.99.0.1"), "the committed route works");
    let restarted = commit.to_string();
    assert!(
        restarted.contains("10.99.0.0/16") && !restarted.contains("\"port\""),
        "only the new route was restarted: {commit}"
    );
    assert_ne!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "the committed configuration is saved to the file"
    );

    // A confirmed commit left unconfirmed goes away by itself.
    let removal = dir.join("removal.toml");
    std::fs::write(&removal, config_with(&socket, "")).unwrap();
    vrctl(
        &socket,
        &[
            "config",
            "commit",
            removal.to_str().unwrap(),
            "--confirm",
            "2",
        ],
    );
    assert!(!reachable(&lab, "10.99.0.1"), "removed while unconfirmed");
    wait_until(
        "the unconfirmed removal is rolled back",
        Duration::from_secs(10),
        || reachable(&lab, "10.99.0.1"),
    );

    // rollback 1: back to the configuration before the running one.
    vrctl(&socket, &["config", "rollback", "1"]);
    assert!(
        !reachable(&lab, "10.99.0.1"),
        "rollback 1 removed the route"
    );
    let history = vrctl_json(&socket, &["config", "history"]);
    assert!(
        history.to_string().contains("add 10.99/16"),
        "history keeps the comment: {history}"
    );

    // `[icmp]` changes live: with errors-per-second = 0 the router stops
    // answering TTL-expired probes, and starts again when it is restored.
    let ttl_expired = || {
        let out = lab.h1.try_sh("ping -n -c 1 -t 1 -W 1 10.2.0.2").unwrap();
        String::from_utf8_lossy(&out.stdout).contains("Time to live exceeded")
    };
    assert!(ttl_expired(), "the router answers TTL 1 with time exceeded");
    let quiet = dir.join("quiet.toml");
    std::fs::write(
        &quiet,
        config_with(&socket, "\n[icmp]\nerrors-per-second = 0\n"),
    )
    .unwrap();
    vrctl(&socket, &["config", "commit", quiet.to_str().unwrap()]);
    wait_until("ICMP errors stop", Duration::from_secs(5), || {
        !ttl_expired()
    });
    vrctl(&socket, &["config", "rollback", "1"]);
    wait_until("ICMP errors come back", Duration::from_secs(5), ttl_expired);

    // A commit that needs a restart is refused and changes nothing.
    let mtu = dir.join("mtu.toml");
    std::fs::write(
        &mtu,
        config_with(&socket, "").replace("mtu = 1500", "mtu = 1400"),
    )
    .unwrap();
    let refused = std::process::Command::new(vrctl_path())
        .args([
            "-s",
            socket.to_str().unwrap(),
            "config",
            "commit",
            mtu.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an MTU change is not live");
    let why = String::from_utf8_lossy(&refused.stderr).into_owned()
        + &String::from_utf8_lossy(&refused.stdout);
    assert!(
        why.contains("restart"),
        "the refusal says what to do: {why}"
    );
    assert!(reachable(&lab, "10.2.0.2"));

    // A restart comes back with what was committed last (no 10.99/16).
    assert!(vr.stop());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("10.99.0.0/16"), "{text}");
}
