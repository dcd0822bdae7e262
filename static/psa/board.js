// Pipeline board: drag a card onto another column to move it (the server validates and answers with the
// re-rendered board, or the board plus the refusal). Buttons on each card do the same without a mouse.
(function () {
  "use strict";

  // Refusals (400/403/409) come back as the board with an alert: let HTMX swap them in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (target && target.id === "board" && [400, 403, 409].includes(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  let dragged = null;

  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.moveUrl);
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".psa-drop-target").forEach(function (el) { el.classList.remove("psa-drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    const column = dragged && event.target.closest && event.target.closest("[data-stage]");
    if (!column) return;
    event.preventDefault();
    column.classList.add("psa-drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    const column = event.target.closest && event.target.closest("[data-stage]");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("psa-drop-target");
  });

  // Won and Lost: a win runs the hand-off (a full page: the new project, or the deal with what is missing); a
  // loss asks for the reason first.
  document.addEventListener("dragover", function (event) {
    const outcome = dragged && event.target.closest && event.target.closest("[data-outcome]");
    if (!outcome) return;
    event.preventDefault();
    outcome.classList.add("psa-drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    const outcome = event.target.closest && event.target.closest("[data-outcome]");
    if (outcome && !outcome.contains(event.relatedTarget)) outcome.classList.remove("psa-drop-target");
  });

  document.addEventListener("drop", function (event) {
    const outcome = dragged && event.target.closest && event.target.closest("[data-outcome]");
    if (!outcome) return;
    event.preventDefault();
    outcome.classList.remove("psa-drop-target");
    if (outcome.dataset.outcome === "won") {
      const form = document.getElementById("board-win-form");
      form.action = dragged.dataset.winUrl;
      form.submit();
      return;
    }
    const modal = document.getElementById("board-lose-modal");
    const form = document.getElementById("board-lose-form");
    form.action = dragged.dataset.loseUrl;
    modal.querySelector("[data-deal-name]").textContent = "“" + dragged.dataset.name + "”";
    form.reset();
    modal.addEventListener("shown.bs.modal", function () { document.getElementById("board-lose-reason").focus(); }, { once: true });
    bootstrap.Modal.getOrCreateInstance(modal).show();
  });

  document.addEventListener("drop", function (event) {
    const column = dragged && event.target.closest && event.target.closest("[data-stage]");
    if (!column || typeof htmx === "undefined") return;
    event.preventDefault();
    const query = new URLSearchParams(window.location.search).toString();
    htmx.ajax("POST", dragged.dataset.moveUrl, {
      source: dragged,
      target: "#board",
      swap: "outerHTML",
      values: { stage: column.dataset.stage, query: query },
    });
  });
})();
