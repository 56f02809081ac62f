//! IPv4 header options (RFC 791 §3.1).
//!
//! Fragmentation needs them: only options whose *copied* flag is set are
//! repeated in every fragment after the first (RFC 791 §3.2).

use crate::packet::error::ParseError;

const KIND_END_OF_LIST: u8 = 0;
const KIND_NO_OPERATION: u8 = 1;

/// One option from an IPv4 header. End-of-Option-List is never yielded: it
/// ends the iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// The whole type octet (copied flag, class and number).
    pub kind: u8,
    /// The copied flag: the option belongs in every fragment.
    pub copied: bool,
    /// The option's data, after the type and length octets; empty for NOP.
    pub data: &'a [u8],
}

impl Ipv4Option<'_> {
    /// Bytes the option takes on the wire: 1 for the single-octet NOP,
    /// otherwise type + length + data.
    pub fn wire_len(&self) -> usize {
        if self.kind == KIND_NO_OPERATION || self.kind == KIND_END_OF_LIST {
            1
        } else {
            2 + self.data.len()
        }
    }

    /// Writes the option at the start of `out`; returns the bytes written,
    /// or `None` if `out` is too short or the data too long for the
    /// one-octet length field.
    pub fn emit(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.wire_len();
        let dst = out.get_mut(..len)?;
        match dst {
            [kind] => *kind = self.kind,
            [kind, len_octet, data @ ..] => {
                *kind = self.kind;
                *len_octet = u8::try_from(len).ok()?;
                data.copy_from_slice(self.data);
            }
            [] => return None,
        }
        Some(len)
    }
}

/// Iterator over the options area of an IPv4 header. After a malformed
/// option it yields that error once and then ends.
#[derive(Debug, Clone)]
pub struct Ipv4Options<'a> {
    rest: &'a [u8],
}

impl<'a> Ipv4Options<'a> {
    pub fn new(options: &'a [u8]) -> Self {
        Ipv4Options { rest: options }
    }
}

impl<'a> Iterator for Ipv4Options<'a> {
    type Item = Result<Ipv4Option<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after_kind) = self.rest.split_first()?;
        let copied = kind & 0x80 != 0;
        match kind {
            KIND_END_OF_LIST => {
                self.rest = &[];
                None
            }
            KIND_NO_OPERATION => {
                self.rest = after_kind;
                Some(Ok(Ipv4Option {
                    kind,
                    copied,
                    data: &[],
                }))
            }
            _ => {
                let option = match after_kind.first() {
                    None => Err(ParseError::Malformed("IPv4 option without length octet")),
                    Some(&len) if len < 2 => {
                        Err(ParseError::Malformed("IPv4 option length below 2"))
                    }
                    Some(&len) => match (
                        self.rest.get(2..usize::from(len)),
                        self.rest.get(usize::from(len)..),
                    ) {
                        (Some(data), Some(rest)) => {
                            self.rest = rest;
                            return Some(Ok(Ipv4Option { kind, copied, data }));
                        }
                        _ => Err(ParseError::Malformed("IPv4 option runs past the header")),
                    },
                };
                self.rest = &[];
                Some(option)
            }
        }
    }
}
