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
   this module never holds more than 1,000 markers. When the filters cannot be counted fast
   over so large a view, the server says "zoom_in" and the map shows `texts.tooMany` instead of
   markers.

   Answers are kept in a small cache (per zoom, filters and area, for the API's max-age), and a
   view is drawn from the cache whenever the cached answers cover it, without a request:
   - a view the cache cannot draw is fetched with a margin (`pad`, in view sizes) snapped to
     the 256-pixel tile grid of the zoom, so a small pan stays inside what was fetched;
   - when the map has been still for `idle` ms, the blocks of a fixed grid of the zoom (whole
     tiles, so the same block gives the same URL) that lie within `prefetch` views around the
     view are fetched, two at a time, nearest first: a pan of up to that distance then draws
     from the cache;
   - drawing puts the markers in view on the map at once, and those in the margin in idle
     moments after, so a move does not wait for markers nobody sees yet.
   After each drawing of a new view the map container gets a `socialmap:livemap` event with
   {matched, returned, kind, ms, cached} and `data-live-markers`. */
(function () {
  "use strict";

  var DEFAULTS = {
    endpoint: "/api/v1/map",
    params: {},
    detailUrl: "/initiatief/{id}",
    pad: 0.25,
    prefetch: 1.5,
    idle: 150,
    texts: { initiatives: "initiatieven", initiative: "initiatief", zoomIn: "inzoomen",
             more: "Meer over dit initiatief",
             tooMany: "Zoom in om te zien wat bij deze filters past." },
  };

  // The stylesheet beside this script: a <link>, as a Content-Security-Policy without
  // inline styles allows it where an injected <style> would be refused.
  var STYLESHEET = (document.currentScript && document.currentScript.src ||
                    "/static/js/livemap.js").replace(/\.js(\?.*)?$/, ".css");

  // The server's clusters are cells of about 64 pixels and it sends at most 1,000 of them:
  // ask for no more area than that, or a dense region comes back in coarser cells.
  var MAX_AREA = 1000 * 64 * 64;
  // Prefetched blocks: whole tiles, well under MAX_AREA, because the server widens an area to
  // whole cells and RD cells are a little under 64 px south of 52°N (about 800 cells here).
  var BLOCK = { x: 1792, y: 1536 };
  // The most markers on the map at any moment (the server's cap per answer): a drawing
  // from several answers that would hold more is not made.
  var MAX_MARKERS = 1000;
  // Answers of up to this many features are drawn in one go: splitting them buys nothing.
  var DRAW_AT_ONCE = 200;
  // A marker is drawn with the view when its point lies this close to it (half a big cluster).
  var EDGE = 32;
  // The cache: answers for the API's max-age, and at most this many of them and of features.
  var MAX_AGE_MS = 60000;
  var CACHE_ANSWERS = 64;
  var CACHE_FEATURES = 30000;
  var PREFETCH_AT_ONCE = 2;

  // Idle work runs after the frame that shows the view (setTimeout would run before it).
  var whenIdle = window.requestIdleCallback ?
    function (fn) { window.requestIdleCallback(fn, { timeout: 500 }); } :
    function (fn) {
      setTimeout(function () { fn({ timeRemaining: function () { return 8; } }); }, 50);
    };
  // One formatter: toLocaleString() sets one up on every call, a large share of what a
  // cluster marker cost to make in Chromium.
  var NUMBER = new Intl.NumberFormat();

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

  // Rectangles are {x0, y0, x1, y1} in Leaflet's pixel coordinates of one zoom.
  function rect(x0, y0, x1, y1) {
    return { x0: x0, y0: y0, x1: x1, y1: y1 };
  }

  function contains(outer, inner) {
    return outer.x0 <= inner.x0 && outer.y0 <= inner.y0 && outer.x1 >= inner.x1 &&
      outer.y1 >= inner.y1;
  }

  function intersects(a, b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  }

  function grow(r, dx, dy) {
    return rect(r.x0 - dx, r.y0 - dy, r.x1 + dx, r.y1 + dy);
  }

  function inside(r, p) {
    return p.x >= r.x0 && p.x <= r.x1 && p.y >= r.y0 && p.y <= r.y1;
  }

  // Whether the rectangles together cover `r`: cut r along their edges and test every piece.
  function covered(r, parts) {
    var xs = [r.x0, r.x1];
    var ys = [r.y0, r.y1];
    parts.forEach(function (p) {
      if (p.x0 > r.x0 && p.x0 < r.x1) xs.push(p.x0);
      if (p.x1 > r.x0 && p.x1 < r.x1) xs.push(p.x1);
      if (p.y0 > r.y0 && p.y0 < r.y1) ys.push(p.y0);
      if (p.y1 > r.y0 && p.y1 < r.y1) ys.push(p.y1);
    });
    function num(a, b) { return a - b; }
    xs.sort(num);
    ys.sort(num);
    for (var i = 0; i + 1 < xs.length; i++) {
      if (xs[i] === xs[i + 1]) continue;
      for (var j = 0; j + 1 < ys.length; j++) {
        if (ys[j] === ys[j + 1]) continue;
        var mid = { x: (xs[i] + xs[i + 1]) / 2, y: (ys[j] + ys[j + 1]) / 2 };
        if (!parts.some(function (p) { return inside(p, mid); })) return false;
      }
    }
    return true;
  }

  // The view plus a margin, widened to whole 256-pixel tiles of the zoom (Web Mercator); the
  // margin shrinks on large screens to keep within MAX_AREA.
  function fetchRect(map, pad) {
    var size = map.getSize();
    var centre = map.project(map.getCenter(), map.getZoom());
    var min, max;
    for (;; pad = Math.max(0, pad - 0.05)) {
      var half = L.point(size.x * (0.5 + pad), size.y * (0.5 + pad));
      min = centre.subtract(half).divideBy(256).floor().multiplyBy(256);
      max = centre.add(half).divideBy(256).ceil().multiplyBy(256);
      if (pad === 0 || (max.x - min.x) * (max.y - min.y) <= MAX_AREA) break;
    }
    return rect(min.x, min.y, max.x, max.y);
  }

  function viewRect(map) {
    var b = map.getPixelBounds();
    return rect(b.min.x, b.min.y, b.max.x, b.max.y);
  }

  // The filters as a query string: part of every URL and of the cache's key.
  function paramsQuery(params) {
    var q = new URLSearchParams();
    Object.keys(params).sort().forEach(function (name) {
      var value = params[name];
      if (value === null || value === undefined || value === "") return;
      (Array.isArray(value) ? value : [value]).forEach(function (v) { q.append(name, v); });
    });
    return q.toString();
  }

  function query(map, r, zoom, filters) {
    var sw = map.unproject(L.point(r.x0, r.y1), zoom);
    var ne = map.unproject(L.point(r.x1, r.y0), zoom);
    var b = [sw.lng, sw.lat, ne.lng, ne.lat];
    return "bbox=" + encodeURIComponent(b.map(function (v) { return v.toFixed(6); }).join(",")) +
      "&zoom=" + zoom + (filters ? "&" + filters : "");
  }

  function featureKey(f) {
    return f.properties.cluster ? f.id + "#" + f.properties.count : String(f.id);
  }

  function LiveMap(map, opts) {
    this.map = map;
    this.opts = merge(DEFAULTS, opts);
    this.opts.texts = merge(DEFAULTS.texts, opts && opts.texts);
    this.filters = paramsQuery(this.opts.params);
    // Points the page already draws itself (its numbered results) are not drawn twice.
    this.skip = {};
    (this.opts.skip || []).forEach(function (id) { this.skip[id] = true; }, this);
    this.layer = L.layerGroup().addTo(map);
    this.markers = {};          // feature key -> marker on the map
    this.count = 0;             // how many markers are on the map
    this.shown = null;          // {zoom, filters, rect} of the view last drawn
    this.cache = [];            // answers, oldest first
    this.inflight = [];         // {rect, zoom, filters, controller, view} of open requests
    this.queue = [];            // blocks still to prefetch
    this.drawing = 0;           // generation of the last drawing (idle work checks it)
    this.idleTimer = null;
    this.onMove = this.moved.bind(this);
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

  // Whether what is drawn is the view as it is now (same zoom, filters and area).
  LiveMap.prototype.covers = function () {
    var shown = this.shown;
    return Boolean(shown && shown.zoom === this.map.getZoom() &&
                   shown.filters === this.filters && contains(shown.rect, viewRect(this.map)));
  };

  // Every move ends here: draw the new view (from the cache if it can), and prefetch around
  // it once the map has been still for a moment. Prefetches of another zoom are dropped.
  LiveMap.prototype.moved = function () {
    clearTimeout(this.idleTimer);
    this.queue = [];
    var zoom = this.map.getZoom();
    var filters = this.filters;
    this.abort(function (job) { return job.zoom !== zoom || job.filters !== filters; });
    if (!this.covers()) {
      this.update(performance.now());
    } else {
      this.idleTimer = setTimeout(this.prefetch.bind(this), this.opts.idle);
    }
  };

  LiveMap.prototype.setParams = function (params) {
    this.opts.params = params || {};
    this.filters = paramsQuery(this.opts.params);
    return this.refresh(true);
  };

  // Draw the view unless it is drawn already (force: forget the cache and ask again).
  LiveMap.prototype.refresh = function (force) {
    if (force) {
      this.cache = [];
      this.shown = null;
      this.abort(function () { return true; });
    }
    if (!force && this.covers()) return Promise.resolve(null);
    return this.update(performance.now());
  };

  LiveMap.prototype.abort = function (which) {
    this.inflight = this.inflight.filter(function (job) {
      if (!which(job)) return true;
      job.controller.abort();
      return false;
    });
  };

  // The fresh cached answers of a zoom and filters that meet `r`, newest first.
  LiveMap.prototype.cached = function (zoom, r) {
    var now = performance.now();
    this.cache = this.cache.filter(function (e) { return now - e.time < MAX_AGE_MS; });
    var out = [];
    for (var i = this.cache.length - 1; i >= 0; i--) {
      var e = this.cache[i];
      if (e.zoom === zoom && e.filters === this.filters && intersects(e.rect, r)) out.push(e);
    }
    return out;
  };

  // Which cached answers may be drawn together. "zoom_in" answers only with each other;
  // clusters only of one cell size (a cell's id and count are then the same in every answer
  // that holds it); an empty answer with anything. Points and clusters may be drawn together
  // where no drawn cluster's members can be points drawn too (checked in compose).
  function alike(e, group) {
    if (group.kind === "zoom_in" || e.kind === "zoom_in") return e.kind === group.kind;
    return e.kind !== "clusters" || !e.features.length || group.cellZoom === undefined ||
      e.cellZoom === group.cellZoom;
  }

  function groupOf(entries) {
    var group = { kind: entries[0].kind === "zoom_in" ? "zoom_in" : "data",
                  cellZoom: undefined };
    entries.some(function (e) {
      if (e.kind === "clusters" && e.features.length) group.cellZoom = e.cellZoom;
      return group.cellZoom !== undefined;
    });
    return group;
  }

  // What the cache holds for the features in `r`, given that it must cover `need`: an answer
  // that covers it alone (the newest), or answers alike (above) that cover it together; null
  // when it cannot. Without `need`, the answers of `group` (the view's) that meet r, covering
  // it or not.
  LiveMap.prototype.compose = function (zoom, need, r, group) {
    var found = this.cached(zoom, r);
    var use = null;
    var i;
    if (!found.length) return null;
    if (need) {
      for (i = 0; i < found.length && !use; i++) {
        if (contains(found[i].rect, need)) use = [found[i]];
      }
      group = groupOf(use || found);
      if (!use) {
        use = found.filter(function (e) { return alike(e, group); });
        if (!covered(need, use.map(function (e) { return e.rect; }))) return null;
      }
    } else {
      use = found.filter(function (e) { return alike(e, group); });
      if (!use.length) return null;
    }
    var pointRects = [];
    var clusters = false;
    use.forEach(function (e) {
      if (e.kind === "points" && e.features.length) pointRects.push(e.rect);
      if (e.kind === "clusters" && e.features.length) clusters = true;
    });
    var mixed = clusters && pointRects.length > 0;
    var map = this.map;
    var skip = this.skip;
    var seen = {};
    var features = [];
    var matched = 0;
    var clash = false;
    use.forEach(function (e) {
      e.used = performance.now();
      e.features.forEach(function (f, n) {
        if (clash || !inside(r, e.points[n])) return;
        var key = featureKey(f);
        if (seen[key] || (!f.properties.cluster && skip[f.id])) return;
        // The server widens an area to whole cells: with clusters beside, a point is taken
        // only from an answer whose own area holds it (which the check below then covers).
        if (mixed && !f.properties.cluster && !inside(e.rect, e.points[n])) return;
        if (mixed && f.properties.cluster) {
          // A cluster whose members reach into an answer of points would count them twice.
          var b = f.properties.bbox;
          var sw = map.project([b[1], b[0]], zoom);
          var ne = map.project([b[3], b[2]], zoom);
          var box = rect(sw.x, ne.y, ne.x, sw.y);
          clash = pointRects.some(function (p) {
            return box.x0 <= p.x1 && p.x0 <= box.x1 && box.y0 <= p.y1 && p.y0 <= box.y1;
          });
        }
        seen[key] = true;
        features.push(f);
        matched += f.properties.cluster ? f.properties.count : 1;
      });
    });
    if (clash || features.length > MAX_MARKERS) return null;
    var kind = group.kind === "zoom_in" ? "zoom_in" : clusters ? "clusters" : "points";
    return { kind: kind, group: group, features: features, matched: matched };
  };

  // Draw the view from the cache, or ask for it (with its margin) and draw it on arrival.
  LiveMap.prototype.update = function (started) {
    var map = this.map;
    var zoom = map.getZoom();
    var view = viewRect(map);
    var edge = grow(view, EDGE, EDGE);
    var inView = this.compose(zoom, view, edge, null);
    if (!inView) return this.fetchView(started);
    var size = map.getSize();
    var margin = this.compose(zoom, null, grow(view, size.x * this.opts.pad,
                                                size.y * this.opts.pad), inView.group);
    if (!margin) margin = inView;
    this.draw(inView.features, margin.features);
    this.notice.textContent = inView.kind === "zoom_in" ? this.opts.texts.tooMany : "";
    this.shown = { zoom: zoom, filters: this.filters, rect: view };
    var cached = !this.asked;
    this.asked = false;
    this.announce({ matched: margin.matched, returned: margin.features.length,
                    kind: inView.kind, ms: performance.now() - started, cached: cached });
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(this.prefetch.bind(this), this.opts.idle);
    return Promise.resolve(inView);
  };

  // The view the cache cannot draw. If requests on their way cover it with the cache (a pan
  // into blocks being prefetched), wait for them; else ask for the view and its margin in one
  // request, which aborts the others: they would only delay it.
  LiveMap.prototype.fetchView = function (started) {
    var self = this;
    var map = this.map;
    var zoom = map.getZoom();
    var view = viewRect(map);
    var filters = this.filters;
    var coming = this.inflight.filter(function (j) {
      return j.zoom === zoom && j.filters === filters && intersects(j.rect, view);
    });
    var parts = this.cached(zoom, view).map(function (e) { return e.rect; });
    var wait;
    if (coming.length && covered(view, parts.concat(coming.map(function (j) {
      return j.rect;
    })))) {
      wait = Promise.all(coming.map(function (j) { return j.promise; }));
    } else {
      this.abort(function () { return true; });
      this.queue = [];
      wait = this.request(fetchRect(map, this.opts.pad), zoom, true).then(function (entry) {
        return entry && [entry];
      });
    }
    return wait.then(function (entries) {
      // The map may have moved meanwhile: then that move has drawn or asked for itself.
      if (!entries || entries.indexOf(null) >= 0 || self.covers() ||
          map.getZoom() !== zoom || self.filters !== filters ||
          !contains(grow(view, 1, 1), viewRect(map))) return null;
      self.asked = true;
      if (!self.compose(zoom, view, view, null)) {
        // Answers that cannot be drawn together (the server chose points here and clusters
        // there): ask for the view alone, which one answer covers.
        self.abort(function () { return true; });
        return self.request(fetchRect(map, self.opts.pad), zoom, true).then(function (e) {
          return e && !self.covers() ? self.update(started) : null;
        });
      }
      return self.update(started);
    });
  };

  LiveMap.prototype.request = function (r, zoom, view) {
    var self = this;
    var controller = new AbortController();
    var job = { rect: r, zoom: zoom, filters: this.filters, controller: controller, view: view };
    this.inflight.push(job);
    var url = this.opts.endpoint + "?" + query(this.map, r, zoom, this.filters);
    function done() {
      self.inflight = self.inflight.filter(function (j) { return j !== job; });
    }
    job.promise = fetch(url, { signal: controller.signal,
                               headers: { Accept: "application/geo+json" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error("map data: HTTP " + resp.status);
        return resp.json();
      })
      .then(function (body) {
        done();
        if (controller.signal.aborted) return null;
        return self.remember(job, body);
      })
      .catch(function (err) {
        done();
        if (err.name === "AbortError") return null;
        if (view) self.announce({ error: String(err.message || err) });
        return null;
      });
    return job.promise;
  };

  LiveMap.prototype.remember = function (job, body) {
    var now = performance.now();
    var map = this.map;
    var features = body.features || [];
    var entry = { rect: job.rect, zoom: job.zoom, filters: job.filters,
                  kind: body.map && body.map.kind, cellZoom: body.map && body.map.cell_zoom,
                  features: features, time: now, used: now,
                  // Pixel positions at the answer's zoom, once, for every later drawing.
                  points: features.map(function (f) {
                    var c = f.geometry.coordinates;
                    return map.project([c[1], c[0]], job.zoom);
                  }) };
    this.cache.push(entry);
    // Over its bounds, the cache forgets the answers least recently drawn.
    var total = 0;
    this.cache.forEach(function (e) { total += e.features.length; });
    while (this.cache.length > CACHE_ANSWERS ||
           (total > CACHE_FEATURES && this.cache.length > 1)) {
      var oldest = 0;
      for (var i = 1; i < this.cache.length; i++) {
        if (this.cache[i].used < this.cache[oldest].used) oldest = i;
      }
      total -= this.cache[oldest].features.length;
      this.cache.splice(oldest, 1);
    }
    return entry;
  };

  // While the map is still: fetch the blocks within `prefetch` views around the view that the
  // cache does not cover yet, nearest first, a few at a time.
  LiveMap.prototype.prefetch = function () {
    var reach = this.opts.prefetch;
    if (!reach || !this.covers() || this.inflight.some(function (j) { return j.view; })) return;
    var map = this.map;
    var zoom = map.getZoom();
    var size = map.getSize();
    var view = viewRect(map);
    var world = 256 * Math.pow(2, zoom);
    var ring = grow(view, size.x * reach, size.y * reach);
    var x0 = Math.max(0, Math.floor(ring.x0 / BLOCK.x));
    var y0 = Math.max(0, Math.floor(ring.y0 / BLOCK.y));
    var x1 = Math.min(Math.ceil(world / BLOCK.x), Math.ceil(ring.x1 / BLOCK.x));
    var y1 = Math.min(Math.ceil(world / BLOCK.y), Math.ceil(ring.y1 / BLOCK.y));
    var filters = this.filters;
    var have = this.cached(zoom, ring).map(function (e) { return e.rect; }).concat(
      this.inflight.filter(function (j) { return j.zoom === zoom && j.filters === filters; })
        .map(function (j) { return j.rect; }));
    var cx = (view.x0 + view.x1) / 2;
    var cy = (view.y0 + view.y1) / 2;
    var todo = [];
    for (var i = x0; i < x1; i++) {
      for (var j = y0; j < y1; j++) {
        var block = rect(i * BLOCK.x, j * BLOCK.y, Math.min(world, (i + 1) * BLOCK.x),
                         Math.min(world, (j + 1) * BLOCK.y));
        var near = have.filter(function (h) { return intersects(h, block); });
        if (near.length && covered(block, near)) continue;
        todo.push({ rect: block, d: Math.abs((block.x0 + block.x1) / 2 - cx) / size.x +
                                    Math.abs((block.y0 + block.y1) / 2 - cy) / size.y });
      }
    }
    todo.sort(function (a, b) { return a.d - b.d; });
    this.queue = todo.map(function (t) { return t.rect; });
    this.pump(zoom);
  };

  LiveMap.prototype.pump = function (zoom) {
    var self = this;
    while (this.queue.length && this.inflight.length < PREFETCH_AT_ONCE) {
      this.request(this.queue.shift(), zoom, false).then(function (entry) {
        // A block that arrives while its zoom is shown and meets the margin adds its markers
        // there; the others wait for a pan (drawing them now would only cost time).
        if (entry && self.covers() && intersects(entry.rect, self.marginRect())) self.margin();
        if (self.map.getZoom() === zoom) self.pump(zoom);
      });
    }
  };

  LiveMap.prototype.marginRect = function () {
    var size = this.map.getSize();
    return grow(viewRect(this.map), size.x * this.opts.pad, size.y * this.opts.pad);
  };

  // Add what the cache now holds around the drawn view (no event: the view is unchanged).
  LiveMap.prototype.margin = function () {
    var map = this.map;
    var zoom = map.getZoom();
    var view = viewRect(map);
    var edge = grow(view, EDGE, EDGE);
    var inView = this.compose(zoom, view, edge, null);
    if (!inView) return;
    var size = map.getSize();
    var margin = this.compose(zoom, null, grow(view, size.x * this.opts.pad,
                                                size.y * this.opts.pad), inView.group);
    if (margin) this.draw(inView.features, margin.features);
  };

  // Show `wanted` (the view and its margin): markers no longer wanted go at once, the
  // markers in view are added now, so that the frame after a move shows the whole view, and
  // the rest in idle moments after, a few milliseconds at a time (a newer drawing takes over).
  // Removing the old markers at once was measured cheaper than after the frame: every Leaflet
  // marker is a composited layer of its own (translate3d), and the frame costs more per layer
  // than the removal does (a far pan 44-49 ms against 56-60 ms p50, interleaved runs).
  LiveMap.prototype.draw = function (inView, wanted) {
    var generation = ++this.drawing;
    var want = {};
    var self = this;
    var key;
    wanted.forEach(function (f) { want[featureKey(f)] = f; });
    for (key in this.markers) {
      if (!(key in want)) this.remove(key);
    }
    var all = wanted.length <= DRAW_AT_ONCE;
    (all ? wanted : inView).forEach(function (f) {
      if (!(featureKey(f) in self.markers)) self.add(f);
    });
    this.counted();
    if (all) return;
    var later = wanted.slice();
    var step = function (deadline) {
      if (generation !== self.drawing) return;
      var until = performance.now() + Math.min(8, Math.max(2, deadline.timeRemaining()));
      while (performance.now() < until && later.length) {
        var f = later.pop();
        if (!(featureKey(f) in self.markers)) self.add(f);
      }
      self.counted();
      if (later.length) whenIdle(step);
    };
    whenIdle(step);
  };

  LiveMap.prototype.add = function (f) {
    var key = featureKey(f);
    var marker = f.properties.cluster ? this.cluster(f) : this.point(f);
    this.markers[key] = marker;
    this.count++;
    this.layer.addLayer(marker);
  };

  LiveMap.prototype.remove = function (key) {
    this.layer.removeLayer(this.markers[key]);
    delete this.markers[key];
    this.count--;
  };

  LiveMap.prototype.counted = function () {
    this.map.getContainer().dataset.liveMarkers = String(this.count);
  };

  LiveMap.prototype.cluster = function (f) {
    var map = this.map;
    var t = this.opts.texts;
    var n = f.properties.count;
    var c = f.geometry.coordinates;
    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : n < 10000 ? 50 : 58;
    var label = NUMBER.format(n) + " " + (n === 1 ? t.initiative : t.initiatives) + ", " +
      t.zoomIn;
    var icon = L.divIcon({
      className: "sm-cluster",
      html: '<span aria-hidden="true">' + NUMBER.format(n) + "</span>",
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
    clearTimeout(this.idleTimer);
    this.drawing++;
    this.queue = [];
    this.abort(function () { return true; });
    this.map.off("moveend", this.onMove);
    this.map.removeLayer(this.layer);
    this.map.removeControl(this.control);
    this.markers = {};
    this.count = 0;
    this.cache = [];
    this.shown = null;
  };

  window.SocialmapLiveMap = {
    attach: function (map, opts) {
      return new LiveMap(map, opts);
    },
  };
})();
