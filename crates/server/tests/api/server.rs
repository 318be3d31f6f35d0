use crate::common::*;

#[test]
fn about_is_anonymous_and_reports_2_3() {
    let s = TestServer::start();
    let r = s.get("/api/server/about", &Auth::None);
    r.expect(200);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/vnd.cvat+json"
    );
    let j = r.json();
    assert_eq!(j["version"], "2.3");
    assert_eq!(j["logo_url"], "");
    assert_eq!(j["subtitle"], "");
}

#[test]
fn sigterm_exits_zero() {
    let s = TestServer::start();
    s.get("/api/server/about", &Auth::None).expect(200);
    assert_eq!(s.terminate(), Some(0));
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    use std::io::{Read, Write};
    let s = TestServer::start();
    let addr = s.base.trim_start_matches("http://").to_string();
    let body =
        r#"{"username":"inflight1","password1":"Str0ng-Secret-42","password2":"Str0ng-Secret-42"}"#;
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    // Headers now, the body after the signal: the request is in flight when SIGTERM arrives.
    write!(
        conn,
        "POST /api/auth/register HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = s.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // New connections are no longer accepted ...
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still accepting after SIGTERM"
    );
    // ... but the one in flight completes.
    conn.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(s.terminate(), Some(0));
}
