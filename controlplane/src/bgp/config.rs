//! What a BGP instance is told to do: the local speaker and its neighbors.
//!
//! These are the protocol's own settings, already mapped from the daemon's
//! TOML model. Defaults follow RFC 4271 §10 and what operators know from
//! FRR/BIRD; [`BgpConfig::validate`] refuses what the RFCs forbid, naming
//! the neighbor, the setting and the fix.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::packet::{Afi, Safi};

/// The TCP port BGP listens on and connects to (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;

/// RFC 4271 §10 suggested defaults.
pub const DEFAULT_HOLD_TIME_S: u16 = 90;
pub const DEFAULT_CONNECT_RETRY_S: u32 = 120;
/// Restart Time we advertise in our (helper-only) Graceful Restart capability.
pub const DEFAULT_RESTART_TIME_S: u16 = 120;
/// Upper bound on keeping a restarted peer's stale routes once its session
/// is back (RFC 4724 §4.2 "MAY support a timer"); FRR's stalepath-time.
pub const DEFAULT_STALE_TIME_S: u32 = 360;

/// The whole instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpConfig {
    /// Our AS, four-octet capable (RFC 6793).
    pub local_as: u32,
    /// Our BGP Identifier (RFC 4271 §4.2, RFC 6286: any nonzero value).
    pub router_id: Ipv4Addr,
    /// Seeds the timer jitter (RFC 4271 §10), so runs replay identically.
    #[serde(default)]
    pub seed: u64,
    /// Prefixes announced to every peer, like FRR/BIRD `network`
    /// statements: origin IGP, next hop self.
    #[serde(default)]
    pub networks: Vec<IpNet>,
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
}

/// One configured peering, named by the neighbor's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NeighborConfig {
    pub address: IpAddr,
    /// The AS the neighbor must announce in its OPEN (RFC 4271 §6.2); equal
    /// to `local_as` makes the session internal.
    pub remote_as: u32,
    /// `update-source`: the local address outgoing connections bind to.
    pub local_address: Option<IpAddr>,
    /// The neighbor's TCP port (179 unless a lab says otherwise).
    pub port: u16,
    /// Never connect; wait for the neighbor to (FRR `passive`).
    pub passive: bool,
    /// Hold Time we offer; the session uses min(ours, theirs), 0 = none
    /// (RFC 4271 §4.2). Takes effect at the next session.
    pub hold_time: u16,
    /// ConnectRetryTime (RFC 4271 §10), jittered by 0.75–1.0.
    pub connect_retry: u32,
    /// Address families we offer (RFC 4760); the session uses the
    /// intersection with the neighbor's.
    pub families: Vec<Family>,
    pub capabilities: CapabilityConfig,
    /// What to do with an eBGP route whose AS_PATH does not start with the
    /// neighbor's AS (RFC 4271 §6.3, RFC 7606 §7.2).
    pub enforce_first_as: FirstAsCheck,
    /// `ebgp-multihop N`: TTL of our packets to an eBGP neighbor not on a
    /// shared subnet. Single hop (TTL 1) when unset.
    pub ebgp_multihop: Option<u8>,
    /// GTSM (RFC 5082): send with TTL 255, accept only TTL ≥ 255 − hops + 1.
    pub ttl_security_hops: Option<u8>,
    /// TCP-MD5 key (RFC 2385), set on the socket by the TCP adapter.
    pub md5_password: Option<String>,
    pub max_prefix: Option<MaxPrefix>,
    /// A BFD session guards this neighbor: BFD Down tears the session down
    /// at once (RFC 5882 §4.3).
    pub bfd: bool,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        NeighborConfig {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            remote_as: 0,
            local_address: None,
            port: BGP_PORT,
            passive: false,
            hold_time: DEFAULT_HOLD_TIME_S,
            connect_retry: DEFAULT_CONNECT_RETRY_S,
            families: vec![Family::Ipv4Unicast],
            capabilities: CapabilityConfig::default(),
            enforce_first_as: FirstAsCheck::TreatAsWithdraw,
            ebgp_multihop: None,
            ttl_security_hops: None,
            md5_password: None,
            max_prefix: None,
            bfd: false,
        }
    }
}

impl NeighborConfig {
    /// A neighbor with every default: the usual starting point.
    pub fn new(address: IpAddr, remote_as: u32) -> NeighborConfig {
        NeighborConfig {
            address,
            remote_as,
            ..NeighborConfig::default()
        }
    }

    /// Whether a change from `self` to `new` can only take effect by
    /// restarting the session: anything said in the OPEN or fixed on the
    /// TCP socket. Timers, limits and BFD apply without a reset.
    pub fn needs_reset(&self, new: &NeighborConfig) -> bool {
        self.remote_as != new.remote_as
            || self.local_address != new.local_address
            || self.port != new.port
            || self.families != new.families
            || self.capabilities != new.capabilities
            || self.ebgp_multihop != new.ebgp_multihop
            || self.ttl_security_hops != new.ttl_security_hops
            || self.md5_password != new.md5_password
    }
}

