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
