//! Path attributes (RFC 4271 §4.3, §5): flags, typed values, the typed
//! collection an UPDATE carries, and unknown attributes kept verbatim.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::as_path::AsPath;
use super::consts::{AS_TRANS, attr_type};
use super::error::{AttrErrorKind, EncodeError};
use super::message::DecodeContext;
use super::mp::{MpReach, MpUnreach};
use super::reader::Reader;

/// The Attribute Flags octet (RFC 4271 §4.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttrFlags(pub u8);

impl AttrFlags {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;

    pub fn optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }

    pub fn transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }

    pub fn partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }

    pub fn extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }

    /// The Optional and Transitive bits, the ones RFC 7606 §3.c checks.
    fn category(self) -> u8 {
        self.0 & (Self::OPTIONAL | Self::TRANSITIVE)
    }
}

const WELL_KNOWN: u8 = AttrFlags::TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE: u8 = AttrFlags::OPTIONAL;
const OPTIONAL_TRANSITIVE: u8 = AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE;

/// Optional/Transitive bits each recognised attribute must carry.
fn expected_category(type_code: u8) -> Option<u8> {
    use attr_type::*;
    Some(match type_code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => WELL_KNOWN,
        MULTI_EXIT_DISC | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI => {
            OPTIONAL_NON_TRANSITIVE
        }
        AGGREGATOR
        | COMMUNITIES
        | EXTENDED_COMMUNITIES
        | AS4_PATH
        | AS4_AGGREGATOR
        | IPV6_EXTENDED_COMMUNITIES
        | LARGE_COMMUNITIES => OPTIONAL_TRANSITIVE,
        _ => return None,
    })
}

/// ORIGIN (RFC 4271 §5.1.1). Any other value is malformed (RFC 7606
/// §7.1), so there is no `Unknown` case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub fn from_wire(value: u8) -> Option<Origin> {
        match value {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    pub fn to_wire(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AGGREGATOR / AS4_AGGREGATOR (RFC 4271 §5.1.7, RFC 6793 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// A COMMUNITIES value (RFC 1997): AS in the high half, value in the low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Community(pub u32);

impl Community {
    /// Do not advertise outside the AS or confederation (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// Do not advertise to any peer (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// Do not advertise to external peers, not even confederation members (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// Do not advertise to bilateral peers (RFC 3765).
    pub const NO_PEER: Community = Community(0xFFFF_FF04);
    /// Lower preference ahead of maintenance (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// Discard traffic to this prefix (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);

    pub fn new(asn: u16, value: u16) -> Community {
        Community((u32::from(asn) << 16) | u32::from(value))
    }

    pub fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    pub fn value(self) -> u16 {
        self.0 as u16
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Community::NO_EXPORT => f.write_str("no-export"),
            Community::NO_ADVERTISE => f.write_str("no-advertise"),
            Community::NO_EXPORT_SUBCONFED => f.write_str("no-export-subconfed"),
            Community::NO_PEER => f.write_str("no-peer"),
            Community::GRACEFUL_SHUTDOWN => f.write_str("graceful-shutdown"),
            Community::BLACKHOLE => f.write_str("blackhole"),
            c => write!(f, "{}:{}", c.asn(), c.value()),
        }
    }
}

/// A LARGE_COMMUNITIES value (RFC 8092 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LargeCommunity {
    pub global_admin: u32,
    pub local_data1: u32,
    pub local_data2: u32,
}

impl fmt::Display for LargeCommunity {
    /// Canonical form (RFC 8092 §5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.global_admin, self.local_data1, self.local_data2
        )
    }
}

/// An attribute we do not interpret, kept as received so optional
/// transitive ones can be passed on (RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnknownAttr {
    pub flags: AttrFlags,
    pub type_code: u8,
    pub value: Vec<u8>,
}

