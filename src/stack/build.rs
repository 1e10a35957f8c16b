//! Images built from a service's `build:`, through the Engine API (no docker CLI, no
//! registry: a class can build offline). The context folder is read as the Docker CLI reads
//! it (`.dockerignore` honoured; the Dockerfile and `.dockerignore` always sent; links sent
//! as links) and digested — paths, file types, modes, contents, plus the Dockerfile path,
//! args and target. The digest is stored on the image as the `lab.build-hash` label, and an
//! image with the service's tag and that label is used as it is: an unchanged context is
//! never rebuilt. Modification times are left out of the digest, so touching a file or a
//! fresh checkout does not rebuild either.

use super::dockerignore::Ignore;
use super::engine::{StackError, engine_message, is_not_found};
use super::plan::{BuildPlan, Plan, ServicePlan, labels};
use super::progress::{Progress, StackEvent};
use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// An image lab built (or found built from the same context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The engine's image id.
    pub id: String,
    /// The build hash it carries.
    pub hash: String,
}

/// One path of a build context.
#[derive(Debug, Clone)]
struct Entry {
    /// `/`-separated, relative to the context.
    relative: String,
    path: PathBuf,
    kind: Kind,
    mode: u32,
    mtime: u64,
}

#[derive(Debug, Clone)]
enum Kind {
    Dir,
    File,
    Link(PathBuf),
}

/// Bumped when the digest's recipe changes, so old images are rebuilt rather than misread.
const RECIPE: &str = "lab-build-1";

/// The digest of a build: its context as sent (after `.dockerignore`), Dockerfile path,
/// args and target.
pub fn build_hash(build: &BuildPlan) -> Result<String, String> {
    scan(build, None).map(|(hash, _)| hash)
}

/// The context as a tar for the Engine API, with its digest (computed from the very bytes
/// sent) and how many paths it holds.
pub fn pack(build: &BuildPlan) -> Result<(String, Vec<u8>, usize), String> {
    let mut tar = tar::Builder::new(Vec::new());
    let (hash, count) = scan(build, Some(&mut tar))?;
    let bytes = tar.into_inner().map_err(|e| format!("cannot pack the build context: {e}"))?;
    Ok((hash, bytes, count))
}

fn scan(build: &BuildPlan, mut tar: Option<&mut tar::Builder<Vec<u8>>>) -> Result<(String, usize), String> {
    let entries = context_entries(build)?;
    let mut hasher = Sha256::new();
    let mut feed = |part: &[u8]| {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    };
    feed(RECIPE.as_bytes());
    feed(build.dockerfile.as_bytes());
    feed(build.target.as_deref().unwrap_or("").as_bytes());
    let mut args = build.args.clone();
    args.sort();
    for (k, v) in &args {
        feed(b"arg");
        feed(k.as_bytes());
        feed(v.as_bytes());
    }
    let unreadable = |path: &Path, e: std::io::Error| format!("cannot read {}: {e}", path.display());
    for entry in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_mtime(entry.mtime);
        header.set_uid(0);
        header.set_gid(0);
        feed(entry.relative.as_bytes());
        feed(format!("{:o}", entry.mode).as_bytes());
        let appended = match &entry.kind {
            Kind::Dir => {
                feed(b"dir");
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.as_mut().map(|t| t.append_data(&mut header, &entry.relative, std::io::empty()))
            }
            Kind::File => {
                let data = std::fs::read(&entry.path).map_err(|e| unreadable(&entry.path, e))?;
                feed(b"file");
                feed(&data);
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                tar.as_mut().map(|t| t.append_data(&mut header, &entry.relative, data.as_slice()))
            }
            Kind::Link(target) => {
                feed(b"link");
                feed(target.as_os_str().as_encoded_bytes());
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.as_mut().map(|t| t.append_link(&mut header, &entry.relative, target))
            }
        };
        appended.transpose().map_err(|e| format!("cannot pack {}: {e}", entry.path.display()))?;
    }
    Ok((crate::digest::hex(&hasher.finalize()[..16]), entries.len()))
}

/// Every path of the context that is sent, sorted.
fn context_entries(build: &BuildPlan) -> Result<Vec<Entry>, String> {
    let ignore_file = build.context.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_file) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(format!("cannot read {}: {e}", ignore_file.display())),
    };
    let mut entries = Vec::new();
    walk(&build.context, "", &ignore, &build.dockerfile, &mut entries)?;
    entries.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(entries)
}

