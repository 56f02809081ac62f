//! Walking the IPv6 extension-header chain to the upper-layer header
//! (RFC 8200 §4).

use crate::packet::error::ParseError;
use crate::packet::field;
use crate::packet::ip_protocol::IpProtocol;

/// The longest chain the walk follows. RFC 8200 §4.1 recommends at most
/// one of each header (Destination Options twice), so a legitimate chain
/// has at most 7; 16 leaves room for oddities without letting a crafted
/// packet make the walk expensive.
pub const MAX_EXTENSION_HEADERS: usize = 16;

/// Where the upper-layer header of an IPv6 packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// The first header that is not an extension header the walk follows
    /// (upper layer, ESP, No Next Header, or anything unknown). For a
    /// non-first fragment it is the Fragment header's Next Header.
    pub protocol: IpProtocol,
    /// Offset from the start of the IPv6 header.
    pub offset: usize,
    pub fragment: Option<FragmentInfo>,
}

impl UpperLayer {
    /// Whether the upper-layer header is at `offset`. In a fragment other
    /// than the first, the bytes at `offset` are the middle of the original
    /// payload (RFC 8200 §4.5), not a header.
    pub fn has_header(&self) -> bool {
        self.fragment.is_none_or(|f| f.offset == 0)
    }
}

/// The Fragment header's fields (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more: bool,
    pub ident: u32,
}

const FRAGMENT_HEADER_LEN: usize = 8;

/// Walks from the header after the fixed IPv6 header to the upper layer.
/// `packet` starts at the IPv6 header; `end` is where its payload ends.
pub(super) fn walk(packet: &[u8], first: IpProtocol, end: usize) -> Result<UpperLayer, ParseError> {
    let mut protocol = first;
    let mut offset = super::HEADER_LEN;
    let mut fragment: Option<FragmentInfo> = None;
    for index in 0..=MAX_EXTENSION_HEADERS {
        let header = field::range(packet, offset, end);
        let len = match protocol {
            // RFC 8200 §4.3: Hop-by-Hop may only follow the IPv6 header.
            IpProtocol::HopByHop if index != 0 => {
                return Err(ParseError::Malformed("Hop-by-Hop Options header not first"));
            }
            // RFC 8200 §4.3, §4.4, §4.6: Hdr Ext Len in 8-octet units,
            // not counting the first 8 octets.
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                (usize::from(field::u8_at(header, 1)) + 1) * 8
            }
            IpProtocol::Ipv6Frag => FRAGMENT_HEADER_LEN,
            // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
            IpProtocol::Ah => (usize::from(field::u8_at(header, 1)) + 2) * 4,
            _ => {
                return Ok(UpperLayer {
                    protocol,
                    offset,
                    fragment,
                });
            }
        };
        if index == MAX_EXTENSION_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        if header.len() < len {
            return Err(ParseError::Truncated);
        }
        let next = IpProtocol::from(field::u8_at(header, 0));
        offset += len;
        if protocol == IpProtocol::Ipv6Frag {
            if fragment.is_some() {
                return Err(ParseError::Malformed("more than one Fragment header"));
            }
            let offset_and_flags = field::u16_at(header, 2);
            let info = FragmentInfo {
                offset: offset_and_flags & !0x7,
                more: offset_and_flags & 0x1 != 0,
                ident: field::u32_at(header, 4),
            };
            fragment = Some(info);
            if info.offset != 0 {
                return Ok(UpperLayer {
                    protocol: next,
                    offset,
                    fragment,
                });
            }
        }
        protocol = next;
    }
    Err(ParseError::TooManyHeaders)
}