impl UnknownAttr {
    /// What to pass to another peer: optional transitive attributes with
    /// the Partial bit set, nothing for the rest (RFC 4271 §5, §9.1.3).
    pub fn propagated(&self) -> Option<UnknownAttr> {
        (self.flags.optional() && self.flags.transitive()).then(|| UnknownAttr {
            flags: AttrFlags(self.flags.0 | AttrFlags::PARTIAL),
            type_code: self.type_code,
            value: self.value.clone(),
        })
    }
}

/// Partial bits of the recognised optional transitive attributes, kept so
/// a route passed on keeps them set (RFC 4271 §5: once set, never cleared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartialFlags {
    pub aggregator: bool,
    pub communities: bool,
    pub as4_path: bool,
    pub as4_aggregator: bool,
    pub large_communities: bool,
}

impl PartialFlags {
    fn get(&self, type_code: u8) -> bool {
        match type_code {
            attr_type::AGGREGATOR => self.aggregator,
            attr_type::COMMUNITIES => self.communities,
            attr_type::AS4_PATH => self.as4_path,
            attr_type::AS4_AGGREGATOR => self.as4_aggregator,
            attr_type::LARGE_COMMUNITIES => self.large_communities,
            _ => false,
        }
    }

    fn set(&mut self, type_code: u8, partial: bool) {
        match type_code {
            attr_type::AGGREGATOR => self.aggregator = partial,
            attr_type::COMMUNITIES => self.communities = partial,
            attr_type::AS4_PATH => self.as4_path = partial,
            attr_type::AS4_AGGREGATOR => self.as4_aggregator = partial,
            attr_type::LARGE_COMMUNITIES => self.large_communities = partial,
            _ => {}
        }
    }
}

/// One decoded path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Attr {
    Origin(Origin),
    AsPath(AsPath),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(Aggregator),
    Communities(Vec<Community>),
    OriginatorId(Ipv4Addr),
    ClusterList(Vec<Ipv4Addr>),
    MpReach(MpReach),
    MpUnreach(MpUnreach),
    As4Path(AsPath),
    As4Aggregator(Aggregator),
    LargeCommunities(Vec<LargeCommunity>),
    Unknown(UnknownAttr),
}

impl Attr {
    pub fn type_code(&self) -> u8 {
        use attr_type::*;
        match self {
            Attr::Origin(_) => ORIGIN,
            Attr::AsPath(_) => AS_PATH,
            Attr::NextHop(_) => NEXT_HOP,
            Attr::MultiExitDisc(_) => MULTI_EXIT_DISC,
            Attr::LocalPref(_) => LOCAL_PREF,
            Attr::AtomicAggregate => ATOMIC_AGGREGATE,
            Attr::Aggregator(_) => AGGREGATOR,
            Attr::Communities(_) => COMMUNITIES,
            Attr::OriginatorId(_) => ORIGINATOR_ID,
            Attr::ClusterList(_) => CLUSTER_LIST,
            Attr::MpReach(_) => MP_REACH_NLRI,
            Attr::MpUnreach(_) => MP_UNREACH_NLRI,
            Attr::As4Path(_) => AS4_PATH,
            Attr::As4Aggregator(_) => AS4_AGGREGATOR,
            Attr::LargeCommunities(_) => LARGE_COMMUNITIES,
            Attr::Unknown(unknown) => unknown.type_code,
        }
    }

