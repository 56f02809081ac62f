//! The control-plane thread's one event loop.
//!
//! It waits on three things at once with a single `epoll` (mio `Poll`):
//! I/O sources (the mgmt unix socket, BGP's TCP sessions, …), the
//! dataplane's event channel (woken through a `mio::Waker`), and the
//! earliest timer of the wheel (as the poll timeout). Whatever wakes it is
//! turned into a protocol [`Stimulus`]; the protocol's [`Action`]s come
//! back and are carried out: timers into the wheel, everything else to the
//! [`ActionSink`] the protocol was registered with.

use std::any::Any;
use std::collections::HashMap;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use mio::event::{Event, Source};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::clock::{Clock, Nanos};
use crate::protocol::{Action, Actions, Input, PortId, Protocol, Stimulus, TimerToken, deliver};
use crate::recorder::Recorder;
use crate::route::RibUpdate;
use crate::timer_wheel::{TimerId, TimerWheel};

const WAKER_TOKEN: Token = Token(usize::MAX);

/// Sizing of an [`EventLoop`].
#[derive(Debug, Clone, Copy)]
pub struct EventLoopOptions {
    /// Timer resolution. 1 ms is finer than any routing protocol needs
    /// (BFD's fast timers run on the dataplane, not here).
    pub tick_ns: Nanos,
    /// Dataplane events that may queue before the dataplane is told to
    /// retry; the dataplane never blocks on the control plane.
    pub dataplane_queue: usize,
    /// Dataplane events handled per turn before I/O gets a look in.
    pub dataplane_batch: usize,
    /// Readiness events fetched per poll.
    pub io_events: usize,
}

impl Default for EventLoopOptions {
    fn default() -> Self {
        EventLoopOptions {
            tick_ns: 1_000_000,
            dataplane_queue: 4096,
            dataplane_batch: 1024,
            io_events: 256,
        }
    }
}

/// What the dataplane tells the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataplaneEvent {
    /// A punted control packet (IP header on). `ip_protocol` (89 OSPF,
    /// 112 VRRP) picks the protocols subscribed to it.
    Packet {
        ip_protocol: u8,
        port: PortId,
        bytes: Vec<u8>,
    },
    /// Link state of a port; every protocol hears it.
    Interface { port: PortId, up: bool },
    /// A BFD session state change; every protocol hears it.
    Bfd { peer: IpAddr, up: bool },
}

/// The dataplane's end of the event channel. Cloneable, `Send`, and never
/// blocks: a full queue hands the event back for the caller to retry or
/// count as dropped.
#[derive(Debug, Clone)]
pub struct DataplaneSender {
    events: Sender<DataplaneEvent>,
    waker: Arc<Waker>,
    wake_pending: Arc<AtomicBool>,
}

impl DataplaneSender {
    pub fn send(&self, event: DataplaneEvent) -> Result<(), DataplaneEvent> {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event) | TrySendError::Disconnected(event)) => {
                return Err(event);
            }
        }
        // One wake per batch, not per event: the wake is a syscall, and the
        // loop drains the whole queue once woken.
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // A failed wake leaves the event queued; the loop drains the
            // queue on every turn, so it is delivered with the next wakeup.
            if let Err(error) = self.waker.wake() {
                tracing::warn!(%error, "waking the control-plane loop failed");
            }
        }
        Ok(())
    }
}

/// Asks a running loop to shut its protocols down and return. `Send`.
#[derive(Debug, Clone)]
pub struct StopHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl StopHandle {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Err(error) = self.waker.wake() {
            tracing::warn!(%error, "waking the control-plane loop to stop failed");
        }
    }
}

/// Where a protocol's outward actions go. Timer actions are the loop's own
/// business; [`ActionSink::observe`] still sees them, which is how tests and
/// traces get the complete, ordered action stream.
pub trait ActionSink<N> {
    fn send(&mut self, port: PortId, bytes: Vec<u8>);
    fn rib(&mut self, update: RibUpdate);
    fn notify(&mut self, notification: N);
    /// Called with every action, in order, before it is carried out.
    fn observe(&mut self, _now: Nanos, _action: &Action<N>) {}
}

