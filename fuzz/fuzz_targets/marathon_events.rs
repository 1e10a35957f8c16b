//! Marathon's `text/event-stream`, fed in chunks whose sizes the input's first byte picks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk.max(1));
    let mut parser = lab::marathon::events::SseParser::default();
    for piece in rest.chunks(chunk) {
        for event in parser.push(piece) {
            let _ = (event.app_id(), event.deployment_id());
        }
    }
});
