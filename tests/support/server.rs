//! A raw tokio TCP HTTP/1.1 server: full control over framing, timing and faults.
//! Each connection serves one request and closes (`Connection: close`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    pub fn raw(&self) -> String {
        let mut s = format!("{} {}\n", self.method, self.path);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

#[derive(Debug, Clone)]
pub enum Piece {
    Bytes(Vec<u8>),
    Sleep(Duration),
}

/// A scripted response, sent with chunked transfer encoding so each piece is a frame.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub pieces: Vec<Piece>,
    /// Close without the terminating chunk: the body is cut mid-stream.
    pub cut: bool,
    /// Never send the status line (stall before anything at all).
    pub silent: bool,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, pieces: Vec<Piece>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            pieces,
            cut: false,
            silent: false,
        }
    }
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::new(
            status,
            "application/json",
            vec![Piece::Bytes(body.as_bytes().to_vec())],
        )
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn cut(mut self) -> Reply {
        self.cut = true;
        self
    }
}

#[derive(Default)]
struct State {
    recorded: Vec<Recorded>,
    /// Connections where writing failed because the client went away.
    aborted: usize,
}

pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serve `script`: request n gets `script[n]`, the last entry repeats forever.
    pub async fn start(script: Vec<Reply>) -> Server {
        assert!(!script.is_empty());
        let listener = crate::server_support::ollama::tokio_loopback_listener();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let task = tokio::spawn(async move {
            let script = Arc::new(script);
            let mut n = 0usize;
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let reply = script[n.min(script.len() - 1)].clone();
                n += 1;
                let st = st.clone();
                tokio::spawn(async move { serve(sock, reply, st).await });
            }
        });
        Server { addr, state, task }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().recorded.clone()
    }
    pub fn aborted(&self) -> usize {
        self.state.lock().unwrap().aborted
    }
}

/// A base url where nothing listens (connection refused).
pub async fn refused_base() -> String {
    let l = crate::server_support::ollama::loopback_listener();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

async fn serve(mut sock: TcpStream, reply: Reply, st: Arc<Mutex<State>>) {
    let _ = sock.set_nodelay(true);
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    st.lock().unwrap().recorded.push(req);
    if reply.silent {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    }
    let mut head = format!(
        "HTTP/1.1 {} X\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n",
        reply.status
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for p in &reply.pieces {
        match p {
            Piece::Sleep(d) => tokio::time::sleep(*d).await,
            // An empty chunk would be the chunked-encoding terminator.
            Piece::Bytes(b) if b.is_empty() => {}
            Piece::Bytes(b) => {
                let mut frame = format!("{:x}\r\n", b.len()).into_bytes();
                frame.extend_from_slice(b);
                frame.extend_from_slice(b"\r\n");
                if sock.write_all(&frame).await.is_err() || sock.flush().await.is_err() {
                    st.lock().unwrap().aborted += 1;
                    return;
                }
                // Give the client a chance to read each frame on its own.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    if !reply.cut {
        let _ = sock.write_all(b"0\r\n\r\n").await;
    }
    let _ = sock.shutdown().await;
}

async fn read_request(sock: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}
