/* Progressive enhancement of the search page; everything also works without this file.
   - kern autocomplete on the place field (ARIA 1.2 combobox with a listbox)
   - the "mijn locatie" button (browser geolocation -> "lat, lon" in the field, then search)
   - the result count re-announced once the page has loaded
   - the filters folded away on narrow screens while none is chosen
   - the print button of the print view */
(function () {
  "use strict";

  function autocomplete(combo) {
    var input = combo.querySelector("input");
    var url = combo.dataset.autocomplete;
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var options = [];
    var active = -1;
    var timer = null;
    var lastQuery = "";

    list.id = input.id + "-listbox";
    list.setAttribute("role", "listbox");
    var label = document.querySelector('label[for="' + input.id + '"]');
    list.setAttribute("aria-label", label ? label.textContent : input.id);
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    combo.appendChild(list);
    combo.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (el, i) {
        el.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var el = options[index];
      if (!el) return;
      input.value = el.dataset.near;
      close();
      input.focus();
    }

    function render(kernen) {
      list.textContent = "";
      options = kernen.map(function (k, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.near = k.name + ", " + k.gemeente.name;
        li.appendChild(document.createTextNode(k.name + " "));
        var small = document.createElement("small");
        small.textContent = "(" + k.gemeente.name + ")";
        li.appendChild(small);
        li.addEventListener("mousedown", function (e) {
          e.preventDefault();
          choose(i);
        });
        list.appendChild(li);
        return li;
      });
      active = -1;
      if (options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = combo.dataset.count.replace("{n}", options.length);
      } else {
        close();
        status.textContent = combo.dataset.none;
      }
    }

    function lookup() {
      var q = input.value.trim();
      if (q === lastQuery) return;
      lastQuery = q;
      if (q.length < 2 || /^[0-9+\-.,\s]/.test(q)) {
        close();
        return;
      }
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.ok ? r.json() : { kernen: [] };
        })
        .then(function (body) {
          if (input.value.trim() === q) render(body.kernen || []);
        })
        .catch(close);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 180);
    });
    input.addEventListener("keydown", function (e) {
      var open = !list.hidden && options.length;
      if (e.key === "ArrowDown") {
        if (!open) {
          lastQuery = "";
          lookup();
          return;
        }
        e.preventDefault();
        highlight((active + 1) % options.length);
      } else if (e.key === "ArrowUp" && open) {
        e.preventDefault();
        highlight(active <= 0 ? options.length - 1 : active - 1);
      } else if (e.key === "Enter" && open && active >= 0) {
        e.preventDefault();
        choose(active);
      } else if (e.key === "Escape" && open) {
        e.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 100);
    });
  }

  function locate(button) {
    var input = document.getElementById("near");
    var status = document.querySelector(".locate-status");
    if (!("geolocation" in navigator) || !input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = button.dataset.busy;
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          input.value = pos.coords.latitude.toFixed(5) + ", " + pos.coords.longitude.toFixed(5);
          input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
        },
        function () {
          button.disabled = false;
          status.textContent = button.dataset.failed;
          input.focus();
        },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
      );
    });
  }

  // A live region only speaks when its text changes, and the page was just loaded with the
  // count in it: say it again through a hidden live region once the page has settled.
  function announce(source) {
    var region = document.createElement("p");
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.appendChild(region);
    setTimeout(function () {
      region.textContent = source.textContent;
    }, 500);
  }

  function foldFilters(details) {
    var chosen = details.querySelectorAll("input:checked").length;
    if (!chosen && window.matchMedia("(max-width: 59.99rem)").matches) details.open = false;
  }

  // Leave empty fields out of the query string, so that a search's URL stays short.
  function tidy(form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && (el.tagName === "INPUT" || el.tagName === "SELECT") &&
            el.type !== "checkbox" && el.value === "") {
          el.disabled = true;
        }
      });
      setTimeout(function () {
        Array.prototype.forEach.call(form.elements, function (el) {
          el.disabled = false;
        });
      }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.search").forEach(tidy);
    document.querySelectorAll(".combo[data-autocomplete]").forEach(autocomplete);
    document.querySelectorAll("button.locate").forEach(locate);
    document.querySelectorAll("details.filter-details").forEach(foldFilters);
    var count = document.getElementById("result-count");
    if (count) announce(count);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });
})();