    /// Checks and interprets one attribute (RFC 4271 §6.3 as revised by
    /// RFC 7606 §7 and RFC 6793 §6). The error says what is wrong; which
    /// RFC 7606 approach that calls for is the UPDATE decoder's decision.
    pub fn decode(
        flags: AttrFlags,
        type_code: u8,
        value: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Attr, AttrErrorKind> {
        use attr_type::*;
        // These are discarded whatever they contain.
        match type_code {
            LOCAL_PREF | ORIGINATOR_ID | CLUSTER_LIST if !ctx.ibgp => {
                return Err(AttrErrorKind::FromExternalPeer);
            }
            AS4_PATH | AS4_AGGREGATOR if ctx.four_octet_as => {
                return Err(AttrErrorKind::As4BetweenNewSpeakers);
            }
            _ => {}
        }
        let Some(expected) = expected_category(type_code) else {
            if !flags.optional() {
                return Err(AttrErrorKind::UnrecognizedWellKnown);
            }
            return Ok(Attr::Unknown(UnknownAttr {
                flags,
                type_code,
                value: value.to_vec(),
            }));
        };
        if flags.category() != expected {
            return Err(AttrErrorKind::Flags { flags: flags.0 });
        }
        let bad_length = AttrErrorKind::Length {
            length: value.len(),
        };
        let mut reader = Reader::new(value);
        let attr = match type_code {
            ORIGIN => {
                let [octet] = reader
                    .array()
                    .filter(|_| value.len() == 1)
                    .ok_or(bad_length)?;
                Attr::Origin(
                    Origin::from_wire(octet)
                        .ok_or(AttrErrorKind::InvalidOrigin { value: octet })?,
                )
            }
            AS_PATH => Attr::AsPath(
                AsPath::decode(value, ctx.four_octet_as)
                    .map_err(|_| AttrErrorKind::MalformedAsPath)?,
            ),
            NEXT_HOP => {
                let addr = exactly_ipv4(value).ok_or(bad_length)?;
                if !is_host_address(addr) {
                    return Err(AttrErrorKind::InvalidNextHop);
                }
                Attr::NextHop(addr)
            }
            MULTI_EXIT_DISC => Attr::MultiExitDisc(exactly_u32(value).ok_or(bad_length)?),
            LOCAL_PREF => Attr::LocalPref(exactly_u32(value).ok_or(bad_length)?),
            ATOMIC_AGGREGATE if value.is_empty() => Attr::AtomicAggregate,
            ATOMIC_AGGREGATE => return Err(bad_length),
            AGGREGATOR => {
                Attr::Aggregator(decode_aggregator(value, ctx.four_octet_as).ok_or(bad_length)?)
            }
            COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(4) => Attr::Communities(
                value
                    .chunks_exact(4)
                    .map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
            ),
            ORIGINATOR_ID => Attr::OriginatorId(exactly_ipv4(value).ok_or(bad_length)?),
            CLUSTER_LIST if !value.is_empty() && value.len().is_multiple_of(4) => {
                Attr::ClusterList(
                    value
                        .chunks_exact(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect(),
                )
            }
            MP_REACH_NLRI => Attr::MpReach(MpReach::decode(value)?),
            MP_UNREACH_NLRI => Attr::MpUnreach(MpUnreach::decode(value)?),
            AS4_PATH => {
                // RFC 6793 §6: at least one AS, even length, sound segments.
                if value.len() < 6 || !value.len().is_multiple_of(2) {
                    return Err(bad_length);
                }
                let path =
                    AsPath::decode(value, true).map_err(|_| AttrErrorKind::MalformedAsPath)?;
                // Confederation segments must not be here: drop them and go on (RFC 6793 §6).
                Attr::As4Path(path.without_confed())
            }
            AS4_AGGREGATOR => {
                Attr::As4Aggregator(decode_aggregator(value, true).ok_or(bad_length)?)
            }
            LARGE_COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(12) => {
                let mut communities: Vec<LargeCommunity> = Vec::with_capacity(value.len() / 12);
                while let (Some(global_admin), Some(local_data1), Some(local_data2)) =
                    (reader.u32(), reader.u32(), reader.u32())
                {
                    let community = LargeCommunity {
                        global_admin,
                        local_data1,
                        local_data2,
                    };
                    // RFC 8092 §3: silently remove duplicates.
                    if !communities.contains(&community) {
                        communities.push(community);
                    }
                }
                Attr::LargeCommunities(communities)
            }
            // Recognised only to check their length (RFC 7606 §7.14, §7.15).
            EXTENDED_COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(8) => {
                Attr::Unknown(UnknownAttr {
                    flags,
                    type_code,
                    value: value.to_vec(),
                })
            }
            IPV6_EXTENDED_COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(20) => {
                Attr::Unknown(UnknownAttr {
                    flags,
                    type_code,
                    value: value.to_vec(),
                })
            }
            _ => return Err(bad_length),
        };
        Ok(attr)
    }
}

fn exactly_u32(value: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(value).ok().map(u32::from_be_bytes)
}

fn exactly_ipv4(value: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(value).ok().map(Ipv4Addr::from)
}

/// "A valid IP host address" (RFC 4271 §6.3): not 0/8, loopback,
/// multicast or class E/broadcast.
fn is_host_address(addr: Ipv4Addr) -> bool {
    let first = addr.octets()[0];
    first != 0 && first != 127 && first < 224
}

fn decode_aggregator(value: &[u8], four_octet: bool) -> Option<Aggregator> {
    let mut reader = Reader::new(value);
    let asn = if four_octet {
        (value.len() == 8).then_some(())?;
        reader.u32()?
    } else {
        (value.len() == 6).then_some(())?;
        u32::from(reader.u16()?)
    };
    Some(Aggregator {
        asn,
        address: reader.ipv4()?,
    })
}

/// The path attributes of an UPDATE, MP_REACH/MP_UNREACH aside (those
/// live on `Update`, since they carry NLRI). Absent attributes are `None`
/// or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathAttributes {
    pub origin: Option<Origin>,
    pub as_path: Option<AsPath>,
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<Aggregator>,
    /// Empty when absent: an empty COMMUNITIES is malformed (RFC 7606 §7.8).
    pub communities: Vec<Community>,
    pub originator_id: Option<Ipv4Addr>,
    /// Empty when absent (RFC 7606 §7.10).
    pub cluster_list: Vec<Ipv4Addr>,
    /// Only from a two-octet AS peer (RFC 6793 §4.1); see `merge_as4`.
    pub as4_path: Option<AsPath>,
    pub as4_aggregator: Option<Aggregator>,
    /// Empty when absent (RFC 8092 §6).
    pub large_communities: Vec<LargeCommunity>,
    /// Partial bits of the recognised optional transitive attributes.
    pub partial: PartialFlags,
    /// Everything else, ascending by type code, one per type.
    pub unknown: Vec<UnknownAttr>,
}

impl PathAttributes {
    /// Whether nothing at all is set.
    pub fn is_empty(&self) -> bool {
        *self == PathAttributes::default()
    }

