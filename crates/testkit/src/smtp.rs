//! A real SMTP receiver on loopback (mailin's protocol state machine on std sockets): records
//! every accepted message, can refuse mail (451, a temporary failure) while switched off, and
//! can take its time over each message (the bench's slow mail server).

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin::{response, Action, Handler, Response, SessionBuilder};

/// A message as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body), CRLF line ends.
    pub data: String,
}

impl Received {
    /// The header block.
    pub fn headers(&self) -> &str {
        self.data.split("\r\n\r\n").next().unwrap_or("")
    }

    /// The value of the first header `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let unfolded = self.headers().replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The whole message with quoted-printable soft breaks and escapes undone (good enough to
    /// read the plain-text part).
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The invitation key of the message's link (`...&invitation=KEY`).
    pub fn invitation_key(&self) -> String {
        let text = self.decoded();
        let at = text
            .find("invitation=")
            .unwrap_or_else(|| panic!("no invitation link in:\n{text}"));
        text[at + "invitation=".len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect()
    }

    /// The path of the address confirmation link in the message
    /// (`/api/auth/account-confirm-email/<key>/`).
    pub fn confirmation_path(&self) -> String {
        let text = self.decoded();
        let at = text
            .find("/api/auth/account-confirm-email/")
            .unwrap_or_else(|| panic!("no confirmation link in:\n{text}"));
        text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect()
    }

    /// `(link, uid, token)` of the password reset link in the message.
    pub fn reset_link(&self) -> (String, String, String) {
        let text = self.decoded();
        let at = text
            .find("/auth/password/reset/confirm?")
            .unwrap_or_else(|| panic!("no reset link in:\n{text}"));
        let start = text[..at].rfind("http").expect("link scheme");
        let link: String = text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect();
        let query = link.split_once('?').unwrap().1;
        let mut uid = String::new();
        let mut token = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("uid", v)) => uid = v.to_string(),
                Some(("token", v)) => token = v.to_string(),
                _ => {}
            }
        }
        (link, uid, token)
    }
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    arrived: Condvar,
    refusing: AtomicBool,
    refused: Mutex<u32>,
    /// How long each message takes to be accepted.
    delay: Mutex<Duration>,
}

#[derive(Clone)]
struct Recorder {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        if self.shared.refusing.load(Ordering::SeqCst) {
            *self.shared.refused.lock().unwrap() += 1;
            return response::INTERNAL_ERROR;
        }
        self.from = from.to_string();
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let delay = *self.shared.delay.lock().unwrap();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let received = Received {
            from: self.from.clone(),
            to: self.to.clone(),
            data: String::from_utf8_lossy(&self.data).into_owned(),
        };
        self.shared.messages.lock().unwrap().push(received);
        self.shared.arrived.notify_all();
        response::OK
    }
}

pub struct SmtpReceiver {
    pub port: u16,
    shared: Arc<Shared>,
}

impl SmtpReceiver {
    /// A receiver on a free loopback port.
    pub fn start() -> SmtpReceiver {
        Self::listen(TcpListener::bind("127.0.0.1:0").expect("bind"))
    }

    /// A receiver on `port` (which a test kept free for it).
    pub fn start_on(port: u16) -> SmtpReceiver {
        Self::listen(TcpListener::bind(("127.0.0.1", port)).expect("bind the reserved port"))
    }

    fn listen(listener: TcpListener) -> SmtpReceiver {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let for_thread = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = for_thread.clone();
                std::thread::spawn(move || serve(stream, shared));
            }
        });
        SmtpReceiver { port, shared }
    }

    /// Every later message takes `delay` before the receiver accepts it.
    pub fn slow_down(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While on, every `MAIL FROM` gets 451 (try again later).
    pub fn refuse(&self, on: bool) {
        self.shared.refusing.store(on, Ordering::SeqCst);
    }

    pub fn refused(&self) -> u32 {
        *self.shared.refused.lock().unwrap()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Waits (up to a minute) until at least `n` messages arrived; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut messages = self.shared.messages.lock().unwrap();
        while messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "only {} of {n} messages arrived",
                messages.len()
            );
            messages = self.shared.arrived.wait_timeout(messages, left).unwrap().0;
        }
        messages.clone()
    }
}

/// A free loopback port with nothing listening on it (for an SMTP server that is down).
pub fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let peer = stream
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or([127, 0, 0, 1].into());
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    let handler = Recorder {
        shared,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = SessionBuilder::new("receiver.test").build(peer, handler);
    if session.greeting().write_to(&mut writer).is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let res = session.process(&line);
        match res.action {
            Action::Reply => {
                if res.write_to(&mut writer).is_err() {
                    return;
                }
            }
            Action::Close | Action::UpgradeTls => {
                let _ = res.write_to(&mut writer);
                let _ = writer.flush();
                return;
            }
            Action::NoReply => {}
        }
        let _ = writer.flush();
    }
}
