//! The routes this speaker originates itself (`network` statements), as
//! UPDATEs for one session: ORIGIN IGP, our AS as the whole AS_PATH towards
//! external peers and an empty one towards internal peers (RFC 4271
//! §5.1.2), LOCAL_PREF 100 inside the AS (§5.1.5), next hop self — the
//! local address of the session (§5.1.3).
//!
//! Until the Adj-RIB-Out and export policy exist this is all we announce;
//! they will take over building these messages.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::config::Family;
use super::negotiation::{LocalSpeaker, Negotiated};
use super::packet::{
    AsPath, EncodeError, MpNextHop, Origin, PathAttributes, Update, UpdateBuilder,
};

/// LOCAL_PREF of our own routes towards internal peers.
const DEFAULT_LOCAL_PREF: u32 = 100;

/// UPDATEs announcing `networks` on a session whose local end is
/// `local_addr`. Prefixes of a family the session did not negotiate, or
/// whose next hop we cannot express (an IPv6 prefix over IPv4 transport and
/// vice versa), are left out; the second value counts those announced.
pub fn announce(
    local: &LocalSpeaker,
    session: &Negotiated,
    local_addr: IpAddr,
    networks: &[IpNet],
) -> Result<(Vec<Update>, usize), EncodeError> {
    let builder = UpdateBuilder::new(session.decode_context());
    let mut attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(if session.ibgp {
            AsPath::new()
        } else {
            AsPath::from_sequence([local.asn])
        }),
        local_pref: session.ibgp.then_some(DEFAULT_LOCAL_PREF),
        ..PathAttributes::default()
    };
    if !session.four_octet_as {
        // RFC 6793 §4.2.2: AS_TRANS and AS4_PATH towards a two-octet peer.
        attrs = attrs.for_two_octet_peer();
    }
    let (v4, v6) = split(session, networks);
    let mut updates = Vec::new();
    let mut announced = 0;
    match local_addr {
        IpAddr::V4(next_hop) if !v4.is_empty() => {
            let attrs = PathAttributes {
                next_hop: Some(next_hop),
                ..attrs.clone()
            };
            updates.extend(builder.announce_ipv4(&attrs, &v4)?);
            announced += v4.len();
        }
        IpAddr::V6(global) if !v6.is_empty() => {
            let next_hop = MpNextHop::Ipv6 {
                global,
                link_local: None,
            };
            updates.extend(builder.announce_ipv6(&attrs, next_hop, &v6)?);
            announced += v6.len();
        }
        _ => {}
    }
    Ok((updates, announced))
}

/// UPDATEs withdrawing `networks` from a session.
pub fn withdraw(session: &Negotiated, networks: &[IpNet]) -> Vec<Update> {
    let builder = UpdateBuilder::new(session.decode_context());
    let (v4, v6) = split(session, networks);
    let mut updates = builder.withdraw_ipv4(&v4);
    updates.extend(builder.withdraw_ipv6(&v6));
    updates
}

/// One End-of-RIB marker per negotiated family (RFC 4724 §2): we have
/// sent all we have.
pub fn end_of_rib(session: &Negotiated) -> Vec<Update> {
    session
        .families
        .iter()
        .map(|family| {
            let (afi, safi) = family.afi_safi();
            Update::end_of_rib(afi, safi)
        })
        .collect()
}

fn split(session: &Negotiated, networks: &[IpNet]) -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for network in networks {
        match network.trunc() {
            IpNet::V4(p) if session.has_family(Family::Ipv4Unicast) => v4.push(p),
            IpNet::V6(p) if session.has_family(Family::Ipv6Unicast) => v6.push(p),
            _ => {}
        }
    }
    (v4, v6)
}
