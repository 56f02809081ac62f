//! The event loop driving a real protocol: timers on a fake clock, the
//! dataplane channel and its waker, unix-socket I/O sources, shutdown.

mod action_log;
mod hello_protocol;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use action_log::{ActionLog, Logged};
use controlplane::clock::{FakeClock, MonotonicClock, Nanos};
use controlplane::event_loop::{ActionSink, DataplaneEvent, EventLoop, IoContext};
use controlplane::protocol::{Action, Input, PortId, TimerToken};
use controlplane::route::{RibUpdate, RouteSource};
use hello_protocol::{
    DEAD_TIMER, HELLO_TIMER, HelloConfig, HelloEvent, HelloNotification, HelloProtocol, SECOND,
    hello_packet,
};
use mio::Interest;
use mio::net::{UnixListener, UnixStream};

const OSPF: u8 = 89;
const MS: Nanos = 1_000_000;

fn hello_from(router_id: [u8; 4], port: PortId) -> DataplaneEvent {
    DataplaneEvent::Packet {
        ip_protocol: OSPF,
        port,
        bytes: hello_packet(router_id),
    }
}

fn notifications(log: &Logged<HelloNotification>) -> Vec<(Nanos, HelloNotification)> {
    log.observed
        .iter()
        .filter_map(|(t, action)| match action {
            Action::Notify(n) => Some((*t, n.clone())),
            _ => None,
        })
        .collect()
}

fn hello_send_times(log: &Logged<HelloNotification>, port: PortId) -> Vec<Nanos> {
    log.observed
        .iter()
        .filter_map(|(t, action)| match action {
            Action::Send { port: p, bytes } if *p == port && bytes.starts_with(b"HELO") => Some(*t),
            _ => None,
        })
        .collect()
}

fn timer_arms(log: &Logged<HelloNotification>, token: TimerToken) -> Vec<(Nanos, Nanos)> {
    log.observed
        .iter()
        .filter_map(|(t, action)| match action {
            Action::ArmTimer { token: k, at } if *k == token => Some((*t, *at)),
            _ => None,
        })
        .collect()
}

/// Turns the loop with the fake clock stepping `step` at a time up to `to`.
fn run_until(event_loop: &mut EventLoop<FakeClock>, clock: &FakeClock, to: Nanos, step: Nanos) {
    use controlplane::clock::Clock;
    while clock.now_ns() < to {
        clock.set((clock.now_ns() + step).min(to));
        event_loop.turn(Some(Duration::ZERO)).unwrap();
    }
}

fn down(neighbor: [u8; 4], reason: &str) -> HelloNotification {
    HelloNotification::NeighborDown {
        neighbor: Ipv4Addr::from(neighbor),
        reason: reason.into(),
    }
}

#[test]
fn timers_drive_hellos_and_the_dead_interval_on_a_fake_clock() {
    let clock = FakeClock::new(0);
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    let (sink, log) = ActionLog::new();
    let hello = event_loop.add_protocol(
        HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink),
    );
    event_loop.subscribe_packets(hello, OSPF);
    let dataplane = event_loop.dataplane_sender();

    event_loop.turn(Some(Duration::ZERO)).unwrap();
    run_until(&mut event_loop, &clock, 3 * SECOND, 100 * MS);
    dataplane.send(hello_from([10, 0, 0, 2], 1)).unwrap();
    event_loop.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        notifications(&log.borrow()),
        vec![(
            3 * SECOND,
            HelloNotification::NeighborUp([10, 0, 0, 2].into())
        )]
    );
    assert_eq!(event_loop.armed_timers(), 2, "hello and dead timers");

    // One tick before the dead interval ends the neighbor is still up...
    run_until(&mut event_loop, &clock, 43 * SECOND - MS, MS);
    assert_eq!(notifications(&log.borrow()).len(), 1);
    // ...and it goes down on the tick the dead interval (40 s) expires.
    run_until(&mut event_loop, &clock, 43 * SECOND, MS);
    assert_eq!(
        notifications(&log.borrow()).last(),
        Some(&(43 * SECOND, down([10, 0, 0, 2], "dead interval")))
    );
    assert_eq!(event_loop.armed_timers(), 1, "only the hello timer remains");

    let log = log.borrow();
    assert_eq!(
        hello_send_times(&log, 1),
        vec![0, 10 * SECOND, 20 * SECOND, 30 * SECOND, 40 * SECOND]
    );
    assert!(matches!(
        log.executed
            .iter()
            .rev()
            .find(|a| matches!(a, Action::Rib(_))),
        Some(Action::Rib(RibUpdate::Withdraw {
            source: RouteSource::Ospf,
            ..
        }))
    ));
    // Timers stay inside the loop; everything else reached the sink, in order.
    let outward: Vec<_> = log
        .observed
        .iter()
        .map(|(_, a)| a.clone())
        .filter(|a| !matches!(a, Action::ArmTimer { .. } | Action::CancelTimer { .. }))
        .collect();
    assert_eq!(log.executed, outward);
    assert_eq!(
        event_loop.counters().timers_fired,
        5,
        "four hellos and one dead timer"
    );
}

