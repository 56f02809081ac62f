//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages a router needs
//! (RFC 4861).

mod ndp;

use std::net::Ipv6Addr;

pub use ndp::{
    LLADDR_OPTION_LEN, NdpNeighborAdvert, NdpNeighborSolicit, NdpOption, NdpOptionType, NdpOptions,
};

use super::checksum;
use super::error::ParseError;
use super::field;
use super::ip_protocol::IpProtocol;

/// Type, code and checksum: the part every message has.
pub const MIN_LEN: usize = 4;
/// Type, code, checksum and the 4-byte type-specific field that error,
/// echo and ND messages all start with.
pub const HEADER_LEN: usize = 8;
/// An NS or NA up to its target address, before options.
pub const NEIGHBOR_MSG_LEN: usize = 24;

mod offset {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const MTU: usize = 4;
    pub const POINTER: usize = 4;
    pub const IDENT: usize = 4;
    pub const SEQ_NO: usize = 6;
    pub const NA_FLAGS: usize = 4;
    pub const TARGET: usize = 8;
}

const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_SOLICITED: u8 = 0x40;
const NA_FLAG_OVERRIDE: u8 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Type {
    DstUnreachable,
    PacketTooBig,
    TimeExceeded,
    ParamProblem,
    EchoRequest,
    EchoReply,
    RouterSolicit,
    RouterAdvert,
    NeighborSolicit,
    NeighborAdvert,
    Redirect,
    Unknown(u8),
}

impl From<u8> for Icmpv6Type {
    fn from(value: u8) -> Self {
        match value {
            1 => Icmpv6Type::DstUnreachable,
            2 => Icmpv6Type::PacketTooBig,
            3 => Icmpv6Type::TimeExceeded,
            4 => Icmpv6Type::ParamProblem,
            128 => Icmpv6Type::EchoRequest,
            129 => Icmpv6Type::EchoReply,
            133 => Icmpv6Type::RouterSolicit,
            134 => Icmpv6Type::RouterAdvert,
            135 => Icmpv6Type::NeighborSolicit,
            136 => Icmpv6Type::NeighborAdvert,
            137 => Icmpv6Type::Redirect,
            other => Icmpv6Type::Unknown(other),
        }
    }
}

impl From<Icmpv6Type> for u8 {
    fn from(value: Icmpv6Type) -> Self {
        match value {
            Icmpv6Type::DstUnreachable => 1,
            Icmpv6Type::PacketTooBig => 2,
            Icmpv6Type::TimeExceeded => 3,
            Icmpv6Type::ParamProblem => 4,
            Icmpv6Type::EchoRequest => 128,
            Icmpv6Type::EchoReply => 129,
            Icmpv6Type::RouterSolicit => 133,
            Icmpv6Type::RouterAdvert => 134,
            Icmpv6Type::NeighborSolicit => 135,
            Icmpv6Type::NeighborAdvert => 136,
            Icmpv6Type::Redirect => 137,
            Icmpv6Type::Unknown(other) => other,
        }
    }
}

impl Icmpv6Type {
    /// Error messages have types 0–127 (RFC 4443 §2.1).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// The shortest valid message of this type; for ND messages, the fixed
    /// part before options (RFC 4861 §4.1–§4.5).
    pub fn min_len(self) -> usize {
        match self {
            Icmpv6Type::Unknown(_) => MIN_LEN,
            Icmpv6Type::RouterAdvert => 16,
            Icmpv6Type::NeighborSolicit | Icmpv6Type::NeighborAdvert => NEIGHBOR_MSG_LEN,
            Icmpv6Type::Redirect => 40,
            _ => HEADER_LEN,
        }
    }

    /// Where ND options start, for the ND message types.
    fn ndp_options_offset(self) -> Option<usize> {
        match self {
            Icmpv6Type::RouterSolicit
            | Icmpv6Type::RouterAdvert
            | Icmpv6Type::NeighborSolicit
            | Icmpv6Type::NeighborAdvert
            | Icmpv6Type::Redirect => Some(self.min_len()),
            _ => None,
        }
    }
}

/// Error-message codes (RFC 4443 §3).
pub mod dst_unreachable_code {
    pub const NO_ROUTE: u8 = 0;
    pub const ADMIN_PROHIBITED: u8 = 1;
    pub const BEYOND_SCOPE: u8 = 2;
    pub const ADDRESS: u8 = 3;
    pub const PORT: u8 = 4;
    pub const SOURCE_POLICY: u8 = 5;
    pub const REJECT_ROUTE: u8 = 6;
}

