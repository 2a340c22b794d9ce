//! The echo server of ../../README.md on Tokio, as workloads/echo/echo_server.cpp serves:
//! a tokio::net listener (SO_REUSEADDR, backlog 4096), one task per connection with
//! TCP_NODELAY that reads up to `buffer` bytes and writes them all back until EOF or an error.
//! SIGTERM/SIGINT (tokio::signal::unix) stop the acceptor; dropping the runtime then drops
//! every connection's task, which closes its socket, and the counters line is printed.

use std::future::Future;
use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, Signal, SignalKind};

static CONNECTIONS: AtomicU64 = AtomicU64::new(0); // accepted
static ERRORS: AtomicU64 = AtomicU64::new(0); // ended in an error other than EOF or a reset

/// A peer's reset (and the EPIPE that follows one) ends a connection without counting.
fn count_error(e: &std::io::Error) {
    if !matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
        ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

async fn serve(mut stream: TcpStream, buffer: usize) {
    let mut buf = vec![0u8; buffer];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break, // the client closed
            Ok(n) => {
                if let Err(e) = stream.write_all(&buf[..n]).await {
                    count_error(&e);
                    break;
                }
            }
            Err(e) => {
                count_error(&e);
                break;
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, buffer: usize) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                CONNECTIONS.fetch_add(1, Ordering::Relaxed);
                match stream.set_nodelay(true) {
                    Ok(()) => drop(tokio::spawn(serve(stream, buffer))),
                    Err(e) => count_error(&e),
                }
            }
            // Died in the backlog: not the listener's failure, take the next one.
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => {}
            // Out of fds and the like: count it and back off rather than spin.
            Err(_) => {
                ERRORS.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// Ready when either signal arrives (tokio's select! needs the macros feature; this does not).
struct EitherSignal(Signal, Signal);

impl Future for EitherSignal {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.poll_recv(cx).is_ready() || self.1.poll_recv(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves until SIGTERM or SIGINT; Err only when the listener or the signals cannot be set up.
pub fn run(rt: Runtime, addr: SocketAddr, buffer: usize, build: &str) -> Result<(), String> {
    rt.block_on(async {
        // The handlers first, so a signal sent right after the port line is never fatal.
        let stop = EitherSignal(
            signal(SignalKind::terminate()).map_err(|e| format!("echo: SIGTERM handler: {e}"))?,
            signal(SignalKind::interrupt()).map_err(|e| format!("echo: SIGINT handler: {e}"))?,
        );
        let listener = bind(addr).await.map_err(|e| format!("echo: cannot listen on {addr}: {e}"))?;
        let port = listener.local_addr().map_err(|e| format!("echo: local_addr: {e}"))?.port();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{{\"port\": {port}, \"build\": \"{build}\"}}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("echo: stdout: {e}"))?;
        let acceptor = tokio::spawn(accept_loop(listener, buffer));
        stop.await;
        acceptor.abort(); // stop accepting
        let _ = acceptor.await;
        Ok::<(), String>(())
    })?;
    drop(rt); // drops every connection's task: their sockets close
    println!(
        "{{\"connections\": {}, \"errors\": {}}}",
        CONNECTIONS.load(Ordering::Relaxed),
        ERRORS.load(Ordering::Relaxed)
    );
    Ok(())
}
