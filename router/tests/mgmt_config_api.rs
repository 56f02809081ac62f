//! Configuration requests over the real management socket: a
//! [`ConfigControl`] that serves them on a [`CommitManager`] with a fake
//! applier (as the daemon's control-plane thread does, minus the channel),
//! behind a router state built offline. No root needed.

mod commit_support;
mod mgmt_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use commit_support::{BASE, ENV, FakeApplier, TempDir, at, start, with_routes};
use mgmt_support::ApiClient;
use router::config::{CommitManager, ConfigUnit, parse_str};
use router::mgmt::api::{ApiError, ConfigRequest};
use router::mgmt::{ConfigControl, ManagementServer, RouterState, config_control};
use serde_json::{Value, json};

/// Owns the manager and the applier like the control-plane thread, with
/// a clock the test moves.
struct TestControl {
    inner: Mutex<(CommitManager, FakeApplier)>,
    seconds: AtomicU64,
}

impl TestControl {
    fn new(manager: CommitManager) -> Self {
        let applier = FakeApplier::new(manager.running());
        Self {
            inner: Mutex::new((manager, applier)),
            seconds: AtomicU64::new(0),
        }
    }

    /// What the control-plane thread does at the manager's deadline.
    fn advance_to(&self, seconds: u64) -> bool {
        self.seconds.store(seconds, Ordering::SeqCst);
        let mut guard = self.inner.lock().unwrap();
        let (manager, applier) = &mut *guard;
        manager.poll(at(seconds), applier).is_some()
    }
}

impl ConfigControl for TestControl {
    fn request(&self, request: ConfigRequest) -> Result<Value, ApiError> {
        let mut guard = self.inner.lock().unwrap();
        let (manager, applier) = &mut *guard;
        config_control::answer(
            manager,
            request,
            at(self.seconds.load(Ordering::SeqCst)),
            applier,
        )
    }
}

struct Fixture {
    dir: TempDir,
    control: Arc<TestControl>,
    _server: ManagementServer,
}

fn serve(with_control: bool) -> Fixture {
    let dir = TempDir::new("mgmt-config");
    let manager = start(&dir, BASE, at(0));
    let control = Arc::new(TestControl::new(manager));
    let mut state = RouterState::offline(parse_str(BASE, "base", &ENV).unwrap()).unwrap();
    if with_control {
        state.config_control = Some(Arc::clone(&control) as Arc<dyn ConfigControl>);
    }
    let server = ManagementServer::start(&dir.path().join("api.sock"), Arc::new(state)).unwrap();
    Fixture {
        dir,
        control,
        _server: server,
    }
}

fn ask(client: &mut ApiClient, request: Value) -> Value {
    let line = json!({"version": 1, "request": request}).to_string();
    let reply = client.ask(&line);
    assert_eq!(reply["version"], 1, "{reply}");
    reply
}

fn ok(client: &mut ApiClient, request: Value) -> Value {
    let reply = ask(client, request.clone());
    assert!(reply.get("ok").is_some(), "{request} -> {reply}");
    reply["ok"].clone()
}

fn error(client: &mut ApiClient, request: Value) -> Value {
    let reply = ask(client, request.clone());
    assert!(reply.get("error").is_some(), "{request} -> {reply}");
    reply["error"].clone()
}

#[test]
fn a_whole_transaction_over_the_socket() {
    let f = serve(true);
    let mut client = ApiClient::connect(&f.dir.path().join("api.sock"));
    let candidate = with_routes(&["10.9.0.0/16"]);

    let bad = "[[port]]\nname = \"p1\"\nmtu = 20\n";
    let e = error(
        &mut client,
        json!({"config": "validate", "text": bad, "path": "/etc/vrouter/new.toml"}),
    );
    assert_eq!(e["code"], "invalid_config");
    assert_eq!(
        e["message"],
        "1 error in /etc/vrouter/new.toml; nothing was changed"
    );
    assert_eq!(e["errors"][0]["line"], 3);
    assert_eq!(e["errors"][0]["column"], 7);
    assert_eq!(e["errors"][0]["key"], "port[0].mtu");
    assert!(
        e["errors"][0]["message"].as_str().unwrap().contains("20"),
        "{e}"
    );
    assert_eq!(
        ok(
            &mut client,
            json!({"config": "validate", "text": candidate})
        ),
        json!({"valid": true})
    );

    let diff = ok(&mut client, json!({"config": "diff", "text": candidate}));
    assert_eq!(diff["changes"][0]["kind"], "added");
    assert_eq!(diff["changes"][0]["path"], "static-route[10.9.0.0/16]");
    assert_eq!(
        diff["units"],
        json!([{"section": "static-route", "id": "10.9.0.0/16"}])
    );

    let commit = ok(
        &mut client,
        json!({"config": "commit", "text": candidate, "confirm_seconds": 60, "comment": "try 10.9/16"}),
    );
    assert_eq!(commit["result"], "committed");
    assert_eq!(commit["id"], 2);
    assert_eq!(
        commit["restarted"],
        json!([{"section": "static-route", "id": "10.9.0.0/16"}])
    );
    assert_eq!(
        commit["pending"],
        json!({"commits": [2], "seconds_left": 60, "rollback_to": 1})
    );
    assert!(
        commit["message"]
            .as_str()
            .unwrap()
            .contains("confirm within 60 s"),
        "{commit}"
    );

    let history = ok(&mut client, json!({"config": "history"}));
    assert_eq!(history["commits"][0]["rollback"], 0);
    assert_eq!(history["commits"][0]["id"], 2);
    assert_eq!(history["commits"][0]["status"], "pending");
    assert_eq!(history["commits"][0]["comment"], "try 10.9/16");
    assert_eq!(history["commits"][1]["origin"], "startup");
    assert_eq!(history["pending"]["commits"], json!([2]));

    let confirmed = ok(&mut client, json!({"config": "confirm"}));
    assert_eq!(confirmed["confirmed"], json!([2]));
    assert_eq!(
        error(&mut client, json!({"config": "confirm"}))["code"],
        "nothing_to_confirm"
    );
    let e = error(&mut client, json!({"config": "rollback", "steps": 9}));
    assert_eq!(e["code"], "no_such_commit");
    assert!(
        e["message"].as_str().unwrap().contains("rollback 0 to 1"),
        "{e}"
    );

    let rollback = ok(&mut client, json!({"config": "rollback"}));
    assert_eq!(rollback["result"], "committed");
    assert_eq!(rollback["diff"]["changes"][0]["kind"], "removed");
    assert_eq!(
        ok(&mut client, json!({"config": "commit", "text": BASE}))["result"],
        "no_changes"
    );
    assert_eq!(
        std::fs::read_to_string(f.dir.config_file()).unwrap(),
        BASE,
        "the file follows the running configuration"
    );
}