    /// Stores a decoded attribute. MP_REACH/MP_UNREACH are not path
    /// attributes of this collection and are returned back.
    pub fn insert(&mut self, attr: Attr, partial: bool) -> Option<Attr> {
        let type_code = attr.type_code();
        match attr {
            Attr::Origin(origin) => self.origin = Some(origin),
            Attr::AsPath(path) => self.as_path = Some(path),
            Attr::NextHop(addr) => self.next_hop = Some(addr),
            Attr::MultiExitDisc(med) => self.med = Some(med),
            Attr::LocalPref(pref) => self.local_pref = Some(pref),
            Attr::AtomicAggregate => self.atomic_aggregate = true,
            Attr::Aggregator(aggregator) => self.aggregator = Some(aggregator),
            Attr::Communities(communities) => self.communities = communities,
            Attr::OriginatorId(id) => self.originator_id = Some(id),
            Attr::ClusterList(list) => self.cluster_list = list,
            // Nothing left once confederation segments are stripped: as if absent.
            Attr::As4Path(path) if path.is_empty() => return None,
            Attr::As4Path(path) => self.as4_path = Some(path),
            Attr::As4Aggregator(aggregator) => self.as4_aggregator = Some(aggregator),
            Attr::LargeCommunities(communities) => self.large_communities = communities,
            Attr::Unknown(unknown) => {
                let at = self
                    .unknown
                    .partition_point(|u| u.type_code < unknown.type_code);
                self.unknown.insert(at, unknown);
            }
            mp @ (Attr::MpReach(_) | Attr::MpUnreach(_)) => return Some(mp),
        }
        self.partial.set(type_code, partial);
        None
    }

