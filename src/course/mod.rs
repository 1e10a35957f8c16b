//! Course content: labs and slide decks, loaded from the built-in course or a folder and
//! rendered once at load. A broken lab or deck is kept as its error, so one bad file never
//! hides the rest of the course.

pub mod checks;
pub mod deck;
pub mod diagnoses;
pub mod error;
pub mod files;
pub mod highlight;
pub mod lab;
pub mod markdown;
pub mod placeholders;
pub mod watch;

pub use deck::{Deck, Slide};
pub use error::ContentError;
pub use files::{ContentSource, Files};
pub use lab::{Exercise, Lab, Step};

use sha2::Digest;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// An image or other asset that course pages link to (`/files/...`).
#[derive(Debug, Clone)]
pub struct Asset {
    /// File contents.
    pub bytes: Arc<[u8]>,
    /// Content type.
    pub mime: &'static str,
    /// Strong ETag (quoted hash of the contents).
    pub etag: String,
}

/// Everything the course has, rendered.
#[derive(Debug, Default)]
pub struct Course {
    labs: BTreeMap<String, Result<Lab, ContentError>>,
    decks: BTreeMap<String, Result<Deck, ContentError>>,
    assets: BTreeMap<String, Asset>,
    /// Each lab's `stack.yml` text, for the ports pages show before a stack runs.
    stack_files: BTreeMap<String, String>,
}

impl Course {
    /// Reads and renders all content from `source`. Only I/O problems fail the whole load;
    /// content errors stay with the lab or deck they belong to.
    pub fn load(source: &ContentSource) -> std::io::Result<Course> {
        Ok(Course::from_files(&source.read()?))
    }

    /// Renders a snapshot of content files.
    pub fn from_files(files: &Files) -> Course {
        let decks: BTreeMap<String, Result<Deck, ContentError>> = files
            .deck_ids()
            .into_iter()
            .map(|id| {
                let path = format!("slides/{id}.md");
                let deck = files.text(&path).and_then(|text| Deck::parse(&id, &path, text));
                (id, deck)
            })
            .collect();
        let deck_ids: HashSet<String> = decks.keys().cloned().collect();
        let labs = files.lab_ids().into_iter().map(|id| {
            let lab = Lab::load(&id, files, &deck_ids);
            (id, lab)
        });
        let assets = files
            .paths()
            .filter_map(|p| Some((p, mime_for(p)?)))
            .filter_map(|(p, mime)| {
                let bytes = files.bytes(p)?;
                let hash = sha2::Sha256::digest(bytes);
                let etag = format!("\"{}\"", crate::digest::hex(&hash[..12]));
                Some((p.to_owned(), Asset { bytes: Arc::from(bytes), mime, etag }))
            })
            .collect();
        let stack_files = files.lab_ids().into_iter().filter_map(|id| Some((id.clone(), files.text(&format!("labs/{id}/stack.yml")).ok()?.to_owned()))).collect();
        Course { labs: labs.collect(), decks, assets, stack_files }
    }

    /// The text of a lab's `stack.yml`, if it has one.
    pub fn stack_file(&self, lab: &str) -> Option<String> {
        self.stack_files.get(lab).cloned()
    }

    /// All labs (loaded or broken), by id.
    pub fn labs(&self) -> impl Iterator<Item = (&str, &Result<Lab, ContentError>)> {
        self.labs.iter().map(|(id, lab)| (id.as_str(), lab))
    }

    /// One lab, if a folder with that id exists.
    pub fn lab(&self, id: &str) -> Option<&Result<Lab, ContentError>> {
        self.labs.get(id)
    }

    /// All decks (loaded or broken), by id.
    pub fn decks(&self) -> impl Iterator<Item = (&str, &Result<Deck, ContentError>)> {
        self.decks.iter().map(|(id, deck)| (id.as_str(), deck))
    }

    /// One deck, if a file with that id exists.
    pub fn deck(&self, id: &str) -> Option<&Result<Deck, ContentError>> {
        self.decks.get(id)
    }

    /// An asset by content path (`slides/images/stack.svg`).
    pub fn asset(&self, path: &str) -> Option<&Asset> {
        self.assets.get(path)
    }

    /// Every content error, for logs and `lab labs`.
    pub fn errors(&self) -> Vec<&ContentError> {
        let labs = self.labs.values().filter_map(|l| l.as_ref().err());
        let decks = self.decks.values().filter_map(|d| d.as_ref().err());
        decks.chain(labs).collect()
    }
}

/// Content types of the asset files served to browsers; other files are never served.
fn mime_for(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_course_loads_without_errors() {
        let course = Course::load(&ContentSource::Embedded).unwrap();
        assert!(course.errors().is_empty(), "{:?}", course.errors());
        let lab = course.lab("mesos-marathon").unwrap().as_ref().unwrap();
        let ids: Vec<_> = lab.exercises.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["stack-ready", "scale-demo", "wolf3d"]);
        assert!(lab.deck.is_some());
        assert!(!lab.diagnoses.rules.is_empty(), "its diagnoses.yml is read");
    }

    #[test]
    fn a_broken_lab_does_not_hide_the_others() {
        let files = Files::from_entries([
            ("labs/good/lab.yml".to_owned(), b"title: G\nsummary: s\nsteps: [one]\n".to_vec()),
            ("labs/good/steps/one.md".to_owned(), b"# One\n".to_vec()),
            ("labs/bad/lab.yml".to_owned(), b"title: [\n".to_vec()),
            ("slides/d.md".to_owned(), b"# D\n".to_vec()),
            ("slides/images/a.svg".to_owned(), b"<svg/>".to_vec()),
            ("labs/good/secret.yml".to_owned(), b"x: 1".to_vec()),
        ]);
        let course = Course::from_files(&files);
        assert!(course.lab("good").unwrap().is_ok());
        let err = course.lab("bad").unwrap().as_ref().unwrap_err();
        assert!(err.location().starts_with("labs/bad/lab.yml:1:"), "{err}");
        assert_eq!(course.errors().len(), 1);
        assert_eq!(course.asset("slides/images/a.svg").map(|a| a.mime), Some("image/svg+xml"));
        assert!(course.asset("labs/good/secret.yml").is_none(), "only images are served");
    }
}
