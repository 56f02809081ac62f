//! Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3).
//!
//! When both speakers connect at once there are two TCP connections for one
//! peering. Once an OPEN arrives on one while the other is in OpenConfirm,
//! one must go: "retain only the connection initiated by the BGP speaker
//! with the higher-valued BGP Identifier". Identifiers compare as 4-octet
//! unsigned integers in host order; equal identifiers (possible between
//! external peers since RFC 6286) are broken by the larger AS number.

use std::net::Ipv4Addr;

use super::event::ConnId;

/// Which of two colliding connections to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The connection that was already in OpenConfirm.
    Existing,
    /// The connection the OPEN just arrived on.
    New,
}

/// Our side and theirs, as the comparison needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speakers {
    pub local_id: Ipv4Addr,
    pub local_as: u32,
    pub remote_id: Ipv4Addr,
    pub remote_as: u32,
}

/// Decides between `existing` and `new`.
pub fn resolve(speakers: Speakers, existing: ConnId, new: ConnId) -> Keep {
    let local = u32::from(speakers.local_id);
    let remote = u32::from(speakers.remote_id);
    let we_win = if local != remote {
        local > remote
    } else {
        speakers.local_as > speakers.remote_as
    };
    // The winner's connection is the one it initiated: our outbound one if
    // we win, the one we accepted if they do.
    let winner_initiated = |conn: ConnId| conn.is_outbound() == we_win;
    match (winner_initiated(existing), winner_initiated(new)) {
        (false, true) => Keep::New,
        // Both or neither opened by the winner (two connections in one
        // direction): nothing to choose by, keep what is further along.
        _ => Keep::Existing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speakers(local: [u8; 4], remote: [u8; 4], local_as: u32, remote_as: u32) -> Speakers {
        Speakers {
            local_id: local.into(),
            local_as,
            remote_id: remote.into(),
            remote_as,
        }
    }

    #[test]
    fn higher_identifier_keeps_the_connection_it_opened() {
        let out = ConnId::Outbound(1);
        let inb = ConnId::Inbound(2);
        let high = speakers([10, 0, 0, 2], [10, 0, 0, 1], 65000, 65001);
        let low = speakers([10, 0, 0, 1], [10, 0, 0, 2], 65000, 65001);
        assert_eq!(resolve(high, out, inb), Keep::Existing);
        assert_eq!(resolve(high, inb, out), Keep::New);
        assert_eq!(resolve(low, out, inb), Keep::New);
        assert_eq!(resolve(low, inb, out), Keep::Existing);
        // Compared as integers, not octet by octet as text would.
        let numeric = speakers([9, 0, 0, 0], [10, 0, 0, 0], 1, 2);
        assert_eq!(resolve(numeric, out, inb), Keep::New);
    }

    #[test]
    fn equal_identifiers_fall_back_to_the_larger_as() {
        let out = ConnId::Outbound(1);
        let inb = ConnId::Inbound(2);
        assert_eq!(
            resolve(speakers([1, 1, 1, 1], [1, 1, 1, 1], 65002, 65001), inb, out),
            Keep::New
        );
        assert_eq!(
            resolve(speakers([1, 1, 1, 1], [1, 1, 1, 1], 65001, 65002), inb, out),
            Keep::Existing
        );
    }

    #[test]
    fn same_direction_keeps_the_existing_one() {
        let s = speakers([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
        assert_eq!(
            resolve(s, ConnId::Inbound(1), ConnId::Inbound(2)),
            Keep::Existing
        );
    }
}
