//! Requests to a test server and what came back.

use reqwest::blocking::RequestBuilder;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};

/// A response, read to the end.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// All `Set-Cookie` values.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            (k == name).then(|| rest.split(';').next().unwrap().to_string())
        })
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts that the response set no cookie (`what` names the request in the failure).
    #[track_caller]
    pub fn expect_no_cookies(&self, what: &str) -> &Self {
        let cookies = self.cookies();
        assert!(cookies.is_empty(), "{what} set cookies: {cookies:?}");
        self
    }

    /// The session of a login/registration response, as `Auth::Session(sessionid, csrftoken)`.
    #[track_caller]
    pub fn session(&self) -> Auth {
        Auth::Session(
            self.cookie("sessionid").expect("sessionid cookie"),
            self.cookie("csrftoken").expect("csrftoken cookie"),
        )
    }
}

/// Credentials for a request.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Token(String),
    Basic(String, String),
    /// sessionid, csrftoken (sent as cookies; a test adds the CSRF header where it wants one)
    Session(String, String),
    /// A personal access token.
    Bearer(String),
}

impl Auth {
    /// HTTP Basic credentials.
    pub fn basic(username: &str, password: &str) -> Auth {
        Auth::Basic(username.into(), password.into())
    }

    /// The CSRF token of a session.
    #[track_caller]
    pub fn csrf(&self) -> String {
        match self {
            Auth::Session(_, c) => c.clone(),
            _ => panic!("not a session"),
        }
    }
}

/// `/api/users/{id}`.
pub fn user_path(id: i64) -> String {
    format!("/api/users/{id}")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `host:port` of the server, as clients put it in `Host` and `Origin`.
    pub fn host_port(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn request(&self, method: Method, path: &str, auth: &Auth) -> RequestBuilder {
        let rb = self.client.request(method, self.url(path));
        match auth {
            Auth::None => rb,
            Auth::Token(t) => rb.header("Authorization", format!("Token {t}")),
            Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
            Auth::Session(s, c) => rb.header("Cookie", format!("csrftoken={c}; sessionid={s}")),
            Auth::Bearer(t) => rb.header("Authorization", format!("Bearer {t}")),
        }
    }

    pub fn send(&self, rb: RequestBuilder) -> Resp {
        let r = rb.send().expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().unwrap();
        Resp {
            status,
            headers,
            text,
        }
    }

    /// A request with extra headers and, unless `Value::Null`, a JSON body.
    pub fn send_with(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Resp {
        let mut rb = self.request(method, path, auth);
        if !body.is_null() {
            rb = rb.json(&body);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb)
    }

    /// A request with a body as is, under `content_type` (none when `None`).
    pub fn send_raw(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> Resp {
        let mut rb = self
            .request(method, path, auth)
            .body(body.as_ref().to_vec());
        if let Some(content_type) = content_type {
            rb = rb.header("Content-Type", content_type);
        }
        self.send(rb)
    }

    pub fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send(self.request(Method::GET, path, auth))
    }

    pub fn get_with(&self, path: &str, auth: &Auth, headers: &[(&str, &str)]) -> Resp {
        self.send_with(Method::GET, path, auth, headers, Value::Null)
    }

    pub fn patch(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(self.request(Method::PATCH, path, auth).json(&body))
    }

    pub fn delete(&self, path: &str, auth: &Auth) -> Resp {
        self.send(self.request(Method::DELETE, path, auth))
    }

    pub fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(self.request(Method::POST, path, auth).json(&body))
    }

    /// `GET /api/users/self`, must be 200.
    #[track_caller]
    pub fn me(&self, auth: &Auth) -> Value {
        let r = self.get("/api/users/self", auth);
        r.expect(200);
        r.json()
    }

    /// `GET /api/users/self` is refused: 401 with the `detail` message.
    #[track_caller]
    pub fn assert_me_refused(&self, auth: &Auth, detail: &str) {
        let r = self.get("/api/users/self", auth);
        r.expect(401);
        assert_eq!(r.json()["detail"], detail);
    }

    /// Logs in; returns the response (token in `key`, cookies set).
    pub fn login(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/login",
            &Auth::None,
            json!({"username": username, "password": password}),
        )
    }

    pub fn token(&self, username: &str, password: &str) -> Auth {
        let r = self.login(username, password);
        r.expect(200);
        Auth::Token(r.json()["key"].as_str().unwrap().to_string())
    }

    pub fn admin(&self) -> Auth {
        self.token(ADMIN, ADMIN_PASSWORD)
    }

    /// The registration of `username` (e-mail `<username>@example.com`, password `PASSWORD`),
    /// to send.
    pub fn register_request(&self, username: &str) -> RequestBuilder {
        self.request(Method::POST, "/api/auth/register", &Auth::None)
            .json(
                &json!({"username": username, "email": format!("{username}@example.com"),
                          "password1": PASSWORD, "password2": PASSWORD}),
            )
    }

    /// Registers `username` (password `PASSWORD`), returns its id and a token.
    pub fn register(&self, username: &str) -> (i64, Auth) {
        let r = self.send(self.register_request(username));
        r.expect(201);
        let auth = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
        (self.me(&auth)["id"].as_i64().unwrap(), auth)
    }

    /// Registers `username` (password `PASSWORD`), returns its id.
    pub fn register_id(&self, username: &str) -> i64 {
        self.register(username).0
    }

    /// Registers `username`, then (as `admin`) gives it `groups` and the staff and superuser
    /// flags; returns its id and a token.
    pub fn register_as(
        &self,
        admin: &Auth,
        username: &str,
        groups: &[&str],
        staff: bool,
        su: bool,
    ) -> (i64, Auth) {
        let (id, auth) = self.register(username);
        self.patch(
            &user_path(id),
            admin,
            json!({"groups": groups, "is_staff": staff, "is_superuser": su}),
        )
        .expect(200);
        (id, auth)
    }

    /// Registers every one of `names`; returns their ids and tokens in that order.
    pub fn register_all<S: AsRef<str>>(&self, names: &[S]) -> Vec<(i64, Auth)> {
        names.iter().map(|n| self.register(n.as_ref())).collect()
    }

    /// A server, an admin token, and registered users with the given names.
    pub fn with_users(names: &[&str]) -> (TestServer, Auth, Vec<(i64, Auth)>) {
        let s = TestServer::start();
        let admin = s.admin();
        let users = s.register_all(names);
        (s, admin, users)
    }

    /// Activates or deactivates user `id` (as `admin`; must be 200).
    #[track_caller]
    pub fn set_active(&self, admin: &Auth, id: i64, active: bool) {
        self.patch(&user_path(id), admin, json!({ "is_active": active }))
            .expect(200);
    }

    /// Makes an existing user's row match `patch` (as admin).
    pub fn admin_patch(&self, id: i64, patch: Value) -> Resp {
        let admin = self.admin();
        self.patch(&user_path(id), &admin, patch)
    }

    /// The user as an admin sees it (must be 200).
    #[track_caller]
    pub fn fetch(&self, admin: &Auth, id: i64) -> Value {
        let r = self.get(&user_path(id), admin);
        r.expect(200);
        r.json()
    }
}
