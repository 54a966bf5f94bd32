/* SocialmapLiveMap: draws what /api/v1/map says is in a Leaflet map's view, and follows it.

   var live = SocialmapLiveMap.attach(map, {
     endpoint: "/api/v1/map",                  // the map data API
     params: {category: "vervoer"},            // the search's filters (strings or arrays)
     detailUrl: "/initiatief/{id}",            // a point's popup links here
     skip: ["<id>", ...],                      // point ids the page draws itself
     texts: {initiatives: "initiatieven", zoomIn: "inzoomen", more: "Meer over dit initiatief",
             tooMany: "Zoom in om te zien wat bij deze filters past."}
   });
   live.setParams({...});  live.refresh();  live.detach();

   Clusters are round markers with their count as text (and an accessible name), focusable and
   activated by click, Enter or Space, which zooms to the cluster's extent. Points are markers
   whose popup links to the initiative. The server never sends more than 1,000 of either, and
   this module keeps only the last answer's markers, so the DOM never holds more. When the
   filters cannot be counted fast over so large a view, the server says "zoom_in" and the map
   shows `texts.tooMany` instead of markers.

   The view is fetched with a margin (`pad`, in view sizes) snapped to the 256-pixel tile grid
   of the zoom: a small pan stays inside what was fetched and costs no request, and the same
   area gives the same URL, which the browser cache (max-age) then answers. A move that leaves
   the fetched area asks at once; a newer request aborts the older one. After each drawing the map container gets
   a `socialmap:livemap` event with {matched, returned, kind, ms} and `data-live-markers`. */
