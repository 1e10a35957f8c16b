//! A slide deck: front matter, slide separators, speaker notes, Markdown.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = lab::course::Deck::parse("fuzz", "slides/fuzz.md", text);
});
