// Drag a block by its handle onto a sibling to move it there (the up/down buttons do the same without a mouse).
(function () {
  "use strict";
  let dragged = null;
  function sameList(a, b) { return a && b && a.parentElement === b.parentElement; }
  // the card in the dragged card's own list under the pointer (the pointer may be over a
  // card nested inside it, such as a condition inside a group)
  function dropTarget(node) {
    let card = node.closest && node.closest(".designer-card[data-movable]");
    while (card && !sameList(card, dragged)) {
      card = card.parentElement && card.parentElement.closest(".designer-card[data-movable]");
    }
    return card;
  }
  function indexOf(path) { const m = /\[(\d+)\]$/.exec(path); return m ? parseInt(m[1], 10) : -1; }
  document.addEventListener("dragstart", function (event) {
    // only the handle drags, so a drag started on a nested block moves that block
    const handle = event.target.closest && event.target.closest(".drag-handle");
    const card = handle && handle.closest(".designer-card[data-movable]");
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
    if (!dragged) return;
    const target = dropTarget(event.target);
    if (!target || target === dragged) return;
    event.preventDefault();
    target.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    const target = event.target.closest && event.target.closest(".designer-card");
    if (target) target.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    const target = dropTarget(event.target);
    if (!target || target === dragged) return;
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
