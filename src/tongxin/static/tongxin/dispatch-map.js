/* Tongxin: open requests on a plain background (no tiles are ever fetched).
   Creates django-leaflet's map from the options the page carries (#requestmap-options; no
   inline script, for the Content-Security-Policy); the data comes from the page (#map-data). */
(function () {
  "use strict";

  var OPEN = "#0a58a8", OVERDUE = "#a31515";

  function popup(p, labels) {
    // Built from DOM nodes: the texts come from the database and are never parsed as HTML.
    var box = document.createElement("div"), line;
    function add(tag, text, cls) {
      line = document.createElement(tag);
      line.textContent = text;
      if (cls) { line.className = cls; }
      box.appendChild(line);
      return line;
    }
    add("strong", p.number);
    add("div", p.category + " · " + p.place);
    add("div", p.state + (p.due ? " · " + p.due : ""), p.overdue ? "is-overdue" : "");
    if (p.approx) { add("div", labels.approx, "hint"); }
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = labels.open;
    box.appendChild(link);
    return box;
  }

  window.tongxinRequestMap = function (map) {
    var data = JSON.parse(document.getElementById("map-data").textContent);
    var outline = L.latLngBounds([]), bounds = L.latLngBounds([]);
    data.boundaries.forEach(function (b) {
      var layer = L.geoJSON(b.geometry, {
        style: {color: "#5a6675", weight: b.level === "county" ? 2.5 : 1.2, fill: true, fillColor: "#e7ebef",
                fillOpacity: 0.45},
        interactive: false
      }).addTo(map);
      outline.extend(layer.getBounds());
    });
    // Overdue points last, so that they lie on top.
    data.points.slice().sort(function (a, b) { return a.overdue - b.overdue; }).forEach(function (p) {
      var colour = p.overdue ? OVERDUE : OPEN;
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.urgent ? 9 : 7, color: colour, weight: p.overdue ? 3 : 2,
        fillColor: colour, fillOpacity: p.approx ? 0.15 : 0.8
      }).bindPopup(popup(p, data.labels)).addTo(map);
      var path = marker.getElement();  // for tests and styles: which point is which
      if (path) { path.setAttribute("data-number", p.number); path.setAttribute("data-overdue", String(p.overdue)); }
      bounds.extend(marker.getLatLng());
    });
    // Close enough to tell the points apart; the outlines give the place around them.
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.25), {maxZoom: 13});
    } else if (outline.isValid()) {
      map.fitBounds(outline);
    } else if (data.centre) {
      map.setView(data.centre, 10);
    } else {
      map.setView([28.56, 89.68], 9);  // Kangma County, when nothing has a position yet
    }
  };

  function start() {
    var options = document.getElementById("requestmap-options");
    if (!options) { return; }
    L.Map.djangoMap("requestmap", {djoptions: JSON.parse(options.textContent), initfunc: start, globals: false,
                                   callback: window.tongxinRequestMap});
  }
  if (document.readyState === "complete") { start(); } else { window.addEventListener("load", start); }
})();
