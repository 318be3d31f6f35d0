//! `page_size=all` is streamed in batches; its bytes must equal the non-streamed list's.

use serde_json::{json, Value};

use crate::common::*;

#[test]
fn page_size_all_is_the_concatenation_of_the_pages() {
    let s = TestServer::start();
    let admin = s.admin();
    let names = [
        ("Zoë", "Smith", true),
        ("anna", "Smith", false),
        ("Anna", "Élan", true),
        ("Bob", "smith", true),
        ("Anna", "Élan", false),
        ("Émile", "Ng", true),
        ("bob", "", true),
    ];
    for (i, (first, last, active)) in names.iter().enumerate() {
        let (id, _) = s.register(&format!("user{i}"));
        s.admin_patch(
            id,
            json!({"first_name": first, "last_name": last, "is_active": active}),
        )
        .expect(200);
    }
    let queries = [
        "",
        "sort=username",
        "sort=-last_name,first_name",
        "sort=is_active,-first_name",
        "sort=first_name,last_name,-is_active",
        "search=an",
        "search=smith",
        "search=smi%2Cann&sort=-username",
        "filter=%7B%22%3D%3D%22%3A%5B%7B%22var%22%3A%22last_name%22%7D%2C%22Smith%22%5D%7D",
    ];
    for query in queries {
        let sep = if query.is_empty() { "" } else { "&" };
        let all = s.get(&format!("/api/users?{query}{sep}page_size=all"), &admin);
        all.expect(200);
        assert_eq!(
            all.header("content-type").as_deref(),
            Some("application/vnd.cvat+json")
        );
        // Pages of 3, concatenated, in CVAT's serialization.
        let mut results: Vec<Value> = Vec::new();
        let mut count = 0;
        for page in 1.. {
            let r = s.get(
                &format!("/api/users?{query}{sep}page_size=3&page={page}"),
                &admin,
            );
            r.expect(200);
            let j = r.json();
            count = j["count"].as_i64().unwrap();
            results.extend(j["results"].as_array().unwrap().iter().cloned());
            if j["next"].is_null() {
                break;
            }
        }
        let expected = json!({"count": count, "next": null, "previous": null, "results": results});
        assert_eq!(
            all.text,
            serde_json::to_string(&expected).unwrap(),
            "{query}"
        );
        // And byte for byte what one big (not streamed) page says.
        let one = s.get(&format!("/api/users?{query}{sep}page_size=1000"), &admin);
        assert_eq!(all.text, one.text, "{query}");
    }
}
