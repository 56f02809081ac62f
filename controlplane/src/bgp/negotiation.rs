//! The OPEN exchange: the OPEN we send, the checks on the one we receive
//! (RFC 4271 §6.2, RFC 6286, RFC 6793, RFC 7607) and what the two agree
//! on (RFC 5492 capabilities).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::config::{Family, NeighborConfig};
use super::packet::{
    AS_TRANS, Capability, DecodeContext, GracefulRestart, MessageError, Notification, Open,
};
use super::timer::SECOND;

/// Who we are, the same on every session of the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalSpeaker {
    pub asn: u32,
    pub router_id: Ipv4Addr,
}

/// What one session runs with once both OPENs are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    /// The peer's AS (from the four-octet capability when present).
    pub remote_as: u32,
    pub remote_id: Ipv4Addr,
    /// min(ours, theirs), seconds; 0 = no HoldTimer, no keepalives
    /// (RFC 4271 §4.2).
    pub hold_time: u16,
    /// Address families both sides offered, ascending (RFC 4760 §8). A
    /// peer without any Multiprotocol capability offers IPv4 unicast.
    pub families: Vec<Family>,
    pub four_octet_as: bool,
    pub extended_messages: bool,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability, when we sent ours too.
    pub graceful_restart: Option<GracefulRestart>,
    /// Same AS on both ends: an internal session.
    pub ibgp: bool,
    /// Everything the peer advertised, as received (unknown ones included).
    pub remote_capabilities: Vec<Capability>,
}

impl Negotiated {
    pub fn decode_context(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            extended_messages: self.extended_messages,
            ibgp: self.ibgp,
        }
    }

    /// KeepaliveTime: a third of the HoldTime (RFC 4271 §10), before jitter.
    pub fn keepalive_ns(&self) -> u64 {
        u64::from(self.hold_time) * SECOND / 3
    }

    pub fn hold_ns(&self) -> u64 {
        u64::from(self.hold_time) * SECOND
    }

    pub fn has_family(&self, family: Family) -> bool {
        self.families.contains(&family)
    }

    /// Families whose routes survive a restart of the peer: those in its
    /// Graceful Restart capability (RFC 4724 §4.2). Empty without GR.
    pub fn graceful_restart_families(&self) -> Vec<Family> {
        self.graceful_restart
            .iter()
            .flat_map(|gr| gr.families.iter())
            .filter_map(|f| Family::from_afi_safi(f.afi, f.safi))
            .filter(|f| self.families.contains(f))
            .collect()
    }
}

/// Our capabilities for this neighbor, in the order FRR sends them.
pub fn local_capabilities(local: &LocalSpeaker, neighbor: &NeighborConfig) -> Vec<Capability> {
    let caps = &neighbor.capabilities;
    let mut families = neighbor.families.clone();
    families.sort();
    families.dedup();
    let mut out: Vec<Capability> = families
        .iter()
        .map(|f| {
            let (afi, safi) = f.afi_safi();
            Capability::Multiprotocol { afi, safi }
        })
        .collect();
    if caps.route_refresh {
        out.push(Capability::RouteRefresh);
    }
    if caps.enhanced_route_refresh {
        out.push(Capability::EnhancedRouteRefresh);
    }
    if caps.extended_message {
        out.push(Capability::ExtendedMessage);
    }
    if caps.four_octet_as {
        out.push(Capability::FourOctetAs { asn: local.asn });
    }
    if let Some(gr) = caps.graceful_restart {
        // RFC 4724 §3: no AFI/SAFI = we can help a restarting peer but do
        // not keep forwarding state across our own restart. R bit clear:
        // we have not restarted (§4.2).
        out.push(Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: gr.restart_time.min(0x0fff),
            families: Vec::new(),
        }));
    }
    out
}

