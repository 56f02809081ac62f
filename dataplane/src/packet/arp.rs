//! ARP for IPv4 over Ethernet (RFC 826).
//!
//! Other hardware or protocol types are refused with
//! [`ParseError::Unsupported`]: a router on Ethernet has no use for them,
//! and fixing the address sizes keeps every field at a constant offset.

use std::net::Ipv4Addr;

use super::MacAddr;
use super::error::ParseError;
use super::field;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

mod offset {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    /// End of the part common to every hardware/protocol type.
    pub const FIXED_END: usize = 8;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    Request,
    Reply,
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// A view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Accepts only Ethernet (1) / IPv4 (0x0800) with 6- and 4-byte
    /// addresses; trailing bytes (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = ArpPacket { buffer };
        if packet.buffer.as_ref().len() < offset::FIXED_END {
            return Err(ParseError::Truncated);
        }
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != PTYPE_IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(ParseError::Unsupported);
        }
        if packet.buffer.as_ref().len() < PACKET_LEN {
            return Err(ParseError::Truncated);
        }
        Ok(packet)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn hardware_type(&self) -> u16 {
        field::u16_at(self.buffer.as_ref(), offset::HTYPE)
    }

    pub fn protocol_type(&self) -> u16 {
        field::u16_at(self.buffer.as_ref(), offset::PTYPE)
    }

    pub fn hardware_len(&self) -> u8 {
        field::u8_at(self.buffer.as_ref(), offset::HLEN)
    }

    pub fn protocol_len(&self) -> u8 {
        field::u8_at(self.buffer.as_ref(), offset::PLEN)
    }

    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(field::u16_at(self.buffer.as_ref(), offset::OPER))
    }

    pub fn sender_hardware_addr(&self) -> MacAddr {
        MacAddr(field::array_at(self.buffer.as_ref(), offset::SHA))
    }

    pub fn sender_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(field::array_at::<4>(self.buffer.as_ref(), offset::SPA))
    }

    pub fn target_hardware_addr(&self) -> MacAddr {
        MacAddr(field::array_at(self.buffer.as_ref(), offset::THA))
    }

    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(field::array_at::<4>(self.buffer.as_ref(), offset::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    pub fn set_hardware_type(&mut self, value: u16) {
        field::set_u16(self.buffer.as_mut(), offset::HTYPE, value);
    }

    pub fn set_protocol_type(&mut self, value: u16) {
        field::set_u16(self.buffer.as_mut(), offset::PTYPE, value);
    }

    pub fn set_hardware_len(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), offset::HLEN, value);
    }

    pub fn set_protocol_len(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), offset::PLEN, value);
    }

    pub fn set_operation(&mut self, value: ArpOperation) {
        field::set_u16(self.buffer.as_mut(), offset::OPER, value.into());
    }

    pub fn set_sender_hardware_addr(&mut self, addr: MacAddr) {
        field::set_array(self.buffer.as_mut(), offset::SHA, addr.0);
    }

    pub fn set_sender_protocol_addr(&mut self, addr: Ipv4Addr) {
        field::set_array(self.buffer.as_mut(), offset::SPA, addr.octets());
    }

    pub fn set_target_hardware_addr(&mut self, addr: MacAddr) {
        field::set_array(self.buffer.as_mut(), offset::THA, addr.0);
    }

    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        field::set_array(self.buffer.as_mut(), offset::TPA, addr.octets());
    }
}

/// An Ethernet/IPv4 ARP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub sender_hardware_addr: MacAddr,
    pub sender_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: MacAddr,
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Re-checks what `new_checked` checks, so a view made with
    /// `new_unchecked` is parsed just as safely.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self, ParseError> {
        let packet = ArpPacket::new_checked(packet.buffer.as_ref())?;
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_hardware_addr: packet.sender_hardware_addr(),
            sender_protocol_addr: packet.sender_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(PTYPE_IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(self.sender_hardware_addr);
        packet.set_sender_protocol_addr(self.sender_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}
