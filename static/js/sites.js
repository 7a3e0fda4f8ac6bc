/* Resonance sites page: copy buttons and the live installation check.
 *
 * Copy: <button data-copy="ID"> copies the text of the element ID with
 * navigator.clipboard; where that is missing or refused (plain http on another
 * host, old browsers) it selects the text instead, so Ctrl+C finishes the job.
 *
 * Check: the element [data-install-check="URL"] polls that JSON every few
 * seconds and shows "waiting for the first event…" until page views arrive,
 * then the latest ones (page, time in the site's zone, device). Text from
 * beacons is set with textContent, never as HTML. No inline code (CSP). */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var POLL_RECEIVING_MS = 5000;

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, message) {
    var out = button.nextElementSibling;
    if (out && out.classList.contains("copy-result")) {
      out.textContent = message;
    }
  }

  function bindCopy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    button.addEventListener("click", function () {
      var text = source.textContent;
      var fallback = function () {
        selectText(source);
        var copied = false;
        try {
          copied = document.execCommand("copy");
        } catch (error) {
          copied = false;
        }
        say(button, copied ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          say(button, "Copied.");
        }, fallback);
      } else {
        fallback();
      }
    });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function showEvents(box, data) {
    var status = box.querySelector("[data-install-status]");
    var text = box.querySelector("[data-install-text]");
    var table = box.querySelector("[data-install-events]");
    status.classList.toggle("ok", data.receiving);
    status.classList.toggle("waiting", !data.receiving);
    if (!data.receiving) {
      text.textContent = "waiting for the first event…";
      table.hidden = true;
      return;
    }
    var latest = data.events[0];
    text.textContent = "Receiving events: the latest arrived " + latest.when + ".";
    var body = table.querySelector("tbody");
    body.textContent = "";
    data.events.forEach(function (event) {
      var row = document.createElement("tr");
      cell(row, event.when);
      var page = cell(row, "");
      var title = document.createElement("span");
      title.className = "title";
      title.textContent = event.title || "(untitled)";
      var url = document.createElement("span");
      url.className = "url";
      url.textContent = event.url;
      page.appendChild(title);
      page.appendChild(document.createElement("br"));
      page.appendChild(url);
      cell(row, event.device);
      body.appendChild(row);
    });
    table.hidden = false;
  }

  function poll(box) {
    var url = box.getAttribute("data-install-check");
    var next = function (ms) {
      window.setTimeout(function () {
        poll(box);
      }, ms);
    };
    if (document.hidden) {
      next(POLL_MS);
      return;
    }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        showEvents(box, data);
        next(data.receiving ? POLL_RECEIVING_MS : POLL_MS);
      })
      .catch(function () {
        next(POLL_MS * 2);
      });
  }

  function start() {
    document.querySelectorAll("[data-copy]").forEach(bindCopy);
    document.querySelectorAll("[data-install-check]").forEach(poll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
