//! The management API's wire types, version 1: one JSON object per line
//! each way (NDJSON) over the Unix socket. Every field is documented in
//! `docs/api.md`; names are snake_case and stable within a version.
//!
//! A request: `{"version":1,"request":{"show":"routes","prefix":"10.0.0.0/8"}}`
//! or `{"version":1,"request":{"config":"commit","text":"…"}}`.
//! A reply: `{"version":1,"ok":{…}}` or
//! `{"version":1,"error":{"code":"unknown_request","message":"…"}}`.
//!
//! Values that a later daemon may extend (error codes, route sources,
//! verdicts, link states) decode an unknown word into an `Unknown` case
//! instead of failing, so an older vrctl still shows what it can.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, ConfigDiff, ConfigUnit, HistoryEntry};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// Longest request line accepted, newline excluded. A `show` is a few
/// hundred bytes, a `config commit` carries the whole file (tens of
/// thousands of static routes fit); the limit only bounds what a broken
/// client can make the daemon buffer.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub version: u32,
    pub request: Request,
}

/// What a client asks for: a read-only `show`, or a configuration
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Request {
    Show(Show),
    Config(ConfigRequest),
}

/// `{"config": KIND, …}`: validate, compare, commit, confirm, roll back, or
/// list the history. The daemon gets the configuration's text; `path`
/// only names it in error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "config", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConfigRequest {
    /// Check the text against this daemon's machine; change nothing.
    Validate {
        text: String,
        #[serde(default)]
        path: Option<String>,
    },
    /// What committing the text would change.
    Diff {
        text: String,
        #[serde(default)]
        path: Option<String>,
    },
    /// Make the text the running configuration.
    Commit {
        text: String,
        #[serde(default)]
        path: Option<String>,
        /// Roll back by itself unless confirmed within this many seconds.
        #[serde(default, alias = "confirm-seconds")]
        confirm_seconds: Option<u64>,
        #[serde(default)]
        comment: Option<String>,
    },
    /// Confirm the commit awaiting confirmation.
    Confirm,
    /// Go back `steps` commits (default 1: the configuration before the
    /// running one).
    Rollback {
        #[serde(default)]
        steps: Option<usize>,
        #[serde(default)]
        comment: Option<String>,
    },
    History,
}

impl ConfigRequest {
    /// Every `config` kind, as written on the wire.
    pub const KINDS: &'static [&'static str] = &[
        "validate", "diff", "commit", "confirm", "rollback", "history",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validate { .. } => "validate",
            Self::Diff { .. } => "diff",
            Self::Commit { .. } => "commit",
            Self::Confirm => "confirm",
            Self::Rollback { .. } => "rollback",
            Self::History => "history",
        }
    }
}

/// `{"show": KIND, …}`: a read-only view of the running router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "show", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Show {
    Interfaces,
    /// Every route, or only those whose prefix lies inside `prefix`.
    Routes {
        #[serde(default)]
        prefix: Option<IpNet>,
    },
    /// Where a packet to `address` goes right now, and why.
    Fib(FibQuery),
    NexthopGroups,
    Neighbors,
    Counters,
    Config,
    Static,
    /// BFD sessions, or the one with `peer`.
    Bfd {
        #[serde(default)]
        peer: Option<IpAddr>,
    },
}

impl Show {
    /// Every `show` kind, as written on the wire.
    pub const KINDS: &'static [&'static str] = &[
        "interfaces",
        "routes",
        "fib",
        "nexthop-groups",
        "neighbors",
        "counters",
        "config",
        "static",
        "bfd",
    ];
}

/// The packet `show fib` follows: the destination, and the rest of the
/// 5-tuple the ECMP hash reads (unspecified source and zeros by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FibQuery {
    pub address: IpAddr,
    #[serde(default)]
    pub source: Option<IpAddr>,
    #[serde(default)]
    pub protocol: Option<u8>,
    #[serde(default)]
    pub source_port: Option<u16>,
    #[serde(default)]
    pub destination_port: Option<u16>,
}

impl FibQuery {
    pub fn to(address: IpAddr) -> Self {
        Self {
            address,
            source: None,
            protocol: None,
            source_port: None,
            destination_port: None,
        }
    }
}

/// One reply line: `ok` or `error`, never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    pub version: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The answer; its shape depends on the request (`*Reply` types).
    Ok(Value),
    Error(ApiError),
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// A sentence for people, saying what to do.
    pub message: String,
    /// Each problem found, with its place in the configuration
    /// (`invalid_config`, `apply_failed`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ConfigProblem>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<ConfigProblem>) -> Self {
        self.errors = errors;
        self
    }
}