    /// Applies RFC 6793 §4.2.3 to what a two-octet AS peer sent: if
    /// AGGREGATOR names a real AS, AS4_PATH and AS4_AGGREGATOR are ignored;
    /// otherwise AS4_AGGREGATOR replaces AGGREGATOR and AS_PATH is rebuilt
    /// from AS_PATH and AS4_PATH. AS4_* are gone afterwards.
    pub fn merge_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();
        self.partial.as4_path = false;
        self.partial.as4_aggregator = false;
        if let (Some(aggregator), Some(as4_aggregator)) = (self.aggregator, as4_aggregator) {
            if aggregator.asn != u32::from(AS_TRANS) {
                return;
            }
            self.aggregator = Some(as4_aggregator);
        }
        if let (Some(as_path), Some(as4_path)) = (&self.as_path, &as4_path) {
            self.as_path = Some(AsPath::merge_as4(as_path, as4_path));
        }
    }

    /// The attributes as sent to a two-octet AS peer (RFC 6793 §4.2.2):
    /// four-octet ASes become AS_TRANS in AS_PATH and AGGREGATOR, with the
    /// real values in AS4_PATH (without confederation segments) and
    /// AS4_AGGREGATOR — each only when needed.
    pub fn for_two_octet_peer(&self) -> PathAttributes {
        let mut attrs = self.clone();
        attrs.as4_path = None;
        attrs.as4_aggregator = None;
        if let Some(path) = &self.as_path
            && !path.is_two_octet()
        {
            attrs.as_path = Some(path.with_as_trans());
            attrs.as4_path = Some(path.without_confed());
        }
        if let Some(aggregator) = self.aggregator
            && aggregator.asn > u32::from(u16::MAX)
        {
            attrs.aggregator = Some(Aggregator {
                asn: u32::from(AS_TRANS),
                address: aggregator.address,
            });
            attrs.as4_aggregator = Some(aggregator);
        }
        attrs
    }

    /// Prepares unknown attributes for another peer: non-transitive ones
    /// are dropped, optional transitive ones get the Partial bit (RFC 4271 §5).
    pub fn prepare_unknown_for_propagation(&mut self) {
        self.unknown = self
            .unknown
            .iter()
            .filter_map(UnknownAttr::propagated)
            .collect();
    }

    /// Appends every attribute but MP_REACH/MP_UNREACH, ascending by type
    /// code (RFC 4271 §5), unknown ones interleaved.
    pub(crate) fn encode(&self, ctx: &DecodeContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use attr_type::*;
        let mut unknown = self.unknown.iter().peekable();
        let mut value = Vec::with_capacity(64);
        for type_code in [
            ORIGIN,
            AS_PATH,
            NEXT_HOP,
            MULTI_EXIT_DISC,
            LOCAL_PREF,
            ATOMIC_AGGREGATE,
            AGGREGATOR,
            COMMUNITIES,
            ORIGINATOR_ID,
            CLUSTER_LIST,
            AS4_PATH,
            AS4_AGGREGATOR,
            LARGE_COMMUNITIES,
        ] {
            while let Some(u) = unknown.next_if(|u| u.type_code < type_code) {
                encode_attr(u.flags.0, u.type_code, &u.value, out)?;
            }
            value.clear();
            if !self.encode_value(type_code, ctx, &mut value)? {
                continue;
            }
            let mut flags = expected_category(type_code).unwrap_or(0);
            if self.partial.get(type_code) {
                flags |= AttrFlags::PARTIAL;
            }
            encode_attr(flags, type_code, &value, out)?;
        }
        for u in unknown {
            encode_attr(u.flags.0, u.type_code, &u.value, out)?;
        }
        Ok(())
    }

