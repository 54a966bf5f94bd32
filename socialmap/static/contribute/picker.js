/* A small map to point at where an initiative is. Fills the hidden lat/lon fields; without
   JavaScript the form uses the place or postcode field instead. No inline script (CSP). */
(function () {
  "use strict";
  var box = document.getElementById("picker");
  if (!box || typeof L === "undefined") { return; }
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var status = document.getElementById("picker-status");
  var clear = document.getElementById("picker-clear");
  var centre = document.getElementById("picker-centre");
  box.hidden = false;

  var start = lat.value && lon.value ? [parseFloat(lat.value), parseFloat(lon.value)] : null;
  var map = L.map("picker-map", { keyboard: true }).setView(start || [52.2, 5.4], start ? 16 : 7);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
  } else {
    map.getContainer().classList.add("no-tiles");  // no tile server configured
  }
  var marker = null;

  function say(text) { status.textContent = text; }

  function put(latlng) {
    var la = Math.round(latlng.lat * 1e6) / 1e6, lo = Math.round(latlng.lng * 1e6) / 1e6;
    lat.value = la; lon.value = lo;
    if (marker) { marker.setLatLng(latlng); } else {
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: box.dataset.markerTitle }).addTo(map);
      marker.on("dragend", function () { put(marker.getLatLng()); });
    }
    clear.hidden = false;
    say(box.dataset.chosen.replace("{lat}", la.toFixed(5)).replace("{lon}", lo.toFixed(5)));
  }

  if (start) { put(L.latLng(start[0], start[1])); }
  map.on("click", function (e) { put(e.latlng); });
  centre.addEventListener("click", function () { put(map.getCenter()); });
  clear.addEventListener("click", function () {
    lat.value = ""; lon.value = "";
    if (marker) { map.removeLayer(marker); marker = null; }
    clear.hidden = true;
    say(box.dataset.cleared);
  });
})();