/// One problem with a configuration, where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// 1-based; 0 when it is not about one line (the file as a whole, or
    /// an apply failure).
    pub line: usize,
    /// 1-based, in characters; 0 with `line`.
    pub column: usize,
    /// The key path (`static-route[0].next-hop[1].via`) or, for an apply
    /// failure, the unit (`port[eth1]`); empty for the whole file.
    pub key: String,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

/// Machine-readable error kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorCode {
    /// The line is not JSON.
    MalformedJson,
    /// JSON, but not a request of this version: a missing or mistyped
    /// field, an unknown field, a value out of range.
    InvalidRequest,
    /// `version` is not one this daemon speaks.
    UnsupportedVersion,
    /// The request names something this daemon does not know.
    UnknownRequest,
    /// The line is longer than [`MAX_REQUEST_BYTES`]; the connection closes.
    LineTooLong,
    /// Too many clients are connected; try again.
    Busy,
    /// The daemon failed to answer; the message says why.
    Internal,
    /// The configuration text does not validate; `errors` lists why.
    InvalidConfig,
    /// The daemon could not make the configuration run; it runs what it
    /// ran before.
    ApplyFailed,
    /// `config confirm` with no commit awaiting confirmation.
    NothingToConfirm,
    /// `config rollback` further back than the history goes.
    NoSuchCommit,
    /// Saving the configuration or its history failed (disk full, …).
    StoreFailed,
    /// This daemon does not take configuration requests.
    NotSupported,
    Unknown(String),
}

impl ErrorCode {
    pub fn as_str(&self) -> &str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidRequest => "invalid_request",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnknownRequest => "unknown_request",
            Self::LineTooLong => "line_too_long",
            Self::Busy => "busy",
            Self::Internal => "internal",
            Self::InvalidConfig => "invalid_config",
            Self::ApplyFailed => "apply_failed",
            Self::NothingToConfirm => "nothing_to_confirm",
            Self::NoSuchCommit => "no_such_commit",
            Self::StoreFailed => "store_failed",
            Self::NotSupported => "not_supported",
            Self::Unknown(s) => s,
        }
    }
}

impl From<String> for ErrorCode {
    fn from(s: String) -> Self {
        match s.as_str() {
            "malformed_json" => Self::MalformedJson,
            "invalid_request" => Self::InvalidRequest,
            "unsupported_version" => Self::UnsupportedVersion,
            "unknown_request" => Self::UnknownRequest,
            "line_too_long" => Self::LineTooLong,
            "busy" => Self::Busy,
            "internal" => Self::Internal,
            "invalid_config" => Self::InvalidConfig,
            "apply_failed" => Self::ApplyFailed,
            "nothing_to_confirm" => Self::NothingToConfirm,
            "no_such_commit" => Self::NoSuchCommit,
            "store_failed" => Self::StoreFailed,
            "not_supported" => Self::NotSupported,
            _ => Self::Unknown(s),
        }
    }
}

