// lab — small plain script for every page: keyboard navigation, the presenter window and
// timer, and live updates over server-sent events. Pages work without it.
(() => {
  "use strict";
  const d = document.body.dataset;

  // ---- Live updates ----------------------------------------------------------------------
  const status = document.getElementById("live-status");
  if ("EventSource" in window) {
    let bootId = null;
    const events = new EventSource("/events");
    events.addEventListener("hello", (e) => {
      // A different id after reconnecting means lab restarted: show the fresh content.
      if (bootId !== null && bootId !== e.data) location.reload();
      bootId = e.data;
      if (status) status.textContent = "";
    });
    events.addEventListener("reload", () => location.reload());
    events.onerror = () => { if (status) status.textContent = "reconnecting…"; };
    window.labEvents = events;
  }

  // ---- Exercise status ------------------------------------------------------------------
  // The server renders (and escapes) each status box; pages only swap them in.
  const localTimes = () => document.querySelectorAll("time[data-ms]").forEach((t) => {
    const when = new Date(Number(t.dataset.ms));
    t.dateTime = when.toISOString();
    t.textContent = "· checked " + when.toLocaleTimeString();
  });
  localTimes();
  const slotsFor = (lab, exercise) =>
    document.querySelectorAll('.exercise[data-lab="' + CSS.escape(lab) + '"][data-exercise="' + CSS.escape(exercise) + '"] .status-slot');
  // The compact summary near the top of a step: its words come from the server (data-*).
  const marks = { passed: "✓", failed: "✗", pending: "…" };
  const summaryFor = (lab, exercise, status) => {
    if (!(status in marks)) return;
    document.querySelectorAll('[data-summary-lab="' + CSS.escape(lab) + '"][data-summary-exercise="' + CSS.escape(exercise) + '"]').forEach((li) => {
      li.className = status;
      li.querySelector(".mark").textContent = marks[status];
      li.querySelector(".word").textContent = li.dataset[status];
    });
  };
  if (window.labEvents) {
    window.labEvents.addEventListener("progress", (e) => {
      const m = JSON.parse(e.data);
      slotsFor(m.lab, m.exercise).forEach((slot) => { slot.innerHTML = m.html; });
      summaryFor(m.lab, m.exercise, m.status);
      localTimes();
    });
  }
  // ---- A class student's stack ------------------------------------------------------------
  // The panel is rendered by the server; live updates swap it in, keeping focus on the
  // button the student used when it is still there.
  const stackPanel = document.querySelector("[data-live-stack]");
  if (stackPanel && window.labEvents) {
    window.labEvents.addEventListener("stack", (e) => {
      const m = JSON.parse(e.data);
      const focused = document.activeElement && stackPanel.contains(document.activeElement) ? document.activeElement.textContent : null;
      stackPanel.innerHTML = m.html;
      if (focused) {
        const again = Array.from(stackPanel.querySelectorAll("button, a")).find((el) => el.textContent === focused);
        if (again) again.focus();
      }
    });
  }

  document.querySelectorAll("form.check-form").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const box = form.closest(".exercise");
      const button = form.querySelector("button");
      button.disabled = true;
      button.textContent = "Checking…";
      try {
        const response = await fetch(form.dataset.api, { method: "POST", headers: { Accept: "application/json" } });
        const m = await response.json();
        if (m.html) slotsFor(box.dataset.lab, box.dataset.exercise).forEach((slot) => { slot.innerHTML = m.html; });
        if (typeof m.status === "string") summaryFor(box.dataset.lab, box.dataset.exercise, m.status);
        localTimes();
      } catch (err) {
        form.submit(); // fall back to the plain form
      } finally {
        button.disabled = false;
        button.textContent = "Check";
      }
    });
  });

  // ---- Code blocks and the step list ------------------------------------------------------
  // A copy button on each code block copies its text as shown (per-student values filled).
  document.querySelectorAll("pre > code").forEach((code) => {
    const pre = code.parentElement;
    if (pre.parentElement.classList.contains("code-block")) return;
    const wrap = document.createElement("div");
    wrap.className = "code-block";
    pre.replaceWith(wrap);
    wrap.appendChild(pre);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy this code");
    const said = (text) => { button.textContent = text; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(code.innerText);
        said("Copied");
      } catch (err) {
        said("Select and copy");
      }
    });
    wrap.appendChild(button);
  });
  // On a narrow screen the step list starts folded (its summary opens it); a window made
  // narrow later folds it too, a wide one shows it.
  const stepNav = document.querySelector("details.step-nav");
  if (stepNav && window.matchMedia) {
    const narrow = window.matchMedia("(max-width: 900px)");
    stepNav.open = !narrow.matches;
    narrow.addEventListener("change", () => { stepNav.open = !narrow.matches; });
  }

  // ---- Slides ----------------------------------------------------------------------------
  const slide = Number(d.slide || 0), total = Number(d.total || 0);
  const slideUrl = (n) => d.url + n + (d.suffix || "");
  const go = (url) => { if (url) location.href = url; };
  const toSlide = (n) => { if (n >= 1 && n <= total && n !== slide) go(slideUrl(n)); };

  // Audience and presenter windows follow each other.
  let channel = null;
  if (d.deck && "BroadcastChannel" in window) {
    channel = new BroadcastChannel("lab-deck-" + d.deck);
    channel.onmessage = (e) => { if (e.data && typeof e.data.slide === "number") toSlide(e.data.slide); };
    channel.postMessage({ slide });
  }

  // In a class, the instructor's presenter view tells the server which slide it shows, for
  // the students' pages to follow. Every move (keys or buttons) loads the next page, so
  // announcing whenever a page is shown (also when restored by Back) covers them all.
  if (d.present) {
    const said = document.getElementById("present-status");
    window.addEventListener("pageshow", () => {
      fetch(d.present, { method: "POST", headers: { Accept: "application/json" } })
        .then((r) => { if (said) said.textContent = r.ok ? "The class follows this slide" : "The class was not told about this slide (" + r.status + ")"; })
        .catch(() => { if (said) said.textContent = "The class was not told about this slide (no connection)"; });
    });
  }

  // A class student's slide page follows the presenter within this deck while "Follow the
  // presenter" is on (the default; the choice is kept in localStorage). The rule that keeps it
  // from fighting a student who moves by hand: each presenter position is acted on once per
  // tab (remembered in sessionStorage), so a slide reached by hand stays until the presenter
  // moves again. A page opened late goes to the presented slide, which the server put in it.
  const followBox = document.getElementById("follow");
  if (d.follow && followBox) {
    const toggle = document.getElementById("follow-toggle");
    const note = document.getElementById("follow-note");
    const seenKey = "lab-follow-seen";
    let presented = d.presentedUrl ? { deck: d.presentedDeck, n: Number(d.presentedSlide), url: d.presentedUrl } : null;
    const here = () => presented && presented.deck === d.deck && presented.n === slide;
    const show = () => {
      note.hidden = !presented || here();
      if (note.hidden) return;
      note.href = presented.url;
      note.textContent = presented.deck === d.deck ? "Presenter is on slide " + presented.n : "Presenter is in another deck";
    };
    const follow = () => {
      if (toggle.checked && presented && presented.deck === d.deck && !here()) go(presented.url);
    };
    // Acts on the presented position unless this tab already did.
    const moved = () => {
      if (!presented) return;
      const at = presented.deck + "/" + presented.n;
      if (sessionStorage.getItem(seenKey) === at) return;
      sessionStorage.setItem(seenKey, at);
      follow();
    };
    toggle.checked = localStorage.getItem("lab-follow") !== "off";
    toggle.addEventListener("change", () => {
      localStorage.setItem("lab-follow", toggle.checked ? "on" : "off");
      follow(); // switching it on means "take me to the presenter"
    });
    if (window.labEvents) {
      window.labEvents.addEventListener("slide", (e) => {
        const m = JSON.parse(e.data);
        presented = { deck: String(m.deck), n: Number(m.n), url: String(m.url) };
        show();
        moved();
      });
    }
    followBox.hidden = false;
    show();
    moved();
  }

  if (d.presenterMode) {
    const key = "lab-timer-" + d.deck;
    let start = Number(sessionStorage.getItem(key));
    if (!start) { start = Date.now(); sessionStorage.setItem(key, String(start)); }
    const out = document.getElementById("elapsed");
    const tick = () => {
      const s = Math.floor((Date.now() - start) / 1000);
      const pad = (n) => String(n).padStart(2, "0");
      out.textContent = (s >= 3600 ? Math.floor(s / 3600) + ":" : "") + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
    };
    tick();
    setInterval(tick, 1000);
    document.getElementById("reset-timer").addEventListener("click", () => {
      start = Date.now(); sessionStorage.setItem(key, String(start)); tick();
    });
  }

  // ---- Keyboard --------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    // Typing stays in fields; a checkbox (the follow toggle) only keeps Space for itself.
    const field = e.target.closest && e.target.closest("input, textarea, select, [contenteditable]");
    if (field && !(field.type === "checkbox" && e.key !== " ")) return;
    if (e.key === " " && e.target.closest && e.target.closest("button, a")) return;
    if (d.keys === "deck") {
      const moves = { ArrowRight: slide + 1, ArrowDown: slide + 1, PageDown: slide + 1, " ": slide + 1,
        ArrowLeft: slide - 1, ArrowUp: slide - 1, PageUp: slide - 1, Home: 1, End: total };
      const key = e.key === " " && e.shiftKey ? "ArrowLeft" : e.key;
      if (key in moves) { e.preventDefault(); toSlide(moves[key]); return; }
      if ((e.key === "s" || e.key === "S") && !d.presenterMode) {
        e.preventDefault();
        const w = window.open(d.presenter, "lab-presenter", "width=1200,height=760");
        if (!w) go(d.presenter); // pop-up blocked: open it here instead
      }
      if (e.key === "f" && document.documentElement.requestFullscreen) {
        document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen();
      }
    } else if (d.keys === "steps") {
      if (e.key === "ArrowRight" && d.next) { e.preventDefault(); go(d.next); }
      if (e.key === "ArrowLeft" && d.prev) { e.preventDefault(); go(d.prev); }
    }
  });

  // Lets tests (and curious people) know the keyboard handlers are installed.
  document.documentElement.dataset.ready = "1";
})();
