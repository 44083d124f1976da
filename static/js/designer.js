// Drag a block onto a sibling to move it there (the up/down buttons do the same without a mouse).
(function () {
  "use strict";
  let dragged = null;
  function sameList(a, b) { return a && b && a.parentElement === b.parentElement; }
  function indexOf(path) { const m = /\[(\d+)\]$/.exec(path); return m ? parseInt(m[1], 10) : -1; }
  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".designer-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.stopPropagation();
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
    dragged = null;
  });
  document.addEventListener("dragover", function (event) {
    const target = event.target.closest && event.target.closest(".designer-card[draggable=true]");
    if (!dragged || !target || target === dragged || !sameList(dragged, target)) return;
    event.preventDefault();
    target.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    const target = event.target.closest && event.target.closest(".designer-card");
    if (target) target.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    const target = event.target.closest && event.target.closest(".designer-card[draggable=true]");
    if (!dragged || !target || !sameList(dragged, target)) return;
    event.preventDefault();
    const designer = document.getElementById("designer");
    const to = indexOf(target.dataset.controlPath);
    if (to < 0) return;
    htmx.ajax("POST", designer.dataset.editUrl, {
      source: "#designer-blocks",
      swap: "none",
      values: {op: "move", path: dragged.dataset.controlPath, value: String(to),
               revision: document.getElementById("designer-revision").value},
    });
  });
})();
