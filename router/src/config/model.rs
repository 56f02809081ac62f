//! The validated configuration: plain data, every default filled in and
//! every reference resolved, so the rest of the router never re-checks it.
//!
//! It serializes with the same key names as the file (`vrctl show config`)
//! and compares with `==` (`vrctl config diff`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Port MTU when none is given: Ethernet's.
pub const DEFAULT_MTU: u16 = 1500;
/// The smallest MTU an IPv4 router must accept (RFC 791: every internet
/// module must be able to forward a 68-octet datagram).
pub const MIN_MTU: u16 = 68;
/// The largest MTU accepted: common jumbo frames.
pub const MAX_MTU: u16 = 9000;
/// The smallest MTU of a link carrying IPv6 (RFC 8200 §5).
pub const MIN_IPV6_MTU: u16 = 1280;
/// Administrative distance of a static route when none is given (as in FRR).
pub const DEFAULT_DISTANCE: u8 = 1;
/// Largest next-hop weight, as in Linux and BIRD multipath routes.
pub const MAX_WEIGHT: u32 = 256;
/// Tiers a next-hop group can have (0 = primary, 1 = backup, …).
pub const MAX_TIERS: usize = dataplane::fib::group::MAX_TIERS;
/// Next hops one tier can have.
pub const MAX_TIER_MEMBERS: usize = dataplane::fib::group::MAX_MEMBERS;
/// RFC 4861 §10 REACHABLE_TIME.
pub const DEFAULT_REACHABLE_TIME_MS: u32 = 30_000;
/// RFC 4861 §6.2.1: AdvReachableTime "MUST be no greater than 3,600,000
/// milliseconds (1 hour)".
pub const MAX_REACHABLE_TIME_MS: u32 = 3_600_000;
/// RFC 4861 §10 RETRANS_TIMER.
pub const DEFAULT_RETRANS_TIME_MS: u32 = 1_000;
/// Longest wait between neighbor solicitations accepted; beyond a minute a
/// dead neighbor goes unnoticed too long to be useful.
pub const MAX_RETRANS_TIME_MS: u32 = 60_000;
/// ICMP errors sent per second when none is given (RFC 4443 §2.4 (f)
/// requires a limit; RFC 1812 §4.3.2.8 allows one for ICMPv4).
pub const DEFAULT_ICMP_ERRORS_PER_SECOND: u32 = 1_000;
pub const DEFAULT_ICMP_BURST: u32 = 100;
/// Upper bound for the ICMP rate and burst: more is no longer a limit.
pub const MAX_ICMP_RATE: u32 = 1_000_000;
/// Where the management API listens when `[management] socket` is not
/// given; `vrctl` tries the same path by default.
pub const DEFAULT_MANAGEMENT_SOCKET: &str = "/run/vrouterd.sock";
/// Longest Unix socket path: `sun_path` holds 108 bytes on Linux, the
/// terminating NUL included (unix(7)).
pub const MAX_SOCKET_PATH_BYTES: usize = 107;

/// The whole configuration of one router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    pub system: SystemConfig,
    /// In file order; at least one.
    #[serde(rename = "port")]
    pub ports: Vec<PortConfigModel>,
    /// In file order.
    #[serde(rename = "static-route")]
    pub static_routes: Vec<StaticRoute>,
    pub neighbor: NeighborConfig,
    pub icmp: IcmpConfig,
    pub ecmp: EcmpConfig,
    pub management: ManagementConfig,
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub kernel_routes: KernelRoutesConfig,
    /// BFD timer and authentication sets, by name.
    #[serde(default, rename = "bfd-profile")]
    pub bfd_profiles: Vec<BfdProfile>,
}

