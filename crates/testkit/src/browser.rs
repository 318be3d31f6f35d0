//! A cookie-keeping client that follows no redirects: what a browser does with the console at
//! `/admin/`.

use reqwest::blocking::{Client, RequestBuilder};

use crate::TestServer;

pub struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    pub fn new(s: &TestServer) -> Browser {
        Browser {
            client: Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
        }
    }

    /// Status, `Location` (or "") and body.
    fn page(rb: RequestBuilder) -> (u16, String, String) {
        let r = rb.send().unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (
            r.status().as_u16(),
            location.unwrap_or_default(),
            r.text().unwrap(),
        )
    }

    pub fn get(&self, path: &str) -> (u16, String, String) {
        Self::page(self.client.get(format!("{}{path}", self.base)))
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        Self::page(self.client.post(format!("{}{path}", self.base)).form(form))
    }

    /// The CSRF token of a page's forms.
    pub fn csrf(&self, page: &str) -> String {
        let at = page
            .find("name=\"csrfmiddlewaretoken\" value=\"")
            .expect("a CSRF field")
            + 34;
        page[at..].split('"').next().unwrap().to_string()
    }

    /// Logs in on the console's form.
    pub fn login(&self, username: &str, password: &str) -> (u16, String, String) {
        let (_, _, page) = self.get("/admin/login");
        let csrf = self.csrf(&page);
        self.post(
            "/admin/login",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", username),
                ("password", password),
                ("next", "/admin/users"),
            ],
        )
    }
}
