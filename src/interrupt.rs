//! Which connections a cancel interrupts: the ones its own call is reading
//! or writing now, and no other.
//!
//! Every connection the agent opens is wrapped ([`Interruptible`]); each of
//! its reads and writes, and its setup (TLS, `CONNECT`), registers the
//! socket's shutdown handle with the cancel flag of the call running on this
//! thread (calls are synchronous: a request runs on its caller's thread),
//! and forgets it when the I/O returns. A cancel shuts down those sockets
//! only; idle pooled connections and other calls' requests are untouched,
//! so a client serves every call after a cancel on the same pool.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, ShutdownHandle, Transport,
};

use crate::Cancel;

/// The shutdown handles of one connection's sockets (one, or two through a
/// `CONNECT` proxy), filled in while it is set up.
pub(crate) type Handles = Arc<Mutex<Vec<Weak<dyn ShutdownHandle>>>>;

/// Shuts down every socket in `handles` that is still open.
pub(crate) fn shut(handles: &Handles) {
    let list = handles
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for handle in list.iter().filter_map(Weak::upgrade) {
        handle.shutdown();
    }
}

thread_local! {
    /// The cancel flag of the call running on this thread, if any.
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// While alive, requests on this thread belong to one call's cancel flag;
/// dropping it restores the flag it replaced (calls may nest).
pub(crate) struct Scope(Option<Cancel>);

impl Scope {
    /// Makes `cancel` the flag of the requests this thread sends.
    pub(crate) fn enter(cancel: &Cancel) -> Self {
        Self(CURRENT.with(|c| c.replace(Some(cancel.clone()))))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// `handles` registered with this thread's call while alive.
struct Io(Option<(Cancel, u64)>);

impl Io {
    /// Registers `handles`; an error when the call is cancelled already, so
    /// no I/O starts after a cancel.
    fn start(handles: &Handles) -> Result<Self, ureq::Error> {
        let Some(cancel) = CURRENT.with(|c| c.borrow().clone()) else {
            return Ok(Self(None));
        };
        match cancel.attach(handles) {
            Ok(id) => Ok(Self(Some((cancel, id)))),
            Err(_) => Err(cancelled()),
        }
    }
}

impl Io {
    /// Ends the registration; true when the call was cancelled meanwhile,
    /// so the socket may have been shut down and must not be reused.
    fn end(mut self) -> bool {
        self.0.take().is_some_and(|(cancel, id)| {
            cancel.detach(id);
            cancel.is_cancelled()
        })
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        if let Some((cancel, id)) = self.0.take() {
            cancel.detach(id);
        }
    }
}

fn cancelled() -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::Interrupted,
        "cancelled",
    ))
}

/// A chain of ureq's connectors, every connection it makes
/// [`Interruptible`].
#[derive(Debug)]
pub(crate) struct InterruptibleConnector<C>(pub(crate) C);

impl<C: Connector> Connector for InterruptibleConnector<C> {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let handles = Handles::default();
        let sink = handles.clone();
        let own = ConnectionDetails {
            uri: details.uri,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            // The socket is registered with this connection as soon as it
            // exists, so a cancel interrupts the TLS or proxy handshake too.
            register_shutdown: Arc::new(move |handle| {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(handle);
                // A cancel that came before the socket existed missed it.
                match CURRENT.with(|c| c.borrow().as_ref().map(Cancel::is_cancelled)) {
                    Some(true) => Err(cancelled()),
                    _ => Ok(()),
                }
            }),
        };
        let io = Io::start(&handles)?;
        let inner = self.0.connect(&own, chained);
        let shut = io.end();
        Ok(inner?.map(|inner| {
            Box::new(Interruptible {
                inner: Box::new(inner),
                handles,
                shut,
            }) as Box<dyn Transport>
        }))
    }
}

/// A connection whose I/O a cancel of the call using it interrupts.
#[derive(Debug)]
struct Interruptible {
    inner: Box<dyn Transport>,
    handles: Handles,
    /// A cancel may have shut the socket down: never back to the pool.
    shut: bool,
}

impl Transport for Interruptible {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let io = Io::start(&self.handles)?;
        let sent = self.inner.transmit_output(amount, timeout);
        self.shut |= io.end();
        sent
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let io = Io::start(&self.handles)?;
        let read = self.inner.await_input(timeout);
        self.shut |= io.end();
        read
    }

    fn is_open(&mut self) -> bool {
        !self.shut && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