/// Names a protocol registered with an [`EventLoop`], keeping its type so
/// protocol-specific events and configs are checked at compile time.
pub struct ProtocolHandle<P> {
    index: usize,
    _protocol: PhantomData<fn() -> P>,
}

impl<P> Clone for ProtocolHandle<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for ProtocolHandle<P> {}

impl<P> std::fmt::Debug for ProtocolHandle<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ProtocolHandle").field(&self.index).finish()
    }
}

/// Names a registered I/O source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoToken(Token);

/// Running totals, for tests and `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoopCounters {
    pub turns: u64,
    pub io_events: u64,
    pub dataplane_events: u64,
    /// Punted packets no protocol subscribed to.
    pub unrouted_packets: u64,
    pub timers_fired: u64,
    /// Records lost because the recorder's writer failed (it is then dropped).
    pub recorder_errors: u64,
}

/// The event loop. `C` is the clock: [`crate::clock::MonotonicClock`] in
/// production, [`crate::clock::FakeClock`] in tests.
pub struct EventLoop<C: Clock> {
    clock: C,
    poll: Poll,
    events: Events,
    core: Core,
    io: HashMap<Token, Box<dyn IoEntry>>,
    next_io_token: usize,
    dataplane_events: Receiver<DataplaneEvent>,
    dataplane_sender: DataplaneSender,
    dataplane_batch: usize,
    stop: Arc<AtomicBool>,
    started: bool,
}

impl<C: Clock> EventLoop<C> {
    pub fn new(clock: C) -> io::Result<Self> {
        Self::with_options(clock, EventLoopOptions::default())
    }

