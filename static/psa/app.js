// PSA front-end glue. No inline scripts (the Content Security Policy forbids them): behaviour hangs off
// data attributes. Charts: <canvas data-chart="ID"> reads its Chart.js config from <script id="ID"
// type="application/json"> (Django's json_script), or, in an htmx fragment, from its data-chart-config attribute.
(function () {
  "use strict";

  const charts = new WeakMap();

  function renderCharts(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (charts.has(canvas)) return;
      // A fragment swapped in by htmx carries its config on the canvas (data-chart-config): htmx drops script
      // tags from swapped content (allowScriptTags is off under the Content Security Policy).
      let raw = canvas.dataset.chartConfig;
      if (!raw) {
        const source = document.getElementById(canvas.dataset.chart);
        if (!source) return;
        raw = source.textContent;
      }
      const config = JSON.parse(raw);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      charts.set(canvas, new Chart(canvas, config));
      describeChart(canvas, config);
    });
  }

  // A chart's text alternative: the canvas is an image named by its figures ("Revenue: Jan 1,200; Feb 900"),
  // unless the page already names it (aria-label on the canvas, or aria-describedby pointing at a table).
  function describeChart(canvas, config) {
    canvas.setAttribute("role", "img");
    if (canvas.hasAttribute("aria-label") || canvas.hasAttribute("aria-describedby")) return;
    const data = config.data || {};
    const labels = data.labels || [];
    const parts = (data.datasets || []).map(function (set) {
      const points = (set.data || []).map(function (value, i) {
        const shown = value !== null && typeof value === "object" ? (value.y !== undefined ? value.y : value.x) : value;
        return (labels[i] !== undefined ? labels[i] + " " : "") + (typeof shown === "number" ? shown.toLocaleString("en") : shown);
      });
      return (set.label ? set.label + ": " : "") + points.join("; ");
    });
    const title = (((config.options || {}).plugins || {}).title || {}).text;
    canvas.setAttribute("aria-label", (title ? title + ". " : "Chart. ") + parts.join(". "));
  }

  // A table wider than the screen scrolls inside its box: keyboard users reach it (tabindex) and hear what it
  // is (a named region, after its card's header or the table's caption).
  function focusableScrollers(root) {
    root.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.hasAttribute("tabindex") || box.scrollWidth <= box.clientWidth) return;
      const card = box.closest(".card");
      const header = card && card.querySelector(".card-header");
      const caption = box.querySelector("caption");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", ((caption || header || {}).textContent || "Table").trim().replace(/\s+/g, " "));
    });
  }

  // Confirm dangerous buttons: <button data-confirm="Really?">
  document.addEventListener("click", function (event) {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Auto-submit filter forms when a select changes: <form data-autosubmit>
  document.addEventListener("change", function (event) {
    const form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") form.requestSubmit();
  });

  // A fragment whose form answers 400 with its inline errors opts in: <div data-swap-errors hx-...>.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The global search: "/" (outside a field) or Ctrl-K / Cmd-K anywhere puts the cursor in the top bar's box;
  // on a narrow screen the collapsed menu opens first so the box can be seen.
  document.addEventListener("keydown", function (event) {
    const box = document.getElementById("global-search");
    if (!box) return;
    const target = event.target;
    const typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    const slash = event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey;
    const ctrlK = (event.ctrlKey || event.metaKey) && (event.key === "k" || event.key === "K");
    if (!slash && !ctrlK) return;
    event.preventDefault();
    const menu = box.closest(".navbar-collapse");
    if (menu && !menu.classList.contains("show") && box.offsetParent === null && typeof bootstrap !== "undefined") {
      bootstrap.Collapse.getOrCreateInstance(menu).show();
    }
    box.focus();
    box.select();
  });

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); focusableScrollers(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    renderCharts(event.target);
    focusableScrollers(event.target);
  });
  window.addEventListener("resize", function () { focusableScrollers(document); });
  window.PSA = Object.assign(window.PSA || {}, { renderCharts: renderCharts });
})();