(function () {
  "use strict";

  var DEFAULTS = {
    endpoint: "/api/v1/map",
    params: {},
    detailUrl: "/initiatief/{id}",
    debounce: 80,
    pad: 0.25,
    texts: { initiatives: "initiatieven", initiative: "initiatief", zoomIn: "inzoomen",
             more: "Meer over dit initiatief",
             tooMany: "Zoom in om te zien wat bij deze filters past." },
  };

  // The stylesheet beside this script: a <link>, as a Content-Security-Policy without
  // inline styles allows it where an injected <style> would be refused.
  var STYLESHEET = (document.currentScript && document.currentScript.src ||
                    "/static/js/livemap.js").replace(/\.js(\?.*)?$/, ".css");

  function injectStyle() {
    if (document.getElementById("sm-livemap-style")) return;
    var el = document.createElement("link");
    el.id = "sm-livemap-style";
    el.rel = "stylesheet";
    el.href = STYLESHEET;
    document.head.appendChild(el);
  }

  function merge(base, extra) {
    var out = {};
    var k;
    for (k in base) out[k] = base[k];
    for (k in extra || {}) out[k] = extra[k];
    return out;
  }

  // The server's clusters are cells of about 64 pixels and it sends at most 1,000 of them:
  // ask for no more area than that, or a dense region comes back in coarser cells.
  var MAX_AREA = 1000 * 64 * 64;

  // The view plus a margin, widened to whole 256-pixel tiles of the zoom (Web Mercator); the
  // margin shrinks on large screens to keep within MAX_AREA.
  function fetchBounds(map, pad) {
    var zoom = map.getZoom();
    var size = map.getSize();
    var centre = map.project(map.getCenter(), zoom);
    var min, max;
    for (;; pad = Math.max(0, pad - 0.05)) {
      var half = L.point(size.x * (0.5 + pad), size.y * (0.5 + pad));
      min = centre.subtract(half).divideBy(256).floor().multiplyBy(256);
      max = centre.add(half).divideBy(256).ceil().multiplyBy(256);
      if (pad === 0 || (max.x - min.x) * (max.y - min.y) <= MAX_AREA) break;
    }
    return L.latLngBounds(map.unproject(L.point(min.x, max.y), zoom),
                          map.unproject(L.point(max.x, min.y), zoom));
  }

  function query(params, bounds, zoom) {
    var q = new URLSearchParams();
    var b = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
    q.set("bbox", b.map(function (v) { return v.toFixed(6); }).join(","));
    q.set("zoom", String(zoom));
    Object.keys(params).sort().forEach(function (name) {
      var value = params[name];
      if (value === null || value === undefined || value === "") return;
      (Array.isArray(value) ? value : [value]).forEach(function (v) { q.append(name, v); });
    });
    return q.toString();
  }

  function LiveMap(map, opts) {
    this.map = map;
    this.opts = merge(DEFAULTS, opts);
    this.opts.texts = merge(DEFAULTS.texts, opts && opts.texts);
    // Points the page already draws itself (its numbered results) are not drawn twice.
    this.skip = {};
    (this.opts.skip || []).forEach(function (id) { this.skip[id] = true; }, this);
    this.layer = L.layerGroup().addTo(map);
    this.markers = {};          // feature key -> marker
    this.fetched = null;        // {bounds, zoom, query} of the markers shown
    this.controller = null;
    this.timer = null;
    this.onMove = this.schedule.bind(this);
    map.on("moveend", this.onMove);
    injectStyle();
    this.notice = L.DomUtil.create("div", "sm-notice");
    this.notice.setAttribute("role", "status");
    var notice = this.notice;
    this.control = L.control({ position: "topright" });
    this.control.onAdd = function () { return notice; };
    this.control.addTo(map);
    this.refresh();
  }

  // Whether what is drawn covers the view as it is now (same zoom, filters and area).
  LiveMap.prototype.covers = function () {
    var shown = this.fetched;
    return Boolean(shown && shown.zoom === this.map.getZoom() &&
                   shown.params === this.opts.params &&
                   shown.bounds.contains(this.map.getBounds()));
  };

  // A move that leaves what was fetched asks for the new view at once (a newer request aborts
  // the older); only moves inside it wait for the debounce, which then finds nothing to do.
  // Keyboard panning ends a move every 80 pixels, but the margin keeps most of those inside.
  LiveMap.prototype.schedule = function () {
    clearTimeout(this.timer);
    if (!this.covers()) {
      this.refresh(false);
      return;
    }
    this.timer = setTimeout(this.refresh.bind(this, false), this.opts.debounce);
  };

  LiveMap.prototype.setParams = function (params) {
    this.opts.params = params || {};
    return this.refresh(true);
  };

  // Fetch and draw the view unless what is drawn already covers it (force: always).
  LiveMap.prototype.refresh = function (force) {
    var map = this.map;
    var zoom = map.getZoom();
    if (!force && this.covers()) return Promise.resolve(null);
    var bounds = fetchBounds(map, this.opts.pad);
    var qs = query(this.opts.params, bounds, zoom);
    if (this.controller) this.controller.abort();
    var controller = (this.controller = new AbortController());
    var started = performance.now();
    var self = this;
    var params = this.opts.params;
    return fetch(this.opts.endpoint + "?" + qs, {
      signal: controller.signal, headers: { Accept: "application/geo+json" },
    })
      .then(function (r) {
        if (!r.ok) throw new Error("map data: HTTP " + r.status);
        return r.json();
      })
      .then(function (body) {
        if (controller.signal.aborted) return null;
        self.draw(body.features || []);
        self.notice.textContent = body.map && body.map.kind === "zoom_in" ?
          self.opts.texts.tooMany : "";
        self.fetched = { bounds: bounds, zoom: zoom, params: params };
        self.controller = null;
        self.announce({ matched: body.numberMatched, returned: body.numberReturned,
                        kind: body.map && body.map.kind, ms: performance.now() - started });
        return body;
      })
      .catch(function (err) {
        if (err.name === "AbortError") return null;
        self.announce({ error: String(err.message || err) });
        return null;
      });
  };

  // Replace the markers by the features', keeping those that did not change.
  LiveMap.prototype.draw = function (features) {
    var next = {};
    var i, f, key, marker;
    var skip = this.skip;
    for (i = 0; i < features.length; i++) {
      f = features[i];
      if (!f.properties.cluster && skip[f.id]) continue;
      key = f.properties.cluster ? f.id + "#" + f.properties.count : f.id;
      marker = this.markers[key];
      next[key] = marker || (f.properties.cluster ? this.cluster(f) : this.point(f));
    }
    for (key in this.markers) {
      if (!(key in next)) this.layer.removeLayer(this.markers[key]);
    }
    for (key in next) {
      if (!(key in this.markers)) this.layer.addLayer(next[key]);
    }
    this.markers = next;
    var el = this.map.getContainer();
    el.dataset.liveMarkers = String(Object.keys(next).length);
  };

  LiveMap.prototype.cluster = function (f) {
    var map = this.map;
    var t = this.opts.texts;
    var n = f.properties.count;
    var c = f.geometry.coordinates;
    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : n < 10000 ? 50 : 58;
    var label = n.toLocaleString() + " " + (n === 1 ? t.initiative : t.initiatives) + ", " +
      t.zoomIn;
    var icon = L.divIcon({
      className: "sm-cluster",
      html: '<span aria-hidden="true">' + n.toLocaleString() + "</span>",
      iconSize: [size, size],
    });
    var m = L.marker([c[1], c[0]], { icon: icon, keyboard: true, title: label,
                                     alt: label, riseOnHover: true });
    var b = f.properties.bbox;
    function zoomTo() {
      var target = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
      var zoom = Math.min(map.getBoundsZoom(target), map.getMaxZoom());
      if (zoom <= map.getZoom()) zoom = Math.min(map.getZoom() + 2, map.getMaxZoom());
      map.setView(target.getCenter(), zoom);
    }
    m.on("click", zoomTo);
    m.on("add", function () {
      var el = m.getElement();
      el.setAttribute("aria-label", label);
      el.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          zoomTo();
        }
      });
    });
    return m;
  };

  LiveMap.prototype.point = function (f) {
    var p = f.properties;
    var c = f.geometry.coordinates;
    var opts = this.opts;
    var icon = L.divIcon({ className: "sm-point", iconSize: [16, 16] });
    var m = L.marker([c[1], c[0]], { icon: icon, keyboard: true, title: p.name, alt: p.name,
                                     riseOnHover: true });
    // Built when opened, so that a thousand points cost a thousand small elements only.
    m.bindPopup(function () {
      var box = document.createElement("div");
      var name = document.createElement("a");
      name.href = opts.detailUrl.replace("{id}", encodeURIComponent(p.service_id));
      name.textContent = p.name;
      var title = document.createElement("p");
      title.className = "hit-popup-name";
      title.appendChild(name);
      box.appendChild(title);
      var more = document.createElement("a");
      more.href = name.href;
      more.textContent = opts.texts.more;
      more.setAttribute("aria-label", opts.texts.more + ": " + p.name);
      box.appendChild(more);
      return box;
    }, { maxWidth: 280 });
    m.on("add", function () {
      m.getElement().setAttribute("aria-label", p.name);
    });
    return m;
  };

  LiveMap.prototype.announce = function (detail) {
    this.map.getContainer().dispatchEvent(
      new CustomEvent("socialmap:livemap", { bubbles: true, detail: detail }));
  };

  LiveMap.prototype.detach = function () {
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.map.off("moveend", this.onMove);
    this.map.removeLayer(this.layer);
    this.map.removeControl(this.control);
    this.markers = {};
  };

  window.SocialmapLiveMap = {
    attach: function (map, opts) {
      return new LiveMap(map, opts);
    },
  };
})();
