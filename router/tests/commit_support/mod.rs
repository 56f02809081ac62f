//! Shared by the commit tests: a fake router state the fake applier
//! changes unit by unit (so a failure can strike half way), configuration
//! texts, and temporary directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use router::config::{
    ApplyError, ApplyReport, CommitManager, Config, ConfigApplier, ConfigDiff, ConfigStore,
    ConfigUnit, Now, ValidationEnv,
};

pub const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

/// Two ports, a default route: the starting configuration.
pub const BASE: &str = r#"[[port]]
name = "p1"
addresses = ["10.1.0.1/24"]

[[port]]
name = "p2"
addresses = ["10.2.0.1/24"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "10.2.0.2"
"#;

/// `BASE` plus one static route per prefix given, through 10.1.0.2.
pub fn with_routes(prefixes: &[&str]) -> String {
    let mut text = BASE.to_owned();
    for p in prefixes {
        text.push_str(&format!(
            "\n[[static-route]]\nprefix = \"{p}\"\n[[static-route.next-hop]]\nvia = \"10.1.0.2\"\n"
        ));
    }
    text
}

/// What the fake router runs: installed static routes (prefix → next
/// hops, as text) and port MTUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeState {
    pub routes: BTreeMap<String, String>,
    pub mtus: BTreeMap<String, u16>,
}

impl FakeState {
    pub fn of(config: &Config) -> Self {
        let mut state = Self::default();
        for route in &config.static_routes {
            state
                .routes
                .insert(route.prefix.to_string(), format!("{:?}", route.target));
        }
        for port in &config.ports {
            state.mtus.insert(port.name.clone(), port.mtu);
        }
        state
    }
}

/// Applies a diff unit by unit to a [`FakeState`], as the daemon restarts
/// only what changed. `fail_on`: the unit whose change fails — after the
/// units before it were changed, so the applier must put them back.
#[derive(Debug, Default)]
pub struct FakeApplier {
    pub state: FakeState,
    pub fail_on: Option<ConfigUnit>,
    /// Fail this many calls, then behave.
    pub fail_calls: usize,
    pub calls: usize,
    /// Units changed by a failed call before it failed (and undone).
    pub undone: usize,
}

impl FakeApplier {
    pub fn new(config: &Config) -> Self {
        Self {
            state: FakeState::of(config),
            ..Self::default()
        }
    }
}

impl ConfigApplier for FakeApplier {
    fn apply(
        &mut self,
        _running: &Config,
        candidate: &Config,
        diff: &ConfigDiff,
    ) -> Result<ApplyReport, ApplyError> {
        self.calls += 1;
        if self.fail_calls > 0 {
            self.fail_calls -= 1;
            return Err(ApplyError::new("the fake dataplane is busy").help("try again"));
        }
        let staged = self.state.clone();
        let mut restarted = Vec::new();
        for unit in diff.units() {
            if self.fail_on.as_ref() == Some(unit) {
                self.undone = restarted.len();
                self.state = staged;
                return Err(ApplyError::new("cannot install the route: table full")
                    .at(unit.clone())
                    .help("remove other routes first"));
            }
            let id = unit.id.clone().unwrap_or_default();
            match unit.section.as_str() {
                "static-route" => {
                    match candidate
                        .static_routes
                        .iter()
                        .find(|r| r.prefix.to_string() == id)
                    {
                        Some(r) => self.state.routes.insert(id, format!("{:?}", r.target)),
                        None => self.state.routes.remove(&id),
                    };
                }
                "port" => match candidate.ports.iter().find(|p| p.name == id) {
                    Some(p) => {
                        self.state.mtus.insert(id, p.mtu);
                    }
                    None => {
                        self.state.mtus.remove(&id);
                    }
                },
                _ => {}
            }
            restarted.push(unit.clone());
        }
        Ok(ApplyReport {
            restarted,
            notes: Vec::new(),
        })
    }
}

/// A fresh directory under the system's temporary one, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vr-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn config_file(&self) -> PathBuf {
        self.0.join("vrouter.toml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.0.join("state")
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Monotonic and wall clock at `secs` seconds (wall clock from a fixed
/// day, so history times are predictable).
pub fn at(secs: u64) -> Now {
    Now::new(Duration::from_secs(secs), 1_700_000_000 + secs)
}

/// A manager over `dir`, its config file holding `text` if not there yet.
pub fn start(dir: &TempDir, text: &str, now: Now) -> CommitManager {
    if !dir.config_file().exists() {
        std::fs::write(dir.config_file(), text).unwrap();
    }
    let store = ConfigStore::open(dir.config_file(), dir.state_dir()).unwrap();
    CommitManager::start(store, ENV, now).unwrap().0
}