/// The OPEN we send to this neighbor.
pub fn local_open(local: &LocalSpeaker, neighbor: &NeighborConfig) -> Open {
    Open::new(
        local.asn,
        neighbor.hold_time,
        local.router_id,
        local_capabilities(local, neighbor),
    )
}

/// Checks a received OPEN against the neighbor's configuration and works
/// out the session parameters. `Err` carries the NOTIFICATION to send.
pub fn negotiate(
    local: &LocalSpeaker,
    neighbor: &NeighborConfig,
    open: &Open,
) -> Result<Negotiated, MessageError> {
    // RFC 6793 §3: the capability carries the real AS; the two-octet
    // field must agree with it (the AS itself, or AS_TRANS if it does not
    // fit). RFC 7607 §2: AS 0 is a Bad Peer AS.
    let remote_as = open.asn();
    let expected_field = u16::try_from(remote_as).unwrap_or(AS_TRANS);
    if remote_as == 0 || open.my_as != expected_field {
        return Err(MessageError::new(
            Notification::bad_peer_as(),
            format!(
                "OPEN says AS {} in My AS but {} in the four-octet AS capability",
                open.my_as, remote_as
            ),
        ));
    }
    if remote_as != neighbor.remote_as {
        return Err(MessageError::new(
            Notification::bad_peer_as(),
            format!(
                "neighbor announced AS {remote_as}, configured remote-as is {}",
                neighbor.remote_as
            ),
        ));
    }
    // RFC 4271 §6.2 (also checked by the decoder).
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(MessageError::new(
            Notification::unacceptable_hold_time(),
            format!(
                "hold time {} s: must be 0 or at least 3 (RFC 4271 §4.2)",
                open.hold_time
            ),
        ));
    }
    let ibgp = remote_as == local.asn;
    // RFC 6286 §2.2: zero is never valid; our own identifier is not valid
    // from an internal peer (an external one may share it).
    if open.bgp_id.is_unspecified() || (ibgp && open.bgp_id == local.router_id) {
        return Err(MessageError::new(
            Notification::bad_bgp_identifier(),
            format!(
                "BGP identifier {} is zero or equals ours on an internal session",
                open.bgp_id
            ),
        ));
    }

    let ours = local_capabilities(local, neighbor);
    let mut theirs: Vec<Family> = open
        .multiprotocol()
        .filter_map(|(afi, safi)| Family::from_afi_safi(afi, safi))
        .collect();
    if !open.multiprotocol().any(|_| true) {
        theirs.push(Family::Ipv4Unicast);
    }
    let mut families: Vec<Family> = neighbor
        .families
        .iter()
        .copied()
        .filter(|f| theirs.contains(f))
        .collect();
    families.sort();
    families.dedup();
    if families.is_empty() {
        // RFC 5492 §5: name what we needed and did not get.
        let wanted: Vec<Capability> = ours
            .iter()
            .filter(|c| matches!(c, Capability::Multiprotocol { .. }))
            .cloned()
            .collect();
        return Err(MessageError::new(
            Notification::unsupported_capability(&wanted),
            "no address family in common with the neighbor",
        ));
    }

    let caps = &neighbor.capabilities;
    let has = |code| open.has_capability(code);
    use super::packet::capability_code as code;
    let route_refresh = caps.route_refresh && has(code::ROUTE_REFRESH);
    Ok(Negotiated {
        remote_as,
        remote_id: open.bgp_id,
        hold_time: neighbor.hold_time.min(open.hold_time),
        families,
        four_octet_as: caps.four_octet_as && open.four_octet_as().is_some(),
        extended_messages: caps.extended_message && has(code::EXTENDED_MESSAGE),
        route_refresh,
        enhanced_route_refresh: route_refresh
            && caps.enhanced_route_refresh
            && has(code::ENHANCED_ROUTE_REFRESH),
        graceful_restart: caps.graceful_restart.and(open.graceful_restart().cloned()),
        ibgp,
        remote_capabilities: open.capabilities.clone(),
    })
}