impl From<ErrorCode> for String {
    fn from(c: ErrorCode) -> Self {
        c.as_str().to_owned()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads one request line. Every way a line can be wrong gets its own
/// [`ErrorCode`] and a message naming the offending part.
pub fn decode_request(line: &str) -> Result<Request, ApiError> {
    if line.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::new(
            ErrorCode::LineTooLong,
            format!(
                "request is {} bytes, more than {MAX_REQUEST_BYTES}",
                line.len()
            ),
        ));
    }
    let value: Value = serde_json::from_str(line).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("not JSON: {e}; send one JSON object per line"),
        )
    })?;
    let Value::Object(mut envelope) = value else {
        return Err(invalid(
            "a request is a JSON object: {\"version\":1,\"request\":{\"show\":\"interfaces\"}}",
        ));
    };
    let version = match envelope.remove("version") {
        None => return Err(invalid("missing \"version\"; this daemon speaks version 1")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| invalid(format!("\"version\" is {v}, not a whole number")))?,
    };
    if version != u64::from(VERSION) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedVersion,
            format!("version {version} is not supported; this daemon speaks version {VERSION}"),
        ));
    }
    let request = envelope
        .remove("request")
        .ok_or_else(|| invalid("missing \"request\", e.g. \"request\":{\"show\":\"routes\"}"))?;
    if let Some(key) = envelope.keys().next() {
        return Err(invalid(format!(
            "unknown field \"{key}\" in the envelope; only \"version\" and \"request\" belong there"
        )));
    }
    let Value::Object(fields) = &request else {
        return Err(invalid(format!(
            "\"request\" is {request}, not an object like {{\"show\":\"routes\"}}"
        )));
    };
    if fields.contains_key("show") && fields.contains_key("config") {
        return Err(invalid(
            "a request is either {\"show\":KIND} or {\"config\":KIND}, not both",
        ));
    }
    if let Some(kind) = fields.get("config") {
        return decode_config_request(kind, &request);
    }
    let Some(kind) = fields.get("show") else {
        return Err(ApiError::new(
            ErrorCode::UnknownRequest,
            "the request asks for nothing this daemon knows: the requests are {\"show\":KIND} and {\"config\":KIND}",
        ));
    };
    let Some(kind) = kind.as_str() else {
        return Err(invalid(format!("\"show\" is {kind}, not a string")));
    };
    if !Show::KINDS.contains(&kind) {
        return Err(ApiError::new(
            ErrorCode::UnknownRequest,
            format!(
                "unknown show \"{kind}\"; this daemon shows {}",
                Show::KINDS.join(", ")
            ),
        ));
    }
    let show: Show = serde_json::from_value(request.clone())
        .map_err(|e| invalid(format!("show {kind}: {e}")))?;
    // serde ignores extra fields next to a unit variant's tag; refuse them
    // like every other unknown field: the shape written back lists every
    // field the request may have.
    if let Ok(Value::Object(known)) = serde_json::to_value(&show)
        && let Some(extra) = fields.keys().find(|k| !known.contains_key(*k))
    {
        return Err(invalid(format!("show {kind}: unknown field \"{extra}\"")));
    }
    Ok(Request::Show(show))
}

fn decode_config_request(kind: &Value, request: &Value) -> Result<Request, ApiError> {
    let Some(kind) = kind.as_str() else {
        return Err(invalid(format!("\"config\" is {kind}, not a string")));
    };
    if !ConfigRequest::KINDS.contains(&kind) {
        return Err(ApiError::new(
            ErrorCode::UnknownRequest,
            format!(
                "unknown config \"{kind}\"; this daemon knows config {}",
                ConfigRequest::KINDS.join(", ")
            ),
        ));
    }
    let config: ConfigRequest = serde_json::from_value(request.clone())
        .map_err(|e| invalid(format!("config {kind}: {e}")))?;
    // serde ignores extra fields next to a unit variant's tag.
    if matches!(config, ConfigRequest::Confirm | ConfigRequest::History)
        && let Value::Object(fields) = request
        && let Some(extra) = fields.keys().find(|k| *k != "config")
    {
        return Err(invalid(format!("config {kind}: unknown field \"{extra}\"")));
    }
    if let ConfigRequest::Commit {
        confirm_seconds: Some(0),
        ..
    } = config
    {
        return Err(invalid(
            "config commit: confirm_seconds must be at least 1 (leave it out for a plain commit)",
        ));
    }
    Ok(Request::Config(config))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// The request line a client sends (newline not included).
pub fn encode_request(request: &Request) -> String {
    let envelope = RequestEnvelope {
        version: VERSION,
        request: request.clone(),
    };
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// The reply line for `outcome` (newline not included).
pub fn encode_response(outcome: Outcome) -> String {
    let envelope = ResponseEnvelope {
        version: VERSION,
        outcome,
    };
    serde_json::to_string(&envelope).unwrap_or_else(|e| {
        format!(
            r#"{{"version":{VERSION},"error":{{"code":"internal","message":"cannot encode the reply: {e}"}}}}"#
        )
    })
}

/// Why a reply line could not be read (the client side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError(pub String);

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplyError {}

/// Reads a reply line: the answer as `T`, or the daemon's error.
pub fn decode_reply<T: serde::de::DeserializeOwned>(
    line: &str,
) -> Result<Result<T, ApiError>, ReplyError> {
    let envelope: ResponseEnvelope = serde_json::from_str(line)
        .map_err(|e| ReplyError(format!("the daemon's reply is not a version-1 reply: {e}")))?;
    if envelope.version != VERSION {
        return Err(ReplyError(format!(
            "the daemon replied with version {}, this vrctl speaks {VERSION}",
            envelope.version
        )));
    }
    match envelope.outcome {
        Outcome::Error(e) => Ok(Err(e)),
        Outcome::Ok(value) => serde_json::from_value(value)
            .map(Ok)
            .map_err(|e| ReplyError(format!("the daemon's answer has an unexpected shape: {e}"))),
    }
}

/// Declares a wire word set that keeps unknown words (see the module doc).
macro_rules! wire_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A word from a newer daemon.
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $word,)*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($word => Self::$variant,)*
                    _ => Self::Unknown(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_words! {
    /// Carrier of a port as the kernel reports it.
    LinkState {
        Up => "up",
        Down => "down",
        /// Could not be read.
        Unreadable => "unreadable",
    }
}

wire_words! {
    /// Where a route comes from.
    RouteSource {
        /// A subnet of one of the ports' addresses.
        Connected => "connected",
        /// The router's own address: delivered to the host.
        Local => "local",
        /// `[[static-route]]` in the configuration.
        Static => "static",
    }
}

wire_words! {
    /// What the dataplane does with a packet (`show fib`).
    FibVerdict {
        Forward => "forward",
        /// For the router itself: handed to the host through the twin.
        Local => "local",
        Blackhole => "blackhole",
        /// Dropped with an ICMP destination unreachable.
        Reject => "reject",
        NoRoute => "no_route",
        /// Every tier of the group is down.
        NoLiveNexthop => "no_live_nexthop",
        /// The FIB names a group or next hop it does not hold (a bug).
        FibInconsistent => "fib_inconsistent",
    }
}

/// `show interfaces`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfacesReply {
    pub interfaces: Vec<Interface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    /// The TAP twin holding the port's addresses in the kernel.
    pub twin: String,
    pub mac: String,
    pub mtu: u16,
    pub addresses: Vec<IpNet>,
    pub link: LinkState,
    /// XDP attach mode in use (`native`, `generic`).
    pub xdp_mode: String,
    /// AF_XDP bind mode in use (`zero-copy`, `copy`).
    pub bind_mode: String,
    pub queue: u32,
    /// The dataplane core polling the port.
    pub core: usize,
    pub counters: PortCounters,
}

/// A port's packet counters since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames the port's transmit ring had no room for.
    pub tx_dropped: u64,
}