    /// Writes one known attribute's value; `false` when it is absent.
    fn encode_value(
        &self,
        type_code: u8,
        ctx: &DecodeContext,
        value: &mut Vec<u8>,
    ) -> Result<bool, EncodeError> {
        use attr_type::*;
        match type_code {
            ORIGIN => match self.origin {
                Some(origin) => value.push(origin.to_wire()),
                None => return Ok(false),
            },
            AS_PATH => match &self.as_path {
                Some(path) => path.encode(ctx.four_octet_as, value)?,
                None => return Ok(false),
            },
            NEXT_HOP => match self.next_hop {
                Some(addr) => value.extend_from_slice(&addr.octets()),
                None => return Ok(false),
            },
            MULTI_EXIT_DISC => match self.med {
                Some(med) => value.extend_from_slice(&med.to_be_bytes()),
                None => return Ok(false),
            },
            LOCAL_PREF => match self.local_pref {
                Some(pref) => value.extend_from_slice(&pref.to_be_bytes()),
                None => return Ok(false),
            },
            ATOMIC_AGGREGATE => return Ok(self.atomic_aggregate),
            AGGREGATOR => match self.aggregator {
                Some(aggregator) => encode_aggregator(aggregator, ctx.four_octet_as, value)?,
                None => return Ok(false),
            },
            COMMUNITIES if !self.communities.is_empty() => {
                for community in &self.communities {
                    value.extend_from_slice(&community.0.to_be_bytes());
                }
            }
            ORIGINATOR_ID => match self.originator_id {
                Some(id) => value.extend_from_slice(&id.octets()),
                None => return Ok(false),
            },
            CLUSTER_LIST if !self.cluster_list.is_empty() => {
                for id in &self.cluster_list {
                    value.extend_from_slice(&id.octets());
                }
            }
            AS4_PATH => match &self.as4_path {
                Some(path) if !path.is_empty() => path.encode(true, value)?,
                _ => return Ok(false),
            },
            AS4_AGGREGATOR => match self.as4_aggregator {
                Some(aggregator) => encode_aggregator(aggregator, true, value)?,
                None => return Ok(false),
            },
            LARGE_COMMUNITIES if !self.large_communities.is_empty() => {
                for c in &self.large_communities {
                    value.extend_from_slice(&c.global_admin.to_be_bytes());
                    value.extend_from_slice(&c.local_data1.to_be_bytes());
                    value.extend_from_slice(&c.local_data2.to_be_bytes());
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn encode_aggregator(
    aggregator: Aggregator,
    four_octet: bool,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if four_octet {
        out.extend_from_slice(&aggregator.asn.to_be_bytes());
    } else {
        let asn = u16::try_from(aggregator.asn).map_err(|_| EncodeError::AsNumberTooLarge {
            asn: aggregator.asn,
        })?;
        out.extend_from_slice(&asn.to_be_bytes());
    }
    out.extend_from_slice(&aggregator.address.octets());
    Ok(())
}

/// Appends flags, type, length (extended when the value needs it or the
/// flags already ask for it) and value.
pub(crate) fn encode_attr(
    flags: u8,
    type_code: u8,
    value: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let length = u16::try_from(value.len()).map_err(|_| EncodeError::FieldTooLong {
        field: "path attribute value",
        len: value.len(),
        max: usize::from(u16::MAX),
    })?;
    if value.len() > 255 || flags & AttrFlags::EXTENDED_LENGTH != 0 {
        out.push(flags | AttrFlags::EXTENDED_LENGTH);
        out.push(type_code);
        out.extend_from_slice(&length.to_be_bytes());
    } else {
        out.push(flags);
        out.push(type_code);
        out.push(length as u8);
    }
    out.extend_from_slice(value);
    Ok(())
}

/// Octets `encode_attr` writes for a value of `len` octets with `flags`.
pub(crate) fn encoded_attr_len(flags: u8, len: usize) -> usize {
    if len > 255 || flags & AttrFlags::EXTENDED_LENGTH != 0 {
        4 + len
    } else {
        3 + len
    }
}