    /// # Panics
    /// If `options.tick_ns` is 0.
    pub fn with_options(clock: C, options: EventLoopOptions) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let (sender, receiver) = crossbeam_channel::bounded(options.dataplane_queue);
        let now = clock.now_ns();
        Ok(EventLoop {
            clock,
            poll,
            events: Events::with_capacity(options.io_events.max(1)),
            core: Core {
                protocols: Vec::new(),
                packet_routes: HashMap::new(),
                fired: Vec::new(),
                services: Services {
                    wheel: TimerWheel::starting_at(options.tick_ns, now),
                    armed: HashMap::new(),
                    recorder: None,
                    counters: LoopCounters::default(),
                },
            },
            io: HashMap::new(),
            next_io_token: 0,
            dataplane_events: receiver,
            dataplane_sender: DataplaneSender {
                events: sender,
                waker,
                wake_pending: Arc::new(AtomicBool::new(false)),
            },
            dataplane_batch: options.dataplane_batch.max(1),
            stop: Arc::new(AtomicBool::new(false)),
            started: false,
        })
    }

    /// The loop clock's time.
    pub fn now(&self) -> Nanos {
        self.clock.now_ns()
    }

    /// Read access to a registered protocol, e.g. for `show` commands.
    pub fn protocol<P: Protocol + 'static>(&mut self, handle: ProtocolHandle<P>) -> Option<&P> {
        self.core
            .protocols
            .get_mut(handle.index)
            .and_then(|slot| slot.as_any_mut().downcast_mut::<Slot<P>>())
            .map(|slot| &slot.protocol)
    }

    pub fn dataplane_sender(&self) -> DataplaneSender {
        self.dataplane_sender.clone()
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: Arc::clone(&self.stop),
            waker: Arc::clone(&self.dataplane_sender.waker),
        }
    }

    pub fn counters(&self) -> LoopCounters {
        self.core.services.counters
    }

    /// Timers armed across all protocols.
    pub fn armed_timers(&self) -> usize {
        self.core.services.wheel.len()
    }

    /// Records every stimulus delivered to every protocol from now on, one
    /// JSON line each (see [`crate::recorder`]).
    pub fn record_to(&mut self, out: Box<dyn Write>) {
        self.core.services.recorder = Some(Recorder::new(out));
    }

    /// Stops recording and returns the writer, flushed.
    pub fn stop_recording(&mut self) -> Option<Box<dyn Write>> {
        let mut recorder = self.core.services.recorder.take()?;
        if let Err(error) = recorder.flush() {
            tracing::warn!(%error, "flushing the recording failed");
        }
        Some(recorder.into_inner())
    }

    /// Registers a protocol; it is started on the loop's first turn, or
    /// right away if the loop is already running.
    pub fn add_protocol<P: Protocol + 'static>(
        &mut self,
        protocol: P,
        sink: Box<dyn ActionSink<P::Notification>>,
    ) -> ProtocolHandle<P> {
        let index = self.core.protocols.len();
        self.core.protocols.push(Box::new(Slot {
            protocol,
            sink,
            out: Actions::new(),
            running: false,
        }));
        if self.started {
            let now = self.clock.now_ns();
            self.core.start(index, now);
        }
        ProtocolHandle {
            index,
            _protocol: PhantomData,
        }
    }

    /// Routes punted packets of `ip_protocol` to `handle`'s protocol.
    pub fn subscribe_packets<P>(&mut self, handle: ProtocolHandle<P>, ip_protocol: u8) {
        let routes = self.core.packet_routes.entry(ip_protocol).or_default();
        if !routes.contains(&handle.index) {
            routes.push(handle.index);
        }
    }

    /// Delivers an input to one protocol now, outside any I/O handler.
    pub fn deliver<P: Protocol + 'static>(
        &mut self,
        handle: ProtocolHandle<P>,
        input: Input<P::Event>,
    ) {
        let now = self.clock.now_ns();
        self.core.deliver_typed(handle, now, Stimulus::Input(input));
    }

    /// Hands a protocol new configuration (BIRD-style reconfigure).
    pub fn reconfigure<P: Protocol + 'static>(
        &mut self,
        handle: ProtocolHandle<P>,
        config: P::Config,
    ) {
        let now = self.clock.now_ns();
        self.core
            .deliver_typed(handle, now, Stimulus::Reconfigure(config));
    }

    /// Registers an I/O source; `handler` runs with the source whenever it
    /// is ready. The loop owns the source from here on.
    pub fn add_io<S, F>(&mut self, source: S, interest: Interest, handler: F) -> io::Result<IoToken>
    where
        S: Source + 'static,
        F: FnMut(&mut S, &Event, &mut IoContext<'_>) + 'static,
    {
        let token = next_token(&mut self.next_io_token);
        let mut entry = IoSlot { source, handler };
        self.poll
            .registry()
            .register(&mut entry.source, token, interest)?;
        self.io.insert(token, Box::new(entry));
        Ok(IoToken(token))
    }

    /// Deregisters and drops an I/O source. Returns whether it existed.
    pub fn remove_io(&mut self, token: IoToken) -> bool {
        match self.io.remove(&token.0) {
            Some(mut entry) => {
                entry.deregister(self.poll.registry());
                true
            }
            None => false,
        }
    }

    /// Runs turns until [`StopHandle::stop`], then shuts every protocol down.
    pub fn run(&mut self) -> io::Result<()> {
        while !self.stop.load(Ordering::Acquire) {
            self.turn(None)?;
        }
        self.shutdown();
        Ok(())
    }

    /// One iteration: wait (at most `max_wait`, at most until the next
    /// timer), then handle ready I/O, the dataplane queue and due timers.
    /// Tests with a fake clock pass `Some(Duration::ZERO)` and move the clock.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let now = self.clock.now_ns();
            for index in 0..self.core.protocols.len() {
                self.core.start(index, now);
            }
        }
        self.core.services.counters.turns += 1;

        let wait = self.wait_budget(max_wait);
        if let Err(error) = self.poll.poll(&mut self.events, wait) {
            // A signal interrupting the wait is not an error: just turn again.
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
            self.events.clear();
        }
        let now = self.clock.now_ns();
        self.dispatch_io(now);
        self.drain_dataplane(now);
        self.core.fire_timers(now);
        Ok(())
    }

    /// Shuts every running protocol down (BIRD's shutdown hook) and drops
    /// their timers. The loop can be turned again, but protocols stay down.
    pub fn shutdown(&mut self) {
        let now = self.clock.now_ns();
        for index in 0..self.core.protocols.len() {
            self.core.stop(index, now);
        }
        if let Some(recorder) = self.core.services.recorder.as_mut()
            && let Err(error) = recorder.flush()
        {
            tracing::warn!(%error, "flushing the recording failed");
        }
    }

    fn wait_budget(&self, max_wait: Option<Duration>) -> Option<Duration> {
        if self.stop.load(Ordering::Acquire) || !self.dataplane_events.is_empty() {
            return Some(Duration::ZERO);
        }
        let until_timer = self
            .core
            .services
            .wheel
            .next_wakeup()
            .map(|at| Duration::from_nanos(at.saturating_sub(self.clock.now_ns())));
        match (until_timer, max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn dispatch_io(&mut self, now: Nanos) {
        let EventLoop {
            poll,
            events,
            core,
            io,
            next_io_token,
            ..
        } = self;
        let mut added = Vec::new();
        for event in events.iter() {
            let token = event.token();
            if token == WAKER_TOKEN {
                continue;
            }
            // Taken out while its handler runs, so the handler may register
            // new sources into the map without aliasing itself.
            let Some(mut entry) = io.remove(&token) else {
                continue;
            };
            core.services.counters.io_events += 1;
            let mut context = IoContext {
                core,
                registry: poll.registry(),
                next_io_token,
                added: &mut added,
                now,
                close: false,
            };
            entry.ready(event, &mut context);
            if context.close {
                entry.deregister(poll.registry());
            } else {
                io.insert(token, entry);
            }
            io.extend(added.drain(..));
        }
    }

    fn drain_dataplane(&mut self, now: Nanos) {
        self.dataplane_sender
            .wake_pending
            .store(false, Ordering::Release);
        for _ in 0..self.dataplane_batch {
            match self.dataplane_events.try_recv() {
                Ok(event) => self.core.dataplane_event(event, now),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
    }
}

fn next_token(counter: &mut usize) -> Token {
    // usize::MAX is the waker's; wrapping past it would take 2^64 sources.
    let token = Token(*counter);
    *counter = counter.wrapping_add(1) % WAKER_TOKEN.0;
    token
}

/// What an I/O handler may do while it runs.
pub struct IoContext<'a> {
    core: &'a mut Core,
    registry: &'a Registry,
    next_io_token: &'a mut usize,
    added: &'a mut Vec<(Token, Box<dyn IoEntry>)>,
    now: Nanos,
    close: bool,
}

impl IoContext<'_> {
    /// The loop's time for this turn.
    pub fn now(&self) -> Nanos {
        self.now
    }

    pub fn deliver<P: Protocol + 'static>(
        &mut self,
        handle: ProtocolHandle<P>,
        input: Input<P::Event>,
    ) {
        self.core
            .deliver_typed(handle, self.now, Stimulus::Input(input));
    }

    pub fn reconfigure<P: Protocol + 'static>(
        &mut self,
        handle: ProtocolHandle<P>,
        config: P::Config,
    ) {
        self.core
            .deliver_typed(handle, self.now, Stimulus::Reconfigure(config));
    }

    /// Deregisters and drops this source once the handler returns.
    pub fn close(&mut self) {
        self.close = true;
    }

    /// Registers another source (an accepted connection, say).
    pub fn add_io<S, F>(&mut self, source: S, interest: Interest, handler: F) -> io::Result<IoToken>
    where
        S: Source + 'static,
        F: FnMut(&mut S, &Event, &mut IoContext<'_>) + 'static,
    {
        let token = next_token(self.next_io_token);
        let mut entry = IoSlot { source, handler };
        self.registry.register(&mut entry.source, token, interest)?;
        self.added.push((token, Box::new(entry)));
        Ok(IoToken(token))
    }
}