pub mod time_exceeded_code {
    pub const HOP_LIMIT: u8 = 0;
    pub const REASSEMBLY: u8 = 1;
}

/// A view of an ICMPv6 message; the buffer is the whole upper-layer
/// payload of the IPv6 packet, as the checksum covers all of it.
#[derive(Debug, Clone, Copy)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Requires the fixed part of the message's type ([`Icmpv6Type::min_len`]).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Icmpv6Packet { buffer };
        let len = packet.buf().len();
        if len < MIN_LEN || len < packet.msg_type().min_len() {
            return Err(ParseError::Truncated);
        }
        Ok(packet)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn buf(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn msg_type(&self) -> Icmpv6Type {
        Icmpv6Type::from(field::u8_at(self.buf(), offset::TYPE))
    }

    pub fn code(&self) -> u8 {
        field::u8_at(self.buf(), offset::CODE)
    }

    pub fn checksum(&self) -> u16 {
        field::u16_at(self.buf(), offset::CHECKSUM)
    }

    pub fn is_error(&self) -> bool {
        self.msg_type().is_error()
    }

    /// MTU of a Packet Too Big message (RFC 4443 §3.2).
    pub fn mtu(&self) -> u32 {
        field::u32_at(self.buf(), offset::MTU)
    }

    /// Pointer of a Parameter Problem message (RFC 4443 §3.4).
    pub fn pointer(&self) -> u32 {
        field::u32_at(self.buf(), offset::POINTER)
    }

    pub fn echo_ident(&self) -> u16 {
        field::u16_at(self.buf(), offset::IDENT)
    }

    pub fn echo_seq_no(&self) -> u16 {
        field::u16_at(self.buf(), offset::SEQ_NO)
    }

    /// Everything after the first 8 bytes: echo data, or the invoking
    /// packet quoted by an error message.
    pub fn data(&self) -> &[u8] {
        field::tail(self.buf(), HEADER_LEN)
    }

    /// Target Address of an NS, NA or Redirect.
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(field::array_at::<16>(self.buf(), offset::TARGET))
    }

    fn na_flags(&self) -> u8 {
        field::u8_at(self.buf(), offset::NA_FLAGS)
    }

    pub fn router_flag(&self) -> bool {
        self.na_flags() & NA_FLAG_ROUTER != 0
    }

    pub fn solicited_flag(&self) -> bool {
        self.na_flags() & NA_FLAG_SOLICITED != 0
    }

    pub fn override_flag(&self) -> bool {
        self.na_flags() & NA_FLAG_OVERRIDE != 0
    }

    /// The options of an ND message; empty for other types.
    pub fn ndp_options(&self) -> NdpOptions<'_> {
        match self.msg_type().ndp_options_offset() {
            Some(at) => NdpOptions::new(field::tail(self.buf(), at)),
            None => NdpOptions::new(&[]),
        }
    }

    /// RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header and the
    /// whole message.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.buf().len() >= MIN_LEN && checksum::fold(message_sum(self.buf(), src, dst)) == 0xffff
    }
}

fn message_sum(message: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> u32 {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6.into(), len) + checksum::sum(message)
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv6Packet<&'a T> {
    /// The data (after the first 8 bytes) with the lifetime of the
    /// underlying buffer.
    pub fn into_data(self) -> &'a [u8] {
        field::tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_msg_type(&mut self, msg_type: Icmpv6Type) {
        field::set_u8(self.buf_mut(), offset::TYPE, msg_type.into());
    }

    pub fn set_code(&mut self, code: u8) {
        field::set_u8(self.buf_mut(), offset::CODE, code);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::CHECKSUM, value);
    }

    pub fn set_mtu(&mut self, mtu: u32) {
        field::set_u32(self.buf_mut(), offset::MTU, mtu);
    }

    pub fn set_pointer(&mut self, pointer: u32) {
        field::set_u32(self.buf_mut(), offset::POINTER, pointer);
    }

    pub fn set_echo_ident(&mut self, ident: u16) {
        field::set_u16(self.buf_mut(), offset::IDENT, ident);
    }

    pub fn set_echo_seq_no(&mut self, seq_no: u16) {
        field::set_u16(self.buf_mut(), offset::SEQ_NO, seq_no);
    }

    pub fn set_target_addr(&mut self, addr: Ipv6Addr) {
        field::set_array(self.buf_mut(), offset::TARGET, addr.octets());
    }

    /// Writes the NA flags and zeroes the rest of the reserved field.
    pub fn set_na_flags(&mut self, router: bool, solicited: bool, override_: bool) {
        let flags = if router { NA_FLAG_ROUTER } else { 0 }
            | if solicited { NA_FLAG_SOLICITED } else { 0 }
            | if override_ { NA_FLAG_OVERRIDE } else { 0 };
        field::set_u32(self.buf_mut(), offset::NA_FLAGS, u32::from(flags) << 24);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        let buf = self.buf_mut();
        let len = buf.len();
        field::range_mut(buf, HEADER_LEN, len)
    }

    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let value = !checksum::fold(message_sum(self.buf(), src, dst));
        self.set_checksum(value);
    }
}