impl Config {
    /// The profile a next hop's `bfd = …` names: a configured one, or the
    /// built-in `default` (FRR's bfdd defaults) when none of that name is
    /// configured.
    pub fn bfd_profile(&self, name: &str) -> Option<BfdProfile> {
        match self.bfd_profiles.iter().find(|p| p.name == name) {
            Some(p) => Some(p.clone()),
            None if name == DEFAULT_BFD_PROFILE => Some(BfdProfile::named(name)),
            None => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemConfig {
    /// As configured, else the highest IPv4 address of any port; `None`
    /// only if no port has an IPv4 address.
    pub router_id: Option<Ipv4Addr>,
    /// The CPU the control-plane thread is pinned to.
    pub control_plane_core: usize,
    /// The CPUs dataplane threads are pinned to, one thread each; never
    /// empty, no duplicates.
    pub dataplane_cores: Vec<usize>,
    pub idle: IdlePolicy,
}

/// What a dataplane core does when a poll finds no packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdlePolicy {
    /// Poll again at once: lowest latency, the core runs at 100 %.
    BusyPoll,
    /// Sleep briefly after a run of empty polls: gives the CPU back at the
    /// cost of some latency on the first packets after a quiet spell.
    Backoff,
}

/// One Linux interface the dataplane takes over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PortConfigModel {
    /// The Linux interface name, unique among ports.
    pub name: String,
    /// The router's addresses on the link, with their prefix length
    /// (`10.0.0.1/24`); the subnets they cover are connected routes.
    pub addresses: Vec<IpNet>,
    /// Largest IP packet on the link, header included.
    pub mtu: u16,
    pub xdp_mode: XdpMode,
    pub bind_mode: BindMode,
    /// NIC queues bound, rx and tx alike; never empty, no duplicates.
    pub queues: Vec<u32>,
    /// The dataplane core polling this port: as configured, else the ports
    /// are dealt round-robin over `dataplane-cores` in file order.
    pub core: usize,
}

/// How the XDP program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XdpMode {
    /// Native if the driver supports it, else generic.
    Auto,
    /// In the driver (fast); fails if the driver lacks XDP support.
    Native,
    /// In the kernel's generic path (works everywhere, slower).
    Generic,
}

/// How the AF_XDP socket binds to its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindMode {
    /// Zero-copy if the driver supports it, else copy.
    Auto,
    /// Frames DMA'd straight into the router's memory; fails if unsupported.
    ZeroCopy,
    /// The kernel copies each frame.
    Copy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StaticRoute {
    /// Host bits are zero.
    pub prefix: IpNet,
    /// 1..=255; the lowest distance among routes to the same prefix wins.
    pub distance: u8,
    pub target: RouteTarget,
}

/// Where a static route sends its packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteTarget {
    /// Forward to these next hops, in file order. Tiers used are
    /// contiguous from 0; weights are 1..=`MAX_WEIGHT`.
    NextHops(Vec<NextHop>),
    /// Drop silently.
    Blackhole,
    /// Drop and answer ICMP destination unreachable.
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NextHop {
    /// The gateway; `None` for a route attached to `interface` (every
    /// destination is on the link).
    pub via: Option<IpAddr>,
    /// The port the packets leave by: as configured, else the port whose
    /// subnet covers `via` (the longest match).
    pub interface: String,
    /// Share of its tier's traffic relative to the other members.
    pub weight: u32,
    /// 0 = primary, 1 = backup, …: a packet uses the first tier with a live
    /// next hop.
    pub tier: u8,
    /// A reachability check the next hop must pass to carry traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// A BFD session to `via` guards this next hop, with this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<String>,
}

/// The profile `bfd = true` means.
pub const DEFAULT_BFD_PROFILE: &str = "default";
/// FRR's bfdd defaults (ms).
pub const DEFAULT_BFD_INTERVAL_MS: u32 = 300;
pub const DEFAULT_BFD_DETECT_MULTIPLIER: u8 = 3;
/// RFC 5883 §2 leaves it to configuration; FRR's default.
pub const DEFAULT_BFD_MINIMUM_TTL: u8 = 254;
/// The engine accepts 1 ms; slower than a minute is no longer detection.
pub const MIN_BFD_INTERVAL_MS: u32 = 1;
pub const MAX_BFD_INTERVAL_MS: u32 = 60_000;

/// Timers, role and authentication of BFD sessions (FRR's `bfd profile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BfdProfile {
    pub name: String,
    /// Desired minimum transmit interval, ms (bfd.DesiredMinTxInterval).
    pub transmit_interval: u32,
    /// Required minimum receive interval, ms (bfd.RequiredMinRxInterval).
    pub receive_interval: u32,
    pub detect_multiplier: u8,
    /// Multihop sessions: the lowest TTL accepted.
    pub minimum_ttl: u8,
    /// Wait for the peer to speak first (RFC 5880 §6.1).
    pub passive_mode: bool,
    /// How long a session must stay Up before its next hops carry traffic
    /// again, ms.
    pub hold_down: u32,
    /// Suppress a flapping session's next hops (penalty per flap, decaying).
    pub dampening: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<BfdAuthentication>,
}

impl BfdProfile {
    /// A profile with every default.
    pub fn named(name: &str) -> Self {
        BfdProfile {
            name: name.to_owned(),
            transmit_interval: DEFAULT_BFD_INTERVAL_MS,
            receive_interval: DEFAULT_BFD_INTERVAL_MS,
            detect_multiplier: DEFAULT_BFD_DETECT_MULTIPLIER,
            minimum_ttl: DEFAULT_BFD_MINIMUM_TTL,
            passive_mode: false,
            hold_down: 0,
            dampening: false,
            authentication: None,
        }
    }
}

