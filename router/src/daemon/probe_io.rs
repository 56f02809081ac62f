//! The static protocol's probes on real sockets: one socket per probe,
//! bound to the port's twin, opened when the probe first sends and closed
//! when the protocol stops the probe (cancels its timer). Answers go back
//! to the protocol as `ProbeReply` events from the event loop.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;

use controlplane::clock::MonotonicClock;
use controlplane::event_loop::{EventLoop, IoToken, ProtocolHandle};
use controlplane::protocol::{Input, PortId};
use controlplane::static_routing::{ProbeId, ProbeKind, StaticEvent, StaticRouting};
use ipnet::IpNet;
use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::config::Config;
use crate::host::{ArpProbe, EchoProbe, HostError, NdProbe, ProbeSocket};

/// A probe socket shared by the sender (the protocol's sink) and the event
/// loop, which owns registered sources.
#[derive(Clone)]
struct SharedSocket(Rc<RefCell<ProbeSocket>>);

impl Source for SharedSocket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.0.borrow_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.0.borrow_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.0.borrow_mut().deregister(registry)
    }
}

struct OpenProbe {
    socket: SharedSocket,
    /// `None` until registered with the loop.
    token: Option<IoToken>,
}

pub struct ProbeIo {
    /// Twin name and addresses of each port.
    ports: Vec<(String, Vec<IpNet>)>,
    open: BTreeMap<ProbeId, OpenProbe>,
    closed: Vec<IoToken>,
    /// Mixed into ICMP echo identifiers, so two routers' probes in one
    /// namespace do not take each other's answers.
    ident_base: u16,
}

impl ProbeIo {
    pub fn new(config: &Config, twins: &[String]) -> Self {
        ProbeIo {
            ports: config
                .ports
                .iter()
                .zip(twins)
                .map(|(p, twin)| (twin.clone(), p.addresses.clone()))
                .collect(),
            open: BTreeMap::new(),
            closed: Vec::new(),
            // The low bits of the pid: unique enough per host, and stable
            // for the life of the process.
            ident_base: (std::process::id() & 0xffff) as u16,
        }
    }

    /// Sends probe `probe`'s request `seq`, opening its socket first if
    /// needed. A failure is logged and counts as an unanswered probe: the
    /// tracker sees no reply and declares the target down in time.
    pub fn send(
        &mut self,
        probe: ProbeId,
        port: PortId,
        kind: ProbeKind,
        target: IpAddr,
        seq: u16,
    ) {
        if !self.open.contains_key(&probe) {
            match self.open_socket(probe, port, kind, target) {
                Ok(socket) => {
                    self.open.insert(
                        probe,
                        OpenProbe {
                            socket: SharedSocket(Rc::new(RefCell::new(socket))),
                            token: None,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(probe, port, %target, error = %e, "cannot open the probe socket; the probe counts as unanswered");
                    return;
                }
            }
        }
        if let Some(open) = self.open.get(&probe)
            && let Err(e) = open.socket.0.borrow_mut().send(seq)
        {
            tracing::debug!(probe, %target, error = %e, "probe not sent");
        }
    }

    /// The protocol stopped `probe`: its socket closes at the next
    /// [`ProbeIo::sync`].
    pub fn close(&mut self, probe: ProbeId) {
        if let Some(open) = self.open.remove(&probe)
            && let Some(token) = open.token
        {
            self.closed.push(token);
        }
    }

    fn open_socket(
        &self,
        probe: ProbeId,
        port: PortId,
        kind: ProbeKind,
        target: IpAddr,
    ) -> Result<ProbeSocket, HostError> {
        let Some((twin, addresses)) = self.ports.get(usize::from(port)) else {
            return Err(HostError::NoSuchInterface(format!("port {port}")));
        };
        // The port's address on the target's subnet, else any of its
        // family (validation made sure there is one).
        let source = addresses
            .iter()
            .find(|a| a.contains(&target))
            .or_else(|| {
                addresses
                    .iter()
                    .find(|a| a.addr().is_ipv4() == target.is_ipv4())
            })
            .map(IpNet::addr);
        Ok(match (kind, target, source) {
            (ProbeKind::Icmp, _, _) => ProbeSocket::Echo(EchoProbe::open(
                twin,
                source,
                target,
                self.ident_base.wrapping_add(probe as u16),
            )?),
            (ProbeKind::Arp, IpAddr::V4(target), Some(IpAddr::V4(source))) => {
                ProbeSocket::Arp(ArpProbe::open(twin, source, target)?)
            }
            (ProbeKind::Nd, IpAddr::V6(target), Some(IpAddr::V6(source))) => {
                ProbeSocket::Nd(NdProbe::open(twin, source, target)?)
            }
            _ => {
                return Err(HostError::Io {
                    op: "open probe socket",
                    interface: twin.clone(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "a {kind:?} probe to {target} needs a source address of its family"
                        ),
                    ),
                });
            }
        })
    }

    /// Registers sockets opened since the last call and deregisters closed
    /// ones. Called once per turn by the control plane.
    pub fn sync(
        this: &Rc<RefCell<ProbeIo>>,
        event_loop: &mut EventLoop<MonotonicClock>,
        statics: ProtocolHandle<StaticRouting>,
    ) {
        let (new, closed) = {
            let mut io = this.borrow_mut();
            let closed = std::mem::take(&mut io.closed);
            let new: Vec<(ProbeId, SharedSocket)> = io
                .open
                .iter()
                .filter(|(_, o)| o.token.is_none())
                .map(|(id, o)| (*id, o.socket.clone()))
                .collect();
            (new, closed)
        };
        for token in closed {
            event_loop.remove_io(token);
        }
        for (probe, socket) in new {
            let registered = event_loop.add_io(
                socket,
                Interest::READABLE,
                move |socket: &mut SharedSocket, _event, context| loop {
                    let answer = socket.0.borrow_mut().recv();
                    match answer {
                        Ok(Some(seq)) => context.deliver(
                            statics,
                            Input::Protocol(StaticEvent::ProbeReply { probe, seq }),
                        ),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::debug!(probe, error = %e, "probe socket read failed");
                            break;
                        }
                    }
                },
            );
            let mut io = this.borrow_mut();
            match registered {
                Ok(token) => match io.open.get_mut(&probe) {
                    Some(open) => open.token = Some(token),
                    // Closed in the meantime.
                    None => io.closed.push(token),
                },
                Err(e) => {
                    tracing::warn!(probe, error = %e, "cannot watch the probe socket; its answers go unseen");
                    io.open.remove(&probe);
                }
            }
        }
    }
}
