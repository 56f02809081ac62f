//! What a prefix resolves to, packed into the 32-bit value the LPM stores.

use std::fmt;

/// Index of a next-hop group in the FIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// Why a route rejects packets instead of forwarding them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteTarget {
    /// The destination is one of the router's own addresses: punt to the host.
    Local,
    /// Drop silently (a "blackhole" / null route).
    Blackhole,
    /// Drop and answer with ICMP destination unreachable (a "reject" route).
    Unreachable,
    /// Forward through a next-hop group.
    Group(GroupId),
}

const LOCAL: u32 = 1;
const BLACKHOLE: u32 = 2;
const UNREACHABLE: u32 = 3;
/// Values below this are reserved for the special targets above.
const GROUP_BASE: u32 = 16;

impl RouteTarget {
    /// The largest group id a target can carry, given the LPM's value width.
    pub const MAX_GROUP: u32 = crate::fib::lpm::StrideLpm::<u32>::MAX_VALUE - GROUP_BASE;

    /// The LPM value for this target (never 0, which means "no route").
    #[inline]
    pub fn encode(self) -> u32 {
        match self {
            RouteTarget::Local => LOCAL,
            RouteTarget::Blackhole => BLACKHOLE,
            RouteTarget::Unreachable => UNREACHABLE,
            RouteTarget::Group(GroupId(g)) => GROUP_BASE + g,
        }
    }

    /// The target an LPM value stands for; `None` for 0 (no route) and for
    /// reserved values.
    #[inline]
    pub fn decode(value: u32) -> Option<RouteTarget> {
        match value {
            LOCAL => Some(RouteTarget::Local),
            BLACKHOLE => Some(RouteTarget::Blackhole),
            UNREACHABLE => Some(RouteTarget::Unreachable),
            v if v >= GROUP_BASE => Some(RouteTarget::Group(GroupId(v - GROUP_BASE))),
            _ => None,
        }
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteTarget::Local => f.write_str("local"),
            RouteTarget::Blackhole => f.write_str("blackhole"),
            RouteTarget::Unreachable => f.write_str("unreachable"),
            RouteTarget::Group(GroupId(g)) => write!(f, "group {g}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for t in [
            RouteTarget::Local,
            RouteTarget::Blackhole,
            RouteTarget::Unreachable,
            RouteTarget::Group(GroupId(0)),
            RouteTarget::Group(GroupId(RouteTarget::MAX_GROUP)),
        ] {
            assert_ne!(t.encode(), 0);
            assert_eq!(RouteTarget::decode(t.encode()), Some(t));
        }
        assert_eq!(RouteTarget::decode(0), None);
        assert_eq!(RouteTarget::decode(7), None);
    }
}
