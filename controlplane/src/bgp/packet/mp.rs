//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4), with IPv6 next
//! hops per RFC 2545 §3.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::consts::{Afi, Safi};
use super::error::{AttrErrorKind, EncodeError};
use super::prefix::{self, PrefixError};
use super::reader::Reader;

/// Next hop of an MP_REACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MpNextHop {
    Ipv4(Ipv4Addr),
    /// 16 octets (global) or 32 (global, then link-local) (RFC 2545 §3).
    Ipv6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
    /// Next hop of an address family we do not parse, as received.
    Raw(Vec<u8>),
}

/// Prefixes of an MP attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MpPrefixes {
    Ipv4(Vec<Ipv4Net>),
    Ipv6(Vec<Ipv6Net>),
    /// NLRI of an address family we do not parse, as received.
    Raw(Vec<u8>),
}

impl MpPrefixes {
    pub fn is_empty(&self) -> bool {
        match self {
            MpPrefixes::Ipv4(p) => p.is_empty(),
            MpPrefixes::Ipv6(p) => p.is_empty(),
            MpPrefixes::Raw(raw) => raw.is_empty(),
        }
    }

    /// Number of prefixes; 0 for unparsed families.
    pub fn len(&self) -> usize {
        match self {
            MpPrefixes::Ipv4(p) => p.len(),
            MpPrefixes::Ipv6(p) => p.len(),
            MpPrefixes::Raw(_) => 0,
        }
    }

    fn empty_for(afi: Afi, safi: Safi) -> MpPrefixes {
        match family(afi, safi) {
            Some(Afi::Ipv4) => MpPrefixes::Ipv4(Vec::new()),
            Some(_) => MpPrefixes::Ipv6(Vec::new()),
            None => MpPrefixes::Raw(Vec::new()),
        }
    }