trait IoEntry {
    fn ready(&mut self, event: &Event, context: &mut IoContext<'_>);
    fn deregister(&mut self, registry: &Registry);
}

struct IoSlot<S, F> {
    source: S,
    handler: F,
}

impl<S, F> IoEntry for IoSlot<S, F>
where
    S: Source,
    F: FnMut(&mut S, &Event, &mut IoContext<'_>),
{
    fn ready(&mut self, event: &Event, context: &mut IoContext<'_>) {
        (self.handler)(&mut self.source, event, context);
    }

    fn deregister(&mut self, registry: &Registry) {
        if let Err(error) = registry.deregister(&mut self.source) {
            tracing::warn!(%error, "deregistering an I/O source failed");
        }
    }
}

/// A timer as the loop knows it: which protocol, which of its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TimerKey {
    protocol: usize,
    token: TimerToken,
}

/// Protocols plus what they share.
struct Core {
    protocols: Vec<Box<dyn DrivenProtocol>>,
    packet_routes: HashMap<u8, Vec<usize>>,
    /// Reused buffer of timers due this turn.
    fired: Vec<TimerKey>,
    services: Services,
}

/// The loop state a protocol's actions act upon.
struct Services {
    wheel: TimerWheel<TimerKey>,
    armed: HashMap<TimerKey, TimerId>,
    recorder: Option<Recorder<Box<dyn Write>>>,
    counters: LoopCounters,
}

impl Core {
    fn start(&mut self, index: usize, now: Nanos) {
        if let Some(slot) = self.protocols.get_mut(index) {
            slot.start(index, now, &mut self.services);
        }
    }

