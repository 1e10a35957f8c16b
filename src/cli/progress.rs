//! Showing stack progress: indicatif bars on a terminal (one per image pull or build, one
//! line per service), plain lines otherwise so CI logs stay readable.

use crate::stack::{Phase, Progress, StackEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// A progress reporter for the terminal.
pub struct TerminalProgress {
    bars: Option<MultiProgress>,
    state: Mutex<State>,
}

/// Bytes done and in all, per layer of one image.
type Layers = HashMap<String, (u64, u64)>;

#[derive(Default)]
struct State {
    images: HashMap<String, (ProgressBar, Layers)>,
    builds: HashMap<String, ProgressBar>,
    services: HashMap<String, ProgressBar>,
    announced: HashMap<String, Phase>,
}

impl TerminalProgress {
    /// Bars when stderr is a terminal, plain lines when not.
    pub fn new() -> Self {
        let bars = std::io::stderr().is_terminal().then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        TerminalProgress { bars, state: Mutex::new(State::default()) }
    }

    fn image_bar(&self, multi: &MultiProgress, image: &str) -> ProgressBar {
        let bar = multi.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{spinner:.cyan} pull {prefix:<40!} [{bar:30.cyan/blue}] {bytes:>9}/{total_bytes:<9} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(image.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn build_bar(&self, multi: &MultiProgress, image: &str) -> ProgressBar {
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner:.cyan} build {prefix:<40!} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_prefix(image.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn service_bar(&self, multi: &MultiProgress, service: &str) -> ProgressBar {
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner:.green} {prefix:<14} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_prefix(service.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for TerminalProgress {
    fn event(&self, event: StackEvent<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match (&self.bars, event) {
            (Some(multi), StackEvent::Pull { image, layer, status, current, total }) => {
                if !state.images.contains_key(image) {
                    let bar = self.image_bar(multi, image);
                    state.images.insert(image.to_owned(), (bar, HashMap::new()));
                }
                let Some((bar, layers)) = state.images.get_mut(image) else { return };
                if let (Some(layer), Some(total)) = (layer, total) {
                    let entry = layers.entry(layer.to_owned()).or_default();
                    *entry = (current.unwrap_or(0).min(total), total.max(entry.1));
                } else if let Some(layer) = layer
                    && status.starts_with("Pull complete")
                    && let Some(entry) = layers.get_mut(layer)
                {
                    entry.0 = entry.1;
                }
                bar.set_length(layers.values().map(|l| l.1).sum());
                bar.set_position(layers.values().map(|l| l.0).sum());
                bar.set_message(status.to_owned());
            }
            (Some(_), StackEvent::Pulled { image }) => {
                if let Some((bar, _)) = state.images.get(image) {
                    bar.finish_with_message("done");
                }
            }
            (Some(_), StackEvent::PullFailed { image }) => {
                if let Some((bar, _)) = state.images.get(image) {
                    bar.abandon_with_message("failed");
                }
            }
            (Some(multi), StackEvent::Build { image, line, .. }) => {
                let bar = state.builds.entry(image.to_owned()).or_insert_with(|| self.build_bar(multi, image));
                bar.set_message(line.trim().to_owned());
            }
            (Some(_), StackEvent::Built { image, .. }) => {
                if let Some(bar) = state.builds.get(image) {
                    bar.finish_with_message("built");
                }
            }
            (Some(multi), StackEvent::Service { service, phase }) => {
                if !state.services.contains_key(service) {
                    let bar = self.service_bar(multi, service);
                    state.services.insert(service.to_owned(), bar);
                }
                let Some(bar) = state.services.get(service) else { return };
                match phase {
                    Phase::Running | Phase::Kept | Phase::Removed => bar.finish_with_message(phase.describe()),
                    _ => bar.set_message(phase.describe()),
                }
            }
            (Some(multi), StackEvent::ServiceFailed { service, reason }) => {
                let bar = state.services.entry(service.to_owned()).or_insert_with(|| self.service_bar(multi, service));
                bar.abandon_with_message(format!("FAILED: {reason}"));
            }
            (None, StackEvent::Pull { image, .. }) => {
                if state.announced.insert(format!("pull {image}"), Phase::Starting).is_none() {
                    eprintln!("pulling {image} …");
                }
            }
            (None, StackEvent::Pulled { image }) => eprintln!("pulled {image}"),
            // Said once, with every other failure, when the pulls are over.
            (None, StackEvent::PullFailed { .. }) => {}
            (None, StackEvent::Build { service, image, line }) => {
                if state.announced.insert(format!("build {image}"), Phase::Starting).is_none() {
                    eprintln!("building {image} for service {service} …");
                }
                // The step lines tell the story; a command's own output would flood CI logs
                // (a failure quotes its last lines anyway).
                if line.starts_with("Step ") || line.starts_with("sending the build context") {
                    eprintln!("  {line}");
                }
            }
            (None, StackEvent::Built { image, .. }) => eprintln!("built {image}"),
            (None, StackEvent::Service { service, phase }) => {
                if state.announced.insert(service.to_owned(), phase) != Some(phase) {
                    eprintln!("{service:<14} {}", phase.describe());
                }
            }
            (None, StackEvent::ServiceFailed { service, reason }) => eprintln!("{service:<14} FAILED: {reason}"),
            (_, StackEvent::WaitingForLock { project, holder }) => {
                eprintln!("waiting for another lab up or down of project {project} to finish ({holder}) …");
            }
        }
    }
}
