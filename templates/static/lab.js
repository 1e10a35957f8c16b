// lab — small plain script for every page: keyboard navigation, the presenter window and
// timer, and live updates over server-sent events. Pages work without it.
(() => {
  "use strict";
  const d = document.body.dataset;

  // ---- Live updates ----------------------------------------------------------------------
  // One stream per page on screen. A page put away for Back/Forward closes its stream: an open
  // one would keep one of the browser's six connections to lab for as long as the page is
  // kept (minutes), and after a few pages nothing more would load. A page shown again opens a
  // new stream and, as it missed what happened meanwhile, reloads, unless it holds work that
  // is not saved (window.labUnsaved, set by the editor), which a reload would throw away.
  const status = document.getElementById("live-status");
  if ("EventSource" in window) {
    let bootId = null, source = null;
    const handlers = [];
    const on = (type, handler) => {
      handlers.push([type, handler]);
      if (source) source.addEventListener(type, handler);
    };
    const open = () => {
      source = new EventSource("/events");
      handlers.forEach(([type, handler]) => source.addEventListener(type, handler));
      source.onerror = () => { if (status) status.textContent = "reconnecting…"; };
    };
    on("hello", (e) => {
      // A different id after reconnecting means lab restarted: show the fresh content.
      if (bootId !== null && bootId !== e.data) location.reload();
      bootId = e.data;
      if (status) status.textContent = "";
    });
    on("reload", () => location.reload());
    // Listeners added here outlive the stream they were added on; readyState is the current one's.
    window.labEvents = { addEventListener: on, get readyState() { return source ? source.readyState : EventSource.CLOSED; } };
    open();
    window.addEventListener("pagehide", () => { if (source) source.close(); source = null; });
    window.addEventListener("pageshow", (e) => {
      if (!e.persisted || source) return;
      if (window.labUnsaved && window.labUnsaved()) open(); else location.reload();
    });
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
    // A block that scrolls sideways (a phone) must be reachable for the arrow keys.
    pre.tabIndex = 0;
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
  // The deck moves without reloading: the next slide's page is fetched (the server fills in
  // each viewer's own values), the parts marked data-swap are replaced, and the URL is pushed
  // so that it carries the slide number, survives a reload and works with back/forward.
  let slide = Number(d.slide || 0);
  const total = Number(d.total || 0);
  const slideUrl = (n) => d.url + n + (d.suffix || "");
  const go = (url) => { if (url) location.href = url; };
  const afterMove = []; // what each part of the page does once a slide is shown

  // Fitting: a slide taller than its frame is scaled down (as reveal.js does); without this
  // script the frame scrolls instead (see lab.css).
  const fitFrame = (frame) => {
    const body = frame.querySelector(".slide-body");
    if (!body) return;
    body.style.transform = "";
    frame.classList.remove("scaled");
    const room = frame.clientHeight, need = body.offsetHeight;
    if (!room || need <= room) return;
    const scale = room / need;
    frame.classList.add("scaled"); // top-aligned, so the offset below centres it
    body.style.transform = "translateY(" + (room - need * scale) / 2 + "px) scale(" + scale + ")";
  };
  // Speaker notes shrink a little (never below 80 %) rather than scroll.
  const fitNotes = (notes) => {
    for (let size = 100; size >= 80; size -= 4) {
      notes.style.fontSize = size + "%";
      if (notes.scrollHeight <= notes.clientHeight + 1 && notes.scrollWidth <= notes.clientWidth + 1) return;
    }
  };
  const fitAll = () => {
    document.querySelectorAll("[data-fit]").forEach(fitFrame);
    document.querySelectorAll("[data-fit-notes]").forEach(fitNotes);
  };
  if (document.querySelector("[data-fit]")) {
    document.documentElement.classList.add("fitting");
    const watch = "ResizeObserver" in window ? new ResizeObserver(() => fitAll()) : null;
    const observe = () => { if (watch) document.querySelectorAll("[data-fit], [data-fit] .slide-body, [data-fit-notes]").forEach((el) => watch.observe(el)); };
    observe();
    afterMove.push(observe, fitAll);
    window.addEventListener("resize", fitAll);
    window.addEventListener("beforeprint", fitAll);
    document.addEventListener("load", (e) => { if (e.target.tagName === "IMG") fitAll(); }, true);
    if (document.fonts) document.fonts.ready.then(fitAll);
    fitAll();
  }

  // Audience and presenter windows follow each other; a move that came from the other window
  // is not echoed back (that would pull a window that has moved on since).
  let channel = null;
  if (d.deck && slide && "BroadcastChannel" in window) {
    channel = new BroadcastChannel("lab-deck-" + d.deck);
    channel.onmessage = (e) => { if (e.data && typeof e.data.slide === "number") toSlide(e.data.slide, true); };
    channel.postMessage({ slide });
  }

  let loading = null;
  let wanted = slide; // where the last move goes, so that keys pressed while it loads add up
  const show = async (n, push, quiet) => {
    const url = slideUrl(n);
    wanted = n;
    if (!window.fetch || !window.DOMParser || !history.pushState) return go(url);
    const ticket = loading = {};
    try {
      const r = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      // Anything but the next slide itself (a sign-in page, an error) is shown as a page.
      if (!r.ok || r.redirected) return go(url);
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      if (ticket !== loading) return; // a later move won
      const n2 = Number(doc.body.dataset.slide);
      if (doc.body.dataset.deck !== d.deck || !n2) return go(url);
      // Focus on a swapped link (← →) moves to its counterpart, so keyboard users keep their place.
      const focused = document.activeElement;
      const focusedPart = focused && focused.closest && focused.closest("[data-swap]");
      const focusedRel = focusedPart && focused.getAttribute("rel");
      document.querySelectorAll("[data-swap]").forEach((el) => {
        const fresh = doc.querySelector('[data-swap="' + el.dataset.swap + '"]');
        if (fresh) el.replaceWith(document.importNode(fresh, true));
      });
      if (focusedPart) {
        const again = document.querySelector('[data-swap="' + focusedPart.dataset.swap + '"] ' + (focusedRel ? 'a[rel="' + focusedRel + '"]' : "a"));
        (again || document.getElementById("main")).focus();
      }
      ["slide", "presenter", "present"].forEach((k) => { if (doc.body.dataset[k]) d[k] = doc.body.dataset[k]; });
      slide = n2;
      loading = null;
      wanted = slide;
      document.title = doc.title;
      if (push && location.pathname !== url) history.pushState({ slide }, "", url);
      if (channel && !quiet) channel.postMessage({ slide });
      afterMove.forEach((f) => f());
    } catch (err) {
      go(url); // no connection or an odd answer: a plain page load tells the truth
    }
  };
  const toSlide = (n, quiet) => { if (n >= 1 && n <= total && (n !== slide || loading)) show(n, true, quiet); };
  if (slide && history.replaceState) {
    history.replaceState({ slide }, "");
    window.addEventListener("popstate", (e) => {
      const n = e.state && Number(e.state.slide);
      if (n && n !== slide) show(n, false);
    });
  }
  // Links to another slide of this deck in this view (previous, next, the overview, the
  // follow note) move in place too.
  const slidePath = new RegExp("^" + (d.url || "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "(\\d+)" + (d.suffix || "") + "$");
  if (slide) {
    document.addEventListener("click", (e) => {
      const a = e.target.closest && e.target.closest("a[href]");
      if (!a || e.defaultPrevented || e.button !== 0 || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || a.target) return;
      const m = a.origin === location.origin && a.pathname.match(slidePath);
      if (!m) return;
      e.preventDefault();
      closeOverview(true);
      const n = Number(m[1]);
      if (n !== slide) toSlide(n); else fitAll();
    });
  }

  // In a class, the instructor's presenter view tells the server which slide it shows, for
  // the students' pages to follow: when the page is shown (also when restored by Back) and
  // after every move in place.
  if (d.present) {
    const announce = () => {
      const said = document.getElementById("present-status");
      fetch(d.present, { method: "POST", headers: { Accept: "application/json" } })
        .then((r) => { if (said) said.textContent = r.ok ? "The class follows this slide" : "The class was not told about this slide (" + r.status + ")"; })
        .catch(() => { if (said) said.textContent = "The class was not told about this slide (no connection)"; });
    };
    window.addEventListener("pageshow", announce);
    afterMove.push(announce);
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
    const showNote = () => {
      note.hidden = !presented || here();
      if (note.hidden) return;
      note.href = presented.url;
      note.textContent = presented.deck === d.deck ? "Presenter is on slide " + presented.n : "Presenter is in another deck";
    };
    const follow = () => {
      if (toggle.checked && presented && presented.deck === d.deck && !here()) toSlide(presented.n);
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
        showNote();
        moved();
      });
    }
    afterMove.push(showNote);
    followBox.hidden = false;
    showNote();
    moved();
  }

  // The progress bar is swapped with the slide; the overview marks the current slide.
  const overview = document.getElementById("overview");
  const overviewLinks = () => Array.from(overview ? overview.querySelectorAll("a[data-n]") : []);
  const closeOverview = (refocus) => {
    if (!overview || !overview.classList.contains("open")) return;
    overview.classList.remove("open");
    if (refocus) document.getElementById("main").focus();
  };
  const openOverview = () => {
    if (!overview) return;
    overview.classList.add("open");
    const here = overviewLinks().find((a) => a.getAttribute("aria-current")) || overviewLinks()[0];
    if (here) here.focus();
  };
  if (overview) {
    afterMove.push(() => overviewLinks().forEach((a) => {
      if (Number(a.dataset.n) === slide) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }));
    document.querySelectorAll('a[href="#overview"]').forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); openOverview(); }));
    overview.querySelectorAll(".overview-close").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); closeOverview(true); }));
  }

  // The presenter's timer (start/pause/reset; kept per tab in sessionStorage, so a reload
  // does not lose it) and a wall clock.
  if (d.presenterMode) {
    const key = "lab-timer-" + d.deck;
    let timer;
    try { timer = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (err) { timer = null; }
    if (!timer || typeof timer.start !== "number") timer = { start: Date.now(), pausedAt: null };
    const save = () => sessionStorage.setItem(key, JSON.stringify(timer));
    save();
    const out = document.getElementById("elapsed");
    const toggleButton = document.getElementById("toggle-timer");
    const clock = document.getElementById("clock");
    const pad = (n) => String(n).padStart(2, "0");
    const tick = () => {
      const s = Math.max(0, Math.floor(((timer.pausedAt || Date.now()) - timer.start) / 1000));
      out.textContent = (s >= 3600 ? Math.floor(s / 3600) + ":" : "") + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
      const paused = timer.pausedAt !== null;
      toggleButton.textContent = paused ? "Start" : "Pause";
      toggleButton.setAttribute("aria-pressed", String(paused));
      const now = new Date();
      clock.dateTime = now.toISOString();
      clock.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes());
    };
    tick();
    setInterval(tick, 1000);
    toggleButton.addEventListener("click", () => {
      if (timer.pausedAt === null) timer.pausedAt = Date.now();
      else { timer.start += Date.now() - timer.pausedAt; timer.pausedAt = null; }
      save(); tick();
    });
    document.getElementById("reset-timer").addEventListener("click", () => {
      timer.start = Date.now();
      if (timer.pausedAt !== null) timer.pausedAt = timer.start;
      save(); tick();
    });
  }

  // ---- Keyboard --------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    // Typing stays in fields; a checkbox (the follow toggle) only keeps Space for itself.
    const field = e.target.closest && e.target.closest("input, textarea, select, [contenteditable]");
    if (field && !(field.type === "checkbox" && e.key !== " ")) return;
    // Arrows in a focused code block scroll it, they do not turn the page.
    if (e.key.startsWith("Arrow") && e.target.closest && e.target.closest("pre")) return;
    if (overview && overview.classList.contains("open")) {
      // The overview: arrows move between slides, Enter opens one (a link), Esc or o closes.
      const links = overviewLinks(), at = links.indexOf(document.activeElement);
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -links.length, End: links.length }[e.key];
      if (step) {
        e.preventDefault();
        const next = links[Math.min(links.length - 1, Math.max(0, (at < 0 ? 0 : at) + step))];
        if (next) next.focus();
      } else if (e.key === "Escape" || e.key === "o") {
        e.preventDefault();
        closeOverview(true);
      }
      return;
    }
    if (e.key === " " && e.target.closest && e.target.closest("button, a")) return;
    if (d.keys === "deck") {
      const from = loading ? wanted : slide;
      const moves = { ArrowRight: from + 1, ArrowDown: from + 1, PageDown: from + 1, " ": from + 1,
        ArrowLeft: from - 1, ArrowUp: from - 1, PageUp: from - 1, Home: 1, End: total };
      const key = e.key === " " && e.shiftKey ? "ArrowLeft" : e.key;
      if (key in moves) { e.preventDefault(); toSlide(moves[key]); return; }
      if ((e.key === "o" || e.key === "Escape") && overview) { e.preventDefault(); openOverview(); return; }
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