/// `show routes [PREFIX]`, and `show static` (the static routes alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesReply {
    pub routes: Vec<Route>,
    /// Every route the FIB holds, by family, listed or not (benchmark
    /// routes are counted here only).
    pub fib_routes: FamilyCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyCounts {
    pub ipv4: usize,
    pub ipv6: usize,
}

/// One candidate route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub prefix: IpNet,
    pub source: RouteSource,
    /// Administrative distance: the lowest wins among routes to one prefix.
    pub distance: u8,
    /// This route is the one the FIB holds for its prefix.
    pub selected: bool,
    pub target: Target,
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Through next hops: `group` is the FIB's next-hop group (`null` for a
    /// route that is not selected).
    Forward {
        group: Option<u32>,
        nexthops: Vec<NextHop>,
    },
    Local,
    Blackhole,
    Reject,
    #[serde(other)]
    Unknown,
}

/// A next hop as a route or group uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHop {
    /// The FIB's next-hop id; `null` when not installed.
    pub id: Option<u32>,
    pub interface: String,
    /// The gateway; `null` when the destination itself is on the link.
    pub via: Option<IpAddr>,
    /// 0 = primary, 1 = backup, …
    pub tier: u8,
    pub weight: u32,
    /// The liveness bit; `null` when not installed.
    pub live: Option<bool>,
    /// Hash buckets it owns in its tier (`show nexthop-groups` only).
    pub buckets: Option<usize>,
}

/// `show fib ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibReply {
    /// The 5-tuple looked up, defaults filled in, and its hash.
    pub flow: Flow,
    pub verdict: FibVerdict,
    /// The longest matching prefix; `null` with `no_route`.
    pub matched: Option<IpNet>,
    /// The source of the matched route, when it is a listed route.
    pub source: Option<RouteSource>,
    pub group: Option<u32>,
    /// The group's tiers, each with its members' liveness.
    pub tiers: Vec<Tier>,
    /// The first tier with a live member: the one packets use.
    pub live_tier: Option<u8>,
    /// The member the flow's hash picks in the live tier.
    pub chosen: Option<NextHop>,
    /// The neighbor the frame goes to (the gateway, or the destination on
    /// the link) as the dataplane's neighbor table knows it.
    pub neighbor: Option<NeighborHint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub protocol: u8,
    /// 0 unless the protocol carries ports (TCP, UDP, SCTP), as the
    /// dataplane hashes.
    pub source_port: u16,
    pub destination_port: u16,
    /// The dataplane's ECMP hash of this tuple.
    pub hash: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub tier: u8,
    /// At least one member is live.
    pub live: bool,
    pub nexthops: Vec<NextHop>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborHint {
    pub interface: String,
    pub address: IpAddr,
    /// `null` while unresolved or unknown.
    pub mac: Option<String>,
    /// `null` when the table has no entry (resolved on the first packet).
    pub state: Option<String>,
}

