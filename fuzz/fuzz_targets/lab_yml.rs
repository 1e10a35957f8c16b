//! A lab's `lab.yml` with one step file, loaded the way `lab serve` loads content.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = lab::course::Files::from_entries([
        ("labs/fuzz/lab.yml".to_owned(), data.to_vec()),
        ("labs/fuzz/steps/01-start.md".to_owned(), b"# Start\n\nText.\n".to_vec()),
        ("slides/intro.md".to_owned(), b"# Intro\n".to_vec()),
    ]);
    let _ = lab::course::Course::from_files(&files);
});
