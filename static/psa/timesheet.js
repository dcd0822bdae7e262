// The weekly timesheet grid: keyboard moves between hour cells, the note field follows the current cell.
// Saving is HTMX (hx-post on each hour input); this file only moves focus and carries the note.
(function () {
  "use strict";

  function cells(grid) { return Array.from(grid.querySelectorAll("input.psa-hours")); }

  function cellAt(grid, row, col) {
    return grid.querySelector('input.psa-hours[data-row="' + row + '"][data-col="' + col + '"]');
  }

  function move(grid, input, dRow, dCol) {
    let row = Number(input.dataset.row) + dRow;
    let col = Number(input.dataset.col) + dCol;
    const rows = Math.max.apply(null, cells(grid).map(function (c) { return Number(c.dataset.row); }));
    if (col > 6) { col = 0; row += 1; }
    if (col < 0) { col = 6; row -= 1; }
    if (row < 0 || row > rows) return;
    const next = cellAt(grid, row, col);
    if (next) { next.focus(); next.select(); }
  }

  let current = null;

  function setCurrent(input) {
    const note = document.getElementById("ts-note");
    const label = document.getElementById("ts-note-label");
    if (current) current.closest("td").classList.remove("is-current");
    current = input;
    input.closest("td").classList.add("is-current");
    if (!note) return;
    const hidden = input.closest("td").querySelector("input[data-note]");
    note.value = hidden ? hidden.value : "";
    note.disabled = input.readOnly;
    if (label) label.textContent = input.getAttribute("aria-label");
  }

  document.addEventListener("DOMContentLoaded", function () {
    const grid = document.querySelector("[data-timesheet]");
    if (!grid) return;
    const note = document.getElementById("ts-note");

    grid.addEventListener("focusin", function (event) {
      if (event.target.matches("input.psa-hours")) setCurrent(event.target);
    });

    grid.addEventListener("keydown", function (event) {
      const input = event.target;
      if (!input.matches("input.psa-hours")) return;
      if (event.key === "F2" && event.shiftKey && note && !note.disabled) {
        event.preventDefault();
        note.focus();
        return;
      }
      switch (event.key) {
        case "Enter": event.preventDefault(); move(grid, input, event.shiftKey ? -1 : 1, 0); break;
        case "ArrowDown": event.preventDefault(); move(grid, input, 1, 0); break;
        case "ArrowUp": event.preventDefault(); move(grid, input, -1, 0); break;
        // Hours are short: like a spreadsheet in entry mode, left and right move between days.
        case "ArrowRight": event.preventDefault(); move(grid, input, 0, 1); break;
        case "ArrowLeft": event.preventDefault(); move(grid, input, 0, -1); break;
        default: break;
      }
    });

    if (note) {
      note.addEventListener("input", function () {
        if (!current || current.readOnly) return;
        const hidden = current.closest("td").querySelector("input[data-note]");
        if (hidden) hidden.value = note.value;
      });
      note.addEventListener("change", function () {
        if (current && !current.readOnly && current.value.trim() !== "") htmx.trigger(current, "notechange");
      });
      note.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && current) {
          event.preventDefault();
          if (!current.readOnly && current.value.trim() !== "") htmx.trigger(current, "notechange");
          current.focus();
          current.select();
        }
      });
    }
    // The page is for typing hours: the first editable cell has focus, unless the user already moved it.
    const first = grid.querySelector("input.psa-hours:not([readonly])");
    if (first) {
      setCurrent(first);
      if (!document.activeElement || document.activeElement === document.body) first.focus({ preventScroll: true });
    }
  });

  // Approval tables: a header checkbox toggles every row of the form.
  document.addEventListener("change", function (event) {
    const all = event.target.closest("input[data-check-all]");
    if (!all) return;
    all.form.querySelectorAll('input[name="' + all.dataset.checkAll + '"]').forEach(function (box) { box.checked = all.checked; });
  });
})();
