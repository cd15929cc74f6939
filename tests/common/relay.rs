//! A loopback TCP relay that can cut every connection through it at once: the API server's
//! connection dropped mid-watch (TLS passes through untouched).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The relay; stops when dropped.
pub struct Relay {
    /// Where clients connect.
    pub addr: SocketAddr,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    task: JoinHandle<()>,
}

impl Relay {
    /// A relay to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let open = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let handle = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(handle);
            }
        });
        Self {
            addr,
            connections,
            task,
        }
    }

    /// Closes every open connection (new ones are accepted again); how many it closed.
    pub fn cut(&self) -> usize {
        let mut open = self.connections.lock().unwrap();
        let live = open.iter().filter(|h| !h.is_finished()).count();
        for h in open.drain(..) {
            h.abort();
        }
        live
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        for h in self.connections.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}