/// RFC 5880 §4.2–4.4 authentication of a profile's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BfdAuthentication {
    #[serde(rename = "type")]
    pub kind: BfdAuthType,
    pub key_id: u8,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BfdAuthType {
    SimplePassword,
    KeyedMd5,
    MeticulousKeyedMd5,
    KeyedSha1,
    MeticulousKeyedSha1,
}

impl BfdAuthType {
    /// Longest key the type carries (RFC 5880 §4.2: 16 for a password and
    /// MD5, §4.4: 20 for SHA1).
    pub fn max_key_len(self) -> usize {
        match self {
            BfdAuthType::KeyedSha1 | BfdAuthType::MeticulousKeyedSha1 => 20,
            _ => 16,
        }
    }
}

/// How a probe asks its target "are you there?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// ICMP echo request (ICMPv6 for IPv6 targets).
    Icmp,
    /// ARP request (IPv4 targets only).
    Arp,
    /// Neighbor solicitation (IPv6 targets only).
    Nd,
}

/// A cloud-style health check of a next hop: one request per
/// `interval-ms`; up after `up-threshold` answers in a row, down after
/// `down-threshold` misses in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Probe {
    pub kind: ProbeKind,
    /// The address asked; the next hop's gateway unless given.
    pub target: IpAddr,
    pub interval_ms: u32,
    /// How long an answer may take; at most `interval-ms`.
    pub timeout_ms: u32,
    pub up_threshold: u8,
    pub down_threshold: u8,
}

pub const DEFAULT_PROBE_INTERVAL_MS: u32 = 1_000;
/// Faster probes are BFD's job (it runs on the dataplane core).
pub const MIN_PROBE_INTERVAL_MS: u32 = 10;
pub const MAX_PROBE_INTERVAL_MS: u32 = 3_600_000;
pub const DEFAULT_PROBE_UP_THRESHOLD: u8 = 2;
pub const DEFAULT_PROBE_DOWN_THRESHOLD: u8 = 3;

/// Copying the selected routes into the host's routing table, as zebra
/// does, so the host's own traffic and other programs follow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct KernelRoutesConfig {
    pub enabled: bool,
    /// Kernel routing table (254 = main).
    pub table: u32,
    /// Route metric (priority) of the installed routes; kernel routes of
    /// other programs with a lower metric win.
    pub metric: u32,
}

pub const DEFAULT_KERNEL_TABLE: u32 = 254;
pub const DEFAULT_KERNEL_METRIC: u32 = 20;

impl Default for KernelRoutesConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            table: DEFAULT_KERNEL_TABLE,
            metric: DEFAULT_KERNEL_METRIC,
        }
    }
}

/// Neighbor discovery timers (ARP and IPv6 ND alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborConfig {
    /// How long a confirmed neighbor stays reachable (RFC 4861 §6.3.2).
    pub reachable_time_ms: u32,
    /// Time between solicitations while resolving (RFC 4861 §7.2.2).
    pub retrans_time_ms: u32,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        Self {
            reachable_time_ms: DEFAULT_REACHABLE_TIME_MS,
            retrans_time_ms: DEFAULT_RETRANS_TIME_MS,
        }
    }
}

/// Rate limit of the ICMP errors the router originates (time exceeded,
/// unreachable, packet too big), a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct IcmpConfig {
    /// Average rate; 0 sends none.
    pub errors_per_second: u32,
    /// Errors that may go out back to back; at least 1.
    pub burst: u32,
}

impl Default for IcmpConfig {
    fn default() -> Self {
        Self {
            errors_per_second: DEFAULT_ICMP_ERRORS_PER_SECOND,
            burst: DEFAULT_ICMP_BURST,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EcmpConfig {
    /// Mixed into the flow hash. Routers in a chain that share a seed split
    /// flows the same way (hash polarization): give each a different one.
    pub hash_seed: u64,
    /// Hash so both directions of a flow pick the same member (sorted
    /// addresses and ports), for stateful middleboxes behind the router.
    pub symmetric: bool,
}

/// The management API (`vrctl`): newline-delimited JSON over a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManagementConfig {
    /// Absolute path of the socket; created mode 0660, owned by the
    /// daemon's user (root).
    pub socket: PathBuf,
    /// Where commit history is kept (absolute).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
}

/// Where commit history lives when `[management] state-dir` is not given.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/vrouterd";

fn default_state_dir() -> PathBuf {
    PathBuf::from(DEFAULT_STATE_DIR)
}

impl Default for ManagementConfig {
    fn default() -> Self {
        Self {
            socket: PathBuf::from(DEFAULT_MANAGEMENT_SOCKET),
            state_dir: default_state_dir(),
        }
    }
}

/// Prometheus `/metrics` over HTTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MetricsConfig {
    /// Address and port to serve on; `None` (the default) serves nothing.
    pub listen: Option<SocketAddr>,
}
