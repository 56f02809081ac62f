//! ICMP for IPv4 (RFC 792), with the Fragmentation Needed MTU of RFC 1191.

use std::net::Ipv4Addr;

use super::checksum;
use super::error::ParseError;
use super::field;

/// Type, code, checksum and the four type-specific octets.
pub const HEADER_LEN: usize = 8;

mod offset {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const IDENT: usize = 4;
    pub const SEQ_NO: usize = 6;
    pub const POINTER: usize = 4;
    pub const GATEWAY: usize = 4;
    pub const NEXT_HOP_MTU: usize = 6;
}

/// Destination Unreachable codes (RFC 792; RFC 1812 §5.2.7.1).
pub mod dst_unreachable_code {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTOCOL: u8 = 2;
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
    /// Communication administratively prohibited (RFC 1812 §5.2.7.1).
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Time Exceeded codes (RFC 792).
pub mod time_exceeded_code {
    pub const TTL: u8 = 0;
    pub const REASSEMBLY: u8 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Type {
    EchoReply,
    DstUnreachable,
    SourceQuench,
    Redirect,
    EchoRequest,
    TimeExceeded,
    ParamProblem,
    Unknown(u8),
}

impl From<u8> for Icmpv4Type {
    fn from(value: u8) -> Self {
        match value {
            0 => Icmpv4Type::EchoReply,
            3 => Icmpv4Type::DstUnreachable,
            4 => Icmpv4Type::SourceQuench,
            5 => Icmpv4Type::Redirect,
            8 => Icmpv4Type::EchoRequest,
            11 => Icmpv4Type::TimeExceeded,
            12 => Icmpv4Type::ParamProblem,
            other => Icmpv4Type::Unknown(other),
        }
    }
}

impl From<Icmpv4Type> for u8 {
    fn from(value: Icmpv4Type) -> Self {
        match value {
            Icmpv4Type::EchoReply => 0,
            Icmpv4Type::DstUnreachable => 3,
            Icmpv4Type::SourceQuench => 4,
            Icmpv4Type::Redirect => 5,
            Icmpv4Type::EchoRequest => 8,
            Icmpv4Type::TimeExceeded => 11,
            Icmpv4Type::ParamProblem => 12,
            Icmpv4Type::Unknown(other) => other,
        }
    }
}

impl Icmpv4Type {
    /// Error messages, which must never be sent about another ICMP error
    /// (RFC 1812 §4.3.2.7).
    pub fn is_error(self) -> bool {
        matches!(u8::from(self), 3 | 4 | 5 | 11 | 12)
    }
}

/// A view of an ICMPv4 message; the buffer is the whole IPv4 payload.
#[derive(Debug, Clone, Copy)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        Ok(Icmpv4Packet { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn buf(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn msg_type(&self) -> Icmpv4Type {
        Icmpv4Type::from(field::u8_at(self.buf(), offset::TYPE))
    }

    pub fn code(&self) -> u8 {
        field::u8_at(self.buf(), offset::CODE)
    }

    pub fn checksum(&self) -> u16 {
        field::u16_at(self.buf(), offset::CHECKSUM)
    }

    pub fn echo_ident(&self) -> u16 {
        field::u16_at(self.buf(), offset::IDENT)
    }

    pub fn echo_seq_no(&self) -> u16 {
        field::u16_at(self.buf(), offset::SEQ_NO)
    }

    /// Next-hop MTU of a Fragmentation Needed message (RFC 1191 §4).
    pub fn next_hop_mtu(&self) -> u16 {
        field::u16_at(self.buf(), offset::NEXT_HOP_MTU)
    }

    /// Octet in error of a Parameter Problem message.
    pub fn pointer(&self) -> u8 {
        field::u8_at(self.buf(), offset::POINTER)
    }

