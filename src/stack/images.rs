//! Images for a plan: services with `build:` get theirs built (or kept, see `build`);
//! present images are used as they are (never pulled again), missing ones pulled
//! concurrently with progress reported per layer. `lab pull` gets a summary of what
//! happened to each image; `lab up` gets one error naming every image it could not get,
//! with the way to bring them onto a machine that cannot reach a registry.

use super::engine::{StackError, engine_message, is_not_found};
use super::plan::Plan;
use super::progress::{Progress, StackEvent};
use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

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

/// Every image the plan names, sorted, with the services that use it (in file order).
pub fn wanted_images(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &plan.services {
        images.entry(s.image.clone()).or_default().push(s.name.clone());
    }
    images
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// It was on the engine already; nothing was pulled.
    Present,
    /// It was pulled now.
    Pulled,
    /// It could not be pulled: the engine's reason.
    Failed(String),
}

/// One image of a stack and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePull {
    /// The image reference, as the stack file writes it.
    pub image: String,
    /// The services that use it.
    pub services: Vec<String>,
    /// Present, pulled or failed.
    pub outcome: PullOutcome,
    /// The image id on the engine, once it is there.
    pub id: Option<String>,
}

/// What a pull of a whole stack did, image by image (sorted by reference).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullSummary {
    /// Every image of the stack.
    pub images: Vec<ImagePull>,
}

impl PullSummary {
    /// The images that could not be pulled.
    pub fn failed(&self) -> Vec<&ImagePull> {
        self.images.iter().filter(|i| matches!(i.outcome, PullOutcome::Failed(_))).collect()
    }

    /// Whether every image is on the engine now.
    pub fn all_present(&self) -> bool {
        self.failed().is_empty()
    }

    /// One line per image, a count, and for failures the way to get them anyway.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for i in &self.images {
            let _ = match &i.outcome {
                PullOutcome::Present => writeln!(out, "✓ already present  {}", i.image),
                PullOutcome::Pulled => writeln!(out, "✓ pulled           {}", i.image),
                PullOutcome::Failed(reason) => writeln!(out, "✗ failed           {}\n    {reason}", i.image),
            };
        }
        let count = |want: fn(&PullOutcome) -> bool| self.images.iter().filter(|i| want(&i.outcome)).count();
        let _ = writeln!(
            out,
            "{} image{}: {} pulled, {} already present, {} failed",
            self.images.len(),
            if self.images.len() == 1 { "" } else { "s" },
            count(|o| *o == PullOutcome::Pulled),
            count(|o| *o == PullOutcome::Present),
            count(|o| matches!(o, PullOutcome::Failed(_))),
        );
        let failed = self.failed();
        if !failed.is_empty() {
            out.push_str(&causes(failed.iter().map(|f| failure_reason(f))));
            out.push_str(&get_them_hint(&failed.iter().map(|f| f.image.as_str()).collect::<Vec<_>>()));
        }
        out
    }
}

fn failure_reason(i: &ImagePull) -> &str {
    match &i.outcome {
        PullOutcome::Failed(r) => r,
        _ => "",
    }
}

/// One image `lab up` could not get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingImage {
    /// The image reference.
    pub image: String,
    /// The services that need it.
    pub services: Vec<String>,
    /// The engine's reason.
    pub reason: String,
}

/// Why a registry refused or could not be reached, from the engine's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// No registry answered: DNS, refused or timed-out connections, TLS failures.
    Unreachable,
    /// The registry answered but refused: no such repository, or it needs a login.
    Denied,
    /// The repository exists but not this tag.
    NotFound,
    /// Anything else.
    Other,
}

/// Classifies an engine's pull error.
pub fn cause(reason: &str) -> Cause {
    let r = reason.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if any(&["no such host", "lookup ", "name resolution", "connection refused", "timeout", "timed out", "tls handshake", "network is unreachable", "no route to host", "connection reset", "dial tcp", "proxyconnect", "deadline exceeded"]) {
        Cause::Unreachable
    } else if any(&["pull access denied", "unauthorized", "denied", "authentication required"]) {
        Cause::Denied
    } else if any(&["manifest unknown", "not found"]) {
        Cause::NotFound
    } else {
        Cause::Other
    }
}

/// One sentence per distinct cause among `reasons`.
fn causes<'a>(reasons: impl Iterator<Item = &'a str>) -> String {
    let mut found: Vec<Cause> = reasons.map(cause).collect();
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|c| match c {
            Cause::Unreachable => "No registry could be reached from the Docker engine: this machine looks offline (or a firewall or proxy is in the way).\n",
            Cause::Denied => "The registry refused: the repository does not exist there, or it needs `docker login`.\n",
            Cause::NotFound => "The registry has no such tag: check the image names in the stack file.\n",
            Cause::Other => "The engine could not pull (see its reason above).\n",
        })
        .collect()
}

