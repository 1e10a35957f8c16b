//! The project's networks and volumes on the engine, found by label and id, never by name
//! alone.
//!
//! Network names are not unique on the engine: asked twice for one name (two `up`s at
//! once, or two machines sharing an engine), it makes two networks, and from then on the
//! engine refuses to start any container on that name ("network … is ambiguous"), even one
//! created with the network's id. So lab keeps one network per name: the oldest of the
//! project's (the same choice wherever it is made), removes the others, and checks that
//! each kept container is on the network lab kept, recreating it when it is not. Volume and
//! container names are unique on the engine, so for them the label only tells whose a name is.

use super::engine::{StackError, is_not_found, project_filter};
use super::plan::{Plan, ServicePlan, labels};
use bollard::Docker;
use bollard::models::{ContainerSummary, Network, NetworkCreateRequest, NetworkDisconnectRequest, VolumeCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;
use std::collections::HashMap;

/// The id of each network lab keeps for the plan, by name.
pub type NetworkIds = HashMap<String, String>;

/// The project's networks (by label), optionally only those of one name.
async fn project_networks(docker: &Docker, project: &str, name: Option<&str>) -> Result<Vec<Network>, StackError> {
    let mut filters = project_filter(project);
    if let Some(name) = name {
        filters.insert("name".into(), vec![name.to_owned()]);
    }
    let listed = docker.list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build())).await?;
    // The engine's name filter matches parts of names too.
    Ok(listed.into_iter().filter(|n| name.is_none_or(|wanted| n.name.as_deref() == Some(wanted))).collect())
}

/// Of several networks with one name, the one everybody keeps: the oldest, then the
/// smallest id (for engines whose creation times do not compare).
fn keeper(candidates: &[&Network]) -> Option<String> {
    candidates
        .iter()
        .min_by(|a, b| (created(a).is_none(), created(a), a.id.as_deref()).cmp(&(created(b).is_none(), created(b), b.id.as_deref())))
        .and_then(|n| n.id.clone())
}

/// When a network was created, in an order that compares.
fn created(network: &Network) -> Option<(&str, u32)> {
    network.created.as_deref().and_then(super::sharing::instant)
}

/// Creates the plan's networks that do not exist yet, and settles on one network per name.
pub async fn ensure_networks(docker: &Docker, plan: &Plan) -> Result<NetworkIds, StackError> {
    let ours = project_networks(docker, &plan.project, None).await?;
    let mut ids = NetworkIds::new();
    for net in &plan.networks {
        let named: Vec<&Network> = ours.iter().filter(|n| n.name.as_deref() == Some(net.name.as_str())).collect();
        if let Some(id) = keeper(&named) {
            ids.insert(net.name.clone(), id);
            continue;
        }
        let taken = docker.list_networks(Some(ListNetworksOptionsBuilder::default().filters(&HashMap::from([("name", vec![net.name.clone()])])).build())).await?;
        if taken.iter().any(|n| n.name.as_deref() == Some(net.name.as_str())) {
            return Err(StackError::NameTaken { kind: "network", name: net.name.clone(), project: plan.project.clone() });
        }
        let mut l = net.labels.clone();
        l.insert(labels::PROJECT.into(), plan.project.clone());
        l.insert(labels::NAME.into(), net.key.clone());
        docker
            .create_network(NetworkCreateRequest {
                name: net.name.clone(),
                driver: net.driver.clone(),
                internal: net.internal.then_some(true),
                attachable: net.attachable.then_some(true),
                labels: Some(l),
                options: (!net.options.is_empty()).then(|| net.options.clone()),
                ..Default::default()
            })
            .await?;
        // Someone else (another machine on this engine) may have created one at the same
        // moment: look again, and keep what everybody keeps.
        let now = project_networks(docker, &plan.project, Some(&net.name)).await?;
        let id = keeper(&now.iter().collect::<Vec<_>>()).ok_or_else(|| StackError::Service { service: net.key.clone(), reason: format!("network {} vanished right after lab created it", net.name) })?;
        ids.insert(net.name.clone(), id);
    }
    remove_duplicates(docker, plan, &ids).await?;
    Ok(ids)
}

