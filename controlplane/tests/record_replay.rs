//! Record a protocol live under the event loop, replay the recording into a
//! fresh instance, get byte-identical actions.

mod action_log;
mod hello_protocol;

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use action_log::ActionLog;
use controlplane::clock::{Clock, FakeClock, Nanos};
use controlplane::event_loop::{DataplaneEvent, EventLoop};
use controlplane::protocol::{Action, Input, Stimulus};
use controlplane::recorder::{Record, ReplayError, read_records, replay};
use hello_protocol::{
    HelloConfig, HelloEvent, HelloNotification, HelloProtocol, SECOND, hello_packet,
};

const OSPF: u8 = 89;
const MS: Nanos = 1_000_000;

/// A writer the loop can own while the test keeps reading what it wrote.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn json_lines<N: serde::Serialize>(actions: impl IntoIterator<Item = Action<N>>) -> String {
    actions
        .into_iter()
        .map(|a| serde_json::to_string(&a).unwrap() + "\n")
        .collect()
}

fn step(event_loop: &mut EventLoop<FakeClock>, clock: &FakeClock, to: Nanos) {
    while clock.now_ns() < to {
        clock.set((clock.now_ns() + 250 * MS).min(to));
        event_loop.turn(Some(Duration::ZERO)).unwrap();
    }
}

/// Two protocols on one loop through a scripted session that touches every
/// kind of stimulus: start, packets (good and garbage), timers, BFD,
/// interface, a protocol event, reconfigure, shutdown.
fn live_session() -> (
    String,
    Vec<Action<HelloNotification>>,
    Vec<Action<HelloNotification>>,
) {
    let clock = FakeClock::new(0);
    let recording = SharedBuffer::default();
    let mut event_loop = EventLoop::new(clock.clone()).unwrap();
    event_loop.record_to(Box::new(recording.clone()));
    let (sink_a, log_a) = ActionLog::new();
    let (sink_b, log_b) = ActionLog::new();
    let a = event_loop.add_protocol(
        HelloProtocol::new("hello-a", HelloConfig::new([10, 0, 0, 1], 1)),
        Box::new(sink_a),
    );
    let b = event_loop.add_protocol(
        HelloProtocol::new("hello-b", HelloConfig::new([10, 0, 1, 1], 2)),
        Box::new(sink_b),
    );
    event_loop.subscribe_packets(a, OSPF);
    event_loop.subscribe_packets(b, OSPF);
    let dataplane = event_loop.dataplane_sender();
    let packet = |port, bytes| DataplaneEvent::Packet {
        ip_protocol: OSPF,
        port,
        bytes,
    };

    event_loop.turn(Some(Duration::ZERO)).unwrap();
    step(&mut event_loop, &clock, 2 * SECOND + 3);
    dataplane
        .send(packet(1, hello_packet([10, 0, 0, 2])))
        .unwrap();
    dataplane
        .send(packet(2, hello_packet([10, 0, 1, 2])))
        .unwrap();
    dataplane.send(packet(1, vec![0x48, 0x45])).unwrap(); // truncated: ignored
    step(&mut event_loop, &clock, 25 * SECOND);
    dataplane
        .send(DataplaneEvent::Bfd {
            peer: IpAddr::V4([10, 0, 0, 2].into()),
            up: false,
        })
        .unwrap();
    step(&mut event_loop, &clock, 26 * SECOND);
    dataplane
        .send(packet(1, hello_packet([10, 0, 0, 2])))
        .unwrap();
    step(&mut event_loop, &clock, 31 * SECOND + 7 * MS);
    event_loop.reconfigure(
        a,
        HelloConfig {
            hello_ns: 3 * SECOND,
            ..HelloConfig::new([10, 0, 0, 1], 1)
        },
    );
    event_loop.reconfigure(b, HelloConfig::new([10, 0, 1, 1], 3));
    step(&mut event_loop, &clock, 50 * SECOND);
    event_loop.deliver(a, Input::Protocol(HelloEvent::ClearNeighbor));
    dataplane
        .send(DataplaneEvent::Interface { port: 3, up: false })
        .unwrap();
    step(&mut event_loop, &clock, 90 * SECOND);
    event_loop.shutdown();
    drop(event_loop);

    let recording = String::from_utf8(recording.0.borrow().clone()).unwrap();
    let live = |log: &Rc<RefCell<action_log::Logged<HelloNotification>>>| {
        log.borrow()
            .observed
            .iter()
            .map(|(_, a)| a.clone())
            .collect::<Vec<_>>()
    };
    (recording, live(&log_a), live(&log_b))
}