fn walk(dir: &Path, prefix: &str, ignore: &Ignore, dockerfile: &str, out: &mut Vec<Entry>) -> Result<(), String> {
    let listing = std::fs::read_dir(dir).map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
    for item in listing {
        let item = item.map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // The builder always needs these two, whatever .dockerignore says.
        let excluded = ignore.excludes(&relative) && relative != dockerfile && relative != ".dockerignore";
        let kind = if meta.is_dir() {
            Kind::Dir
        } else if meta.is_file() {
            Kind::File
        } else if meta.file_type().is_symlink() {
            Kind::Link(std::fs::read_link(&path).map_err(|e| format!("cannot read the link {}: {e}", path.display()))?)
        } else {
            // Sockets, pipes and devices cannot be sent; the Docker CLI skips them too.
            continue;
        };
        let is_dir = matches!(kind, Kind::Dir);
        if !excluded {
            out.push(Entry { relative: relative.clone(), path: path.clone(), mode: mode(&meta), mtime: mtime(&meta), kind });
        }
        // An excluded folder may still hold paths a `!` line takes back in.
        if is_dir && (!excluded || ignore.has_exceptions() || dockerfile.starts_with(&format!("{relative}/"))) {
            walk(&path, &relative, ignore, dockerfile, out)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode(meta: &Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode(meta: &Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}

fn mtime(meta: &Metadata) -> u64 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())
}

/// Builds every service image whose context changed since it was last built (once per
/// image name), in file order. Returns the built images by name.
pub(super) async fn ensure_built(docker: &Docker, plan: &Plan, progress: &dyn Progress) -> Result<HashMap<String, Built>, StackError> {
    let mut built = HashMap::new();
    for service in &plan.services {
        let Some(build) = &service.build else { continue };
        if built.contains_key(&service.image) {
            continue;
        }
        let fail = |reason: String| build_error(service, reason);
        let to_hash = build.clone();
        let hash = tokio::task::spawn_blocking(move || build_hash(&to_hash)).await.map_err(|e| fail(e.to_string()))?.map_err(fail)?;
        let image = match current(docker, &service.image, &hash).await? {
            Some(id) => Built { id, hash },
            None => run_build(docker, &plan.project, service, build, progress).await?,
        };
        built.insert(service.image.clone(), image);
    }
    Ok(built)
}

fn build_error(service: &ServicePlan, reason: String) -> StackError {
    StackError::Build { image: service.image.clone(), service: service.name.clone(), reason }
}

/// The id of the image tagged `image` when it was built from a context with `hash`.
async fn current(docker: &Docker, image: &str, hash: &str) -> Result<Option<String>, StackError> {
    match docker.inspect_image(image).await {
        Ok(found) => {
            let labels = found.config.and_then(|c| c.labels).unwrap_or_default();
            Ok((labels.get(labels::BUILD_HASH).map(String::as_str) == Some(hash)).then(|| found.id.unwrap_or_default()))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(StackError::Engine(e)),
    }
}

/// How many lines of the builder's output a failure quotes.
const TAIL: usize = 8;

async fn run_build(docker: &Docker, project: &str, service: &ServicePlan, build: &BuildPlan, progress: &dyn Progress) -> Result<Built, StackError> {
    let (image, name) = (service.image.as_str(), service.name.as_str());
    let to_pack = build.clone();
    let (hash, context, count) =
        tokio::task::spawn_blocking(move || pack(&to_pack)).await.map_err(|e| build_error(service, e.to_string()))?.map_err(|e| build_error(service, e))?;
    let line = format!("sending the build context: {count} paths, {} KiB", context.len().div_ceil(1024));
    progress.event(StackEvent::Build { service: name, image, line: &line });

    let image_labels = HashMap::from([
        (labels::BUILD_HASH, hash.as_str()),
        (labels::PROJECT, project),
        (labels::SERVICE, name),
    ]);
    let args: HashMap<&str, &str> = build.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut options = BuildImageOptionsBuilder::default().dockerfile(&build.dockerfile).t(image).rm(true).forcerm(true).labels(&image_labels).buildargs(&args);
    if let Some(target) = &build.target {
        options = options.target(target);
    }
    let mut stream = docker.build_image(options.build(), None, Some(bollard::body_full(context.into())));
    let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL);
    let failed = |message: String, tail: &VecDeque<String>| {
        let output = if tail.is_empty() { String::new() } else { format!("\n  last output:\n    {}", tail.iter().cloned().collect::<Vec<_>>().join("\n    ")) };
        build_error(service, format!("{message}{output}"))
    };
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| failed(engine_message(&e), &tail))?;
        if let Some(detail) = info.error_detail {
            return Err(failed(detail.message.unwrap_or_else(|| "the build failed".into()), &tail));
        }
        let text = info.stream.or(info.status).unwrap_or_default();
        for line in text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()) {
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
            progress.event(StackEvent::Build { service: name, image, line });
        }
    }
    let found = docker.inspect_image(image).await.map_err(|e| failed(format!("the built image is missing: {}", engine_message(&e)), &tail))?;
    progress.event(StackEvent::Built { service: name, image });
    Ok(Built { id: found.id.unwrap_or_default(), hash })
}

#[cfg(test)]
mod tests;
