//! Images for a plan: services with `build:` get theirs built (or kept, see `build`);
//! present images are used as they are, missing ones pulled concurrently with progress
//! reported per layer. A pull that fails names the image, the service that needs it, and
//! the engine's reason.

use super::engine::{StackError, engine_message, is_not_found};
use super::plan::Plan;
use super::progress::{Progress, StackEvent};
use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// Splits `repo[:tag][@digest]` into what the pull API wants, defaulting the tag to latest.
pub fn split_image(image: &str) -> (String, String) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo.to_owned(), digest.to_owned());
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (image[..slash + i].to_owned(), image[slash + i + 1..].to_owned()),
        None => (image.to_owned(), "latest".to_owned()),
    }
}

/// The image a service runs, as found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageState {
    /// The engine's image id.
    pub id: String,
    /// For an image lab built: its build hash.
    pub build_hash: Option<String>,
}

/// Makes sure every image is present: built ones first, then missing ones pulled
/// concurrently. Returns each image reference's state.
pub(super) async fn ensure_images(docker: &Docker, plan: &Plan, progress: &dyn Progress) -> Result<HashMap<String, ImageState>, StackError> {
    let built = super::build::ensure_built(docker, plan, progress).await?;
    let mut first_user: BTreeMap<&str, &str> = BTreeMap::new();
    // A service may run, by name, an image another service builds.
    for s in plan.services.iter().filter(|s| !built.contains_key(&s.image)) {
        first_user.entry(s.image.as_str()).or_insert(s.name.as_str());
    }
    let pulls = first_user.iter().map(|(image, service)| async move {
        match docker.inspect_image(image).await {
            Ok(found) => return Ok(((*image).to_owned(), found.id.unwrap_or_default())),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(StackError::Engine(e)),
        }
        pull(docker, image, service, progress).await?;
        let found = docker.inspect_image(image).await.map_err(|e| pull_error(image, service, e.to_string()))?;
        Ok(((*image).to_owned(), found.id.unwrap_or_default()))
    });
    let results = futures_util::future::join_all(pulls).await;
    let mut images: HashMap<String, ImageState> = built.into_iter().map(|(image, b)| (image, ImageState { id: b.id, build_hash: Some(b.hash) })).collect();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok((image, id)) => {
                images.insert(image, ImageState { id, build_hash: None });
            }
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(images),
        1 => Err(errors.remove(0)),
        _ => Err(StackError::Several(errors)),
    }
}

fn pull_error(image: &str, service: &str, reason: String) -> StackError {
    StackError::Pull { image: image.to_owned(), service: service.to_owned(), reason }
}

async fn pull(docker: &Docker, image: &str, service: &str, progress: &dyn Progress) -> Result<(), StackError> {
    let (repo, tag) = split_image(image);
    let options = CreateImageOptionsBuilder::default().from_image(&repo).tag(&tag).build();
    let mut stream = docker.create_image(Some(options), None, None);
    progress.event(StackEvent::Pull { image, layer: None, status: "pulling", current: None, total: None });
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| pull_error(image, service, engine_message(&e)))?;
        if let Some(detail) = info.error_detail {
            return Err(pull_error(image, service, detail.message.unwrap_or_else(|| "unknown error".into())));
        }
        let (current, total) = info.progress_detail.map_or((None, None), |d| (d.current.map(|c| c as u64), d.total.map(|t| t as u64)));
        progress.event(StackEvent::Pull {
            image,
            layer: info.id.as_deref(),
            status: info.status.as_deref().unwrap_or(""),
            current,
            total,
        });
    }
    progress.event(StackEvent::Pulled { image });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_repo_and_tag() {
        assert_eq!(split_image("busybox"), ("busybox".into(), "latest".into()));
        assert_eq!(split_image("mesosphere/marathon:v1.11.24"), ("mesosphere/marathon".into(), "v1.11.24".into()));
        assert_eq!(split_image("localhost:5000/x/y"), ("localhost:5000/x/y".into(), "latest".into()));
        assert_eq!(split_image("localhost:5000/x:1"), ("localhost:5000/x".into(), "1".into()));
        assert_eq!(split_image("x@sha256:abc"), ("x".into(), "sha256:abc".into()));
    }
}