    /// Gateway address of a Redirect message.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(field::array_at::<4>(self.buf(), offset::GATEWAY))
    }

    /// Everything after the 8-byte header: echo data, or the quoted
    /// datagram of an error message.
    pub fn data(&self) -> &[u8] {
        field::tail(self.buf(), HEADER_LEN)
    }

    pub fn is_error(&self) -> bool {
        self.msg_type().is_error()
    }

    pub fn verify_checksum(&self) -> bool {
        self.buf().len() >= HEADER_LEN && checksum::fold(checksum::sum(self.buf())) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// The data (after the 8-byte header) with the lifetime of the
    /// underlying buffer.
    pub fn into_data(self) -> &'a [u8] {
        field::tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_msg_type(&mut self, msg_type: Icmpv4Type) {
        field::set_u8(self.buf_mut(), offset::TYPE, msg_type.into());
    }

    pub fn set_code(&mut self, code: u8) {
        field::set_u8(self.buf_mut(), offset::CODE, code);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::CHECKSUM, value);
    }

    pub fn set_echo_ident(&mut self, ident: u16) {
        field::set_u16(self.buf_mut(), offset::IDENT, ident);
    }

    pub fn set_echo_seq_no(&mut self, seq_no: u16) {
        field::set_u16(self.buf_mut(), offset::SEQ_NO, seq_no);
    }

    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        field::set_u16(self.buf_mut(), offset::NEXT_HOP_MTU, mtu);
    }

    pub fn set_pointer(&mut self, pointer: u8) {
        field::set_u8(self.buf_mut(), offset::POINTER, pointer);
    }

    pub fn set_gateway(&mut self, addr: Ipv4Addr) {
        field::set_array(self.buf_mut(), offset::GATEWAY, addr.octets());
    }

    /// Zeroes the four type-specific octets (the "unused" field of most
    /// error messages).
    pub fn clear_rest_of_header(&mut self) {
        field::set_u32(self.buf_mut(), offset::IDENT, 0);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        let buf = self.buf_mut();
        let len = buf.len();
        field::range_mut(buf, HEADER_LEN, len)
    }

    /// Computes the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::internet_checksum(self.buf());
        self.set_checksum(value);
    }
}

/// An ICMPv4 message a router sends or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
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
    /// `next_hop_mtu` is meaningful for code FRAG_NEEDED and zero otherwise.
    DstUnreachable {
        code: u8,
        next_hop_mtu: u16,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    ParamProblem {
        code: u8,
        pointer: u8,
        data: &'a [u8],
    },
    Redirect {
        code: u8,
        gateway: Ipv4Addr,
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Checks the length and the checksum; other message types are
    /// [`ParseError::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv4Packet<&'a T>,
    ) -> Result<Self, ParseError> {
        let buf: &'a [u8] = packet.buffer.as_ref();
        let packet = Icmpv4Packet::new_checked(buf)?;
        if !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        let data = field::tail(buf, HEADER_LEN);
        let code = packet.code();
        Ok(match packet.msg_type() {
            Icmpv4Type::EchoRequest => Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Icmpv4Type::EchoReply => Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Icmpv4Type::DstUnreachable => Icmpv4Repr::DstUnreachable {
                code,
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            },
            Icmpv4Type::TimeExceeded => Icmpv4Repr::TimeExceeded { code, data },
            Icmpv4Type::ParamProblem => Icmpv4Repr::ParamProblem {
                code,
                pointer: packet.pointer(),
                data,
            },
            Icmpv4Type::Redirect => Icmpv4Repr::Redirect {
                code,
                gateway: packet.gateway(),
                data,
            },
            _ => return Err(ParseError::Unsupported),
        })
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::DstUnreachable { data, .. }
            | Icmpv4Repr::TimeExceeded { data, .. }
            | Icmpv4Repr::ParamProblem { data, .. }
            | Icmpv4Repr::Redirect { data, .. } => data,
        }
    }

    /// The whole message: header plus data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the whole message and its checksum. `packet` should be
    /// exactly `buffer_len()` bytes, as the checksum covers all of it; data
    /// that does not fit is cut.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        packet.clear_rest_of_header();
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                let msg_type = if matches!(self, Icmpv4Repr::EchoRequest { .. }) {
                    Icmpv4Type::EchoRequest
                } else {
                    Icmpv4Type::EchoReply
                };
                packet.set_msg_type(msg_type);
                packet.set_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv4Repr::DstUnreachable {
                code, next_hop_mtu, ..
            } => {
                packet.set_msg_type(Icmpv4Type::DstUnreachable);
                packet.set_code(code);
                packet.set_next_hop_mtu(next_hop_mtu);
            }
            Icmpv4Repr::TimeExceeded { code, .. } => {
                packet.set_msg_type(Icmpv4Type::TimeExceeded);
                packet.set_code(code);
            }
            Icmpv4Repr::ParamProblem { code, pointer, .. } => {
                packet.set_msg_type(Icmpv4Type::ParamProblem);
                packet.set_code(code);
                packet.set_pointer(pointer);
            }
            Icmpv4Repr::Redirect { code, gateway, .. } => {
                packet.set_msg_type(Icmpv4Type::Redirect);
                packet.set_code(code);
                packet.set_gateway(gateway);
            }
        }
        let data = self.data();
        let out = packet.data_mut();
        let n = data.len().min(out.len());
        if let (Some(out), Some(data)) = (out.get_mut(..n), data.get(..n)) {
            out.copy_from_slice(data);
        }
        packet.fill_checksum();
    }
}
