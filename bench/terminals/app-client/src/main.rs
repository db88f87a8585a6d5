// A terminal client that talks to claudette-server the way the Claudette apps do, for
// bench/terminals/run.ts: tokio + tokio-tungstenite over rustls, the server's self-signed
// certificate pinned by its SHA-256 (hex of the DER), `authenticate` with the pairing token, then
// `spawn_pty` in a repository. Every text frame is decoded as the apps decode it: the whole frame
// with `serde_json::from_str::<serde_json::Value>`, then a `pty-output` event's `data` array
// turned into a `Vec<u8>` element by element. `--encoding binary` reads the binary fast path
// instead (0x01, pty id u32 BE, bytes).
//
//   app-client --port P --fingerprint HEX --token T --cwd DIR --encoding json|binary
//              bulk --cmd 'exec cat FILE'       -> one JSON line {"bytes","seconds","frames","cpu_s"}
//              echo --keys N --pause-ms 2       -> "ready", waits for a line on stdin, then
//                                                  {"samples_ms":[...]}, then waits for EOF
//   app-client decode [--kib 4,8,64] [--mib 32]  -> the decoder alone, no server: MB/s of output
//                                                  per CPU second for each frame size
//
// Same workload as the Node clients of run.ts: a shell in the repository, `stty -echo` first,
// output of the first 300 ms dropped, then the command replaces the shell.
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, client::ServerCertVerified, Certificate, ServerName};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;
type Error = Box<dyn std::error::Error>;

/// Accepts exactly the certificate whose SHA-256 was pinned (as the apps do after pairing).
struct Pinned(Vec<u8>);

impl rustls::client::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &Certificate,
        _intermediates: &[Certificate],
        _server_name: &ServerName,
        _scts: &mut dyn Iterator<Item = &[u8]>,
        _ocsp: &[u8],
        _now: SystemTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Sha256::digest(&end_entity.0).as_slice() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("certificate fingerprint does not match the pinned one".into()))
        }
    }
}

struct Args {
    port: u16,
    fingerprint: Vec<u8>,
    token: String,
    cwd: String,
    binary: bool,
    mode: String,
    cmd: String,
    keys: usize,
    pause_ms: u64,
}

fn parse_args() -> Result<Args, Error> {
    let mut a = Args { port: 0, fingerprint: vec![], token: String::new(), cwd: String::new(), binary: false, mode: String::new(), cmd: String::new(), keys: 100, pause_ms: 2 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--port" => a.port = v()?.parse()?,
            "--fingerprint" => {
                let hex = v()?.replace(':', "");
                a.fingerprint = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16)).collect::<Result<_, _>>()?
            }
            "--token" => a.token = v()?,
            "--cwd" => a.cwd = v()?,
            "--encoding" => a.binary = v()? == "binary",
            "--cmd" => a.cmd = v()?,
            "--keys" => a.keys = v()?.parse()?,
            "--pause-ms" => a.pause_ms = v()?.parse()?,
            "bulk" | "echo" => a.mode = k.clone(),
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    if a.port == 0 || a.fingerprint.len() != 32 || a.token.is_empty() || a.mode.is_empty() {
        return Err("usage: app-client --port P --fingerprint HEX --token T --cwd DIR [--encoding json|binary] bulk --cmd CMD | echo [--keys N] [--pause-ms MS]".into());
    }
    Ok(a)
}

/// What one received frame was, after decoding it as the apps do.
enum Frame {
    Output(Vec<u8>),
    Exit,
    Reply(u64, Value),
    Other,
}

