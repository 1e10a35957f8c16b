//! Whose site folder a request works on, and which Marathon a save deploys to. The student
//! always comes from the [`Viewer`] (the session), never from the request: solo mode uses
//! the local workspace and the Marathon `lab serve` checks against; in a class, a signed-in
//! student gets their own workspace and their own stack's Marathon. The instructor has no
//! site of their own (403), and visitors never get here (the class gate answers 401).

use super::super::session::Viewer;
use super::super::{AppState, CheckTarget, Mode};
use super::ApiError;
use crate::editor::SiteFolder;
use crate::marathon::Marathon;
use crate::store::StudentId;
use std::path::PathBuf;
use std::time::Duration;

/// How long a deploy request may take (Marathon answers a PUT in well under a second).
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(10);

/// One student's site folder, as the editor routes see it.
#[derive(Clone)]
pub struct SiteAccess {
    /// Whose it is (`None` in solo mode: events go to every page).
    pub student: Option<StudentId>,
    /// The folder.
    pub folder: SiteFolder,
    state: AppState,
    viewer: Viewer,
}

impl SiteAccess {
    /// The viewer's site folder, or why there is none.
    pub async fn of(state: &AppState, viewer: &Viewer) -> Result<SiteAccess, ApiError> {
        let (student, site) = match (&state.mode, viewer) {
            (Mode::Solo { checks, .. }, _) => (None, solo_site(checks)?),
            (Mode::Classroom(_), Viewer::Student { id, .. }) => {
                (Some(*id), class_site(state, *id).await?)
            }
            (Mode::Classroom(_), Viewer::Instructor) => {
                return Err(ApiError::forbidden(
                    "The instructor has no site folder of their own; each student edits theirs on their own pages.",
                ));
            }
            (Mode::Classroom(_), _) => return Err(ApiError::unauthorized()),
        };
        if !site.is_dir() {
            let hint = match state.mode {
                Mode::Solo { .. } => "run `lab up` to create your workspace and its site folder",
                Mode::Classroom(_) => {
                    "press Start on the home page: your site files are copied when your stack starts"
                }
            };
            return Err(ApiError::unavailable(format!(
                "You have no site folder yet: {hint}."
            )));
        }
        let folder = SiteFolder::open(&site).map_err(|e| {
            tracing::warn!("cannot open a site folder: {e}");
            ApiError::unavailable(
                "Your site folder cannot be opened right now; try again, or tell the instructor."
                    .to_owned(),
            )
        })?;
        Ok(SiteAccess {
            student,
            folder,
            state: state.clone(),
            viewer: viewer.clone(),
        })
    }

    /// The Marathon this student's saves go to, when their stack has one right now.
    pub async fn marathon(&self) -> Option<Marathon> {
        let url = match (&self.state.mode, &self.viewer) {
            (Mode::Solo { checks, .. }, _) => match checks {
                CheckTarget::None => None,
                CheckTarget::Fixed(target) => Some(target.marathon.url().to_owned()),
                CheckTarget::Project(project) => Some(
                    crate::checks::target::resolve(project, Default::default())
                        .await
                        .marathon
                        .url()
                        .to_owned(),
                ),
            },
            (Mode::Classroom(classroom), Viewer::Student { id, .. }) => classroom
                .check_target(*id)
                .map(|t| t.marathon.url().to_owned()),
            _ => None,
        };
        url.map(|u| Marathon::with_timeout(&u, DEPLOY_TIMEOUT))
    }

    /// The state, to publish events.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// The solo student's site folder: the fixed target's, or the workspace of the project.
fn solo_site(checks: &CheckTarget) -> Result<PathBuf, ApiError> {
    match checks {
        CheckTarget::Fixed(target) => target.site_dir.clone().ok_or_else(|| {
            ApiError::unavailable("This server was started without a site folder.".to_owned())
        }),
        CheckTarget::Project(project) => Ok(crate::marathon::workspace::site_dir(
            &crate::stack::project::workspace_dir(project),
        )),
        CheckTarget::None => Err(ApiError::unavailable(
            "This server has no workspace to edit: start it with `lab serve` after `lab up`."
                .to_owned(),
        )),
    }
}

/// A class student's site folder: in the workspace of their stack's project.
async fn class_site(state: &AppState, student: StudentId) -> Result<PathBuf, ApiError> {
    let record = state
        .store()
        .student_stack(student)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let Some(record) = record else {
        return Err(ApiError::unavailable("You have no site folder yet: press Start on the home page; your site files are copied when your stack starts.".to_owned()));
    };
    Ok(crate::marathon::workspace::site_dir(
        &crate::stack::project::workspace_dir(&record.project),
    ))
}
