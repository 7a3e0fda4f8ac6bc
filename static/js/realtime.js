/* Resonance real-time panel: refreshes the "Right now" figures of the overview
 * from the JSON endpoint in [data-realtime] every 12 s (while the tab is
 * visible). Page titles come from browsers: set with textContent only. */
(function () {
  "use strict";

  var REFRESH_MS = 12000;

  function plural(count, noun) {
    return count + " " + noun + (count === 1 ? "" : "s");
  }

  function render(panel, data) {
    panel.querySelectorAll("[data-rt]").forEach(function (element) {
      element.textContent = String(data[element.getAttribute("data-rt")]);
    });
    data.sites.forEach(function (site) {
      document.querySelectorAll("[data-rt-site]").forEach(function (element) {
        if (element.getAttribute("data-rt-site") === site.key) {
          element.textContent = String(site.visitors);
        }
      });
    });
    var storing = panel.querySelector("[data-rt-storing]");
    if (storing && data.storing) {
      storing.hidden = data.storing.beacons === 0;
      storing.querySelector("[data-rt-storing-beacons]").textContent =
        plural(data.storing.beacons, "beacon");
      storing.querySelector("[data-rt-storing-behind]").textContent =
        String(data.storing.behind_s);
    }
    var list = panel.querySelector("[data-rt-top]");
    list.textContent = "";
    data.top_pages.forEach(function (page) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = page.href;
      link.textContent = page.title || page.url;
      var hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent =
        " " + plural(page.pageviews, "view") + " · " +
        plural(page.visitors, "visitor") + " · " + page.site;
      item.appendChild(link);
      item.appendChild(hint);
      list.appendChild(item);
    });
    panel.querySelector("[data-rt-empty]").hidden = data.top_pages.length > 0;
    var updated = panel.querySelector("[data-rt-updated]");
    if (updated) {
      updated.textContent = " · updated " + new Date().toLocaleTimeString();
    }
  }

  function refresh(panel) {
    if (document.hidden) {
      return;
    }
    fetch(panel.getAttribute("data-realtime"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        render(panel, data);
      })
      .catch(function () {});
  }

  function start() {
    document.querySelectorAll("[data-realtime]").forEach(function (panel) {
      window.setInterval(function () {
        refresh(panel);
      }, REFRESH_MS);
      document.addEventListener("visibilitychange", function () {
        refresh(panel);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
