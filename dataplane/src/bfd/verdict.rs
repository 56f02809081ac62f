//! What became of a received datagram ([`super::BfdEngine::receive`]).

use std::fmt;

use super::auth::AuthError;
use super::packet::BfdError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// The §6.8.6 procedure ran to its end.
    Accepted,
    Dropped(DropReason),
}

/// Why a datagram was discarded. Every reason is counted: globally before
/// demultiplexing, per session after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The UDP destination port is neither 3784 nor 4784.
    NotBfdPort(u16),
    Malformed(BfdError),
    /// No session matched the Your Discriminator or, when it is zero, the
    /// port and source (single-hop) or address pair (multihop) (§6.3).
    NoSession,
    /// A single-hop session's packet on the multihop port or vice versa.
    WrongEncapsulation,
    /// TTL/hop limit below 255 on a single-hop session (RFC 5881 §5) or
    /// below `minimum_ttl` on a multihop one.
    Ttl {
        ttl: u8,
        min: u8,
    },
    Auth(AuthError),
    /// The session is AdminDown: §6.8.6 discards after noting the peer's
    /// variables.
    LocalAdminDown,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::NotBfdPort(port) => write!(f, "UDP port {port} is not a BFD port"),
            DropReason::Malformed(e) => e.fmt(f),
            DropReason::NoSession => f.write_str("no BFD session matches"),
            DropReason::WrongEncapsulation => {
                f.write_str("single-hop/multihop port does not match the session")
            }
            DropReason::Ttl { ttl, min } => {
                write!(
                    f,
                    "TTL {ttl} below {min}: not from a directly connected peer (GTSM)"
                )
            }
            DropReason::Auth(e) => write!(f, "authentication failed: {e}"),
            DropReason::LocalAdminDown => f.write_str("session is administratively down"),
        }
    }
}