    fn stop(&mut self, index: usize, now: Nanos) {
        if let Some(slot) = self.protocols.get_mut(index) {
            slot.stop(index, now, &mut self.services);
        }
        // Whatever the protocol left armed can never be delivered now.
        let Services { wheel, armed, .. } = &mut self.services;
        armed.retain(|key, id| {
            if key.protocol == index {
                wheel.cancel(*id);
                false
            } else {
                true
            }
        });
    }

    fn deliver_typed<P: Protocol + 'static>(
        &mut self,
        handle: ProtocolHandle<P>,
        now: Nanos,
        stimulus: Stimulus<P::Event, P::Config>,
    ) {
        let slot = self
            .protocols
            .get_mut(handle.index)
            .and_then(|slot| slot.as_any_mut().downcast_mut::<Slot<P>>());
        match slot {
            Some(slot) => slot.deliver(handle.index, now, stimulus, &mut self.services),
            None => tracing::error!(
                index = handle.index,
                "protocol handle from another event loop"
            ),
        }
    }

    fn dataplane_event(&mut self, event: DataplaneEvent, now: Nanos) {
        self.services.counters.dataplane_events += 1;
        match event {
            DataplaneEvent::Packet {
                ip_protocol,
                port,
                bytes,
            } => {
                let Some(subscribers) = self
                    .packet_routes
                    .get(&ip_protocol)
                    .filter(|s| !s.is_empty())
                else {
                    self.services.counters.unrouted_packets += 1;
                    tracing::debug!(
                        ip_protocol,
                        port,
                        "punted packet with no subscribed protocol"
                    );
                    return;
                };
                for &index in subscribers {
                    if let Some(slot) = self.protocols.get_mut(index) {
                        let input = SharedInput::Packet {
                            port,
                            bytes: bytes.clone(),
                        };
                        slot.deliver_shared(index, now, input, &mut self.services);
                    }
                }
            }
            DataplaneEvent::Interface { port, up } => {
                self.broadcast(now, SharedInput::Interface { port, up });
            }
            DataplaneEvent::Bfd { peer, up } => self.broadcast(now, SharedInput::Bfd { peer, up }),
        }
    }

    fn broadcast(&mut self, now: Nanos, input: SharedInput) {
        for (index, slot) in self.protocols.iter_mut().enumerate() {
            slot.deliver_shared(index, now, input.clone(), &mut self.services);
        }
    }

