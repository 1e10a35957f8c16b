//! The connection to a Docker engine, and the errors a stack operation can end in. The
//! engine is found the way the docker CLI finds it: `DOCKER_HOST` (unix, tcp, or TLS with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), else the local socket; the API version is
//! negotiated so older engines work.

use crate::course::ContentError;
use bollard::Docker;
use std::collections::HashMap;

/// Why a stack operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// No engine answered.
    #[error(
        "cannot reach the Docker engine at {host}: {reason}\n  Is Docker running? Start Docker (Docker Desktop, or `sudo systemctl start docker`), or point DOCKER_HOST at your engine."
    )]
    Unreachable {
        /// Where lab looked.
        host: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The stack file is invalid.
    #[error("{0}")]
    Stack(#[from] ContentError),
    /// The stack file has problems, each at its position.
    #[error("{0}")]
    StackFile(#[from] super::file::StackFileError),
    /// Images are missing on the engine and could not be pulled: one error for all of
    /// them, saying why and how to bring them in without a registry.
    #[error("{}", super::images::describe_missing(.0))]
    ImagesUnavailable(Vec<super::images::MissingImage>),
    /// A service's image could not be built.
    #[error("image {image} (service {service}) could not be built: {reason}")]
    Build {
        /// The tag being built.
        image: String,
        /// The (first) service that builds it.
        service: String,
        /// The builder's reason, with its last lines of output.
        reason: String,
    },
    /// Something on the engine already uses a name lab needs.
    #[error("a {kind} named {name} already exists and does not belong to project {project}; remove it or pick another project with --project")]
    NameTaken {
        /// container, network or volume.
        kind: &'static str,
        /// The name.
        name: String,
        /// The project lab was working on.
        project: String,
    },
    /// Another `up` or `down` of the same project is at work.
    #[error("{}", busy_message(.project, .holder, .waited))]
    Busy {
        /// The project.
        project: String,
        /// Who holds it, in words ("lab up, pid 4242, on pc-12, for 35s").
        holder: String,
        /// How long lab waited for it, when it did.
        waited: Option<std::time::Duration>,
    },
    /// The project's lock file could not be used.
    #[error("cannot use the lock file {path}: {reason}\n  lab keeps one per project there so that two `lab up` never run at once; check that the folder is writable (LAB_HOME moves it)")]
    Lock {
        /// The file or folder.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// A service did not come up.
    #[error("service {service}: {reason}")]
    Service {
        /// The service.
        service: String,
        /// What happened.
        reason: String,
    },
    /// The engine refused a service (a port taken, a bind source missing, a user or command
    /// the image lacks): the error points at the line of the stack file it is about.
    #[error("{error}")]
    Refused {
        /// The service.
        service: String,
        /// The engine's message, at the service's key in the stack file (boxed: it is
        /// the largest variant, and every `Result` of the module carries the enum).
        error: Box<ContentError>,
    },
    /// Several services failed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<StackError>),
    /// No such service in the project.
    #[error("project {project} has no service {service} (it has: {known})")]
    UnknownService {
        /// The project.
        project: String,
        /// What was asked for.
        service: String,
        /// What exists.
        known: String,
    },
    /// Any other engine error.
    #[error("Docker engine error: {0}")]
    Engine(#[from] bollard::errors::Error),
}

fn busy_message(project: &str, holder: &str, waited: &Option<std::time::Duration>) -> String {
    match waited {
        None => format!(
            "another lab up or down is running for project {project} ({holder}); wait for it to finish and run the command again, or pass --wait to queue behind it"
        ),
        Some(waited) => format!(
            "another lab up or down is still running for project {project} ({holder}) after lab waited {}s; let it finish, or stop it, then try again",
            waited.as_secs()
        ),
    }
}

/// How long connecting to an engine may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    host: String,
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (or the local socket) and negotiates
    /// the API version.
    pub async fn connect() -> Result<Engine, StackError> {
        crate::net::install_crypto_provider();
        let host = docker_host();
        let unreachable = |reason: String| StackError::Unreachable { host: host.clone(), reason };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        // bollard waits up to two minutes for a network engine; a student should not.
        let handshake = async {
            let docker = docker.negotiate_version().await?;
            docker.ping().await?;
            Ok::<_, bollard::errors::Error>(docker)
        };
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()))),
        };
        Ok(Engine { docker, host })
    }

    /// The bollard client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Where the engine is (for messages).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host name at which ports published by this engine are reached: the engine's
    /// host for a tcp:// engine, else `localhost`.
    pub fn published_host(&self) -> String {
        published_host(&self.host)
    }
}

/// `DOCKER_HOST`, or the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

/// The host name at which ports published by the engine at `docker_host` are reached:
/// the engine's host for a network engine, else `localhost`.
pub fn published_host(docker_host: &str) -> String {
    if ["tcp://", "http://", "https://"].iter().any(|p| docker_host.starts_with(p)) {
        crate::net::host_of(docker_host)
    } else {
        "localhost".into()
    }
}

/// Label filter for every object of `project`.
pub fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{}={project}", super::plan::labels::PROJECT)])])
}

/// The message inside an engine error, without bollard's wrapping.
pub fn engine_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// Whether a bollard error is a 404.
pub fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(err, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

#[cfg(test)]
mod tests {
    #[test]
    fn published_host_follows_docker_host() {
        assert_eq!(super::published_host("unix:///var/run/docker.sock"), "localhost");
        assert_eq!(super::published_host("tcp://10.0.0.5:2376"), "10.0.0.5");
        assert_eq!(super::published_host("tcp://0.0.0.0:2375"), "localhost");
        assert_eq!(super::published_host("https://docker.example:2376/"), "docker.example");
    }
}
