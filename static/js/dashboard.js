/* Resonance dashboard: draws the figures embedded in the page and wires their
 * controls. Figures arrive as JSON in <script type="application/json"> elements
 * (no inline code, so a strict Content-Security-Policy can forbid it); each
 * <div data-figure="ID"> is drawn from the JSON element with that id. */
(function () {
  "use strict";

  function draw(target) {
    var source = document.getElementById(target.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, figure.config || {});
  }

  /* A range input (0-100) restyles the opacity of the heat of one figure. */
  function bindOpacity(input) {
    var target = document.getElementById(input.getAttribute("data-opacity-for"));
    if (!target) {
      return;
    }
    input.addEventListener("input", function () {
      var traces = [];
      (target.data || []).forEach(function (trace, index) {
        if (trace.type === "heatmap") {
          traces.push(index);
        }
      });
      if (traces.length) {
        window.Plotly.restyle(target, { opacity: Number(input.value) / 100 }, traces);
      }
    });
  }

  /* "Take snapshot" takes about 10 s: on submit the button is disabled (no
   * second request) and the form says what is happening, with the seconds
   * passed. Text only (textContent): the URL came from a browser. */
  function bindSnapshot(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      var status = form.querySelector(".snapshot-status");
      var started = Date.now();
      var text =
        "Taking snapshots at " + form.getAttribute("data-snapshot-widths") +
        " px of " + form.getAttribute("data-snapshot-url") + " \u2014 about 10 s";
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      }
      form.classList.add("busy");
      if (status) {
        status.textContent = text + "\u2026";
        window.setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          status.textContent = text + " (" + seconds + " s so far)\u2026";
        }, 1000);
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-figure]").forEach(draw);
    document.querySelectorAll("[data-opacity-for]").forEach(bindOpacity);
    document.querySelectorAll("form[data-snapshot-url]").forEach(bindSnapshot);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
