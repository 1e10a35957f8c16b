//! The editor's HTML: the panel (file list, the open file, the controls the page script
//! wires up) rendered by the server so that the file list and the text show without
//! JavaScript, on `/labs/{lab}/site` and beside the instructions of a step whose exercise
//! names a file to edit (`edit:` in `lab.yml`).

use super::super::pages::find_lab;
use super::super::session::Viewer;
use super::super::{AppState, WebError};
use super::access::SiteAccess;
use crate::editor::FileInfo;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

/// The editor panel of one viewer, with one file open.
#[derive(Template)]
#[template(path = "editor_panel.html")]
pub struct EditorPanel {
    /// The lab whose page it is on (for links).
    lab: String,
    /// The site files.
    files: Vec<FileInfo>,
    /// The open file.
    open: Option<String>,
    /// Its text (empty for a file not created yet).
    text: String,
    /// Whether the open file exists yet.
    exists: bool,
    /// Why there is no editor for this viewer (no site folder yet, the instructor...).
    problem: Option<String>,
}

impl EditorPanel {
    /// The panel for `viewer` with `open` open (else the first file that is not a
    /// `globals.yml`).
    pub async fn for_viewer(
        state: &AppState,
        viewer: &Viewer,
        lab: &str,
        open: Option<&str>,
    ) -> EditorPanel {
        let mut panel = EditorPanel {
            lab: lab.to_owned(),
            files: Vec::new(),
            open: open.map(str::to_owned),
            text: String::new(),
            exists: false,
            problem: None,
        };
        let access = match SiteAccess::of(state, viewer).await {
            Ok(access) => access,
            Err(e) => {
                panel.problem = Some(e.message());
                return panel;
            }
        };
        match access.folder.list() {
            Ok(files) => panel.files = files,
            Err(e) => panel.problem = Some(e.to_string()),
        }
        if panel.open.is_none() {
            panel.open = panel
                .files
                .iter()
                .find(|f| !f.globals)
                .or(panel.files.first())
                .map(|f| f.path.to_string());
        }
        if let Some(path) = &panel.open {
            match access.folder.read(path) {
                Ok(file) => {
                    panel.text = file.text;
                    panel.exists = true;
                }
                Err(crate::editor::EditorError::NotFound { .. }) => {}
                Err(e) => panel.problem = Some(e.to_string()),
            }
        }
        panel
    }

    /// Rendered HTML (empty if the template fails, which is logged).
    pub fn html(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!("cannot render the site editor: {e}");
            String::new()
        })
    }

    fn is_open(&self, file: &FileInfo) -> bool {
        self.open.as_deref() == Some(file.path.as_str())
    }

    fn mode(&self) -> &'static str {
        if self.open.as_deref().is_some_and(|p| p.ends_with(".json")) {
            "application/json"
        } else {
            "yaml"
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "site.html")]
struct SitePage<'a> {
    lab: &'a crate::course::Lab,
    editor: String,
}

/// `?file=path`: the file to open.
#[derive(serde::Deserialize, Default)]
pub struct OpenQuery {
    #[serde(default)]
    file: Option<String>,
}

/// `GET /labs/{lab}/site`: the student's site files, one open.
pub async fn site_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<OpenQuery>,
) -> Result<Response, WebError> {
    if viewer == Viewer::Instructor {
        return Err(WebError::Forbidden("The instructor has no site folder of their own; each student edits theirs on their own pages.".into()));
    }
    let course = state.course();
    let lab = find_lab(&course, &id)?;
    let panel = EditorPanel::for_viewer(&state, &viewer, &lab.id, query.file.as_deref()).await;
    Ok(SitePage {
        lab,
        editor: panel.html(),
    }
    .into_response())
}
