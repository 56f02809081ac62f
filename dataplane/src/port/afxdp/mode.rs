//! How the XDP program is attached and how a socket is bound: the two
//! choices that decide whether a port runs at driver speed or through the
//! kernel's generic path, and whether frames are copied.

use std::fmt;

/// Where the XDP program that steers frames to the sockets runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum XdpAttachMode {
    /// Native if the driver supports it, generic otherwise.
    #[default]
    Auto,
    /// In the driver, before an skb exists (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// In the kernel's receive path, after the skb is built
    /// (`XDP_FLAGS_SKB_MODE`): works on every device, slower.
    Generic,
}

/// How an AF_XDP socket shares frames with the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BindMode {
    /// Zero-copy if the driver supports it, copy otherwise.
    #[default]
    Auto,
    /// The device DMAs straight into the UMEM (`XDP_ZEROCOPY`).
    ZeroCopy,
    /// The kernel copies between its buffers and the UMEM (`XDP_COPY`):
    /// what veth and most virtual devices offer.
    Copy,
}

impl fmt::Display for XdpAttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Native => "native",
            Self::Generic => "generic",
        })
    }
}

impl fmt::Display for BindMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::ZeroCopy => "zero-copy",
            Self::Copy => "copy",
        })
    }
}

impl std::str::FromStr for XdpAttachMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "native" | "driver" => Ok(Self::Native),
            "generic" | "skb" => Ok(Self::Generic),
            other => Err(format!(
                "unknown XDP attach mode {other:?} (expected auto, native or generic)"
            )),
        }
    }
}

impl std::str::FromStr for BindMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "zero-copy" | "zerocopy" | "zc" => Ok(Self::ZeroCopy),
            "copy" => Ok(Self::Copy),
            other => Err(format!(
                "unknown AF_XDP bind mode {other:?} (expected auto, zero-copy or copy)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_what_they_print() {
        for mode in [
            XdpAttachMode::Auto,
            XdpAttachMode::Native,
            XdpAttachMode::Generic,
        ] {
            assert_eq!(mode.to_string().parse::<XdpAttachMode>(), Ok(mode));
        }
        for mode in [BindMode::Auto, BindMode::ZeroCopy, BindMode::Copy] {
            assert_eq!(mode.to_string().parse::<BindMode>(), Ok(mode));
        }
        assert!("turbo".parse::<BindMode>().is_err());
        assert!("hw".parse::<XdpAttachMode>().is_err());
    }
}