fn decode(msg: Message) -> Result<Frame, Error> {
    match msg {
        Message::Text(text) => {
            let v: Value = serde_json::from_str(&text)?;
            match v.get("event").and_then(Value::as_str) {
                Some("pty-output") => {
                    let data = v["payload"]["data"].as_array().ok_or("pty-output without data")?;
                    let mut bytes = Vec::with_capacity(data.len());
                    for b in data {
                        bytes.push(b.as_u64().ok_or("pty-output data is not a byte")? as u8);
                    }
                    Ok(Frame::Output(bytes))
                }
                Some("pty-exit") => Ok(Frame::Exit),
                Some(_) => Ok(Frame::Other),
                None => match v.get("id").and_then(Value::as_u64) {
                    Some(id) => Ok(Frame::Reply(id, v)),
                    None => Ok(Frame::Other),
                },
            }
        }
        Message::Binary(b) if b.len() >= 5 && b[0] == 0x01 => Ok(Frame::Output(b[5..].to_vec())),
        Message::Close(_) => Err("server closed the connection".into()),
        _ => Ok(Frame::Other),
    }
}

struct Client {
    ws: Ws,
    next_id: u64,
}

impl Client {
    async fn connect(a: &Args) -> Result<Client, Error> {
        let tcp = TcpStream::connect(("127.0.0.1", a.port)).await?;
        tcp.set_nodelay(true)?;
        let config = rustls::ClientConfig::builder()
            .with_safe_defaults()
            .with_custom_certificate_verifier(Arc::new(Pinned(a.fingerprint.clone())))
            .with_no_client_auth();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let (ws, _) = tokio_tungstenite::client_async(format!("wss://127.0.0.1:{}/", a.port), tls).await?;
        let mut c = Client { ws, next_id: 1 };
        c.call("authenticate", json!({ "pairing_token": a.token, "client_name": "bench app-client" })).await?;
        Ok(c)
    }

    async fn send_request(&mut self, method: &str, params: Value) -> Result<u64, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws.send(Message::Text(text)).await?;
        Ok(id)
    }

    /// A request and its reply; other frames that arrive meanwhile are dropped.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.send_request(method, params).await?;
        loop {
            if let Frame::Reply(got, v) = self.recv().await? {
                if got != id { continue; }
                if let Some(e) = v.get("error") { return Err(format!("{method}: {e}").into()); }
                return Ok(v["result"].clone());
            }
        }
    }

    async fn recv(&mut self) -> Result<Frame, Error> {
        match self.ws.next().await {
            Some(msg) => decode(msg?),
            None => Err("connection ended".into()),
        }
    }

    /// Keystrokes as the apps send them: write_pty with the bytes as a JSON array (JSON
    /// encoding), or an input frame (0x02, pty id u32 BE, bytes) on the binary path.
    async fn input(&mut self, binary: bool, pty: u32, data: &[u8]) -> Result<(), Error> {
        if binary {
            let mut f = Vec::with_capacity(5 + data.len());
            f.push(0x02);
            f.extend_from_slice(&pty.to_be_bytes());
            f.extend_from_slice(data);
            self.ws.send(Message::Binary(f)).await?;
        } else {
            self.send_request("write_pty", json!({ "pty_id": pty, "data": data })).await?;
        }
        Ok(())
    }

    /// A shell in `cwd` with echo off, its first output dropped, then `cmd` in its place.
    async fn open(&mut self, a: &Args, cmd: &str) -> Result<u32, Error> {
        if a.binary {
            self.call("set_pty_encoding", json!({ "encoding": "binary" })).await?;
        }
        let r = self.call("spawn_pty", json!({ "cwd": a.cwd, "rows": 24, "cols": 80 })).await?;
        let pty = r["pty_id"].as_u64().ok_or("spawn_pty: no pty_id")? as u32;
        self.input(a.binary, pty, b"stty -echo\n").await?;
        let quiet = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(quiet);
        loop {
            tokio::select! {
                _ = &mut quiet => break,
                f = self.recv() => { f?; }
            }
        }
        self.input(a.binary, pty, format!("{cmd}\n").as_bytes()).await?;
        Ok(pty)
    }
}