/// An ICMPv6 message a router sends or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Repr<'a> {
    DstUnreachable {
        code: u8,
        data: &'a [u8],
    },
    PacketTooBig {
        mtu: u32,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    ParamProblem {
        code: u8,
        pointer: u32,
        data: &'a [u8],
    },
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    NeighborSolicit(NdpNeighborSolicit),
    NeighborAdvert(NdpNeighborAdvert),
}

fn is_solicited_node_multicast(addr: &Ipv6Addr) -> bool {
    // ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
    let o = addr.octets();
    o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff]
}

impl<'a> Icmpv6Repr<'a> {
    /// Verifies the checksum against the pseudo-header of `src`/`dst`, and
    /// for NS/NA the validity rules of RFC 4861 §7.1.1/§7.1.2 that can be
    /// checked here (the IP hop limit of 255 is the caller's to check).
    /// Other message types are [`ParseError::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &Icmpv6Packet<&'a T>,
    ) -> Result<Self, ParseError> {
        let buf: &'a [u8] = packet.buffer.as_ref();
        let packet = Icmpv6Packet::new_checked(buf)?;
        if !packet.verify_checksum(src, dst) {
            return Err(ParseError::BadChecksum);
        }
        let data = field::tail(buf, HEADER_LEN);
        let code = packet.code();
        Ok(match packet.msg_type() {
            Icmpv6Type::DstUnreachable => Icmpv6Repr::DstUnreachable { code, data },
            Icmpv6Type::PacketTooBig => Icmpv6Repr::PacketTooBig {
                mtu: packet.mtu(),
                data,
            },
            Icmpv6Type::TimeExceeded => Icmpv6Repr::TimeExceeded { code, data },
            Icmpv6Type::ParamProblem => Icmpv6Repr::ParamProblem {
                code,
                pointer: packet.pointer(),
                data,
            },
            Icmpv6Type::EchoRequest => Icmpv6Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Icmpv6Type::EchoReply => Icmpv6Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Icmpv6Type::NeighborSolicit => {
                let target = check_neighbor_common(&packet)?;
                let source_lladdr =
                    ndp::find_lladdr(packet.ndp_options(), NdpOptionType::SourceLinkLayerAddr)?;
                if src.is_unspecified() {
                    // §7.1.1: a DAD probe carries no source link-layer
                    // address and goes to a solicited-node group.
                    if source_lladdr.is_some() {
                        return Err(ParseError::Malformed(
                            "NS from :: with a source link-layer address",
                        ));
                    }
                    if !is_solicited_node_multicast(dst) {
                        return Err(ParseError::Malformed(
                            "NS from :: not to a solicited-node address",
                        ));
                    }
                }
                Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit {
                    target,
                    source_lladdr,
                })
            }
            Icmpv6Type::NeighborAdvert => {
                let target = check_neighbor_common(&packet)?;
                let solicited = packet.solicited_flag();
                // §7.1.2: a multicast advertisement cannot be solicited.
                if dst.is_multicast() && solicited {
                    return Err(ParseError::Malformed("solicited NA to a multicast address"));
                }
                let target_lladdr =
                    ndp::find_lladdr(packet.ndp_options(), NdpOptionType::TargetLinkLayerAddr)?;
                Icmpv6Repr::NeighborAdvert(NdpNeighborAdvert {
                    router: packet.router_flag(),
                    solicited,
                    override_: packet.override_flag(),
                    target,
                    target_lladdr,
                })
            }
            _ => return Err(ParseError::Unsupported),
        })
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv6Repr::DstUnreachable { data, .. }
            | Icmpv6Repr::PacketTooBig { data, .. }
            | Icmpv6Repr::TimeExceeded { data, .. }
            | Icmpv6Repr::ParamProblem { data, .. }
            | Icmpv6Repr::EchoRequest { data, .. }
            | Icmpv6Repr::EchoReply { data, .. } => data,
            Icmpv6Repr::NeighborSolicit(_) | Icmpv6Repr::NeighborAdvert(_) => &[],
        }
    }

    /// The whole message, options included.
    pub fn buffer_len(&self) -> usize {
        match self {
            Icmpv6Repr::NeighborSolicit(ns) => {
                NEIGHBOR_MSG_LEN
                    + if ns.source_lladdr.is_some() {
                        LLADDR_OPTION_LEN
                    } else {
                        0
                    }
            }
            Icmpv6Repr::NeighborAdvert(na) => {
                NEIGHBOR_MSG_LEN
                    + if na.target_lladdr.is_some() {
                        LLADDR_OPTION_LEN
                    } else {
                        0
                    }
            }
            _ => HEADER_LEN + self.data().len(),
        }
    }

    /// Writes the whole message and fills the checksum for `src`/`dst`.
    /// `packet` should be exactly `buffer_len()` bytes; data that does not
    /// fit is cut.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &mut Icmpv6Packet<T>,
    ) {
        // Zero the type-specific word so reserved bits go out as zero.
        packet.set_pointer(0);
        match *self {
            Icmpv6Repr::DstUnreachable { code, .. } => {
                packet.set_msg_type(Icmpv6Type::DstUnreachable);
                packet.set_code(code);
            }
            Icmpv6Repr::PacketTooBig { mtu, .. } => {
                packet.set_msg_type(Icmpv6Type::PacketTooBig);
                packet.set_code(0);
                packet.set_mtu(mtu);
            }
            Icmpv6Repr::TimeExceeded { code, .. } => {
                packet.set_msg_type(Icmpv6Type::TimeExceeded);
                packet.set_code(code);
            }
            Icmpv6Repr::ParamProblem { code, pointer, .. } => {
                packet.set_msg_type(Icmpv6Type::ParamProblem);
                packet.set_code(code);
                packet.set_pointer(pointer);
            }
            Icmpv6Repr::EchoRequest { ident, seq_no, .. } => {
                packet.set_msg_type(Icmpv6Type::EchoRequest);
                packet.set_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                packet.set_msg_type(Icmpv6Type::EchoReply);
                packet.set_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv6Repr::NeighborSolicit(ns) => {
                packet.set_msg_type(Icmpv6Type::NeighborSolicit);
                packet.set_code(0);
                packet.set_target_addr(ns.target);
                if let Some(mac) = ns.source_lladdr {
                    let options = field::range_mut(packet.buf_mut(), NEIGHBOR_MSG_LEN, usize::MAX);
                    ndp::emit_lladdr(options, NdpOptionType::SourceLinkLayerAddr, mac);
                }
            }
            Icmpv6Repr::NeighborAdvert(na) => {
                packet.set_msg_type(Icmpv6Type::NeighborAdvert);
                packet.set_code(0);
                packet.set_na_flags(na.router, na.solicited, na.override_);
                packet.set_target_addr(na.target);
                if let Some(mac) = na.target_lladdr {
                    let options = field::range_mut(packet.buf_mut(), NEIGHBOR_MSG_LEN, usize::MAX);
                    ndp::emit_lladdr(options, NdpOptionType::TargetLinkLayerAddr, mac);
                }
            }
        }
        let data = self.data();
        if !data.is_empty() {
            let out = packet.data_mut();
            let n = data.len().min(out.len());
            if let (Some(out), Some(data)) = (out.get_mut(..n), data.get(..n)) {
                out.copy_from_slice(data);
            }
        }
        packet.fill_checksum(src, dst);
    }
}

/// RFC 4861 §7.1.1/§7.1.2 checks shared by NS and NA: ICMP code 0 and a
/// target that is not multicast. Returns the target.
fn check_neighbor_common(packet: &Icmpv6Packet<&[u8]>) -> Result<Ipv6Addr, ParseError> {
    if packet.code() != 0 {
        return Err(ParseError::Malformed("ND message with non-zero code"));
    }
    let target = packet.target_addr();
    if target.is_multicast() {
        return Err(ParseError::Malformed("ND target is a multicast address"));
    }
    Ok(target)
}
