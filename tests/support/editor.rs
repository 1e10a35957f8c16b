//! The site editor's web tests in solo mode: a server over a workspace holding the lab's
//! site, deploying to a Marathon test double, and requests with headers and a body.

use super::TestResponse;
use super::marathon::{MarathonDouble, Shape};
use axum::body::Body;
use axum::http::Request;
use lab::checks::Target;
use lab::course::{ContentSource, Course};
use lab::store::{DbLocation, Store};
use lab::web::{AppState, CheckTarget};
use serde_json::Value;
use std::time::Duration;

pub const DEMO: &str = include_str!("../../labs/mesos-marathon/site/demo-webapp.yml");
pub const REJECTED: &str = "service:\n  id: /demo/wolf3d\n  instances: 2\n  container:\n    type: DOCKER\n    docker:\n      image: srenkens/wolfenstein3d\n      network: BRIDGE\n      portMappings:\n        - containerPort: 80\n          servicePort: 88888\n";

/// A solo server over a workspace holding the lab's site, deploying to `marathon`.
pub struct Solo {
    pub state: AppState,
    pub ws: tempfile::TempDir,
}

pub async fn solo(marathon: &str) -> Solo {
    let ws = tempfile::tempdir().expect("workspace");
    let site = ws.path().join("site");
    super::write_files(
        &site,
        &[
            ("demo-webapp.yml", DEMO),
            ("globals.yml", "service:\n  labels: {course: lab}\n"),
        ],
    );
    let course = Course::load(&ContentSource::Embedded).expect("built-in course");
    let store = Store::open(&DbLocation::Memory).await.expect("store");
    let student = store.student("tester").await.expect("student");
    let target = Target::new(marathon, None, None, Some(site));
    Solo {
        state: AppState::new(course, store, student).with_checks(CheckTarget::Fixed(target)),
        ws,
    }
}

impl Solo {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        super::send(
            &self.state,
            builder.body(Body::from(body.to_owned())).expect("request"),
        )
        .await
    }

    pub async fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let r = self.call(method, path, headers, body).await;
        (
            r.status.as_u16(),
            serde_json::from_str(&r.body)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {}", r.body)),
        )
    }

    pub async fn etag(&self, path: &str) -> String {
        let (status, file) = self
            .json("GET", &format!("/api/site/{path}"), &[], "")
            .await;
        assert_eq!(status, 200, "{file}");
        file["etag"].as_str().expect("etag").to_owned()
    }

    pub fn on_disk(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.ws.path().join("site").join(path)).ok()
    }
}

pub async fn double() -> MarathonDouble {
    MarathonDouble::start(Shape::V15, Duration::from_millis(100)).await
}
