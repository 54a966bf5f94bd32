/* socialmap map helpers: accessible names, data attribution and result markers.
   The page's own results are numbered pins from an inlined GeoJSON FeatureCollection; the
   rest of what matches comes from the map data API through livemap.js (SocialMap.live). */
(function () {
  "use strict";

  var SocialMap = (window.SocialMap = {});

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  SocialMap.prepare = function (map, opts) {
    var el = map.getContainer();
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", opts.label);
    if (!opts.tiles) el.classList.add("no-tiles");
    map.setMaxZoom(opts.maxZoom);
    var control = map.attributionControl;
    if (control) {
      control.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
      control.addAttribution(text("span", opts.attribution).outerHTML);
    }
    L.control.scale({ imperial: false }).addTo(map);
    if (map.zoomControl) {
      map.zoomControl.remove();
      map.zoomControl = L.control
        .zoom({ zoomInTitle: opts.zoomIn, zoomOutTitle: opts.zoomOut })
        .addTo(map);
    }
    map.on("popupopen", function (e) {
      var popup = e.popup.getElement();
      var close = popup.querySelector(".leaflet-popup-close-button");
      if (close) close.setAttribute("aria-label", opts.close);
      var link = popup.querySelector(".leaflet-popup-content a");
      if (link) link.focus({ preventScroll: true });
    });
    map.on("popupclose", function (e) {
      var source = e.popup._source;
      var target = source && source.getElement && source.getElement();
      if (target && map.getContainer().contains(document.activeElement)) target.focus();
    });
  };

  // Features from the site carry n, name, lines and url; features straight from the API
  // (GeoJSON of /api/v1/search or a map-data endpoint) carry service_id, name and kind_label.
  function normalise(p, opts) {
    return {
      n: p.n,
      name: p.name,
      lines: p.lines || [p.kind_label, p.opening].filter(Boolean),
      url: p.url || opts.detailUrl.replace("{id}", p.service_id),
    };
  }

  function popupContent(p, opts) {
    var box = document.createElement("div");
    box.className = "hit-popup";
    var title = document.createElement("p");
    title.className = "hit-popup-name";
    var link = text("a", (p.n ? p.n + ". " : "") + p.name);
    link.href = p.url;
    title.appendChild(link);
    box.appendChild(title);
    (p.lines || []).forEach(function (line) {
      box.appendChild(text("p", line));
    });
    var more = text("a", opts.more);
    more.href = p.url;
    more.className = "hit-popup-more";
    more.setAttribute("aria-label", opts.more + ": " + p.name);
    box.appendChild(more);
    return box;
  }

  function marker(feature, opts) {
    var p = normalise(feature.properties, opts);
    var c = feature.geometry.coordinates;
    var label = (p.n ? p.n + ". " : "") + p.name;
    var numbered = opts.numbered && p.n;
    var icon = L.divIcon({
      className: numbered ? "hit-pin" : "hit-pin hit-pin-plain",
      html: '<span aria-hidden="true">' + (numbered ? p.n : "") + "</span>",
      iconSize: [30, 30],
      iconAnchor: [15, 40],
      popupAnchor: [0, -38],
    });
    // Lower numbers (nearer, earlier in the list) lie on top where pins overlap.
    var zIndex = p.n ? (1000 - p.n) * 1000 : 0;
    var m = L.marker([c[1], c[0]], {
      icon: icon,
      title: label,
      keyboard: true,
      riseOnHover: true,
      zIndexOffset: zIndex,
    });
    m.bindPopup(popupContent(p, opts), { autoPanPadding: [24, 24], maxWidth: 280 });
    m.on("add", function () {
      var el = m.getElement();
      el.setAttribute("aria-label", label);
      el.dataset.hit = p.n || "";
      // The focused pin comes to the front, so that its focus ring is never hidden.
      el.addEventListener("focus", function () {
        m.setZIndexOffset(10000000);
      });
      el.addEventListener("blur", function () {
        m.setZIndexOffset(zIndex);
      });
    });
    return m;
  }

  function draw(map, collection, opts) {
    var features = (collection && collection.features) || [];
    var many = features.length >= opts.clusterFrom && L.markerClusterGroup;
    var group = many
      ? L.markerClusterGroup({
          showCoverageOnHover: false,
          maxClusterRadius: 50,
          iconCreateFunction: function (cluster) {
            var n = cluster.getChildCount();
            var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
            return L.divIcon({
              html: "<div><span>" + n + '</span><span class="visually-hidden"> ' +
                opts.cluster + "</span></div>",
              className: "marker-cluster marker-cluster-" + size,
              iconSize: L.point(40, 40),
            });
          },
        })
      : L.featureGroup();
    features.forEach(function (f) {
      if (f.geometry && f.geometry.type === "Point") group.addLayer(marker(f, opts));
    });
    group.addTo(map);
    map.getContainer().dataset.markers = String(features.length);
    map.getContainer().dispatchEvent(new CustomEvent("socialmap:markers", { bubbles: true }));
    return group;
  }

  SocialMap.addHits = function (map, source, opts) {
    return draw(map, source.data, opts);
  };

  // What else matches the search in the view, from the map data API (livemap.js); `url` is
  // the endpoint with the search's filters, `skip` the ids already drawn as numbered pins.
  SocialMap.live = function (map, opts) {
    var url = new URL(opts.url, window.location.href);
    var params = {};
    url.searchParams.forEach(function (value, name) {
      (params[name] = params[name] || []).push(value);
    });
    var live = window.SocialmapLiveMap.attach(map, {
      endpoint: url.pathname, params: params, detailUrl: opts.detailUrl, texts: opts.texts,
      skip: opts.skip,
    });
    map.getContainer().socialmapLive = live;
    return live;
  };
})();
