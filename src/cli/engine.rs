//! `--engine`: where stacks run. Docker (the default) for solo runs and classes on one
//! machine; Kubernetes for a class bigger than one machine (`lab serve --classroom`), for
//! `lab doctor`, and to show a stack's translation (`lab up --dry-run`).

use std::path::PathBuf;

/// The engines stacks can run on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    /// The local Docker engine.
    #[default]
    Docker,
    /// A Kubernetes cluster (kubeconfig from --kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster).
    Kubernetes,
}

/// The engine flags shared by `serve`, `up` and `doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Where stacks run.
    #[arg(long, value_enum, default_value_t = EngineKind::Docker, env = "LAB_ENGINE")]
    pub engine: EngineKind,
    /// The cluster's kubeconfig (default: KUBECONFIG, which may list several files,
    /// ~/.kube/config, or the in-cluster account).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Prefix of each student's namespace on Kubernetes.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub namespace_prefix: String,
    /// The address students reach node ports on (default: a ready node's address).
    #[arg(long, value_name = "HOST")]
    pub node_address: Option<String>,
    /// Keep named volumes in claims of this storage class (default: emptyDir, gone with the pod).
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,
}

impl EngineArgs {
    /// Whether stacks run on Kubernetes.
    pub fn kubernetes(&self) -> bool {
        self.engine == EngineKind::Kubernetes
    }

    /// The Kubernetes settings of a class.
    pub fn settings(&self) -> crate::classroom::KubernetesSettings {
        crate::classroom::KubernetesSettings { namespace_prefix: self.namespace_prefix.clone(), node_address: self.node_address.clone(), storage_class: self.storage_class.clone() }
    }

    /// Connects to the cluster.
    pub async fn cluster(&self) -> anyhow::Result<crate::stack::kube::Cluster> {
        Ok(crate::stack::kube::Cluster::connect(self.kubeconfig.as_deref()).await?)
    }
}
