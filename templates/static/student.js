// lab — the instructor's page of one student: when the board says this student changed
// (a result, their stack), the page fetches itself again and swaps its content in, keeping
// open details open. The server renders everything; the page works without this (reload).
(() => {
  "use strict";
  const id = document.body.dataset.liveStudent;
  const root = document.getElementById("student-detail");
  if (!id || !root || !window.labEvents) return;
  let busy = false, again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const open = new Set(Array.from(root.querySelectorAll("details[open] summary")).map((s) => s.textContent));
      const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
      if (response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = doc.getElementById("student-detail");
        if (fresh) {
          fresh.querySelectorAll("details").forEach((d) => {
            const s = d.querySelector("summary");
            if (s && open.has(s.textContent)) d.open = true;
          });
          root.innerHTML = fresh.innerHTML;
          root.querySelectorAll("time[data-ms]").forEach((t) => { t.textContent = "· checked " + new Date(Number(t.dataset.ms)).toLocaleTimeString(); });
        }
      }
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  };
  window.labEvents.addEventListener("board", (e) => {
    const m = JSON.parse(e.data);
    if (String(m.student) === id) refresh();
  });
})();