/// `show nexthop-groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NexthopGroupsReply {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: u32,
    /// The listed routes that use it.
    pub prefixes: Vec<IpNet>,
    pub live_tier: Option<u8>,
    pub tiers: Vec<Tier>,
}

/// `show bfd`: the sessions the dataplane core runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdReply {
    pub sessions: Vec<BfdSession>,
    /// Packets to the BFD ports no session took: not BFD, malformed, or
    /// for no session.
    pub unmatched: BfdUnmatched,
    /// How old the dataplane's last copy of its sessions is; `null` if it
    /// has not published one yet.
    pub snapshot_age_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdUnmatched {
    pub malformed: u64,
    pub no_session: u64,
    /// State changes the control plane did not take in time (the
    /// dataplane acted on them regardless).
    pub events_dropped: u64,
}

/// One BFD session (RFC 5880 names in the comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdSession {
    pub peer: IpAddr,
    pub local: IpAddr,
    /// The port of a single-hop session; `null` for multihop.
    pub interface: Option<String>,
    pub multihop: bool,
    /// `admin_down`, `down`, `init`, `up` (bfd.SessionState).
    pub state: String,
    pub remote_state: String,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    /// Time in the current state.
    pub for_ms: u64,
    /// Negotiated transmit interval, µs.
    pub tx_interval_us: u32,
    /// The interval the peer sends at, µs.
    pub rx_interval_us: u32,
    pub detect_time_us: u64,
    pub remote_detect_multiplier: u8,
    /// bfd.LocalDiag and the peer's last diagnostic.
    pub local_diag: String,
    pub remote_diag: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub dropped: u64,
    pub auth_failures: u64,
    pub ttl_failures: u64,
    pub flaps: u64,
    /// Held back by dampening.
    pub dampened: bool,
    /// The session holds its guarded next hops live.
    pub guards_live: bool,
    pub udp_source_port: u16,
}

/// `show neighbors`: the dataplane's ARP/ND table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborsReply {
    pub neighbors: Vec<Neighbor>,
    /// How old the dataplane's last copy of its table is; `null` if it has
    /// not published one yet.
    pub snapshot_age_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbor {
    pub interface: String,
    pub address: IpAddr,
    pub mac: Option<String>,
    /// RFC 4861 §7.3.2 state, as `ip neigh` prints it (`REACHABLE`, …).
    pub state: String,
    /// The neighbor said it is a router (IPv6 NA R flag).
    pub router: bool,
    /// Since the MAC was learned or reachability last confirmed.
    pub age_ms: u64,
}

/// `show counters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersReply {
    pub ports: Vec<NamedPortCounters>,
    pub forwarded: u64,
    /// Every drop reason, including those at 0 (names: `docs/api.md`).
    pub drops: BTreeMap<String, u64>,
    /// Frames handed to the host or control plane, by class.
    pub punts: BTreeMap<String, u64>,
    pub icmp_errors_sent: u64,
    pub icmp_errors_rate_limited: u64,
    pub fragments_sent: u64,
    pub neighbor_queued: u64,
    pub solicitations_sent: u64,
    /// Punted frames the host twin would not take.
    pub host_twin_drops: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedPortCounters {
    pub name: String,
    #[serde(flatten)]
    pub counters: PortCounters,
}

/// `show config`: the running configuration, every default filled in, in
/// the file's key names (`docs/config.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigReply {
    pub config: Config,
}

wire_words! {
    /// How a `config commit` or `config rollback` ended.
    CommitResult {
        /// The candidate runs now.
        Committed => "committed",
        /// The candidate is what runs already: nothing was done.
        NoChanges => "no_changes",
        /// No changes, and the commit awaiting confirmation is confirmed.
        Confirmed => "confirmed",
        /// No changes, and the confirm window was restarted.
        ConfirmExtended => "confirm_extended",
    }
}

/// `config validate`: the text is a valid configuration for this daemon
/// (an invalid one is an `invalid_config` error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateReply {
    pub valid: bool,
}

/// `config diff`: a [`ConfigDiff`], `{"changes":[…],"units":[…]}`.
pub type DiffReply = ConfigDiff;

