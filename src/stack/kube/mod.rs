//! Kubernetes as a second engine for stacks: a plan translated into a namespace of
//! Deployments and Services (`translate`, pure and unit-tested), and a small client that
//! applies, scales, observes and deletes them (`cluster`). The classroom reaches it through
//! its provisioning interface, as it reaches Docker.

pub mod cluster;
mod container;
pub mod names;
mod objects;
mod pod;
pub mod translate;

pub use cluster::{Cluster, ClusterError, ClusterFacts};
pub use translate::{KubeOptions, Manifests, NamedPort, PodPlan, translate};

/// The oldest Kubernetes release lab is tested against (a cluster built from Debian's
/// source in the test suite). The objects lab uses (core/v1, apps/v1, networking/v1) are GA
/// long before it; server-side apply is beta there (on by default since 1.18, GA in 1.22).
pub const OLDEST_TESTED: (u32, u32) = (1, 20);

#[cfg(test)]
mod tests;
