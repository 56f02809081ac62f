//! An `ActionSink` that remembers everything, shared with the test through
//! an `Rc` so the test can read it while the loop owns the sink.

use std::cell::RefCell;
use std::rc::Rc;

use controlplane::clock::Nanos;
use controlplane::event_loop::ActionSink;
use controlplane::protocol::{Action, PortId};
use controlplane::route::RibUpdate;

#[derive(Debug)]
pub struct Logged<N> {
    /// Every action with the loop time it was taken at (timers included).
    pub observed: Vec<(Nanos, Action<N>)>,
    /// What reached the sink's send/rib/notify, rebuilt as actions.
    pub executed: Vec<Action<N>>,
}

pub struct ActionLog<N>(pub Rc<RefCell<Logged<N>>>);

impl<N> ActionLog<N> {
    pub fn new() -> (Self, Rc<RefCell<Logged<N>>>) {
        let shared = Rc::new(RefCell::new(Logged {
            observed: Vec::new(),
            executed: Vec::new(),
        }));
        (ActionLog(Rc::clone(&shared)), shared)
    }
}

impl<N: Clone> ActionSink<N> for ActionLog<N> {
    fn send(&mut self, port: PortId, bytes: Vec<u8>) {
        self.0
            .borrow_mut()
            .executed
            .push(Action::Send { port, bytes });
    }

    fn rib(&mut self, update: RibUpdate) {
        self.0.borrow_mut().executed.push(Action::Rib(update));
    }

    fn notify(&mut self, notification: N) {
        self.0
            .borrow_mut()
            .executed
            .push(Action::Notify(notification));
    }

    fn observe(&mut self, now: Nanos, action: &Action<N>) {
        self.0.borrow_mut().observed.push((now, action.clone()));
    }
}
