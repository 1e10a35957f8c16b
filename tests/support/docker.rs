//! Docker helpers for tests: connecting (or skipping outside CI), a local image builder
//! (`FROM scratch` + Debian's static busybox, since no registry is reachable), and a guard
//! that removes a test project even when the test fails.

use lab::stack::{Engine, Quiet};
use std::sync::OnceLock;
use tokio::sync::OnceCell;

/// The tiny image every engine test runs: busybox's sh, httpd, nc, sleep…
pub const BUSYBOX: &str = "lab-test/busybox:2";

/// Connects to the engine, or skips (outside CI) with the reason printed.
pub async fn engine_or_skip() -> Option<Engine> {
    super::temp_lab_home();
    match Engine::connect().await {
        Ok(engine) => Some(engine),
        Err(err) => {
            super::skip_or_fail("a Docker engine", &err.to_string());
            None
        }
    }
}

/// Builds [`BUSYBOX`] once per test binary (the engine's cache makes later runs instant).
pub async fn busybox_image(engine: &Engine) {
    static BUILT: OnceCell<()> = OnceCell::const_new();
    BUILT.get_or_init(|| async { build_busybox(engine).await }).await;
}

async fn build_busybox(engine: &Engine) {
    use futures_util::StreamExt;
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().find(|p| std::path::Path::new(p).exists()).unwrap_or_else(|| {
        panic!("Debian's busybox-static is needed to build test images: run .ci/install-test-deps")
    });
    let binary = std::fs::read(busybox).expect("read busybox");
    let dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /tmp /www && chmod 1777 /tmp\"]\nCMD [\"sh\"]\n";
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data, mode) in [("Dockerfile", dockerfile.as_bytes(), 0o644), ("busybox", binary.as_slice(), 0o755)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, data).expect("tar");
    }
    let context = tar.into_inner().expect("tar");
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(BUSYBOX).rm(true).build();
    let mut stream = engine.docker().build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.expect("building the busybox test image");
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            panic!("building the busybox test image failed: {err}");
        }
    }
}

/// Removes a project (containers, networks, volumes, and the images lab built for it) when
/// dropped, also after a panic.
pub struct ProjectGuard {
    pub project: String,
}

impl ProjectGuard {
    pub fn new(prefix: &str) -> ProjectGuard {
        static COUNTER: OnceLock<std::sync::atomic::AtomicU32> = OnceLock::new();
        let n = COUNTER.get_or_init(Default::default).fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ProjectGuard { project: format!("labtest-{prefix}-{}-{n}", std::process::id()) }
    }
}

impl Drop for ProjectGuard {
    fn drop(&mut self) {
        let project = self.project.clone();
        // Drop cannot await: clean up on a private runtime in its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(engine) = Engine::connect().await {
                    let _ = lab::stack::down::down(&engine, &project, true, &Quiet).await;
                    remove_built_images(&engine, &project).await;
                }
            });
        })
        .join();
    }
}

/// Removes the images lab built for `project` (they carry its label).
pub async fn remove_built_images(engine: &Engine, project: &str) {
    let filters = std::collections::HashMap::from([("label", vec![format!("lab.project={project}")])]);
    let options = bollard::query_parameters::ListImagesOptionsBuilder::default().filters(&filters).build();
    for image in engine.docker().list_images(Some(options)).await.unwrap_or_default() {
        let remove = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
        let _ = engine.docker().remove_image(&image.id, Some(remove), None).await;
    }
}