/// How to get `images` onto an engine that cannot pull them itself.
pub fn get_them_hint(images: &[&str]) -> String {
    format!(
        "To get them, either\n  - run `lab pull` (with the same --lab/--stack) once this machine is online, or\n  - on a machine that is online, run `lab pull`, then\n      docker save -o lab-images.tar {}\n    copy lab-images.tar here and run `docker load -i lab-images.tar`.\n",
        images.join(" ")
    )
}

/// The one message `lab up` shows when images are missing and cannot be pulled.
pub fn describe_missing(missing: &[MissingImage]) -> String {
    let mut out = format!(
        "cannot get {} the stack needs, so nothing was started:\n",
        if missing.len() == 1 { "1 image".to_owned() } else { format!("{} images", missing.len()) }
    );
    // Images failing for the same reason (the same unreachable registry) share one line.
    let mut groups: Vec<(&str, Vec<&MissingImage>)> = Vec::new();
    for m in missing {
        match groups.iter_mut().find(|(r, _)| *r == m.reason) {
            Some((_, list)) => list.push(m),
            None => groups.push((&m.reason, vec![m])),
        }
    }
    for (reason, list) in &groups {
        for m in list {
            let s = if m.services.len() == 1 { "service" } else { "services" };
            let _ = writeln!(out, "  {} ({s} {})", m.image, m.services.join(", "));
        }
        let _ = writeln!(out, "    the engine says: {reason}");
    }
    out.push_str(&causes(missing.iter().map(|m| m.reason.as_str())));
    out.push_str(&get_them_hint(&missing.iter().map(|m| m.image.as_str()).collect::<Vec<_>>()));
    out.trim_end().to_owned()
}

/// Pulls every image of `wanted` (image → services, see [`wanted_images`]) that is not on
/// the engine, concurrently, and says what happened to each. Only an engine that stops
/// answering is an error.
pub async fn pull_images(docker: &Docker, wanted: BTreeMap<String, Vec<String>>, progress: &dyn Progress) -> Result<PullSummary, StackError> {
    let pulls = wanted.into_iter().map(|(image, services)| async move {
        match docker.inspect_image(&image).await {
            Ok(found) => return Ok(ImagePull { image, services, outcome: PullOutcome::Present, id: found.id }),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(StackError::Engine(e)),
        }
        let (outcome, id) = match pull(docker, &image, progress).await {
            Ok(()) => match docker.inspect_image(&image).await {
                Ok(found) => (PullOutcome::Pulled, found.id),
                Err(e) => (PullOutcome::Failed(engine_message(&e)), None),
            },
            Err(reason) => {
                progress.event(StackEvent::PullFailed { image: &image });
                (PullOutcome::Failed(reason), None)
            }
        };
        Ok(ImagePull { image, services, outcome, id })
    });
    let images = futures_util::future::join_all(pulls).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(PullSummary { images })
}

/// The image a service runs, as found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageState {
    /// The engine's image id.
    pub id: String,
    /// For an image lab built: its build hash.
    pub build_hash: Option<String>,
}

/// The images of `plan` that are pulled, not built (with the services that use them).
pub fn images_to_pull(plan: &Plan, built: &dyn Fn(&str) -> bool) -> BTreeMap<String, Vec<String>> {
    let mut wanted = wanted_images(plan);
    wanted.retain(|image, _| !built(image));
    wanted
}

/// The images of `plan` that come from a registry: every one but those a service builds.
pub fn pulled_images(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    images_to_pull(plan, &|image| plan.services.iter().any(|s| s.build.is_some() && s.image == image))
}

/// Makes sure every image is present: built ones first, then missing ones pulled
/// concurrently. Images that cannot be had make one error naming all of them.
pub(super) async fn ensure_images(docker: &Docker, plan: &Plan, progress: &dyn Progress) -> Result<HashMap<String, ImageState>, StackError> {
    let built = super::build::ensure_built(docker, plan, progress).await?;
    // A service may run, by name, an image another service builds.
    let summary = pull_images(docker, images_to_pull(plan, &|image| built.contains_key(image)), progress).await?;
    let missing: Vec<MissingImage> = summary
        .images
        .iter()
        .filter_map(|i| match &i.outcome {
            PullOutcome::Failed(reason) => Some(MissingImage { image: i.image.clone(), services: i.services.clone(), reason: reason.clone() }),
            _ => None,
        })
        .collect();
    if !missing.is_empty() {
        return Err(StackError::ImagesUnavailable(missing));
    }
    let mut images: HashMap<String, ImageState> = built.into_iter().map(|(image, b)| (image, ImageState { id: b.id, build_hash: Some(b.hash) })).collect();
    for i in summary.images {
        images.insert(i.image, ImageState { id: i.id.unwrap_or_default(), build_hash: None });
    }
    Ok(images)
}

