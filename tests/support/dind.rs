//! A "box" image for the Kubernetes tests: Debian's static busybox plus this machine's own
//! Docker daemon (dockerd, containerd, runc, the docker client and the libraries they link),
//! and the busybox test image saved inside it, so a privileged pod can run a Docker daemon
//! and a nested container with nothing pulled from anywhere.

use lab::stack::Engine;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The box image's tag.
pub const DIND: &str = "lab-test/dind:1";

/// What the box runs: a Docker daemon, the busybox image loaded into it, one nested
/// container whose output becomes the page served on port 80.
const BOX_SCRIPT: &str = r#"#!/bin/sh
mkdir -p /www /tmp /var/run /run
dockerd --storage-driver vfs --bridge none --iptables=false --ip-masq=false --data-root /var/lib/docker >/tmp/dockerd.log 2>&1 &
tries=0
until docker version >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 120 ]; then echo "dockerd did not answer"; cat /tmp/dockerd.log; exit 1; fi
  sleep 1
done
echo "dockerd answers"
docker load -i /images/busybox.tar
docker run --rm --network none lab-test/busybox:2 echo "a nested container ran" > /www/page 2>/tmp/run.err || { cat /tmp/run.err; cat /tmp/dockerd.log | tail -20; exit 1; }
mv /www/page /www/index.html
cat /www/index.html
exec httpd -f -p 80 -h /www
"#;

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':').chain(["/usr/sbin", "/sbin"]).map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// The shared libraries (and the loader) `binary` needs, from `ldd`.
fn libraries(binary: &Path) -> Vec<PathBuf> {
    let Ok(out) = std::process::Command::new("ldd").arg(binary).output() else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')).map(PathBuf::from))
        .filter(|p| p.is_file())
        .collect()
}

/// Builds [`DIND`] once (Docker's cache makes later builds instant). Panics with what is
/// missing when this machine has no Docker daemon binaries to copy.
pub async fn dind_image(engine: &Engine) {
    use futures_util::StreamExt;
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    for name in ["dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker"] {
        let binary = which(name).unwrap_or_else(|| panic!("the box image copies this machine's `{name}`, which is not installed (Debian's docker.io has it)"));
        files.extend(libraries(&binary));
        files.insert(binary);
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(PathBuf::from).find(|p| p.exists()).expect("Debian's busybox-static");
    let mut saved = Vec::new();
    let mut stream = engine.docker().export_image(super::docker::BUSYBOX);
    while let Some(chunk) = stream.next().await {
        saved.extend_from_slice(&chunk.expect("saving the busybox test image"));
    }

    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, data).expect("tar");
    };
    for file in &files {
        let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        let data = std::fs::read(&real).unwrap_or_else(|e| panic!("read {}: {e}", real.display()));
        // Binaries go where the box's PATH finds them; libraries where the loader looks.
        let name = if file.to_string_lossy().contains(".so") { format!("rootfs{}", file.display()) } else { format!("rootfs/usr/bin/{}", file.file_name().unwrap_or_default().to_string_lossy()) };
        add(&name, &data, 0o755);
    }
    add("rootfs/bin/busybox", &std::fs::read(busybox).expect("read busybox"), 0o755);
    add("rootfs/box.sh", BOX_SCRIPT.as_bytes(), 0o755);
    add("rootfs/images/busybox.tar", &saved, 0o644);
    let dockerfile = "FROM scratch\nCOPY rootfs/ /\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /tmp /www /var/lib/docker /etc && chmod 1777 /tmp && ln -s /lib /lib64 2>/dev/null; true\"]\nENV PATH=/usr/bin:/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu\nCMD [\"/box.sh\"]\n";
    add("Dockerfile", dockerfile.as_bytes(), 0o644);
    let context = tar.into_inner().expect("tar");
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(DIND).rm(true).build();
    let mut stream = engine.docker().build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.expect("building the box test image");
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            panic!("building the box test image failed: {err}");
        }
    }
}
