//! Headless chromium for browser tests (Debian's package, driven over CDP by chromiumoxide;
//! nothing is downloaded).

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::Page;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::Duration;

/// The chromium executable: `$CHROME`, else `chromium` or `chromium-browser` on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROME").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// A running headless browser; closes when dropped.
pub struct TestBrowser {
    pub browser: Browser,
    _profile: tempfile::TempDir,
    handler: tokio::task::JoinHandle<()>,
}

impl TestBrowser {
    /// Launches chromium, or returns `None` (after `skip_or_fail`) when it is not installed.
    pub async fn launch() -> Option<TestBrowser> {
        let Some(exe) = find_chromium() else {
            super::skip_or_fail("chromium", "it is not installed (apt-get install chromium)");
            return None;
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(exe)
            .new_headless_mode()
            .no_sandbox()
            .window_size(1280, 800)
            .user_data_dir(profile.path())
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .arg("--disable-popup-blocking")
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Some(TestBrowser { browser, _profile: profile, handler })
    }

    /// A second connection to an already running browser.
    pub async fn connect(ws_url: &str) -> TestBrowser {
        let (browser, mut handler) = Browser::connect(ws_url).await.expect("connect to chromium");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let profile = tempfile::tempdir().expect("unused profile dir");
        TestBrowser { browser, _profile: profile, handler }
    }

    /// Waits until `page`'s URL satisfies `pred`, or panics after `timeout`.
    pub async fn wait_for_url(page: &Page, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let url = page.url().await.ok().flatten().unwrap_or_default();
            if pred(&url) && Self::is_ready(page).await {
                return url;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the URL; it is {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether lab.js has run on the current document.
    pub async fn is_ready(page: &Page) -> bool {
        let ready = page.evaluate("document.documentElement.dataset.ready || ''").await;
        ready.ok().and_then(|r| r.into_value::<String>().ok()).is_some_and(|v| v == "1")
    }

    /// Evaluates `js` until it returns a string satisfying `pred` (or panics after `timeout`).
    pub async fn wait_for_text(page: &Page, js: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let text = page
                .evaluate(js)
                .await
                .ok()
                .and_then(|r| r.into_value::<String>().ok())
                .unwrap_or_default();
            if pred(&text) && Self::is_ready(page).await {
                return text;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting on `{js}`; it is {text:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestBrowser {
    fn drop(&mut self) {
        self.handler.abort();
    }
}

/// Presses `key` on whatever has focus in `page` (works across navigations, unlike an
/// element handle).
pub async fn press(page: &Page, key: &str) {
    use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
    let def = chromiumoxide::keys::get_key_definition(key).unwrap_or_else(|| panic!("unknown key {key}"));
    let text = def.text.or((def.key.len() == 1).then_some(def.key));
    let mut cmd = DispatchKeyEventParams::builder()
        .key(def.key)
        .code(def.code)
        .windows_virtual_key_code(def.key_code)
        .native_virtual_key_code(def.key_code);
    if let Some(text) = text {
        cmd = cmd.text(text);
    }
    let down = if text.is_some() { DispatchKeyEventType::KeyDown } else { DispatchKeyEventType::RawKeyDown };
    page.execute(cmd.clone().r#type(down).build().expect("key down")).await.expect("key down");
    page.execute(cmd.r#type(DispatchKeyEventType::KeyUp).build().expect("key up")).await.expect("key up");
}