#[test]
fn rearming_a_token_replaces_the_pending_timer() {
    let clock = FakeClock::new(0);
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    let (sink, log) = ActionLog::new();
    let hello = event_loop.add_protocol(
        HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink),
    );
    event_loop.subscribe_packets(hello, OSPF);
    let dataplane = event_loop.dataplane_sender();
    event_loop.turn(Some(Duration::ZERO)).unwrap();

    // A hello every 30 s re-arms the 40 s dead timer before it expires. If
    // re-arming added a second timer instead, the first would fire at 40 s.
    for _ in 0..10 {
        dataplane.send(hello_from([10, 0, 0, 2], 1)).unwrap();
        event_loop.turn(Some(Duration::ZERO)).unwrap();
        assert_eq!(event_loop.armed_timers(), 2);
        run_until(
            &mut event_loop,
            &clock,
            clock_now(&clock) + 30 * SECOND,
            500 * MS,
        );
    }
    assert_eq!(
        notifications(&log.borrow()).len(),
        1,
        "only NeighborUp: {:?}",
        notifications(&log.borrow())
    );
    assert_eq!(timer_arms(&log.borrow(), DEAD_TIMER).len(), 10);
}

fn clock_now(clock: &FakeClock) -> Nanos {
    use controlplane::clock::Clock;
    clock.now_ns()
}

#[test]
fn bfd_and_interface_events_reach_every_protocol_packets_only_subscribers() {
    let clock = FakeClock::new(0);
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    let (sink_a, log_a) = ActionLog::new();
    let (sink_b, log_b) = ActionLog::new();
    let a = event_loop.add_protocol(
        HelloProtocol::new("a", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink_a),
    );
    let b = event_loop.add_protocol(
        HelloProtocol::new("b", HelloConfig::new([10, 0, 1, 1], 2)),
        Box::new(sink_b),
    );
    event_loop.subscribe_packets(a, OSPF);
    event_loop.subscribe_packets(b, OSPF);
    let dataplane = event_loop.dataplane_sender();
    event_loop.turn(Some(Duration::ZERO)).unwrap();

    // Each protocol takes only the hello on its own port.
    dataplane.send(hello_from([10, 0, 0, 2], 1)).unwrap();
    dataplane.send(hello_from([10, 0, 1, 2], 2)).unwrap();
    // VRRP (112): nobody subscribed.
    dataplane
        .send(DataplaneEvent::Packet {
            ip_protocol: 112,
            port: 1,
            bytes: hello_packet([9, 9, 9, 9]),
        })
        .unwrap();
    event_loop.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(event_loop.counters().unrouted_packets, 1);
    assert_eq!(event_loop.counters().dataplane_events, 3);

    clock.set(SECOND);
    dataplane
        .send(DataplaneEvent::Bfd {
            peer: IpAddr::V4([10, 0, 0, 2].into()),
            up: false,
        })
        .unwrap();
    dataplane
        .send(DataplaneEvent::Interface { port: 2, up: false })
        .unwrap();
    event_loop.turn(Some(Duration::ZERO)).unwrap();

    let up = |id: [u8; 4]| (0, HelloNotification::NeighborUp(id.into()));
    assert_eq!(
        notifications(&log_a.borrow()),
        vec![up([10, 0, 0, 2]), (SECOND, down([10, 0, 0, 2], "bfd down"))]
    );
    assert_eq!(
        notifications(&log_b.borrow()),
        vec![
            up([10, 0, 1, 2]),
            (SECOND, down([10, 0, 1, 2], "port down"))
        ]
    );
}