    fn fire_timers(&mut self, now: Nanos) {
        let Services { wheel, armed, .. } = &mut self.services;
        for (id, key) in wheel.advance(now) {
            // The map entry is this id unless it was re-armed, and re-arming
            // cancels the old id, so a fired id always matches.
            if armed.get(&key) == Some(&id) {
                armed.remove(&key);
            }
            self.fired.push(key);
        }
        // Delivered after the wheel is released, in deadline order: a
        // protocol may arm new timers while handling one.
        for index in 0..self.fired.len() {
            let key = self.fired[index];
            self.services.counters.timers_fired += 1;
            if let Some(slot) = self.protocols.get_mut(key.protocol) {
                slot.deliver_shared(
                    key.protocol,
                    now,
                    SharedInput::Timer(key.token),
                    &mut self.services,
                );
            }
        }
        self.fired.clear();
    }
}

/// The inputs every protocol understands, before they are given the
/// protocol's own event type.
#[derive(Debug, Clone)]
enum SharedInput {
    Packet { port: PortId, bytes: Vec<u8> },
    Timer(TimerToken),
    Interface { port: PortId, up: bool },
    Bfd { peer: IpAddr, up: bool },
}

impl SharedInput {
    fn typed<E>(self) -> Input<E> {
        match self {
            SharedInput::Packet { port, bytes } => Input::Packet { port, bytes },
            SharedInput::Timer(token) => Input::Timer(token),
            SharedInput::Interface { port, up } => Input::Interface { port, up },
            SharedInput::Bfd { peer, up } => Input::Bfd { peer, up },
        }
    }
}

/// A protocol with its types erased, so one loop drives many kinds.
trait DrivenProtocol {
    fn start(&mut self, index: usize, now: Nanos, services: &mut Services);
    fn stop(&mut self, index: usize, now: Nanos, services: &mut Services);
    fn deliver_shared(
        &mut self,
        index: usize,
        now: Nanos,
        input: SharedInput,
        services: &mut Services,
    );
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

struct Slot<P: Protocol> {
    protocol: P,
    sink: Box<dyn ActionSink<P::Notification>>,
    out: Actions<P::Notification>,
    running: bool,
}

impl<P: Protocol> Slot<P> {
    fn deliver(
        &mut self,
        index: usize,
        now: Nanos,
        stimulus: Stimulus<P::Event, P::Config>,
        services: &mut Services,
    ) {
        if !self.running {
            return;
        }
        if let Some(recorder) = services.recorder.as_mut()
            && let Err(error) = recorder.record(now, self.protocol.name(), &stimulus)
        {
            // A full disk must not stop routing: drop the recording.
            tracing::warn!(%error, "recording failed; recording stopped");
            services.counters.recorder_errors += 1;
            services.recorder = None;
        }
        deliver(&mut self.protocol, now, stimulus, &mut self.out);
        for action in self.out.drain() {
            self.sink.observe(now, &action);
            match action {
                Action::ArmTimer { token, at } => {
                    let key = TimerKey {
                        protocol: index,
                        token,
                    };
                    let id = services.wheel.insert(at, key);
                    if let Some(previous) = services.armed.insert(key, id) {
                        services.wheel.cancel(previous);
                    }
                }
                Action::CancelTimer { token } => {
                    if let Some(id) = services.armed.remove(&TimerKey {
                        protocol: index,
                        token,
                    }) {
                        services.wheel.cancel(id);
                    }
                }
                Action::Send { port, bytes } => self.sink.send(port, bytes),
                Action::Rib(update) => self.sink.rib(update),
                Action::Notify(notification) => self.sink.notify(notification),
            }
        }
    }
}

impl<P: Protocol + 'static> DrivenProtocol for Slot<P> {
    fn start(&mut self, index: usize, now: Nanos, services: &mut Services) {
        if !self.running {
            self.running = true;
            self.deliver(index, now, Stimulus::Start, services);
        }
    }

    fn stop(&mut self, index: usize, now: Nanos, services: &mut Services) {
        if self.running {
            self.deliver(index, now, Stimulus::Shutdown, services);
            self.running = false;
        }
    }

    fn deliver_shared(
        &mut self,
        index: usize,
        now: Nanos,
        input: SharedInput,
        services: &mut Services,
    ) {
        self.deliver(index, now, Stimulus::Input(input.typed()), services);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