#[test]
fn replaying_a_live_recording_gives_byte_identical_actions() {
    let (recording, live_a, live_b) = live_session();
    for (name, config, live) in [
        ("hello-a", HelloConfig::new([10, 0, 0, 1], 1), live_a),
        ("hello-b", HelloConfig::new([10, 0, 1, 1], 2), live_b),
    ] {
        let mut fresh = HelloProtocol::new(name, config);
        let replayed = replay(recording.as_bytes(), &mut fresh).unwrap();
        // Enough happened for the comparison to mean something.
        assert!(live.len() > 20, "{name}: only {} live actions", live.len());
        assert_eq!(
            json_lines(replayed),
            json_lines(live),
            "{name} replay diverged"
        );
    }
}

#[test]
fn a_recording_holds_every_kind_of_stimulus_with_its_time() {
    let (recording, _, _) = live_session();
    assert_eq!(
        recording.lines().next(),
        Some(r#"{"t_ns":0,"protocol":"hello-a","input":"start"}"#)
    );
    let records: Vec<Record<HelloEvent, HelloConfig>> = read_records(recording.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let of_a: Vec<_> = records.iter().filter(|r| r.protocol == "hello-a").collect();
    let kind = |s: &Stimulus<HelloEvent, HelloConfig>| match s {
        Stimulus::Start => "start",
        Stimulus::Reconfigure(_) => "reconfigure",
        Stimulus::Shutdown => "shutdown",
        Stimulus::Input(Input::Packet { .. }) => "packet",
        Stimulus::Input(Input::Timer(_)) => "timer",
        Stimulus::Input(Input::Interface { .. }) => "interface",
        Stimulus::Input(Input::Bfd { .. }) => "bfd",
        Stimulus::Input(Input::Protocol(_)) => "protocol",
    };
    let mut kinds: Vec<_> = of_a.iter().map(|r| kind(&r.input)).collect();
    kinds.dedup();
    for expected in [
        "start",
        "packet",
        "timer",
        "bfd",
        "reconfigure",
        "protocol",
        "interface",
        "shutdown",
    ] {
        assert!(
            kinds.contains(&expected),
            "no {expected} record in {kinds:?}"
        );
    }
    assert_eq!(of_a.last().map(|r| &r.input), Some(&Stimulus::Shutdown));
    assert!(
        records.windows(2).all(|w| w[0].t_ns <= w[1].t_ns),
        "times go forward"
    );
    // a re-arms its hello 10 s after each one fires; with the clock moved in
    // 250 ms steps, each expiry is recorded no earlier than due and no
    // later than one step plus one wheel tick after.
    let a_timers: Vec<Nanos> = of_a
        .iter()
        .filter(|r| r.input == Stimulus::Input(Input::Timer(hello_protocol::HELLO_TIMER)))
        .map(|r| r.t_ns)
        .take_while(|&t| t < 31 * SECOND)
        .collect();
    assert_eq!(a_timers.len(), 3, "{a_timers:?}");
    let mut previous = 0;
    for t in a_timers {
        assert!(
            t >= previous + 10 * SECOND && t < previous + 10 * SECOND + 250 * MS + MS,
            "{t} after {previous}"
        );
        previous = t;
    }
}

#[test]
fn replay_reports_bad_lines_by_number() {
    let mut protocol = HelloProtocol::new("hello", HelloConfig::new([10, 0, 0, 1], 1));
    let garbage = "{\"t_ns\":0,\"protocol\":\"hello\",\"input\":\"start\"}\n\nnot json\n";
    assert!(matches!(
        replay(garbage.as_bytes(), &mut protocol),
        Err(ReplayError::Parse { line: 3, .. })
    ));

    let wrong_type = "{\"t_ns\":0,\"protocol\":\"hello\",\"input\":{\"protocol\":\"reboot\"}}\n";
    assert!(matches!(
        replay(wrong_type.as_bytes(), &mut protocol),
        Err(ReplayError::Parse { line: 1, .. })
    ));
    // Another protocol's events need not parse as ours: the line is skipped.
    let other = "{\"t_ns\":0,\"protocol\":\"bgp\",\"input\":{\"protocol\":\"reboot\"}}\n";
    assert_eq!(replay(other.as_bytes(), &mut protocol).unwrap(), vec![]);

    let backwards = "{\"t_ns\":5,\"protocol\":\"hello\",\"input\":{\"timer\":9}}\n\
                     {\"t_ns\":4,\"protocol\":\"hello\",\"input\":{\"timer\":9}}\n";
    assert!(matches!(
        replay(backwards.as_bytes(), &mut protocol),
        Err(ReplayError::TimeWentBack {
            line: 2,
            t_ns: 4,
            previous: 5
        })
    ));
}
