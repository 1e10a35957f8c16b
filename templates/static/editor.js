// lab — the site editor: CodeMirror over the server-rendered textarea, saving through
// /api/site (If-Match), errors marked at their line, the rendered app, the deployment as
// it happens (SSE "deploy" events), history with diff and restore, new / rename / delete.
// Every text from the server is set with textContent, never as HTML.
(() => {
  "use strict";
  const root = document.querySelector("[data-site-editor]");
  if (!root || !root.querySelector(".se-text")) return;
  const $ = (sel) => root.querySelector(sel);
  const lab = root.dataset.lab;
  const status = $(".se-status"), errorsList = $(".se-errors"), deployList = $(".se-deploy");
  const appBox = $(".se-app"), historyBox = $(".se-history"), diffBox = $(".se-diff");
  const api = (path, suffix) => "/api/site/" + path.split("/").map(encodeURIComponent).join("/") + (suffix || "");
  let path = root.dataset.open || null;
  let etag = null, dirty = false, lastApp = null, marks = [], chosenVersion = null;

  // ---- The editor ------------------------------------------------------------------------
  const textarea = $(".se-text");
  const modeFor = (p) => (p && p.endsWith(".json") ? { name: "javascript", json: true } : "yaml");
  let cm = null;
  if (window.CodeMirror) {
    cm = window.CodeMirror.fromTextArea(textarea, {
      lineNumbers: true, mode: modeFor(path), indentUnit: 2, tabSize: 2, indentWithTabs: false,
      styleActiveLine: true, viewportMargin: Infinity, lineWrapping: false,
      extraKeys: {
        // YAML takes no tabs: Tab inserts spaces (or indents the selected lines).
        Tab: (ed) => (ed.somethingSelected() ? ed.indentSelection("add") : ed.replaceSelection(" ".repeat(ed.getOption("indentUnit")), "end")),
        "Shift-Tab": (ed) => ed.indentSelection("subtract"),
        "Ctrl-S": () => save(), "Cmd-S": () => save(),
        // Leaves the editor so that Tab moves through the page again.
        Esc: () => { $('[data-action="save"]').focus(); },
      },
    });
    cm.getWrapperElement().setAttribute("aria-describedby", "se-keys");
    cm.getInputField().setAttribute("aria-label", "Text of " + (path || "the file"));
    cm.on("change", () => { dirty = true; });
  } else {
    textarea.addEventListener("input", () => { dirty = true; });
    textarea.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
    });
  }
  const getText = () => (cm ? cm.getValue() : textarea.value);
  const setText = (text) => {
    if (cm) { cm.setValue(text); cm.clearHistory(); } else { textarea.value = text; }
    dirty = false;
  };
  window.labEditor = { get cm() { return cm; }, get path() { return path; }, save: () => save() };

  // ---- Messages --------------------------------------------------------------------------
  const say = (outcome, message) => {
    status.dataset.outcome = outcome || "";
    status.textContent = "";
    if (outcome) {
      const word = document.createElement("strong");
      word.className = "se-outcome " + outcome;
      word.textContent = outcome.replace("_", " ");
      status.append(word, " — ");
    }
    status.append(message || "");
  };
  const clearMarks = () => {
    marks.forEach((m) => m.clear ? m.clear() : cm.removeLineClass(m, "background", "se-error-line"));
    marks = [];
    errorsList.textContent = "";
  };
  const showErrors = (errors) => {
    clearMarks();
    (errors || []).forEach((e) => {
      const li = document.createElement("li");
      const here = !e.file || e.file === path;
      const where = (here ? "" : e.file + " ") + (e.line ? "line " + e.line + (e.col ? ":" + e.col : "") : "");
      const jump = document.createElement(here && e.line && cm ? "button" : "span");
      jump.className = "se-where";
      jump.textContent = where || (e.file || "");
      if (jump.tagName === "BUTTON") {
        jump.type = "button";
        jump.addEventListener("click", () => { cm.focus(); cm.setCursor({ line: e.line - 1, ch: Math.max(0, (e.col || 1) - 1) }); });
      }
      li.append(jump, " ", e.message);
      if (e.fix) { const fix = document.createElement("div"); fix.className = "se-fix"; fix.textContent = "Fix: " + e.fix; li.append(fix); }
      errorsList.append(li);
      if (here && e.line && cm) {
        const line = Math.min(e.line - 1, cm.lineCount() - 1);
        marks.push(cm.addLineClass(line, "background", "se-error-line"));
        const ch = Math.max(0, (e.col || 1) - 1);
        marks.push(cm.markText({ line, ch }, { line, ch: Math.max(ch + 1, cm.getLine(line).length) }, { className: "se-error-text", title: e.message }));
      }
    });
  };
  const showApp = () => {
    appBox.textContent = lastApp ? JSON.stringify(lastApp, null, 2) : "Save the file to see the app as Marathon receives it.";
  };

  // ---- Files -----------------------------------------------------------------------------
  const refreshList = async () => {
    const r = await fetch("/api/site", { headers: { Accept: "application/json" } });
    if (!r.ok) return;
    const m = await r.json();
    const list = $(".se-file-list");
    list.textContent = "";
    const names = m.files.map((f) => f.path);
    if (path && !names.includes(path)) names.push(path);
    names.forEach((p) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/labs/" + encodeURIComponent(lab) + "/site?file=" + encodeURIComponent(p);
      a.dataset.file = p;
      a.textContent = p;
      if (p === path) a.setAttribute("aria-current", "true");
      li.append(a);
      list.append(li);
    });
    const deleted = $(".se-deleted");
    const ul = deleted.querySelector("ul");
    ul.textContent = "";
    deleted.hidden = m.deleted.length === 0;
    m.deleted.forEach((d) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.className = "button small secondary";
      b.textContent = "Restore " + d.path;
      b.addEventListener("click", () => restore(d.path, d.version.id, null));
      li.append(b);
      ul.append(li);
    });
    if (m.pending.length) say("not_deployed", m.pending.length + " file(s) saved but not yet sent to Marathon: " + m.pending.join(", "));
  };
  root.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[data-file]");
    if (!a) return;
    e.preventDefault();
    open(a.dataset.file);
  });
  const open = async (p, keepStatus) => {
    if (dirty && p !== path && !confirm("Your changes to " + path + " are not saved. Open " + p + " anyway?")) return;
    const r = await fetch(api(p), { headers: { Accept: "application/json" } });
    if (r.status === 404) { etag = null; setText(""); }
    else if (!r.ok) { say("failed", (await r.json()).error); return; }
    else { const f = await r.json(); etag = f.etag; path = p; setText(f.text); }
    path = p;
    $(".se-path").textContent = p;
    if (cm) { cm.setOption("mode", modeFor(p)); cm.getInputField().setAttribute("aria-label", "Text of " + p); }
    root.querySelectorAll("a[data-file]").forEach((a) => a.toggleAttribute("aria-current", a.dataset.file === p));
    if (!keepStatus) { say("", ""); clearMarks(); deployList.textContent = ""; lastApp = null; showApp(); }
    historyBox.hidden = true;
    $('[data-action="history"]').setAttribute("aria-expanded", "false");
    if (document.body.dataset.editorPage) history.replaceState(null, "", "?file=" + encodeURIComponent(p));
  };

  // ---- Saving ----------------------------------------------------------------------------
  const conflict = $(".se-conflict"), confirmBox = $(".se-confirm");
  const ask = (dialog) => new Promise((resolve) => {
    const done = (choice) => { dialog.close(); resolve(choice); };
    dialog.querySelectorAll("[data-choice]").forEach((b) => { b.onclick = () => done(b.dataset.choice); });
    dialog.oncancel = () => resolve("cancel");
    dialog.showModal();
    dialog.querySelector("[data-choice]").focus();
  });
  const report = (m) => {
    etag = m.file.etag;
    dirty = false;
    say(m.outcome, m.message);
    showErrors(m.errors);
    lastApp = m.app || null;
    showApp();
  };
  let saving = false;
  const save = async (overwriteWith) => {
    if (!path || saving) return;
    saving = true;
    say("", "Saving…");
    // Cleared now, not when the answer comes: the deployment's first steps can arrive
    // over the event stream before the answer to the PUT does.
    deployList.textContent = "";
    const headers = { "Content-Type": "text/plain; charset=utf-8", Accept: "application/json" };
    const expected = overwriteWith || etag;
    if (expected) headers["If-Match"] = expected; else headers["If-None-Match"] = "*";
    try {
      const r = await fetch(api(path), { method: "PUT", headers, body: getText() });
      const m = await r.json();
      if (r.ok) { report(m); refreshList(); return; }
      if (r.status === 412 || r.status === 428) {
        saving = false;
        const choice = await ask(conflict);
        if (choice === "reload") { dirty = false; await open(path); say("", "Reloaded the saved text."); }
        else if (choice === "overwrite") await save(m.current_etag || "*");
        else say("failed", m.error);
        return;
      }
      say("failed", m.error || "the save failed (" + r.status + ")");
    } catch (err) {
      say("failed", "lab could not be reached; your text is still here: save again");
    } finally {
      saving = false;
    }
  };
  const restore = async (p, version, ifMatch) => {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (ifMatch) headers["If-Match"] = ifMatch;
    deployList.textContent = "";
    const r = await fetch(api(p, "/restore"), { method: "POST", headers, body: JSON.stringify({ version }) });
    const m = await r.json();
    if (!r.ok) { say("failed", m.error); return; }
    dirty = false;
    await open(p, true);
    report(m);
    refreshList();
  };

  // ---- Deployment progress ---------------------------------------------------------------
  const describe = (p) => {
    switch (p.state) {
      case "deploying": return "deploying " + p.app_id;
      case "running": return "running: " + p.running + " of " + p.instances + " tasks" + (p.health_checks ? ", " + p.healthy + " healthy" : "") + (p.staged ? ", " + p.staged + " staging" : "");
      case "waiting": return "waiting (" + p.seconds + " s): " + p.message;
      case "healthy": return "healthy: " + p.running + " of " + p.instances + " tasks running";
      case "failed": return "failed: " + p.message + (p.task_state ? " (" + p.task_state + ")" : "");
      case "replaced": return "replaced by a newer deployment";
      case "timed_out": return "still deploying after " + p.seconds + " s; see Marathon's UI";
      default: return p.state;
    }
  };
  if (window.labEvents) {
    window.labEvents.addEventListener("deploy", (e) => {
      const m = JSON.parse(e.data);
      if (m.path !== path) return;
      const li = document.createElement("li");
      li.className = "se-step " + m.progress.state;
      li.dataset.state = m.progress.state;
      li.textContent = describe(m.progress);
      deployList.append(li);
    });
  }

  // ---- Buttons ---------------------------------------------------------------------------
  const on = (action, f) => { const b = $('[data-action="' + action + '"]'); if (b) b.addEventListener("click", f); };
  on("save", () => save());
  on("app", (e) => {
    const show = appBox.hidden;
    appBox.hidden = !show;
    e.currentTarget.setAttribute("aria-pressed", String(show));
    showApp();
  });
  on("history", async (e) => {
    const button = e.currentTarget;
    if (!historyBox.hidden) { historyBox.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
    const r = await fetch(api(path, "/history"), { headers: { Accept: "application/json" } });
    const m = await r.json();
    if (!r.ok) { say("failed", m.error); return; }
    const ul = $(".se-versions");
    ul.textContent = "";
    diffBox.hidden = true;
    $('[data-action="restore"]').hidden = true;
    if (!m.versions.length) ul.append(Object.assign(document.createElement("li"), { textContent: "No saved versions yet." }));
    m.versions.forEach((v) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.className = "link-button";
      b.textContent = new Date(v.time_ms).toLocaleString() + " · " + v.kind + " · " + v.size + " bytes";
      b.addEventListener("click", async () => {
        const vr = await fetch(api(path, "/history/" + encodeURIComponent(v.id)), { headers: { Accept: "application/json" } });
        const vm = await vr.json();
        if (!vr.ok) { say("failed", vm.error); return; }
        chosenVersion = v.id;
        diffBox.hidden = false;
        diffBox.textContent = vm.diff || "This version is the same as the current text.";
        $('[data-action="restore"]').hidden = false;
      });
      li.append(b);
      ul.append(li);
    });
    historyBox.hidden = false;
    button.setAttribute("aria-expanded", "true");
  });
  on("restore", () => { if (chosenVersion) restore(path, chosenVersion, etag); });
  on("new", () => {
    const name = prompt("Name of the new site file (ends in .yml, .yaml or .json), e.g. wolf3d.yml");
    if (!name) return;
    if (dirty && !confirm("Your changes to " + path + " are not saved. Start a new file anyway?")) return;
    dirty = false;
    path = name.trim(); etag = null;
    setText("");
    $(".se-path").textContent = path;
    if (cm) cm.setOption("mode", modeFor(path));
    say("", "New file: type its text and save to create it.");
    refreshList();
  });
  on("rename", async () => {
    if (!etag) { say("", "Save the file first."); return; }
    const to = prompt("New name for " + path, path);
    if (!to || to === path) return;
    const r = await fetch(api(path, "/rename"), { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json", "If-Match": etag }, body: JSON.stringify({ to: to.trim() }) });
    const m = await r.json();
    if (!r.ok) { say("failed", m.error); return; }
    path = m.path; etag = m.etag;
    $(".se-path").textContent = path;
    say("", "Renamed; the old name is kept in Deleted files.");
    refreshList();
  });
  on("delete", async () => {
    if (!etag) { say("", "This file is not saved yet: there is nothing to delete."); return; }
    if (await ask(confirmBox) !== "yes") return;
    const r = await fetch(api(path), { method: "DELETE", headers: { "If-Match": etag, Accept: "application/json" } });
    const m = await r.json();
    if (!r.ok) { say("failed", m.error); return; }
    say("", path + " deleted; restore it from Deleted files.");
    dirty = false; etag = null;
    await refreshList();
    const first = root.querySelector("a[data-file]:not([aria-current])");
    if (first) open(first.dataset.file, true);
  });
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  // lab.js asks before reloading a page brought back by Back/Forward.
  window.labUnsaved = () => dirty;

  // The server rendered the text; the ETag comes with a fresh read.
  (async () => {
    if (path && root.dataset.exists === "true") {
      const r = await fetch(api(path), { headers: { Accept: "application/json" } });
      if (r.ok) { const f = await r.json(); etag = f.etag; if (f.text !== getText()) setText(f.text); }
    }
    await refreshList();
    dirty = false;
    root.dataset.ready = "1";
  })();
})();