#[test]
fn shutdown_says_goodbye_drops_timers_and_ignores_later_input() {
    let clock = FakeClock::new(0);
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    let (sink, log) = ActionLog::new();
    let hello = event_loop.add_protocol(
        HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink),
    );
    event_loop.subscribe_packets(hello, OSPF);
    event_loop.turn(Some(Duration::ZERO)).unwrap();
    event_loop.deliver(
        hello,
        Input::Packet {
            port: 1,
            bytes: hello_packet([10, 0, 0, 2]),
        },
    );
    assert_eq!(event_loop.armed_timers(), 2);

    event_loop.shutdown();
    assert_eq!(event_loop.armed_timers(), 0);
    let after_shutdown = log.borrow().observed.len();
    assert!(log.borrow().executed.contains(&Action::Send {
        port: 1,
        bytes: b"BYE!".to_vec()
    }));
    assert_eq!(
        notifications(&log.borrow()).last().map(|(_, n)| n.clone()),
        Some(down([10, 0, 0, 2], "shutdown"))
    );

    event_loop.deliver(hello, Input::Protocol(HelloEvent::ClearNeighbor));
    run_until(&mut event_loop, &clock, 100 * SECOND, SECOND);
    assert_eq!(
        log.borrow().observed.len(),
        after_shutdown,
        "a stopped protocol must not act"
    );
}

/// Forwards everything a protocol does over a channel, so a test thread can
/// watch a loop running on another thread.
struct ChannelSink(crossbeam_channel::Sender<Action<HelloNotification>>);

impl ActionSink<HelloNotification> for ChannelSink {
    fn send(&mut self, port: PortId, bytes: Vec<u8>) {
        let _ = self.0.send(Action::Send { port, bytes });
    }
    fn rib(&mut self, update: RibUpdate) {
        let _ = self.0.send(Action::Rib(update));
    }
    fn notify(&mut self, notification: HelloNotification) {
        let _ = self.0.send(Action::Notify(notification));
    }
}

#[test]
fn dataplane_sender_wakes_a_blocked_loop_and_stop_handle_ends_it() {
    let (actions_tx, actions) = crossbeam_channel::unbounded();
    let (handles_tx, handles) = crossbeam_channel::bounded(1);
    let thread = std::thread::spawn(move || {
        let mut event_loop = EventLoop::new(MonotonicClock::new()).unwrap();
        let hello = event_loop.add_protocol(
            HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1)),
            Box::new(ChannelSink(actions_tx)),
        );
        event_loop.subscribe_packets(hello, OSPF);
        handles_tx
            .send((event_loop.dataplane_sender(), event_loop.stop_handle()))
            .unwrap();
        event_loop.run().unwrap();
        event_loop.counters()
    });
    let (dataplane, stop) = handles.recv().unwrap();
    let first_hello = actions.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(first_hello, Action::Send { port: 1, .. }));

    // The loop now sleeps until its hello timer, 10 s away: only the waker
    // can get it to the packet in time.
    std::thread::sleep(Duration::from_millis(50));
    let sent_at = Instant::now();
    dataplane.send(hello_from([10, 0, 0, 2], 1)).unwrap();
    let reaction = actions
        .recv_timeout(Duration::from_secs(2))
        .expect("woken loop reacts");
    let latency = sent_at.elapsed();
    assert_eq!(
        reaction,
        Action::Notify(HelloNotification::NeighborUp([10, 0, 0, 2].into()))
    );
    assert!(latency < Duration::from_secs(1), "woke after {latency:?}");
    eprintln!("dataplane event to protocol action: {latency:?}");

    stop.stop();
    let counters = thread.join().unwrap();
    let rest: Vec<_> = actions.try_iter().collect();
    assert!(
        rest.contains(&Action::Send {
            port: 1,
            bytes: b"BYE!".to_vec()
        }),
        "{rest:?}"
    );
    assert!(
        counters.turns < 20,
        "loop spun instead of sleeping: {} turns",
        counters.turns
    );
}