/// Removes the project's networks that share a name with a kept one: while two exist,
/// nothing can start on that name. Containers still on them are disconnected (and then
/// recreated by `up`, as they are not on the kept network).
async fn remove_duplicates(docker: &Docker, plan: &Plan, ids: &NetworkIds) -> Result<(), StackError> {
    for net in project_networks(docker, &plan.project, None).await? {
        let (Some(name), Some(id)) = (net.name.as_deref(), net.id.as_deref()) else { continue };
        if ids.get(name).is_none_or(|kept| kept == id) {
            continue;
        }
        if let Ok(inspected) = docker.inspect_network(id, None).await {
            for container in inspected.containers.unwrap_or_default().into_keys() {
                let request = NetworkDisconnectRequest { container, force: Some(true) };
                match docker.disconnect_network(id, request).await {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match docker.remove_network(id).await {
            Ok(()) => {}
            // Another `up` removed it first.
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Networks labelled for the project that the plan no longer has; removal fails harmlessly
/// while something still uses them.
pub async fn remove_stale_networks(docker: &Docker, plan: &Plan) {
    let Ok(nets) = project_networks(docker, &plan.project, None).await else { return };
    for net in nets {
        let name = net.name.unwrap_or_default();
        if !plan.networks.iter().any(|n| n.name == name)
            && let Some(id) = net.id
        {
            let _ = docker.remove_network(&id).await;
        }
    }
}

/// Whether a running container is on every network lab keeps for its service, by id: a
/// container on a removed duplicate, or disconnected by hand, is not.
pub fn on_kept_networks(container: &ContainerSummary, service: &ServicePlan, ids: &NetworkIds) -> bool {
    let first = service.create.networking_config.as_ref().and_then(|n| n.endpoints_config.as_ref()).into_iter().flat_map(|e| e.keys());
    let wanted = first.chain(service.extra_networks.iter().map(|(n, _)| n)).filter_map(|name| Some((name, ids.get(name)?)));
    let attached = container.network_settings.as_ref().and_then(|n| n.networks.as_ref());
    wanted.into_iter().all(|(name, id)| match attached.and_then(|a| a.get(name)).map(|e| e.network_id.as_deref().unwrap_or_default()) {
        None => false,
        // An engine that does not say which network it is cannot prove anything.
        Some("") => true,
        Some(attached_id) => attached_id == id,
    })
}

/// Creates the plan's volumes that do not exist yet. A volume of that name that is not
/// labelled for the project belongs to someone else.
pub async fn ensure_volumes(docker: &Docker, plan: &Plan) -> Result<(), StackError> {
    for vol in &plan.volumes {
        let ours = |labels: &HashMap<String, String>| labels.get(labels::PROJECT) == Some(&plan.project);
        let taken = || StackError::NameTaken { kind: "volume", name: vol.name.clone(), project: plan.project.clone() };
        match docker.inspect_volume(&vol.name).await {
            Ok(found) if ours(&found.labels) => continue,
            Ok(_) => return Err(taken()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let mut l = vol.labels.clone();
        l.insert(labels::PROJECT.into(), plan.project.clone());
        l.insert(labels::NAME.into(), vol.key.clone());
        let created = docker
            .create_volume(VolumeCreateRequest {
                name: Some(vol.name.clone()),
                driver: vol.driver.clone(),
                driver_opts: (!vol.options.is_empty()).then(|| vol.options.clone()),
                labels: Some(l),
                ..Default::default()
            })
            .await?;
        // The engine answers with the existing volume when someone created that name first.
        if !ours(&created.labels) {
            return Err(taken());
        }
    }
    Ok(())
}
