//! A real SMTP server on 127.0.0.1 for tests: it speaks the protocol, keeps what it receives, and
//! can be "down" (nothing listening on its port) until started.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, response};

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed()
            .header_raw(name)
            .map(|value| value.trim().to_owned())
    }
}

/// The server clones its handler for each connection: `current` is that connection's message,
/// `received` is shared by all.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(message) = self.current.as_mut() {
            message.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(message) = self.current.take() {
            self.received.lock().unwrap().push(message);
        }
        response::OK
    }
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    collector: Collector,
}

impl SmtpServer {
    /// A server that is up.
    pub fn start() -> SmtpServer {
        let server = SmtpServer::down();
        server.come_up();
        server
    }

    /// A port where no server listens yet.
    pub fn down() -> SmtpServer {
        let probe = TcpListener::bind("127.0.0.1:0").expect("free port");
        let addr = probe.local_addr().expect("address");
        drop(probe);
        SmtpServer {
            addr,
            collector: Collector::default(),
        }
    }

    /// Starts listening on the server's port.
    pub fn come_up(&self) {
        let listener = TcpListener::bind(self.addr).expect("SMTP port");
        let mut server = Server::new(self.collector.clone());
        // Pooled clients keep connections open, and each holds a server thread.
        server
            .with_name("test-smtp")
            .with_num_threads(32)
            .with_tcp_listener(listener);
        // The server runs until the test process ends.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.collector.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages arrived, or panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {count} messages, received {}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
