//! A real Kubernetes for tests: `tests/kubernetes/cluster.sh` starts a v1.20.2 cluster of
//! one or two nodes (built from Debian's source by `.ci/build-kubernetes`) in a temporary
//! folder, and stops it, undoing every host change and deleting the folder, when the
//! [`TestCluster`] is dropped (a test binary that keeps it in a static calls
//! [`TestCluster::down`] itself).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster and the folder that holds its state (deleted by [`TestCluster::down`]
/// only: never while something is still mounted below it).
pub struct TestCluster {
    pub dir: PathBuf,
    /// Seconds `up` took to a Ready node.
    pub startup: f64,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubernetes/cluster.sh")
}

/// Why this machine cannot run the cluster, if it cannot.
pub fn unavailable() -> Option<String> {
    let home = std::env::var("LAB_K8S_HOME").unwrap_or_else(|_| "/var/cache/lab-kubernetes".into());
    let bin = Path::new(&home).join("v1.20.2/bin/kube-apiserver");
    if !bin.exists() {
        return Some(format!("{} is missing: run .ci/build-kubernetes (part of .ci/install-test-deps)", bin.display()));
    }
    let uid = Command::new("id").arg("-u").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref() != Some("0") {
        return Some("the cluster's kubelet needs root".into());
    }
    None
}

impl TestCluster {
    /// Starts a cluster of one node and side-loads `images` from Docker into it.
    pub fn up(images: &[&str]) -> Result<TestCluster, String> {
        TestCluster::up_with_nodes(images, 1)
    }

    /// Starts a cluster of `nodes` nodes (1 or 2: the second is a kubelet in a network
    /// namespace of its own) and side-loads `images` into each.
    pub fn up_with_nodes(images: &[&str], nodes: u8) -> Result<TestCluster, String> {
        let dir = tempfile::Builder::new().prefix("lab-k8s-").tempdir().map_err(|e| e.to_string())?.keep();
        // From here on, dropping `cluster` (a failed `up` or `load` included) runs `down`.
        let mut cluster = TestCluster { dir, startup: 0.0 };
        let out = Command::new(script()).arg("up").arg(&cluster.dir).env("LAB_K8S_NODES", nodes.to_string()).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("cluster.sh up failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        }
        cluster.startup = String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|w| w.parse::<f64>().ok()).next_back().unwrap_or(0.0);
        if !images.is_empty() {
            let out = Command::new(script()).arg("load").arg(&cluster.dir).args(images).output().map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("cluster.sh load failed:\n{}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        Ok(cluster)
    }

    /// Stops node `name`'s kubelet, as if the machine were lost (`down` still cleans it).
    pub fn stop_node(&self, name: &str) {
        let out = Command::new(script()).arg("stop-node").arg(&self.dir).arg(name).output().expect("cluster.sh stop-node runs");
        assert!(out.status.success(), "stop-node {name}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client of the cluster.
    pub async fn cluster(&self) -> lab::stack::kube::Cluster {
        lab::stack::kube::Cluster::connect(Some(&self.kubeconfig())).await.expect("the test cluster's kubeconfig works")
    }

    /// A raw kube client, for what lab itself never does (deleting a pod behind its back).
    pub async fn client(&self) -> kube::Client {
        self.cluster().await.client()
    }

    /// The apiserver's audit log (one JSON event per line).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("logs/audit.log")
    }
}

impl TestCluster {
    /// Stops the cluster, undoing its host changes, and deletes its folder (~1.3 GB of images
    /// and etcd data for two nodes). `Drop` calls it; a cluster kept in a static, which is
    /// never dropped, calls it by hand.
    pub fn down(&self) {
        let out = Command::new(script()).arg("down").arg(&self.dir).output();
        match out {
            Ok(o) if o.status.success() => {
                // Never delete through a mount that `down` left behind.
                let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
                let root = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
                let below = format!("{}/", root.display());
                if let Some(left) = mounts.lines().filter_map(|l| l.split(' ').nth(4)).find(|m| *m == root.to_string_lossy() || m.starts_with(&below)) {
                    eprintln!("the cluster's folder is kept: {left} is still mounted");
                } else if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                    eprintln!("cannot delete the cluster's folder {}: {e}", self.dir.display());
                }
            }
            // Left in place: its logs say why `down` failed, and what it holds may still be mounted.
            Ok(o) => eprintln!("cluster.sh down failed (its folder {} is kept):\n{}", self.dir.display(), String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("cluster.sh down could not run: {e}"),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.down();
    }
}