    fn decode(afi: Afi, safi: Safi, field: &[u8]) -> Result<MpPrefixes, PrefixError> {
        Ok(match family(afi, safi) {
            Some(Afi::Ipv4) => MpPrefixes::Ipv4(prefix::decode_ipv4(field)?),
            Some(_) => MpPrefixes::Ipv6(prefix::decode_ipv6(field)?),
            None => MpPrefixes::Raw(field.to_vec()),
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            MpPrefixes::Ipv4(prefixes) => prefixes.iter().for_each(|p| prefix::encode_ipv4(p, out)),
            MpPrefixes::Ipv6(prefixes) => prefixes.iter().for_each(|p| prefix::encode_ipv6(p, out)),
            MpPrefixes::Raw(raw) => out.extend_from_slice(raw),
        }
    }
}

/// The address families whose NLRI we parse: plain IPv4/IPv6 prefixes
/// (unicast and multicast share the encoding). Others stay raw.
fn family(afi: Afi, safi: Safi) -> Option<Afi> {
    match (afi, safi) {
        (Afi::Ipv4 | Afi::Ipv6, Safi::Unicast | Safi::Multicast) => Some(afi),
        _ => None,
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpReach {
    pub afi: Afi,
    pub safi: Safi,
    pub next_hop: MpNextHop,
    pub nlri: MpPrefixes,
}

/// MP_UNREACH_NLRI (RFC 4760 §4). Empty `withdrawn` is the End-of-RIB
/// marker for its AFI/SAFI (RFC 4724 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpUnreach {
    pub afi: Afi,
    pub safi: Safi,
    pub withdrawn: MpPrefixes,
}

impl MpReach {
    /// IPv6 unicast announcement.
    pub fn ipv6_unicast(
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
        nlri: Vec<Ipv6Net>,
    ) -> MpReach {
        MpReach {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            next_hop: MpNextHop::Ipv6 { global, link_local },
            nlri: MpPrefixes::Ipv6(nlri),
        }
    }

    /// Any error here is a session reset: a wrong next-hop length hides
    /// where the NLRI starts (RFC 7606 §7.11), a bad prefix leaves the NLRI
    /// unparsed (RFC 7606 §5.3, §3.j).
    pub(crate) fn decode(value: &[u8]) -> Result<MpReach, AttrErrorKind> {
        let mut reader = Reader::new(value);
        let too_short = AttrErrorKind::Length {
            length: value.len(),
        };
        if value.len() < 5 {
            return Err(too_short);
        }
        let afi = Afi::from_wire(reader.u16().ok_or(too_short)?);
        let safi = Safi::from_wire(reader.u8().ok_or(too_short)?);
        let nh_len = reader.u8().ok_or(too_short)?;
        let bad_next_hop = AttrErrorKind::InvalidMpNextHop {
            length: usize::from(nh_len),
        };
        let nh = reader.take(usize::from(nh_len)).ok_or(bad_next_hop)?;
        // Reserved, formerly the SNPA count; ignored on receipt (RFC 4760 §3).
        reader.u8().ok_or(bad_next_hop)?;
        let mut nh_reader = Reader::new(nh);
        let next_hop = match (family(afi, safi), nh_len) {
            (Some(Afi::Ipv4), 4) => MpNextHop::Ipv4(nh_reader.ipv4().ok_or(bad_next_hop)?),
            (Some(Afi::Ipv6), 16) => MpNextHop::Ipv6 {
                global: nh_reader.ipv6().ok_or(bad_next_hop)?,
                link_local: None,
            },
            (Some(Afi::Ipv6), 32) => MpNextHop::Ipv6 {
                global: nh_reader.ipv6().ok_or(bad_next_hop)?,
                link_local: Some(nh_reader.ipv6().ok_or(bad_next_hop)?),
            },
            (Some(_), _) => return Err(bad_next_hop),
            (None, _) => MpNextHop::Raw(nh.to_vec()),
        };
        let nlri =
            MpPrefixes::decode(afi, safi, reader.rest()).map_err(|_| AttrErrorKind::InvalidNlri)?;
        Ok(MpReach {
            afi,
            safi,
            next_hop,
            nlri,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.afi.to_wire().to_be_bytes());
        out.push(self.safi.to_wire());
        let mut nh = Vec::with_capacity(32);
        match &self.next_hop {
            MpNextHop::Ipv4(addr) => nh.extend_from_slice(&addr.octets()),
            MpNextHop::Ipv6 { global, link_local } => {
                nh.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    nh.extend_from_slice(&ll.octets());
                }
            }
            MpNextHop::Raw(raw) => nh.extend_from_slice(raw),
        }
        let nh_len = u8::try_from(nh.len()).map_err(|_| EncodeError::FieldTooLong {
            field: "MP_REACH_NLRI next hop",
            len: nh.len(),
            max: usize::from(u8::MAX),
        })?;
        out.push(nh_len);
        out.extend_from_slice(&nh);
        out.push(0);
        self.nlri.encode(out);
        Ok(())
    }
}

impl MpUnreach {
    /// The End-of-RIB marker for a family other than IPv4 unicast (RFC 4724 §2).
    pub fn end_of_rib(afi: Afi, safi: Safi) -> MpUnreach {
        MpUnreach {
            afi,
            safi,
            withdrawn: MpPrefixes::empty_for(afi, safi),
        }
    }

    pub(crate) fn decode(value: &[u8]) -> Result<MpUnreach, AttrErrorKind> {
        let mut reader = Reader::new(value);
        let too_short = AttrErrorKind::Length {
            length: value.len(),
        };
        let afi = Afi::from_wire(reader.u16().ok_or(too_short)?);
        let safi = Safi::from_wire(reader.u8().ok_or(too_short)?);
        let withdrawn =
            MpPrefixes::decode(afi, safi, reader.rest()).map_err(|_| AttrErrorKind::InvalidNlri)?;
        Ok(MpUnreach {
            afi,
            safi,
            withdrawn,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi.to_wire().to_be_bytes());
        out.push(self.safi.to_wire());
        self.withdrawn.encode(out);
    }
}
