/* Resonance sales pages: draws the influence figure and counts note characters.
 * Figures arrive as JSON in <script type="application/json"> elements (no inline
 * code, so a strict Content-Security-Policy can forbid it); each
 * <div data-sales-figure="ID"> is drawn from the JSON element with that id. */
(function () {
  "use strict";

  function draw(target) {
    var source = document.getElementById(target.getAttribute("data-sales-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true
    });
  }

  /* "120 / 2000" under a note's text area, as it is typed. */
  function count(area) {
    var counter = document.getElementById(area.getAttribute("data-counter"));
    var limit = Number(area.getAttribute("maxlength")) || 2000;
    if (!counter) {
      return;
    }
    function update() {
      counter.textContent = area.value.length ? area.value.length + " / " + limit : "";
    }
    area.addEventListener("input", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-sales-figure]").forEach(draw);
    document.querySelectorAll("textarea[data-counter]").forEach(count);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