/// The address families this speaker handles (RFC 4760 AFI/SAFI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    pub fn afi_safi(self) -> (Afi, Safi) {
        match self {
            Family::Ipv4Unicast => (Afi::Ipv4, Safi::Unicast),
            Family::Ipv6Unicast => (Afi::Ipv6, Safi::Unicast),
        }
    }

    pub fn from_afi_safi(afi: Afi, safi: Safi) -> Option<Family> {
        match (afi, safi) {
            (Afi::Ipv4, Safi::Unicast) => Some(Family::Ipv4Unicast),
            (Afi::Ipv6, Safi::Unicast) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// The family a unicast prefix belongs to.
    pub fn of(prefix: &IpNet) -> Family {
        match prefix {
            IpNet::V4(_) => Family::Ipv4Unicast,
            IpNet::V6(_) => Family::Ipv6Unicast,
        }
    }
}

/// Optional capabilities we advertise (RFC 5492). Multiprotocol comes from
/// `families`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapabilityConfig {
    /// RFC 6793. Required when either AS does not fit two octets.
    pub four_octet_as: bool,
    /// RFC 2918.
    pub route_refresh: bool,
    /// RFC 7313.
    pub enhanced_route_refresh: bool,
    /// RFC 8654.
    pub extended_message: bool,
    /// Graceful restart helper (RFC 4724 §4.2): keep a restarting peer's
    /// routes while it comes back. We advertise the capability with no
    /// address family: we cannot preserve forwarding across our own restart.
    pub graceful_restart: Option<GracefulRestartConfig>,
}

impl Default for CapabilityConfig {
    fn default() -> Self {
        CapabilityConfig {
            four_octet_as: true,
            route_refresh: true,
            enhanced_route_refresh: true,
            extended_message: true,
            graceful_restart: Some(GracefulRestartConfig::default()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GracefulRestartConfig {
    /// Restart Time we advertise, seconds (12 bits on the wire).
    pub restart_time: u16,
    /// How long a restarted peer's stale routes may outlive its new
    /// session before they are flushed without an End-of-RIB.
    pub stale_time: u32,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            restart_time: DEFAULT_RESTART_TIME_S,
            stale_time: DEFAULT_STALE_TIME_S,
        }
    }
}

/// The first-AS check on eBGP routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstAsCheck {
    /// No check: route servers do not prepend their AS.
    Off,
    /// Withdraw the routes of the UPDATE (RFC 7606 §7.2: SHOULD).
    TreatAsWithdraw,
    /// NOTIFICATION UPDATE Message Error / Malformed AS_PATH and reset
    /// (RFC 4271 §6.3; RFC 7606 §7.2 allows it "if configured to do so").
    SessionReset,
}

/// `maximum-prefix`: a limit on the routes accepted from one neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxPrefix {
    pub limit: u32,
    /// Only warn; otherwise tear the session down with Cease / Maximum
    /// Number of Prefixes Reached (RFC 4486).
    #[serde(default)]
    pub warning_only: bool,
    /// After a teardown, start again after this many seconds; without it
    /// the session stays down until cleared or reconfigured.
    #[serde(default)]
    pub restart: Option<u32>,
}

impl BgpConfig {
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> BgpConfig {
        BgpConfig {
            local_as,
            router_id,
            seed: 0,
            networks: Vec::new(),
            neighbors: Vec::new(),
        }
    }

    pub fn neighbor(&self, address: IpAddr) -> Option<&NeighborConfig> {
        self.neighbors.iter().find(|n| n.address == address)
    }