#[test]
fn a_failed_apply_is_a_structured_error_and_changes_nothing() {
    let f = serve(true);
    f.control.inner.lock().unwrap().1.fail_on =
        Some(ConfigUnit::element("static-route", "10.9.0.0/16"));
    let mut client = ApiClient::connect(&f.dir.path().join("api.sock"));
    let e = error(
        &mut client,
        json!({"config": "commit", "text": with_routes(&["10.8.0.0/16", "10.9.0.0/16"])}),
    );
    assert_eq!(e["code"], "apply_failed");
    assert_eq!(e["errors"][0]["key"], "static-route[10.9.0.0/16]");
    assert_eq!(e["errors"][0]["help"], "remove other routes first");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("the running configuration is unchanged"),
        "{e}"
    );
    let history = ok(&mut client, json!({"config": "history"}));
    assert_eq!(history["commits"].as_array().unwrap().len(), 1);
    let inner = f.control.inner.lock().unwrap();
    assert_eq!(inner.0.running_text(), BASE);
    assert!(!inner.1.state.routes.contains_key("10.8.0.0/16"));
}

#[test]
fn an_unconfirmed_commit_rolls_back_when_the_control_plane_polls() {
    let f = serve(true);
    let mut client = ApiClient::connect(&f.dir.path().join("api.sock"));
    ok(
        &mut client,
        json!({"config": "commit", "text": with_routes(&["10.9.0.0/16"]), "confirm_seconds": 30}),
    );
    assert!(!f.control.advance_to(29));
    let history = ok(&mut client, json!({"config": "history"}));
    assert_eq!(history["pending"]["seconds_left"], 1);
    assert!(f.control.advance_to(30));
    let history = ok(&mut client, json!({"config": "history"}));
    assert_eq!(history["pending"], Value::Null);
    let origins: Vec<&str> = history["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins, ["confirm_timeout", "commit", "startup"]);
    assert_eq!(history["commits"][1]["status"], "rolled_back");
}

#[test]
fn a_config_larger_than_a_show_request_goes_through() {
    let f = serve(true);
    let mut client = ApiClient::connect(&f.dir.path().join("api.sock"));
    let prefixes: Vec<String> = (0..3000)
        .map(|i| format!("10.{}.{}.0/24", 100 + i / 256, i % 256))
        .collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let text = with_routes(&refs);
    assert!(text.len() > 64 * 1024, "{}", text.len());
    let commit = ok(&mut client, json!({"config": "commit", "text": text}));
    assert_eq!(commit["diff"]["units"].as_array().unwrap().len(), 3000);
}

#[test]
fn without_a_config_control_config_requests_are_not_supported() {
    let f = serve(false);
    let mut client = ApiClient::connect(&f.dir.path().join("api.sock"));
    for request in [
        json!({"config": "commit", "text": BASE}),
        json!({"config": "history"}),
        json!({"config": "confirm"}),
    ] {
        let e = error(&mut client, request);
        assert_eq!(e["code"], "not_supported");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("not supported by this daemon"),
            "{e}"
        );
    }
    // Requests the daemon cannot even read are still told so first.
    assert_eq!(
        error(&mut client, json!({"config": "commit"}))["code"],
        "invalid_request"
    );
    assert_eq!(
        error(&mut client, json!({"config": "reboot"}))["code"],
        "unknown_request"
    );
    assert!(ok(&mut client, json!({"show": "routes"}))["routes"].is_array());
}
