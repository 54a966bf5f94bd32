/* Sortable tables: a button in each column head; aria-sort says the order to screen readers. */
(function () {
  "use strict";
  var status = document.querySelector(".sort-status");
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var numeric = button.getAttribute("data-type") === "number";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = x.getAttribute("data-value"), vy = y.getAttribute("data-value");
          var d = numeric ? Number(vx) - Number(vy)
                          : x.textContent.trim().localeCompare(y.textContent.trim(), "nl");
          return ascending ? d : -d;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        heads.forEach(function (other) { if (other.querySelector("button")) other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        if (status) status.textContent = "Gesorteerd op " + button.textContent.trim() + (ascending ? ", oplopend" : ", aflopend");
      });
    });
  });
})();