    /// Checks what the RFCs and this implementation forbid; the first
    /// problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_as == 0 {
            return Err(ConfigError::instance(
                "local-as 0 is reserved (RFC 7607); use your AS number",
            ));
        }
        if self.router_id.is_unspecified() {
            return Err(ConfigError::instance(
                "router-id 0.0.0.0 is not a valid BGP Identifier (RFC 6286 §2.1); set a nonzero one",
            ));
        }
        for (i, neighbor) in self.neighbors.iter().enumerate() {
            if self.neighbors[..i]
                .iter()
                .any(|n| n.address == neighbor.address)
            {
                return Err(ConfigError::neighbor(
                    neighbor.address,
                    "is configured twice; keep one entry per neighbor address",
                ));
            }
            self.validate_neighbor(neighbor)?;
        }
        Ok(())
    }

    fn validate_neighbor(&self, n: &NeighborConfig) -> Result<(), ConfigError> {
        let fail = |what: String| Err(ConfigError::neighbor(n.address, what));
        if n.address.is_unspecified() || n.address.is_multicast() {
            return fail("is not a unicast address".into());
        }
        if n.remote_as == 0 {
            return fail("remote-as 0 is reserved (RFC 7607); set the neighbor's AS".into());
        }
        if n.hold_time > 0 && n.hold_time < 3 {
            return fail(format!(
                "hold-time {} s is not allowed; use 0 (no keepalives) or 3..65535 (RFC 4271 §4.2)",
                n.hold_time
            ));
        }
        if n.connect_retry == 0 {
            return fail("connect-retry must be at least 1 s".into());
        }
        if n.families.is_empty() {
            return fail("has no address family; enable ipv4-unicast and/or ipv6-unicast".into());
        }
        let wide = self.local_as > u32::from(u16::MAX) || n.remote_as > u32::from(u16::MAX);
        if wide && !n.capabilities.four_octet_as {
            return fail(
                "a four-octet AS needs the four-octet AS capability (RFC 6793); enable it".into(),
            );
        }
        if n.capabilities.enhanced_route_refresh && !n.capabilities.route_refresh {
            return fail(
                "enhanced route refresh (RFC 7313) needs route refresh (RFC 2918); enable both"
                    .into(),
            );
        }
        if let Some(gr) = n.capabilities.graceful_restart
            && gr.restart_time > 4095
        {
            return fail(format!(
                "graceful-restart restart-time {} s does not fit 12 bits (RFC 4724 §3); use at most 4095",
                gr.restart_time
            ));
        }
        if n.ebgp_multihop.is_some() && n.ttl_security_hops.is_some() {
            return fail(
                "ebgp-multihop and ttl-security exclude each other (RFC 5082); keep one".into(),
            );
        }
        if n.ebgp_multihop == Some(0) || n.ttl_security_hops == Some(0) {
            return fail("a hop count must be at least 1".into());
        }
        if let Some(limit) = n.max_prefix
            && limit.limit == 0
        {
            return fail(
                "maximum-prefix 0 would refuse every route; remove the limit or raise it".into(),
            );
        }
        if let (Some(local), true) = (
            n.local_address,
            n.local_address
                .is_some_and(|l| l.is_ipv4() != n.address.is_ipv4()),
        ) {
            return fail(format!(
                "update-source {local} is not of the neighbor's address family"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BgpConfig {
        let mut config = BgpConfig::new(65000, Ipv4Addr::new(10, 0, 0, 1));
        config
            .neighbors
            .push(NeighborConfig::new("192.0.2.2".parse().unwrap(), 65001));
        config
    }

    #[test]
    fn defaults_are_valid_and_follow_rfc4271_section_10() {
        let config = base();
        assert_eq!(config.validate(), Ok(()));
        let n = &config.neighbors[0];
        assert_eq!((n.hold_time, n.connect_retry, n.port), (90, 120, 179));
        assert!(n.capabilities.four_octet_as && n.capabilities.graceful_restart.is_some());
    }

    #[test]
    fn invalid_settings_are_refused_naming_the_neighbor_and_the_fix() {
        type Edit = Box<dyn Fn(&mut BgpConfig)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("hold-time 2 s", Box::new(|c| c.neighbors[0].hold_time = 2)),
            (
                "configured twice",
                Box::new(|c| c.neighbors.push(c.neighbors[0].clone())),
            ),
            ("remote-as 0", Box::new(|c| c.neighbors[0].remote_as = 0)),
            (
                "four-octet AS capability",
                Box::new(|c| {
                    c.local_as = 4_200_000_000;
                    c.neighbors[0].capabilities.four_octet_as = false;
                }),
            ),
            (
                "needs route refresh",
                Box::new(|c| c.neighbors[0].capabilities.route_refresh = false),
            ),
            (
                "exclude each other",
                Box::new(|c| {
                    c.neighbors[0].ebgp_multihop = Some(2);
                    c.neighbors[0].ttl_security_hops = Some(1);
                }),
            ),
            (
                "maximum-prefix 0",
                Box::new(|c| {
                    c.neighbors[0].max_prefix = Some(MaxPrefix {
                        limit: 0,
                        warning_only: false,
                        restart: None,
                    })
                }),
            ),
            (
                "not of the neighbor's address family",
                Box::new(|c| c.neighbors[0].local_address = Some("2001:db8::1".parse().unwrap())),
            ),
            (
                "no address family",
                Box::new(|c| c.neighbors[0].families.clear()),
            ),
            (
                "router-id 0.0.0.0",
                Box::new(|c| c.router_id = Ipv4Addr::UNSPECIFIED),
            ),
        ];
        for (expected, edit) in cases {
            let mut config = base();
            edit(&mut config);
            let error = config.validate().expect_err(expected).to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            if expected != "router-id 0.0.0.0" {
                assert!(error.starts_with("bgp neighbor 192.0.2.2: "), "{error}");
            }
        }
    }

    #[test]
    fn only_session_settings_need_a_reset() {
        let old = base().neighbors[0].clone();
        let mut new = old.clone();
        new.hold_time = 30;
        new.connect_retry = 5;
        new.bfd = true;
        new.max_prefix = Some(MaxPrefix {
            limit: 10,
            warning_only: true,
            restart: None,
        });
        assert!(!old.needs_reset(&new));
        new.capabilities.extended_message = false;
        assert!(old.needs_reset(&new));
    }
}