/// `config commit` and `config rollback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReply {
    pub result: CommitResult,
    /// The history entry of the configuration now running.
    pub id: Option<u64>,
    pub diff: ConfigDiff,
    /// Units the daemon restarted.
    pub restarted: Vec<ConfigUnit>,
    pub notes: Vec<String>,
    /// The open confirm window after this request, if any.
    pub pending: Option<PendingReply>,
    /// Commits this one confirmed.
    pub confirmed: Vec<u64>,
    /// A sentence for people.
    pub message: String,
}

/// An open confirm window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReply {
    /// The unconfirmed commits, oldest first.
    pub commits: Vec<u64>,
    /// Until the configuration rolls back by itself.
    pub seconds_left: u64,
    /// The history entry it then goes back to.
    pub rollback_to: Option<u64>,
}

/// `config confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmReply {
    pub confirmed: Vec<u64>,
    pub id: Option<u64>,
    pub message: String,
}

/// `config history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryReply {
    pub commits: Vec<HistoryItem>,
    pub pending: Option<PendingReply>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// `config rollback` with this many steps restores it (0: running).
    pub rollback: usize,
    #[serde(flatten)]
    pub entry: HistoryEntry,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> ErrorCode {
        decode_request(line).unwrap_err().code
    }

    #[test]
    fn every_show_request_round_trips() {
        let requests = [
            Show::Interfaces,
            Show::Routes { prefix: None },
            Show::Routes {
                prefix: Some("10.0.0.0/8".parse().unwrap()),
            },
            Show::Fib(FibQuery::to("10.2.0.2".parse().unwrap())),
            Show::Fib(FibQuery {
                address: "2001:db8::1".parse().unwrap(),
                source: Some("2001:db8::2".parse().unwrap()),
                protocol: Some(6),
                source_port: Some(1),
                destination_port: Some(65535),
            }),
            Show::NexthopGroups,
            Show::Neighbors,
            Show::Counters,
            Show::Config,
            Show::Static,
            Show::Bfd { peer: None },
            Show::Bfd {
                peer: Some("192.0.2.2".parse().unwrap()),
            },
        ];
        assert_eq!(requests.len() - 3, Show::KINDS.len(), "one of each kind");
        for show in requests {
            let request = Request::Show(show);
            let line = encode_request(&request);
            assert_eq!(decode_request(&line), Ok(request), "{line}");
        }
    }

    #[test]
    fn the_documented_request_form_is_read() {
        let line = r#"{"version":1,"request":{"show":"routes","prefix":"10.0.0.0/8"}}"#;
        assert_eq!(
            decode_request(line),
            Ok(Request::Show(Show::Routes {
                prefix: Some("10.0.0.0/8".parse().unwrap())
            }))
        );
        // Optional fields may be left out.
        let line = r#"{"request":{"address":"10.2.0.2","show":"fib"},"version":1}"#;
        assert_eq!(
            decode_request(line),
            Ok(Request::Show(Show::Fib(FibQuery::to(
                "10.2.0.2".parse().unwrap()
            ))))
        );
    }

    #[test]
    fn malformed_json() {
        for line in ["", "{", "show routes", "{\"version\":1,}", "\u{0}"] {
            assert_eq!(code(line), ErrorCode::MalformedJson, "{line:?}");
        }
    }

    #[test]
    fn invalid_requests() {
        for line in [
            "[1,2]",
            "42",
            r#"{"request":{"show":"routes"}}"#,
            r#"{"version":"1","request":{"show":"routes"}}"#,
            r#"{"version":-1,"request":{"show":"routes"}}"#,
            r#"{"version":1}"#,
            r#"{"version":1,"request":"routes"}"#,
            r#"{"version":1,"request":{"show":"routes"},"extra":true}"#,
            r#"{"version":1,"request":{"show":7}}"#,
            r#"{"version":1,"request":{"show":"routes","prefix":"10.0.0.300/8"}}"#,
            r#"{"version":1,"request":{"show":"routes","prefixx":"10.0.0.0/8"}}"#,
            r#"{"version":1,"request":{"show":"interfaces","verbose":true}}"#,
            r#"{"version":1,"request":{"show":"fib"}}"#,
            r#"{"version":1,"request":{"show":"fib","address":"10.0.0.1","source_port":70000}}"#,
            r#"{"version":1,"request":{"show":"fib","address":"10.0.0.1","protocol":"tcp"}}"#,
        ] {
            assert_eq!(code(line), ErrorCode::InvalidRequest, "{line}");
        }
    }

    #[test]
    fn unsupported_versions() {
        for v in ["0", "2", "1000000000000"] {
            let line = format!(r#"{{"version":{v},"request":{{"show":"routes"}}}}"#);
            let e = decode_request(&line).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsupportedVersion);
            assert!(e.message.contains("speaks version 1"), "{}", e.message);
        }
    }

    #[test]
    fn unknown_requests_name_what_is_known() {
        let e = decode_request(r#"{"version":1,"request":{"show":"bgp"}}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownRequest);
        assert!(e.message.contains("nexthop-groups"), "{}", e.message);
        assert_eq!(
            code(r#"{"version":1,"request":{"bgp":"neighbors"}}"#),
            ErrorCode::UnknownRequest
        );
        let e = decode_request(r#"{"version":1,"request":{"config":"load"}}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownRequest);
        assert!(e.message.contains("rollback"), "{}", e.message);
    }

    #[test]
    fn over_long_lines() {
        let line = format!(
            r#"{{"version":1,"request":{{"show":"routes"}}}}{}"#,
            " ".repeat(MAX_REQUEST_BYTES)
        );
        assert_eq!(code(&line), ErrorCode::LineTooLong);
    }

    #[test]
    fn replies_round_trip_and_match_the_documented_form() {
        let ok = encode_response(Outcome::Ok(serde_json::json!({"routes": []})));
        assert_eq!(ok, r#"{"version":1,"ok":{"routes":[]}}"#);
        let e = ApiError::new(ErrorCode::UnknownRequest, "no");
        let line = encode_response(Outcome::Error(e.clone()));
        assert_eq!(
            line,
            r#"{"version":1,"error":{"code":"unknown_request","message":"no"}}"#
        );
        assert_eq!(decode_reply::<Value>(&line), Ok(Err(e)));
        assert_eq!(
            decode_reply::<Value>(&ok),
            Ok(Ok(serde_json::json!({"routes": []})))
        );
    }

    #[test]
    fn bad_replies_are_errors_not_panics() {
        assert!(decode_reply::<Value>("").is_err());
        assert!(decode_reply::<Value>(r#"{"version":1}"#).is_err());
        assert!(decode_reply::<Value>(r#"{"version":2,"ok":{}}"#).is_err());
        assert!(decode_reply::<InterfacesReply>(r#"{"version":1,"ok":{"x":1}}"#).is_err());
    }

    #[test]
    fn every_error_code_round_trips_and_unknown_codes_survive() {
        for code in [
            ErrorCode::MalformedJson,
            ErrorCode::InvalidRequest,
            ErrorCode::UnsupportedVersion,
            ErrorCode::UnknownRequest,
            ErrorCode::LineTooLong,
            ErrorCode::Busy,
            ErrorCode::Internal,
            ErrorCode::InvalidConfig,
            ErrorCode::ApplyFailed,
            ErrorCode::NothingToConfirm,
            ErrorCode::NoSuchCommit,
            ErrorCode::StoreFailed,
            ErrorCode::NotSupported,
            ErrorCode::Unknown("quota_exceeded".into()),
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(
                serde_json::from_str::<ErrorCode>(&json).unwrap(),
                code,
                "{json}"
            );
        }
    }

    #[test]
    fn wire_words_keep_unknown_values() {
        for (word, source) in [
            ("connected", RouteSource::Connected),
            ("local", RouteSource::Local),
            ("static", RouteSource::Static),
            ("ospf", RouteSource::Unknown("ospf".into())),
        ] {
            let json = format!("\"{word}\"");
            assert_eq!(serde_json::from_str::<RouteSource>(&json).unwrap(), source);
            assert_eq!(serde_json::to_string(&source).unwrap(), json);
        }
        let verdict: FibVerdict = serde_json::from_str("\"no_live_nexthop\"").unwrap();
        assert_eq!(verdict, FibVerdict::NoLiveNexthop);
        let link: LinkState = serde_json::from_str("\"dormant\"").unwrap();
        assert_eq!(link, LinkState::Unknown("dormant".into()));
        let target: Target = serde_json::from_str(r#"{"kind":"vrf","table":2}"#).unwrap();
        assert_eq!(target, Target::Unknown);
    }

    #[test]
    fn reply_types_use_the_documented_field_names() {
        let route = Route {
            prefix: "0.0.0.0/0".parse().unwrap(),
            source: RouteSource::Static,
            distance: 1,
            selected: true,
            target: Target::Forward {
                group: Some(2),
                nexthops: vec![NextHop {
                    id: Some(3),
                    interface: "up1".into(),
                    via: Some("192.0.2.1".parse().unwrap()),
                    tier: 0,
                    weight: 1,
                    live: Some(true),
                    buckets: None,
                }],
            },
        };
        let json = serde_json::to_string(&route).unwrap();
        assert_eq!(
            json,
            r#"{"prefix":"0.0.0.0/0","source":"static","distance":1,"selected":true,"target":{"kind":"forward","group":2,"nexthops":[{"id":3,"interface":"up1","via":"192.0.2.1","tier":0,"weight":1,"live":true,"buckets":null}]}}"#
        );
        assert_eq!(serde_json::from_str::<Route>(&json).unwrap(), route);
        let counters = NamedPortCounters {
            name: "p1".into(),
            counters: PortCounters {
                rx_packets: 1,
                ..PortCounters::default()
            },
        };
        let json = serde_json::to_string(&counters).unwrap();
        assert_eq!(
            json,
            r#"{"name":"p1","rx_packets":1,"rx_bytes":0,"tx_packets":0,"tx_bytes":0,"tx_dropped":0}"#
        );
        assert_eq!(
            serde_json::from_str::<NamedPortCounters>(&json).unwrap(),
            counters
        );
    }

    #[test]
    fn every_config_request_round_trips() {
        let requests = [
            ConfigRequest::Validate {
                text: "[[port]]\nname = \"p1\"\n".into(),
                path: Some("/etc/vrouter/vrouter.toml".into()),
            },
            ConfigRequest::Diff {
                text: String::new(),
                path: None,
            },
            ConfigRequest::Commit {
                text: "x".into(),
                path: None,
                confirm_seconds: Some(300),
                comment: Some("new uplink".into()),
            },
            ConfigRequest::Confirm,
            ConfigRequest::Rollback {
                steps: Some(2),
                comment: None,
            },
            ConfigRequest::History,
        ];
        assert_eq!(requests.len(), ConfigRequest::KINDS.len());
        for config in requests {
            assert!(ConfigRequest::KINDS.contains(&config.kind()));
            let request = Request::Config(config);
            let line = encode_request(&request);
            assert_eq!(decode_request(&line), Ok(request), "{line}");
        }
    }

    #[test]
    fn the_documented_config_forms_are_read() {
        let line = r#"{"version":1,"request":{"config":"commit","text":"t","confirm-seconds":60,"comment":"c"}}"#;
        assert_eq!(
            decode_request(line),
            Ok(Request::Config(ConfigRequest::Commit {
                text: "t".into(),
                path: None,
                confirm_seconds: Some(60),
                comment: Some("c".into()),
            }))
        );
        let line = r#"{"version":1,"request":{"config":"rollback"}}"#;
        assert_eq!(
            decode_request(line),
            Ok(Request::Config(ConfigRequest::Rollback {
                steps: None,
                comment: None
            }))
        );
    }

    #[test]
    fn invalid_config_requests() {
        for line in [
            r#"{"version":1,"request":{"config":"commit"}}"#,
            r#"{"version":1,"request":{"config":"diff","text":7}}"#,
            r#"{"version":1,"request":{"config":"commit","text":"t","confirm_seconds":0}}"#,
            r#"{"version":1,"request":{"config":"commit","text":"t","confirm_seconds":-5}}"#,
            r#"{"version":1,"request":{"config":"commit","text":"t","force":true}}"#,
            r#"{"version":1,"request":{"config":"confirm","now":true}}"#,
            r#"{"version":1,"request":{"config":"history","limit":3}}"#,
            r#"{"version":1,"request":{"config":"rollback","steps":"one"}}"#,
            r#"{"version":1,"request":{"config":1}}"#,
            r#"{"version":1,"request":{"config":"history","show":"routes"}}"#,
        ] {
            assert_eq!(code(line), ErrorCode::InvalidRequest, "{line}");
        }
    }

    #[test]
    fn config_errors_travel_in_the_error_object() {
        let plain = ApiError::new(ErrorCode::NothingToConfirm, "nothing");
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"code":"nothing_to_confirm","message":"nothing"}"#
        );
        let e =
            ApiError::new(ErrorCode::InvalidConfig, "1 error").with_errors(vec![ConfigProblem {
                line: 3,
                column: 7,
                key: "port[0].mtu".into(),
                message: "too big".into(),
                help: None,
            }]);
        let line = encode_response(Outcome::Error(e.clone()));
        assert_eq!(
            line,
            r#"{"version":1,"error":{"code":"invalid_config","message":"1 error","errors":[{"line":3,"column":7,"key":"port[0].mtu","message":"too big","help":null}]}}"#
        );
        assert_eq!(decode_reply::<Value>(&line), Ok(Err(e)));
    }
}