async fn bulk(a: &Args) -> Result<(), Error> {
    let mut c = Client::connect(a).await?;
    let pty = c.open(a, &a.cmd).await?;
    let (mut bytes, mut frames) = (0usize, 0usize);
    let (mut first, mut last) = (None, Instant::now());
    loop {
        match c.recv().await? {
            Frame::Output(b) => {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                bytes += b.len();
                frames += 1;
            }
            Frame::Exit => break,
            _ => {}
        }
    }
    let seconds = first.map_or(0.0, |f| (last - f).as_secs_f64());
    println!("{}", json!({ "bytes": bytes, "seconds": seconds, "frames": frames, "cpu_s": cpu_seconds() }));
    let _ = c.call("close_pty", json!({ "pty_id": pty })).await;
    Ok(())
}

async fn echo(a: &Args) -> Result<(), Error> {
    let mut c = Client::connect(a).await?;
    let pty = c.open(a, "stty raw -echo; exec cat").await?;
    // Wait until `stty raw -echo` is in effect: a probe comes back exactly once.
    for _ in 0..3 {
        c.input(a.binary, pty, b"x").await?;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                if let Frame::Output(b) = c.recv().await? { if b.contains(&b'x') { return Ok::<_, Error>(()); } }
            }
        }).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The parent measures CPU between "ready" and our result.
    println!("ready");
    std::io::stdout().flush()?;
    std::io::stdin().lock().read_line(&mut String::new())?;
    let mut samples = Vec::with_capacity(a.keys);
    for i in 0..a.keys {
        let t0 = Instant::now();
        c.input(a.binary, pty, b"x").await?;
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Frame::Output(b) = c.recv().await? { if b.contains(&b'x') { return Ok::<_, Error>(()); } }
            }
        }).await.map_err(|_| format!("keystroke {} of {} not echoed within 10 s", i + 1, a.keys))??;
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(a.pause_ms)).await;
    }
    println!("{}", json!({ "samples_ms": samples }));
    std::io::stdout().flush()?;
    // Stay connected until the parent has read its CPU figures.
    std::io::stdin().lock().read_line(&mut String::new())?;
    let _ = c.call("close_pty", json!({ "pty_id": pty })).await;
    Ok(())
}

/// CPU seconds this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ
}

/// The decoder alone: `pty-output` frames of the bench's 80-column text, as the server writes
/// them, decoded as the apps do; MB/s of output per CPU second for each frame size.
fn decode_bench() -> Result<(), Error> {
    let mut kibs = vec![1usize, 2, 4, 8, 16, 32, 64];
    let mut mib = 32usize;
    let mut it = std::env::args().skip(2);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--kib" => kibs = it.next().ok_or("--kib needs a value")?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--mib" => mib = it.next().ok_or("--mib needs a value")?.parse()?,
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    let line = b"claudette terminal benchmark 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJK\n";
    for kib in kibs {
        let bytes: Vec<u8> = line.iter().cycle().take(kib * 1024).copied().collect();
        let frame = json!({ "event": "pty-output", "payload": { "data": bytes, "pty_id": 1 } }).to_string();
        let n = (mib * 1024 / kib).max(1);
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let mut total = 0usize;
        for _ in 0..n {
            if let Frame::Output(b) = decode(Message::Text(frame.clone()))? { total += b.len(); }
        }
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
        let mb = total as f64 / 1048576.0;
        println!("{}", json!({ "kib": kib, "wire_bytes": frame.len(), "mb_per_cpu_s": mb / cpu.max(0.01), "mb_per_s": mb / wall }));
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("decode") {
        // On a thread of its own, as in an app's runtime worker (malloc gives it its own arena).
        let r = std::thread::spawn(|| decode_bench().map_err(|e| e.to_string())).join().unwrap();
        if let Err(e) = r { eprintln!("app-client: {e}"); std::process::exit(1); }
        return;
    }
    let result = match parse_args() {
        Ok(a) if a.mode == "bulk" => bulk(&a).await,
        Ok(a) => echo(&a).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("app-client: {e}");
        std::process::exit(1);
    }
}
