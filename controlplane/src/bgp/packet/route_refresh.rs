//! ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 message subtypes.

use serde::{Deserialize, Serialize};

use super::consts::{Afi, Safi};

/// Message subtype (RFC 7313 §3.2), formerly a reserved octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RouteRefreshSubtype {
    /// Plain route refresh request (RFC 2918).
    Normal,
    /// Beginning of route refresh (BoRR).
    BeginOfRefresh,
    /// End of route refresh (EoRR).
    EndOfRefresh,
    /// Reserved or future subtype: the speaker must ignore the message
    /// (RFC 7313 §5).
    Unknown(u8),
}

impl RouteRefreshSubtype {
    pub fn from_wire(value: u8) -> RouteRefreshSubtype {
        match value {
            0 => RouteRefreshSubtype::Normal,
            1 => RouteRefreshSubtype::BeginOfRefresh,
            2 => RouteRefreshSubtype::EndOfRefresh,
            other => RouteRefreshSubtype::Unknown(other),
        }
    }

    pub fn to_wire(self) -> u8 {
        match self {
            RouteRefreshSubtype::Normal => 0,
            RouteRefreshSubtype::BeginOfRefresh => 1,
            RouteRefreshSubtype::EndOfRefresh => 2,
            RouteRefreshSubtype::Unknown(other) => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteRefresh {
    pub afi: Afi,
    pub safi: Safi,
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefresh {
    pub fn new(afi: Afi, safi: Safi) -> RouteRefresh {
        RouteRefresh {
            afi,
            safi,
            subtype: RouteRefreshSubtype::Normal,
        }
    }

    /// The first four body octets; the caller has checked the length.
    pub(crate) fn decode(body: [u8; 4]) -> RouteRefresh {
        RouteRefresh {
            afi: Afi::from_wire(u16::from_be_bytes([body[0], body[1]])),
            subtype: RouteRefreshSubtype::from_wire(body[2]),
            safi: Safi::from_wire(body[3]),
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi.to_wire().to_be_bytes());
        out.push(self.subtype.to_wire());
        out.push(self.safi.to_wire());
    }
}
