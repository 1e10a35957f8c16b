//! The values `{{ url:NAME }}`, `{{ port:NAME }}` and `{{ host }}` take on a page: in a
//! class the student's own public host and port block, solo the ports of the local stack
//! (or, before it runs, the ones its stack file names).

use super::session::Viewer;
use super::{AppState, Mode};
use crate::course::Lab;
use crate::course::placeholders::{self, Values};
use std::time::Duration;

/// Fills `html` for `viewer` (pages without placeholders are returned as they are, without
/// asking anything).
pub async fn fill(state: &AppState, viewer: &Viewer, lab: Option<&Lab>, html: &str) -> String {
    if !placeholders::has_placeholders(html) {
        return html.to_owned();
    }
    let values = values(state, viewer, lab).await;
    placeholders::fill(html, &values)
}

/// The values for `viewer` on a page of `lab`.
pub async fn values(state: &AppState, viewer: &Viewer, lab: Option<&Lab>) -> Values {
    match &state.mode {
        Mode::Classroom(classroom) => classroom.placeholder_values(viewer.student()).await,
        Mode::Solo { checks, .. } => {
            let host = crate::stack::engine::published_host(&crate::stack::engine::docker_host());
            let running = match checks.project() {
                Some(project) => running_ports(project).await,
                None => None,
            };
            let ports = running.unwrap_or_else(|| lab.map(|l| default_ports(state, &l.id)).unwrap_or_default());
            Values { host, ports }
        }
    }
}

/// The named ports of the solo project, when it runs (asked briefly).
async fn running_ports(project: &str) -> Option<std::collections::BTreeMap<String, u16>> {
    let read = async {
        let engine = crate::stack::Engine::connect().await.ok()?;
        crate::stack::status::status(&engine, project).await.ok()
    };
    let status = tokio::time::timeout(Duration::from_secs(1), read).await.ok().flatten()?;
    (status.exists() && !status.ports.is_empty()).then(|| status.ports.clone())
}

/// The ports a lab's stack file names, as written (`x-lab.ports`).
fn default_ports(state: &AppState, lab: &str) -> std::collections::BTreeMap<String, u16> {
    let source = state.course().stack_file(lab);
    source.map(|text| crate::stack::file::default_ports(&text).into_iter().collect()).unwrap_or_default()
}