/// Pulls one image, reporting progress; the error is the engine's reason.
async fn pull(docker: &Docker, image: &str, progress: &dyn Progress) -> Result<(), String> {
    let (repo, tag) = split_image(image);
    let options = CreateImageOptionsBuilder::default().from_image(&repo).tag(&tag).build();
    let mut stream = docker.create_image(Some(options), None, None);
    progress.event(StackEvent::Pull { image, layer: None, status: "pulling", current: None, total: None });
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| engine_message(&e))?;
        if let Some(detail) = info.error_detail {
            return Err(detail.message.unwrap_or_else(|| "unknown error".into()));
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

    const DNS: &str = "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.0.0.53:53: no such host";

    #[test]
    fn pull_errors_are_classified_from_the_engines_words() {
        assert_eq!(cause(DNS), Cause::Unreachable);
        assert_eq!(cause("Get \"http://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection refused"), Cause::Unreachable);
        assert_eq!(cause("Get \"https://r.example/v2/\": net/http: TLS handshake timeout"), Cause::Unreachable);
        assert_eq!(cause("pull access denied for none/x, repository does not exist or may require 'docker login'"), Cause::Denied);
        assert_eq!(cause("manifest for busybox:nope not found: manifest unknown: manifest unknown"), Cause::NotFound);
        assert_eq!(cause("write /var/lib/docker/tmp: no space left on device"), Cause::Other);
    }

    fn entry(image: &str, outcome: PullOutcome) -> ImagePull {
        ImagePull { image: image.into(), services: vec!["s".into()], outcome, id: None }
    }

    #[test]
    fn the_pull_summary_counts_and_explains_failures() {
        let summary = PullSummary {
            images: vec![
                entry("a:1", PullOutcome::Present),
                entry("b:1", PullOutcome::Pulled),
                entry("c:1", PullOutcome::Failed(DNS.into())),
                entry("d:1", PullOutcome::Failed(DNS.into())),
            ],
        };
        assert!(!summary.all_present());
        let text = summary.render();
        assert!(text.contains("✓ already present  a:1\n"), "{text}");
        assert!(text.contains("✓ pulled           b:1\n"), "{text}");
        assert!(text.contains(&format!("✗ failed           c:1\n    {DNS}\n")), "{text}");
        assert!(text.contains("4 images: 1 pulled, 1 already present, 2 failed\n"), "{text}");
        assert_eq!(text.matches("No registry could be reached").count(), 1, "the cause is said once: {text}");
        assert!(text.contains("docker save -o lab-images.tar c:1 d:1\n"), "only the failed ones: {text}");
        assert!(text.contains("docker load -i lab-images.tar"), "{text}");

        let fine = PullSummary { images: vec![entry("a:1", PullOutcome::Present)] };
        assert!(fine.all_present());
        assert!(!fine.render().contains("docker load"), "{}", fine.render());
    }

    #[test]
    fn missing_images_make_one_message_naming_them_all() {
        let missing = vec![
            MissingImage { image: "x:1".into(), services: vec!["web".into()], reason: DNS.into() },
            MissingImage { image: "y:1".into(), services: vec!["db".into(), "worker".into()], reason: DNS.into() },
            MissingImage { image: "z:1".into(), services: vec!["z".into()], reason: "pull access denied for z".into() },
        ];
        let text = describe_missing(&missing);
        assert!(text.starts_with("cannot get 3 images the stack needs, so nothing was started:\n"), "{text}");
        assert!(text.contains("  x:1 (service web)\n  y:1 (services db, worker)\n"), "{text}");
        assert_eq!(text.matches(DNS).count(), 1, "a shared reason is said once: {text}");
        assert!(text.contains("No registry could be reached") && text.contains("needs `docker login`"), "{text}");
        assert!(text.contains("`lab pull`") && text.contains("docker save -o lab-images.tar x:1 y:1 z:1"), "{text}");
        assert!(text.ends_with("run `docker load -i lab-images.tar`."), "{text}");
    }
}