/// Reads newline-terminated commands from a connection: a JSON
/// `HelloConfig` reconfigures, `clear` clears the neighbor. Edge-triggered,
/// so it reads until `WouldBlock`.
fn command_connection(
    hello: controlplane::event_loop::ProtocolHandle<HelloProtocol>,
) -> impl FnMut(&mut UnixStream, &mio::event::Event, &mut IoContext<'_>) {
    let mut pending = Vec::new();
    move |stream, _event, context| {
        let mut chunk = [0u8; 256];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    context.close();
                    break;
                }
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    context.close();
                    break;
                }
            }
        }
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            if line == "clear" {
                context.deliver(hello, Input::Protocol(HelloEvent::ClearNeighbor));
            } else if let Ok(config) = serde_json::from_str::<HelloConfig>(line) {
                context.reconfigure(hello, config);
            }
        }
    }
}

#[test]
fn unix_listener_accepts_connections_whose_commands_reach_the_protocol() {
    let clock = FakeClock::new(5 * SECOND);
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    let (sink, log) = ActionLog::new();
    let hello = event_loop.add_protocol(
        HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink),
    );
    event_loop.turn(Some(Duration::ZERO)).unwrap();
    event_loop.deliver(
        hello,
        Input::Packet {
            port: 1,
            bytes: hello_packet([10, 0, 0, 2]),
        },
    );

    let path = std::env::temp_dir().join(format!("vrouter-cp-loop-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let connection = Rc::new(Cell::new(None));
    let accepted = Rc::clone(&connection);
    event_loop
        .add_io(
            listener,
            Interest::READABLE,
            move |listener, _event, context| {
                while let Ok((stream, _)) = listener.accept() {
                    accepted.set(Some(
                        context
                            .add_io(stream, Interest::READABLE, command_connection(hello))
                            .unwrap(),
                    ));
                }
            },
        )
        .unwrap();

    let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let faster = HelloConfig {
        hello_ns: 2 * SECOND,
        ..HelloConfig::new([10, 0, 0, 1], 1)
    };
    writeln!(client, "{}", serde_json::to_string(&faster).unwrap()).unwrap();
    writeln!(client, "clear").unwrap();
    let turn_until = |event_loop: &mut EventLoop<FakeClock>, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() && Instant::now() < deadline {
            event_loop.turn(Some(Duration::from_millis(50))).unwrap();
        }
        assert!(done(), "condition not reached in 5 s");
    };
    turn_until(&mut event_loop, &|| notifications(&log.borrow()).len() == 2);

    // The new hello interval took effect without dropping the adjacency;
    // the neighbor went down only on the later "clear".
    assert_eq!(
        timer_arms(&log.borrow(), HELLO_TIMER).last(),
        Some(&(5 * SECOND, 7 * SECOND))
    );
    assert_eq!(
        notifications(&log.borrow())[1].1,
        down([10, 0, 0, 2], "cleared")
    );

    // The client hanging up makes the handler close its source: by then
    // the loop no longer holds it, so removing it again finds nothing.
    let connection = connection.get().expect("connection was registered");
    drop(client);
    let before = event_loop.counters().io_events;
    let deadline = Instant::now() + Duration::from_secs(5);
    while event_loop.counters().io_events == before && Instant::now() < deadline {
        event_loop.turn(Some(Duration::from_millis(50))).unwrap();
    }
    assert!(
        event_loop.counters().io_events > before,
        "hang-up seen as an event"
    );
    assert!(
        !event_loop.remove_io(connection),
        "connection source still registered after EOF"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_full_dataplane_queue_hands_the_event_back() {
    let options = controlplane::event_loop::EventLoopOptions {
        dataplane_queue: 2,
        ..Default::default()
    };
    let mut event_loop = EventLoop::with_options(FakeClock::new(0), options).unwrap();
    let dataplane = event_loop.dataplane_sender();
    let event = DataplaneEvent::Interface { port: 1, up: true };
    assert!(dataplane.send(event.clone()).is_ok());
    assert!(dataplane.send(event.clone()).is_ok());
    assert_eq!(dataplane.send(event.clone()), Err(event.clone()));
    event_loop.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(event_loop.counters().dataplane_events, 2);
    assert!(
        dataplane.send(event).is_ok(),
        "drained queue takes events again"
    );
}
