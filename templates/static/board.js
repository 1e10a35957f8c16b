// lab — the instructor's board: live rows over server-sent events (the server renders and
// escapes each row; this only swaps them in), sorting by name, progress or stuck time, and
// "3m ago" texts that keep counting. The page works without it (reload to refresh).
(() => {
  "use strict";
  const table = document.querySelector("[data-live-board]");
  if (!table) return;
  const body = document.getElementById("board-rows");
  const head = document.getElementById("board-head");
  const foot = document.getElementById("board-foot");
  let sortBy = "name";

  const key = {
    name: (r) => r.dataset.name.toLowerCase(),
    progress: (r) => -Number(r.dataset.progress),
    stuck: (r) => -Number(r.dataset.stuck),
  };
  const sort = () => {
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const ka = key[sortBy](a), kb = key[sortBy](b);
      if (ka < kb) return -1;
      if (ka > kb) return 1;
      return a.dataset.name.localeCompare(b.dataset.name);
    });
    rows.forEach((r) => body.appendChild(r));
  };
  document.querySelectorAll(".board-sort button[data-sort]").forEach((button) => {
    button.addEventListener("click", () => {
      sortBy = button.dataset.sort;
      document.querySelectorAll(".board-sort button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      sort();
    });
  });

  const short = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  };
  const ages = () => document.querySelectorAll("[data-ago-ms]").forEach((el) => {
    el.textContent = short(Date.now() - Number(el.dataset.agoMs)) + " ago";
    el.title = new Date(Number(el.dataset.agoMs)).toLocaleString();
  });
  // A student becomes stuck as time passes, without any event: mark them here too.
  const stuckAfter = Number(table.dataset.stuckAfterMs);
  const stuck = () => Array.from(body.rows).forEach((r) => {
    if (!r.dataset.failingSince) return;
    const failingFor = Date.now() - Number(r.dataset.failingSince);
    r.dataset.stuck = failingFor >= stuckAfter ? String(failingFor) : "0";
    if (failingFor < stuckAfter) return;
    r.classList.add("stuck");
    let note = r.querySelector(".stuck-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "stuck-note";
      r.cells[0].appendChild(note);
    }
    note.textContent = "⚠ stuck " + short(failingFor) + " " + r.dataset.failing;
  });
  const tick = () => { ages(); stuck(); };
  tick();
  setInterval(tick, 30000);

  const wait = () => {
    if (!window.labEvents) return setTimeout(wait, 50);
    window.labEvents.addEventListener("board", (e) => {
      const m = JSON.parse(e.data);
      if (m.head) head.innerHTML = m.head;
      if (m.foot) foot.innerHTML = m.foot;
      const count = document.getElementById("board-count");
      if (count) count.textContent = m.students;
      if (m.student !== null && m.row) {
        const holder = document.createElement("tbody");
        holder.innerHTML = m.row;
        const fresh = holder.firstElementChild;
        const old = document.getElementById("student-" + m.student);
        if (old) old.replaceWith(fresh); else body.appendChild(fresh);
        const empty = document.getElementById("board-empty");
        if (empty) empty.remove();
      }
      tick();
      sort();
    });
  };
  wait();
})();
