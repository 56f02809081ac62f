//! Neighbor Discovery messages and options (RFC 4861 §4.3, §4.4, §4.6).

use std::net::Ipv6Addr;

use crate::packet::MacAddr;
use crate::packet::error::ParseError;

/// A Neighbor Solicitation (RFC 4861 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpNeighborSolicit {
    pub target: Ipv6Addr,
    /// The Source Link-Layer Address option; absent in Duplicate Address
    /// Detection probes (source ::).
    pub source_lladdr: Option<MacAddr>,
}

/// A Neighbor Advertisement (RFC 4861 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpNeighborAdvert {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a solicitation.
    pub solicited: bool,
    /// O: the advertisement should override a cached link-layer address.
    pub override_: bool,
    pub target: Ipv6Addr,
    pub target_lladdr: Option<MacAddr>,
}

/// Option types (RFC 4861 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpOptionType {
    SourceLinkLayerAddr,
    TargetLinkLayerAddr,
    PrefixInformation,
    RedirectedHeader,
    Mtu,
    Unknown(u8),
}

impl From<u8> for NdpOptionType {
    fn from(value: u8) -> Self {
        match value {
            1 => NdpOptionType::SourceLinkLayerAddr,
            2 => NdpOptionType::TargetLinkLayerAddr,
            3 => NdpOptionType::PrefixInformation,
            4 => NdpOptionType::RedirectedHeader,
            5 => NdpOptionType::Mtu,
            other => NdpOptionType::Unknown(other),
        }
    }
}

impl From<NdpOptionType> for u8 {
    fn from(value: NdpOptionType) -> Self {
        match value {
            NdpOptionType::SourceLinkLayerAddr => 1,
            NdpOptionType::TargetLinkLayerAddr => 2,
            NdpOptionType::PrefixInformation => 3,
            NdpOptionType::RedirectedHeader => 4,
            NdpOptionType::Mtu => 5,
            NdpOptionType::Unknown(other) => other,
        }
    }
}

/// Length of a link-layer address option for Ethernet: type, length and
/// a 6-byte MAC fill exactly one 8-octet unit.
pub const LLADDR_OPTION_LEN: usize = 8;

/// One NDP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpOption<'a> {
    pub option_type: NdpOptionType,
    /// The bytes after the type and length octets, up to the option's end.
    pub data: &'a [u8],
}

impl NdpOption<'_> {
    /// The MAC of a link-layer address option (its first six data bytes).
    pub fn lladdr(&self) -> Option<MacAddr> {
        match self.option_type {
            NdpOptionType::SourceLinkLayerAddr | NdpOptionType::TargetLinkLayerAddr => {
                MacAddr::from_bytes(self.data)
            }
            _ => None,
        }
    }
}

/// Iterator over the options of an ND message. A malformed option
/// (length 0, or running past the message) is yielded as an error once,
/// and the iteration ends: per §4.6 the whole message must then be
/// discarded.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> NdpOptions<'a> {
    pub fn new(options: &'a [u8]) -> Self {
        NdpOptions { rest: options }
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = match *self.rest {
            [_] => Err(ParseError::Truncated),
            [_, 0, ..] => Err(ParseError::Malformed("NDP option length 0")),
            [option_type, units, ..] => {
                let len = usize::from(units) * 8;
                match (self.rest.get(2..len), self.rest.get(len..)) {
                    (Some(data), Some(rest)) => {
                        self.rest = rest;
                        return Some(Ok(NdpOption {
                            option_type: NdpOptionType::from(option_type),
                            data,
                        }));
                    }
                    _ => Err(ParseError::Truncated),
                }
            }
            [] => return None,
        };
        self.rest = &[];
        Some(item)
    }
}

/// The MAC from the first option of `wanted` type, after checking every
/// option is well formed.
pub(super) fn find_lladdr(
    options: NdpOptions<'_>,
    wanted: NdpOptionType,
) -> Result<Option<MacAddr>, ParseError> {
    let mut found = None;
    for option in options {
        let option = option?;
        if found.is_none() && option.option_type == wanted {
            found = option.lladdr();
        }
    }
    Ok(found)
}

/// Writes a link-layer address option into the first 8 bytes of `out`.
pub(super) fn emit_lladdr(out: &mut [u8], option_type: NdpOptionType, addr: MacAddr) {
    if let Some(out) = out.first_chunk_mut::<LLADDR_OPTION_LEN>() {
        let [a, b, c, d, e, f] = addr.0;
        *out = [option_type.into(), 1, a, b, c, d, e, f];
    }
}
