//! Numbers the BGP wire format fixes: message types, lengths, attribute
//! type codes and flags, capability codes, address families, AS numbers.

use serde::{Deserialize, Serialize};

/// Fixed header: 16-octet marker, 2-octet length, 1-octet type (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// Octets of the all-ones marker that opens every message.
pub const MARKER_LEN: usize = 16;
/// Largest message without the Extended Message capability (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once extended messages are negotiated (RFC 8654 §2).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// Smallest OPEN: header + version, AS, hold time, identifier, opt len (§4.2).
pub const MIN_OPEN_LEN: usize = 29;
/// Smallest UPDATE: header + two 2-octet length fields (§4.3).
pub const MIN_UPDATE_LEN: usize = 23;
/// Smallest NOTIFICATION: header + code + subcode (§4.5).
pub const MIN_NOTIFICATION_LEN: usize = 21;
/// KEEPALIVE is a bare header (§4.4).
pub const KEEPALIVE_LEN: usize = 19;
/// ROUTE-REFRESH: header + AFI, subtype, SAFI (RFC 2918 §3).
pub const ROUTE_REFRESH_LEN: usize = 23;

/// The only BGP version there is (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;
/// The two-octet stand-in for a four-octet AS number (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// Message type octet (RFC 4271 §4.1, RFC 2918 §3).
pub mod message_type {
    pub const OPEN: u8 = 1;
    pub const UPDATE: u8 = 2;
    pub const NOTIFICATION: u8 = 3;
    pub const KEEPALIVE: u8 = 4;
    pub const ROUTE_REFRESH: u8 = 5;
}

/// OPEN optional parameter types.
pub mod param_type {
    /// Capabilities (RFC 5492 §4).
    pub const CAPABILITIES: u8 = 2;
    /// Marks the extended optional-parameters length format (RFC 9072 §2).
    pub const EXTENDED_LENGTH: u8 = 255;
}

/// Capability codes (IANA "Capability Codes").
pub mod capability_code {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_MESSAGE: u8 = 6;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
    pub const ADD_PATH: u8 = 69;
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// draft-walton-bgp-hostname-capability, sent by FRR; kept as unknown.
    pub const FQDN: u8 = 73;
}

/// Path attribute type codes (IANA "BGP Path Attributes").
pub mod attr_type {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
pub mod segment_type {
    pub const AS_SET: u8 = 1;
    pub const AS_SEQUENCE: u8 = 2;
    pub const AS_CONFED_SEQUENCE: u8 = 3;
    pub const AS_CONFED_SET: u8 = 4;
}

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Afi {
    Ipv4,
    Ipv6,
    Unknown(u16),
}

impl Afi {
    pub fn from_wire(value: u16) -> Afi {
        match value {
            1 => Afi::Ipv4,
            2 => Afi::Ipv6,
            other => Afi::Unknown(other),
        }
    }

    pub fn to_wire(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
            Afi::Unknown(other) => other,
        }
    }
}

/// Subsequent Address Family Identifier (IANA "SAFI Values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Safi {
    Unicast,
    Multicast,
    Unknown(u8),
}

impl Safi {
    pub fn from_wire(value: u8) -> Safi {
        match value {
            1 => Safi::Unicast,
            2 => Safi::Multicast,
            other => Safi::Unknown(other),
        }
    }

    pub fn to_wire(self) -> u8 {
        match self {
            Safi::Unicast => 1,
            Safi::Multicast => 2,
            Safi::Unknown(other) => other,
        }
    }
}
