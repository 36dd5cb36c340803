// skyweave joint command view: log in, then the live picture of the user's nation.
// Everything it shows comes from this page's own server (REST and one WebSocket); the map, the
// symbols and the base map are bundled, so nothing is fetched from outside.
import 'ol/ol.css';
import './style.css';
import Map from 'ol/Map.js';
import View from 'ol/View.js';
import Feature from 'ol/Feature.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import Point from 'ol/geom/Point.js';
import LineString from 'ol/geom/LineString.js';
import MultiPoint from 'ol/geom/MultiPoint.js';
import MultiLineString from 'ol/geom/MultiLineString.js';
import { getVectorContext } from 'ol/render.js';
import Polygon from 'ol/geom/Polygon.js';
import { fromLonLat, toLonLat } from 'ol/proj.js';
import { containsCoordinate } from 'ol/extent.js';
import { Style, Fill, Stroke, Icon, Text, Circle as CircleStyle, RegularShape } from 'ol/style.js';
import { defaults as defaultControls, ScaleLine } from 'ol/control.js';
import ms from 'milsymbol';
import { feature as topoFeature, mesh as topoMesh } from 'topojson-client';
import countries from 'world-atlas/countries-50m.json';

const $ = (id) => document.getElementById(id);
const R_EARTH = 6371008.8;
const LEADER_S = 120; // velocity leaders: where the track will be in two minutes
const TRAIL_STEP_S = 10;
const TRAIL_POINTS = 40;
const TABLE_ROWS = 200; // the table shows this many rows of the sorted, filtered tracks
const LABELS_UP_TO = 400; // track labels are drawn while the picture holds at most this many tracks

// ------------------------------------------------------------------------------------ state
const S = {
  token: sessionStorage.getItem('skyweave-token'),
  user: null, nation: null, role: null,
  tracks: new globalThis.Map(), alerts: new globalThis.Map(), health: null, sensors: [],
  trails: new globalThis.Map(),
  t: 0, tWall: 0, speed: 1, seq: 0, frames: 0, bytes: 0,
  selected: null, sortKey: 'id', sortDir: 1, ws: null, dirty: true,
  acks: new Set(), beeps: 0, audio: null,
};
window.skyweave = S; // read by the browser tests and handy in the console

// ------------------------------------------------------------------------------------ map
const landSource = new VectorSource();
const fmt = new GeoJSON();
{
  const land = topoFeature(countries, countries.objects.countries);
  landSource.addFeatures(fmt.readFeatures(land, { featureProjection: 'EPSG:3857' }));
  const borders = topoMesh(countries, countries.objects.countries, (a, b) => a !== b);
  landSource.addFeature(fmt.readFeature({ type: 'Feature', geometry: borders, properties: { border: true } },
    { featureProjection: 'EPSG:3857' }));
}
const landStyle = new Style({ fill: new Fill({ color: '#2a3440' }), stroke: new Stroke({ color: '#475566', width: 0.8 }) });
const borderStyle = new Style({ stroke: new Stroke({ color: '#5d6e82', width: 0.8, lineDash: [4, 3] }) });

// reference cities for orientation (Natural Earth populated places, rounded)
const CITIES = [
  ['Tokyo', 35.69, 139.69], ['Osaka', 34.69, 135.50], ['Niigata', 37.92, 139.04], ['Sapporo', 43.06, 141.35],
  ['Fukuoka', 33.59, 130.40], ['Seoul', 37.57, 126.98], ['Busan', 35.18, 129.08], ['Pyongyang', 39.02, 125.75],
  ['Vladivostok', 43.12, 131.89], ['Shanghai', 31.23, 121.47], ['Beijing', 39.90, 116.41], ['Sendai', 38.27, 140.87],
  ['Paris', 48.86, 2.35], ['Orléans', 47.90, 1.90], ['Limoges', 45.83, 1.26], ['Toulouse', 43.60, 1.44],
  ['Bordeaux', 44.84, -0.58], ['Lyon', 45.76, 4.84], ['Clermont-Ferrand', 45.78, 3.08], ['London', 51.51, -0.13],
];
const citySource = new VectorSource({
  features: CITIES.map(([name, lat, lon]) => new Feature({ geometry: new Point(fromLonLat([lon, lat])), name })),
});
const cityStyle = (f) => new Style({
  image: new CircleStyle({ radius: 2.5, fill: new Fill({ color: '#9aa8b8' }) }),
  text: new Text({ text: f.get('name'), font: '11px sans-serif', fill: new Fill({ color: '#9aa8b8' }), offsetY: -9 }),
});

const coverageSource = new VectorSource();
// the moving features' sources keep no spatial index: re-indexing thousands of geometries that
// move every second costs more than drawing them (OpenLayers then draws all, culled per frame)
const trailSource = new VectorSource({ useSpatialIndex: false });
const ellipseSource = new VectorSource({ useSpatialIndex: false });
const alertSource = new VectorSource();
// features of the labelled tracks only (at most LABELS_UP_TO, or the selected one): the symbols
// and leaders of all tracks are drawn straight onto the map's canvas (symbolLayer below)
const trackSource = new VectorSource({ useSpatialIndex: false });

const AFF = { friend: 'F', assumed_friend: 'A', neutral: 'N', suspect: 'S', hostile: 'H', unknown: 'U', pending: 'P' };
const COLOR = { friend: '#80e0ff', assumed_friend: '#80e0ff', neutral: '#aaffaa', suspect: '#ffcc66', hostile: '#ff8080',
  unknown: '#ffff80', pending: '#ffff80' };

function sidc(t) {
  const a = AFF[t.sid] || 'U';
  let fn = '';
  if (t.category === 'ballistic' || t.category === 'cruise') fn = 'WM';
  else if (t.identity && t.identity.length === 6) fn = 'CF';
  else if (t.sid === 'friend' || t.sid === 'assumed_friend') fn = 'MF';
  return ('S' + a + 'AP' + fn).padEnd(10, '-');
}

const iconCache = new globalThis.Map();
function symbolIcon(code, selected) {
  const key = code + (selected ? '*' : '');
  let icon = iconCache.get(key);
  if (!icon) {
    const sym = new ms.Symbol(code, { size: selected ? 24 : 17, outlineWidth: 2, civilianColor: false,
      outlineColor: selected ? '#ffffff' : '#0b1520' });
    const c = sym.asCanvas();
    const a = sym.getAnchor();
    icon = new Icon({ img: c, size: [c.width, c.height], anchor: [a.x, a.y], anchorXUnits: 'pixels', anchorYUnits: 'pixels' });
    iconCache.set(key, icon);
  }
  return icon;
}

function fl(alt) { return alt == null ? '' : String(Math.max(0, Math.round(alt / 30.48))).padStart(3, '0'); }
// the label's height: a flight level, or kilometres above FL600 (a ballistic missile)
function height(alt) { return alt == null ? '' : alt > 18300 ? `${Math.round(alt / 1000)} km` : `FL${fl(alt)}`; }

// one Style per symbol code (and selection): 5,000 tracks share a handful of styles and canvases
const styleCache = new globalThis.Map();
function symbolStyle(code, sel) {
  const key = code + (sel ? '*' : '');
  let st = styleCache.get(key);
  if (!st) { st = new Style({ image: symbolIcon(code, sel) }); styleCache.set(key, st); }
  return st;
}

function labelStyle(f) {
  const t = S.tracks.get(f.getId());
  if (!t) return null;
  const sel = S.selected === t.id;
  const styles = [];
  if (($('show-labels').checked && S.tracks.size <= LABELS_UP_TO) || sel) {
    const kind = t.category === 'ballistic' ? ' BM' : t.category === 'cruise' ? ' CM' : '';
    // a civil aircraft's callsign, else its ICAO address (ADS-B)
    const civil = t.callsign || (t.identity && t.identity.length === 6 ? t.identity.toUpperCase() : '');
    styles.push(new Style({
      text: new Text({ text: `${t.id}${kind}${civil ? ' ' + civil : ''}\n${height(t.alt)}`, font: sel ? 'bold 12px sans-serif' : '10px sans-serif',
        textAlign: 'left', offsetX: 13, offsetY: 0, fill: new Fill({ color: COLOR[t.sid] || '#fff' }),
        stroke: new Stroke({ color: '#0b1520', width: 3 }) }),
    }));
  }
  return styles;
}

const lineStyles = {};
function lineStyle(color, width, dash) {
  const k = color + width + dash;
  return lineStyles[k] || (lineStyles[k] = new Style({ stroke: new Stroke({ color, width, lineDash: dash || undefined }) }));
}

const alertStyle = (f) => {
  const kind = f.get('kind');
  const open = f.get('open');
  const red = open ? '#ff4040' : '#aa6060';
  if (kind === 'ellipse') {
    return new Style({ fill: new Fill({ color: open ? 'rgba(255,64,64,0.28)' : 'rgba(160,90,90,0.15)' }),
      stroke: new Stroke({ color: red, width: 2 }),
      text: new Text({ text: f.get('label'), font: 'bold 13px sans-serif', fill: new Fill({ color: '#ffd0d0' }),
        stroke: new Stroke({ color: '#300', width: 3 }), offsetY: -22, overflow: true }) });
  }
  if (kind === 'path') return lineStyle(red, 1.5, [8, 6]);
  return new Style({ image: new RegularShape({ points: 4, radius: 7, radius2: 0, angle: Math.PI / 4,
    stroke: new Stroke({ color: red, width: 2.5 }) }),
  text: new Text({ text: 'launch', font: '10px sans-serif', fill: new Fill({ color: red }), offsetY: 12 }) });
};

// The symbols and velocity leaders of every track, drawn onto the map's canvas after this (empty)
// layer renders: one MultiPoint per symbol style and one MultiLineString per leader colour, rebuilt
// when a frame arrives. Moving thousands of OpenLayers features instead fires tens of thousands of
// change events per update; this way an update of 5,000 tracks is a few array writes per track.
const symbolLayer = new VectorLayer({ source: new VectorSource() });
S.symbols = new globalThis.Map(); // style key -> { style, points: MultiPoint, n }
S.leaderLines = new globalThis.Map(); // colour -> { style, lines: MultiLineString, n }
S.drawnCounts = { tracks: 0, leaders: 0 };
symbolLayer.on('postrender', (e) => {
  const vc = getVectorContext(e);
  let leaders = 0;
  let tracks = 0;
  if ($('show-leaders').checked) {
    for (const g of S.leaderLines.values()) { vc.setStyle(g.style); vc.drawGeometry(g.lines); leaders += g.n; }
  }
  for (const g of S.symbols.values()) { vc.setStyle(g.style); vc.drawGeometry(g.points); tracks += g.n; }
  S.drawnCounts = { tracks, leaders };
});

const map = new Map({
  target: 'map',
  controls: defaultControls({ attribution: false }).extend([new ScaleLine({ units: 'nautical' })]),
  layers: [
    new VectorLayer({ source: landSource, style: (f) => (f.get('border') ? borderStyle : landStyle), updateWhileInteracting: true }),
    new VectorLayer({ source: citySource, style: cityStyle, declutter: true }),
    new VectorLayer({ source: coverageSource, style: lineStyle('rgba(120,170,220,0.35)', 1, [2, 4]) }),
    new VectorLayer({ source: alertSource, style: alertStyle }),
    new VectorLayer({ source: trailSource, style: (f) => lineStyle(f.get('color'), 1.2, [1, 4]) }),
    new VectorLayer({ source: ellipseSource, style: (f) => lineStyle(f.get('color'), 1, null) }),
    symbolLayer,
    new VectorLayer({ source: trackSource, style: labelStyle, declutter: true }),
  ],
  view: new View({ center: fromLonLat([132.6, 38.2]), zoom: 6.1 }),
});

// what the map holds, for the browser tests
S.drawn = () => ({
  tracks: S.drawnCounts.tracks,
  alertEllipses: alertSource.getFeatures().filter((f) => f.get('kind') === 'ellipse').length,
  ellipses: ellipseSource.getFeatures().length,
  trails: trailSource.getFeatures().length,
  leaders: S.drawnCounts.leaders,
});

S.drawTracks = () => drawTracks(); // for the benchmark: one update of the map's features
// a click selects the nearest track symbol within 10 px (the symbols are no features)
map.on('singleclick', (e) => {
  let hit = null;
  let best = 100;
  for (const t of S.tracks.values()) {
    if (!t.xy) continue;
    const px = map.getPixelFromCoordinate(t.xy);
    if (!px) continue;
    const d = (px[0] - e.pixel[0]) ** 2 + (px[1] - e.pixel[1]) ** 2;
    if (d < best) { best = d; hit = t.id; }
  }
  select(hit);
});

// ------------------------------------------------------------------------------------ geometry
function offset(lat, lon, east, north) {
  return [lon + (east / (R_EARTH * Math.cos(lat * Math.PI / 180))) * 180 / Math.PI, lat + (north / R_EARTH) * 180 / Math.PI];
}

function ellipseRing(lat, lon, a, b, orientDeg, n = 48) {
  const th = orientDeg * Math.PI / 180;
  const ring = [];
  for (let i = 0; i <= n; i++) {
    const u = (2 * Math.PI * i) / n;
    const xm = a * Math.cos(u);
    const ym = b * Math.sin(u);
    const east = xm * Math.sin(th) + ym * Math.cos(th);
    const north = xm * Math.cos(th) - ym * Math.sin(th);
    ring.push(fromLonLat(offset(lat, lon, east, north)));
  }
  return new Polygon([ring]);
}

// ------------------------------------------------------------------------------------ time
function nowT() { return S.t + (Date.now() / 1000 - S.tWall) * S.speed; }
function hms(t) {
  if (!S.epoch) return '';
  const d = new Date(S.epoch + t * 1000);
  return d.toISOString().slice(11, 19) + 'Z';
}
function countdown(s) {
  if (s == null || !isFinite(s)) return '—';
  const neg = s < 0;
  s = Math.abs(Math.round(s));
  const m = Math.floor(s / 60);
  return (neg ? 'T+' : 'T-') + String(m).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0');
}

// ------------------------------------------------------------------------------------ drawing
function drawTracks() {
  const seen = new Set();
  const newFeatures = [];
  const newTrails = [];
  const showLead = $('show-leaders').checked;
  const labelled = $('show-labels').checked && S.tracks.size <= LABELS_UP_TO;
  const symbols = new globalThis.Map();
  const leaders = new globalThis.Map();
  const labels = new Set();
  const showEll = $('show-ellipses').checked;
  const showTrail = $('show-trails').checked;
  for (const t of S.tracks.values()) {
    if (t.lat == null || t.lon == null) continue;
    seen.add(t.id);
    const p = fromLonLat([t.lon, t.lat]);
    t.xy = p;
    const sel = S.selected === t.id;
    const code = sidc(t);
    const key = code + (sel ? '*' : '');
    let sg = symbols.get(key);
    if (!sg) { sg = { style: symbolStyle(code, sel), coords: [] }; symbols.set(key, sg); }
    sg.coords.push(p);
    const color = COLOR[t.sid] || '#ffffff';
    // leader: where the track will be in LEADER_S seconds
    if (showLead && t.ve != null) {
      let lg = leaders.get(color);
      if (!lg) { lg = { style: lineStyle(color, 1.4, null), coords: [] }; leaders.set(color, lg); }
      lg.coords.push([p, fromLonLat(offset(t.lat, t.lon, t.ve * LEADER_S, t.vn * LEADER_S))]);
    }
    // the label's feature (labels drawn while the picture is small, and always the selected track's)
    if (labelled || sel) {
      let f = trackSource.getFeatureById(t.id);
      if (!f) { f = new Feature(new Point(p)); f.setId(t.id); newFeatures.push(f); } else {
        const q = f.getGeometry().getFlatCoordinates();
        if (q[0] !== p[0] || q[1] !== p[1]) f.getGeometry().setCoordinates(p);
      }
      labels.add(t.id);
    }
    // ellipse (all on demand, always the selected track's)
    let ef = ellipseSource.getFeatureById(t.id);
    if ((showEll || S.selected === t.id) && t.ellipse && t.ellipse.semi_major_m != null) {
      const g = ellipseRing(t.lat, t.lon, t.ellipse.semi_major_m, t.ellipse.semi_minor_m, t.ellipse.orientation_deg);
      if (!ef) { ef = new Feature(g); ef.setId(t.id); ellipseSource.addFeature(ef); } else ef.setGeometry(g);
      ef.set('color', color);
    } else if (ef) ellipseSource.removeFeature(ef);
    // trail
    let tr = S.trails.get(t.id);
    if (!tr) { tr = []; S.trails.set(t.id, tr); }
    let grown = false;
    if (!tr.length || t.t - tr[tr.length - 1][0] >= TRAIL_STEP_S) { tr.push([t.t, p]); grown = true; if (tr.length > TRAIL_POINTS) tr.shift(); }
    // a trail (its points every TRAIL_STEP_S) is redrawn only when it grows or changes colour
    let tf = trailSource.getFeatureById(t.id);
    if (showTrail && tr.length > 1) {
      if (!tf) {
        tf = new Feature(new LineString(tr.map((q) => q[1]))); tf.setId(t.id); tf.set('color', color, true); newTrails.push(tf);
      } else {
        if (grown || tf.getGeometry().getCoordinates().length !== tr.length) tf.getGeometry().setCoordinates(tr.map((q) => q[1]));
        if (tf.get('color') !== color) tf.set('color', color);
      }
    } else if (tf) trailSource.removeFeature(tf);
  }
  if (newFeatures.length) trackSource.addFeatures(newFeatures);
  if (newTrails.length) trailSource.addFeatures(newTrails);
  for (const f of trackSource.getFeatures()) if (!labels.has(f.getId())) trackSource.removeFeature(f);
  for (const src of [ellipseSource, trailSource]) {
    for (const f of src.getFeatures()) if (!seen.has(f.getId())) src.removeFeature(f);
  }
  // the selected symbol last: drawn on top
  const ordered = [...symbols.entries()].sort((a, b) => a[0].endsWith('*') - b[0].endsWith('*'));
  S.symbols = new globalThis.Map(ordered.map(([k, g]) => [k, { style: g.style, points: new MultiPoint(g.coords), n: g.coords.length }]));
  S.leaderLines = new globalThis.Map([...leaders.entries()].map(([k, g]) => [k, { style: g.style, lines: new MultiLineString(g.coords), n: g.coords.length }]));
  symbolLayer.changed();
  for (const id of [...S.trails.keys()]) if (!seen.has(id)) S.trails.delete(id);
}

function drawAlerts() {
  alertSource.clear(true);
  for (const a of S.alerts.values()) {
    const imp = a.impact;
    if (a.launch && a.launch.lat != null) {
      const f = new Feature(new Point(fromLonLat([a.launch.lon, a.launch.lat])));
      f.setProperties({ kind: 'launch', open: a.open });
      alertSource.addFeature(f);
      if (imp) {
        const pf = new Feature(new LineString([fromLonLat([a.launch.lon, a.launch.lat]), fromLonLat([imp.lon, imp.lat])]));
        pf.setProperties({ kind: 'path', open: a.open });
        alertSource.addFeature(pf);
      }
    }
    if (imp) {
      const f = new Feature(ellipseRing(imp.lat, imp.lon, imp.semi_major_m, imp.semi_minor_m, imp.orientation_deg));
      f.setId('alert-' + a.id);
      f.setProperties({ kind: 'ellipse', open: a.open, alert: a.id, label: `${a.id} ${a.open ? countdown(imp.t - nowT()) : a.status}` });
      alertSource.addFeature(f);
    }
  }
}

function drawCoverage() {
  coverageSource.clear(true);
  if (!$('show-coverage').checked) return;
  for (const s of S.sensors) {
    if (s.lat == null || !s.max_range_m) continue;
    const f = new Feature(ellipseRing(s.lat, s.lon, s.max_range_m, s.max_range_m, 0, 96));
    coverageSource.addFeature(f);
  }
}

// ------------------------------------------------------------------------------------ panels
function esc(s) { return String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]); }
const kt = (ms_) => (ms_ == null ? '' : Math.round(ms_ * 1.943844));

function renderAlerts() {
  const list = [...S.alerts.values()].sort((a, b) => (b.open - a.open) || ((a.impact?.t ?? 1e12) - (b.impact?.t ?? 1e12)));
  $('alert-count').textContent = String(list.filter((a) => a.open).length);
  const now = nowT();
  $('alerts').innerHTML = list.map((a) => {
    const imp = a.impact;
    const cd = a.open && imp ? countdown(imp.t - now) : (a.status || '');
    const where = imp ? `${imp.lat.toFixed(2)}°N ${imp.lon.toFixed(2)}°E, ellipse ${(imp.semi_major_m / 1000).toFixed(1)} × ${(imp.semi_minor_m / 1000).toFixed(1)} km` : 'impact not yet predicted';
    const places = a.places && a.places.length ? a.places.join(', ') : 'no named place in the ellipse';
    const ack = !a.open ? '' : S.acks.has(a.id) ? '<span class="acked">acknowledged</span>'
      : `<button type="button" class="ack" data-ack="${esc(a.id)}">ACK</button>`;
    return `<li class="alert ${a.open ? 'open' : 'closed'}${a.open && !S.acks.has(a.id) ? ' unacked' : ''}" data-id="${esc(a.id)}">
      <div class="alert-head"><span class="threat">${esc(a.threat).toUpperCase()}</span> <b>${esc(a.id)}</b> ${ack}
        <span class="countdown" data-impact="${imp ? imp.t : ''}">${esc(cd)}</span></div>
      <div>${esc(a.status)} · impact ${imp ? hms(imp.t) : '—'} · conf ${a.confidence != null ? Math.round(a.confidence * 100) + '%' : '—'}</div>
      <div>${esc(where)}</div>
      <div class="places">${esc(places)}</div>
      <div class="nations">from ${esc((a.nations || []).join(', ') || '—')} · releasable to ${esc((a.releasable_to || []).join(', '))}</div>
    </li>`;
  }).join('') || '<li class="none">No alerts</li>';
}

function tickCountdowns() {
  const now = nowT();
  for (const el of document.querySelectorAll('.countdown[data-impact]')) {
    const t = parseFloat(el.dataset.impact);
    if (isFinite(t) && el.closest('.open')) el.textContent = countdown(t - now);
  }
  for (const f of alertSource.getFeatures()) {
    if (f.get('kind') === 'ellipse' && f.get('open')) {
      const a = S.alerts.get(f.get('alert'));
      if (a && a.impact) f.set('label', `${a.id} ${countdown(a.impact.t - now)}`);
    }
  }
  $('clock').textContent = S.epoch ? hms(nowT()) : '--:--:--Z';
}

function sortValue(t, k) {
  const v = t[k];
  if (Array.isArray(v)) return v.join(',');
  return v ?? '';
}

function renderTable() {
  const q = $('filter').value.trim().toLowerCase();
  const cat = $('filter-cat').value;
  let rows = [...S.tracks.values()];
  if (cat) rows = rows.filter((t) => t.category === cat);
  if (q) rows = rows.filter((t) => [t.id, t.identity, t.callsign, t.sid, t.category, ...(t.nations || [])].join(' ').toLowerCase().includes(q));
  const k = S.sortKey;
  const d = S.sortDir;
  rows.sort((a, b) => { const x = sortValue(a, k); const y = sortValue(b, k); return (x < y ? -1 : x > y ? 1 : 0) * d; });
  $('track-count').textContent = rows.length > TABLE_ROWS ? `first ${TABLE_ROWS} of ${rows.length}/${S.tracks.size}` : `${rows.length}/${S.tracks.size}`;
  $('tracks').tBodies[0].innerHTML = rows.slice(0, TABLE_ROWS).map((t) => `<tr data-id="${esc(t.id)}" class="${S.selected === t.id ? 'sel' : ''}">
    <td>${esc(t.id)}</td><td><span class="sid sid-${esc(t.sid)}">${esc(t.sid)}</span></td><td>${esc(t.category)}</td>
    <td class="num">${fl(t.alt)}</td><td class="num">${kt(t.speed)}</td><td class="num">${t.course == null ? '' : Math.round(t.course)}</td>
    <td class="num">${t.quality ?? ''}</td><td>${esc((t.nations || []).join(' '))}</td></tr>`).join('');
  for (const th of $('tracks').tHead.rows[0].cells) th.classList.toggle('sorted', th.dataset.key === k);
}

function renderDetails() {
  const t = S.selected && S.tracks.get(S.selected);
  $('details-panel').hidden = !t;
  if (!t) return;
  $('details-id').textContent = t.id;
  const e = t.ellipse || {};
  const rows = [
    ['Standard identity', `${t.sid} (${t.sid_source === 'rule' ? 'by rule' : 'set by ' + t.sid_source})`],
    ['Category', `${t.category}${t.class_conf != null ? ' (' + Math.round(t.class_conf * 100) + '%)' : ''}`],
    ['Identity', t.identity ? (t.identity.length === 6 ? `ICAO ${t.identity.toUpperCase()}` : t.identity) + (t.callsign ? `, callsign ${t.callsign}` : '') : 'none (no ADS-B / IFF)'],
    ['Position', `${t.lat.toFixed(4)}°N ${t.lon.toFixed(4)}°E`],
    ['Altitude', t.alt == null ? '—' : `${Math.round(t.alt)} m (${height(t.alt)})${t.sigma_alt_m != null ? ' ± ' + t.sigma_alt_m + ' m' : ''}`],
    ['Velocity', `${kt(t.speed)} kt (${t.speed} m/s), heading ${Math.round(t.course)}°, climb ${t.vu ?? 0} m/s`],
    ['95 % ellipse', `${(e.semi_major_m / 1000).toFixed(2)} × ${(e.semi_minor_m / 1000).toFixed(2)} km, ${e.orientation_deg}°`],
    ['Quality', `${t.quality} / 15`],
    ['Age', `${Math.max(0, nowT() - t.t).toFixed(1)} s`],
    ['Contributing nations', (t.nations || []).join(', ')],
    ['Source tracks', (t.sources || []).join(', ')],
    ['Own sensors', (t.sensors || []).join(', ') || '—'],
    ['Reported by this node', t.reporting ? 'yes' : 'no'],
    ['Releasable to', (t.releasable_to || []).join(', ')],
  ];
  $('details').innerHTML = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
}

function renderHealth() {
  const h = S.health;
  if (!h) return;
  $('node-name').textContent = `node ${h.node}`;
  $('links').tBodies[0].innerHTML = (h.partners || []).map((p) => `<tr class="${p.age_s != null && p.age_s > 30 ? 'stale' : ''}">
    <td>${esc(p.nation)}</td><td class="num">${p.admitted}</td><td class="num">${p.rejected}</td>
    <td class="num">${p.age_s == null ? '—' : p.age_s.toFixed(0) + ' s'}</td></tr>`).join('')
    || '<tr><td colspan="4">no partner data yet</td></tr>';
  const rej = Object.entries(h.rejected || {});
  $('rejections').innerHTML = rej.length
    ? '<b>Rejected messages by reason:</b> ' + rej.map(([r, n]) => `<span class="reason">${esc(r)} <b>${n}</b></span>`).join(' ')
    : 'No message rejected.';
}

function select(id) {
  S.selected = id;
  S.dirty = true;
  drawTracks();
  renderDetails();
  renderTable();
  trackSource.changed();
}

$('tracks').addEventListener('click', (e) => {
  const th = e.target.closest('th');
  if (th && th.dataset.key) {
    S.sortDir = S.sortKey === th.dataset.key ? -S.sortDir : 1;
    S.sortKey = th.dataset.key;
    renderTable();
    return;
  }
  const tr = e.target.closest('tr[data-id]');
  if (tr) {
    const t = S.tracks.get(tr.dataset.id);
    select(tr.dataset.id);
    const p = t && fromLonLat([t.lon, t.lat]);
    if (p && !containsCoordinate(map.getView().calculateExtent(map.getSize()), p)) map.getView().animate({ center: p, duration: 300 });
  }
});
$('alerts').addEventListener('click', async (e) => {
  const id = e.target.dataset && e.target.dataset.ack;
  if (id) {
    const r = await api(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST' });
    if (r.ok) { S.acks.add(id); S.dirty = true; render(); }
    return;
  }
  const li = e.target.closest('li[data-id]');
  const a = li && S.alerts.get(li.dataset.id);
  if (a && a.impact) map.getView().animate({ center: fromLonLat([a.impact.lon, a.impact.lat]), zoom: 7, duration: 400 });
});
$('details-close').addEventListener('click', () => select(null));
$('filter').addEventListener('input', renderTable);
$('filter-cat').addEventListener('change', renderTable);
for (const id of ['show-trails', 'show-leaders', 'show-ellipses', 'show-labels']) $(id).addEventListener('change', () => { drawTracks(); trackSource.changed(); });
$('show-coverage').addEventListener('change', drawCoverage);

// ------------------------------------------------------------------------------------ data
function applyFrame(fr) {
  S.frames += 1;
  if (fr.type === 'snapshot') {
    S.tracks = new globalThis.Map(fr.tracks.map((t) => [t.id, t]));
    S.alerts = new globalThis.Map(fr.alerts.map((a) => [a.id, a]));
    S.health = fr.health;
    S.sensors = fr.sensors || [];
    S.speed = fr.speed || 1;
    setBanner(fr.classification);
    drawCoverage();
    if (!S.fitted) { S.fitted = true; fitIfAway(); }
  } else {
    for (const u of fr.tracks || []) S.tracks.set(u.id, Object.assign({}, S.tracks.get(u.id) || {}, u));
    if (fr.moves) applyMoves(fr.moves);
    for (const id of fr.removed || []) S.tracks.delete(id);
    for (const a of fr.alerts || []) S.alerts.set(a.id, a);
    for (const id of fr.alerts_removed || []) S.alerts.delete(id);
    if (fr.health) S.health = fr.health;
  }
  S.seq = fr.seq;
  S.pictureWall = fr.picture_wall || 0;
  S.frameWall = fr.wall || 0;
  S.t = fr.t || 0;
  S.tWall = Date.now() / 1000;
  if (fr.utc) S.epoch = Date.parse(fr.utc) - S.t * 1000;
  if (fr.replay) {
    const newRun = S.replay && fr.replay.run !== S.replay.run;
    setReplay(fr.replay);
    if (newRun && fr.type === 'snapshot') { S.trails.clear(); loadHistory(); }
  }
  S.dirty = true;
}

// A delta's moving tracks come as columns (docs/view.md, "Frames"): ids, t (one or per row), each
// row's marking (an index into markings), and each kinematic column that changed in any row.
const MOVE_COLUMNS = ['lat', 'lon', 'alt', 've', 'vn', 'vu', 'speed', 'course', 'sigma_alt_m', 'quality'];
function applyMoves(mv) {
  const ids = mv.ids;
  const cols = MOVE_COLUMNS.filter((c) => c in mv).map((c) => [c, mv[c]]);
  const perRowT = Array.isArray(mv.t);
  const ell = 'smaj' in mv;
  for (let i = 0; i < ids.length; i++) {
    let t = S.tracks.get(ids[i]);
    if (!t) { t = { id: ids[i] }; S.tracks.set(ids[i], t); }
    t.t = perRowT ? mv.t[i] : mv.t;
    t.releasable_to = mv.markings[mv.marking[i]];
    for (const [c, a] of cols) t[c] = a[i];
    if (ell) t.ellipse = { semi_major_m: mv.smaj[i], semi_minor_m: mv.smin[i], orientation_deg: mv.orient[i] };
  }
}

// the first picture: when none of its sensors and tracks is in view (the map starts over the
// trilateral scenario's sea), fit the view to them
function fitIfAway() {
  const pts = [...S.sensors.filter((s) => s.lat != null).map((s) => [s.lon, s.lat]),
    ...[...S.tracks.values()].filter((t) => t.lat != null).map((t) => [t.lon, t.lat])].map((q) => fromLonLat(q));
  if (!pts.length) return;
  const view = map.getView();
  const ext = view.calculateExtent(map.getSize());
  if (pts.some((p) => containsCoordinate(ext, p))) return;
  view.fit(new MultiPoint(pts), { padding: [60, 60, 60, 60], maxZoom: 9 });
}
// fit the view to the tracks and their trails (the browser tests and the screenshot use it)
S.fitTracks = (maxZoom = 12) => {
  const pts = [];
  for (const t of S.tracks.values()) if (t.lat != null) pts.push(fromLonLat([t.lon, t.lat]));
  for (const tr of S.trails.values()) for (const q of tr) pts.push(q[1]);
  if (pts.length) map.getView().fit(new MultiPoint(pts), { padding: [80, 80, 240, 80], maxZoom });
};
S.viewCenter = () => { const c = map.getView().getCenter(); return c ? toLonLat(c) : null; };

// ------------------------------------------------------------------------------------ replay timeline
// (skyweave serve --journal FILE): play, pause, speed and seek move this user's place on the
// recorded run; the server answers with frames of the picture as recorded at that time.
S.replay = null;
function tlText(t) { return S.epoch ? hms(t) : `${Math.round(t)} s`; }
function setReplay(info) {
  const first = !S.replay;
  S.replay = info;
  S.speed = info.playing ? info.speed : 0;
  if (info.epoch) S.epoch = Date.parse(info.epoch);
  $('tl-play').innerHTML = info.playing ? '&#10074;&#10074;' : '&#9654;';
  $('tl-play').dataset.playing = info.playing ? '1' : '0';
  $('tl-speed').value = String(info.speed);
  const sl = $('tl-slider');
  if (first || Number(sl.max) !== info.end) {
    sl.min = String(info.start);
    sl.max = String(info.end);
    $('tl-start').textContent = tlText(info.start);
    $('tl-end').textContent = tlText(info.end);
    const span = Math.max(1e-9, info.end - info.start);
    $('tl-marks').innerHTML = (info.alerts || []).map((a) => `<span class="tl-mark" title="${esc(a.id)}" style="left:${(100 * (a.t - info.start) / span).toFixed(2)}%"></span>`).join('');
  }
  tickTimeline();
}
function tickTimeline() {
  const r = S.replay;
  if (!r) return;
  const t = Math.min(r.end, Math.max(r.start, nowT()));
  if (!S.dragging) $('tl-slider').value = String(t);
  $('tl-label').textContent = `replay ${tlText(S.dragging ? Number($('tl-slider').value) : t)} · ${r.playing ? r.speed + '×' : 'paused'}`;
}
function replayCommand(cmd) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(cmd));
  else api('/api/replay', { method: 'POST', body: JSON.stringify(cmd) });
}
$('tl-play').addEventListener('click', () => replayCommand({ op: S.replay && S.replay.playing ? 'pause' : 'play', speed: Number($('tl-speed').value) }));
$('tl-speed').addEventListener('change', () => replayCommand({ op: 'speed', speed: Number($('tl-speed').value) }));
$('tl-slider').addEventListener('input', () => { S.dragging = true; tickTimeline(); });
$('tl-slider').addEventListener('change', () => { S.dragging = false; replayCommand({ op: 'seek', t: Number($('tl-slider').value) }); });
setInterval(tickTimeline, 250);

S.renderMs = [];
S.partsMs = []; // per update: [map features ms, panels ms]
S.latencyMs = [];
S.stagesMs = []; // per update: [picture to frame made (server), frame made to received, received to pixels]
function render() {
  if (!S.dirty) return;
  S.dirty = false;
  const t0 = performance.now();
  drawTracks();
  const t1 = performance.now();
  drawAlerts();
  renderAlerts();
  // a large picture's table is rebuilt at most once a second (the map every update)
  const now = performance.now();
  if (S.tracks.size <= 1000 || now - (S.tableAt || 0) >= 1000) { renderTable(); S.tableAt = now; }
  renderDetails();
  renderHealth();
  const t2 = performance.now();
  S.renderMs.push(t2 - t0);
  S.partsMs.push([t1 - t0, t2 - t1]);
  if (S.renderMs.length > 600) { S.renderMs.shift(); S.partsMs.shift(); }
  // from the node's fused picture to its pixels: when the map has drawn this update
  const wall = S.pictureWall;
  if (wall) {
    const made = S.frameWall * 1000;
    const got = S.receivedAt;
    map.once('postrender', () => {
      const now = Date.now();
      S.latencyMs.push(now - wall * 1000);
      S.stagesMs.push([made - wall * 1000, got - made, now - got]);
      if (S.latencyMs.length > 600) { S.latencyMs.shift(); S.stagesMs.shift(); }
    });
    map.render();
  }
}
setInterval(render, 250);

// the audible cue: a short tone every 3 s while an open alert is not acknowledged by this user
function cue() {
  if (!S.token) return;
  const pending = [...S.alerts.values()].some((a) => a.open && !S.acks.has(a.id));
  if (!pending) return;
  try {
    const ctx = S.audio || (S.audio = new AudioContext());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
    S.beeps += 1;
  } catch (err) {
    S.audioError = String(err);
  }
}
setInterval(cue, 3000);
setInterval(tickCountdowns, 250);

function setBanner(text) {
  if (!text) return;
  for (const id of ['banner-top', 'banner-bottom']) $(id).textContent = text;
}

function setConn(text, ok) {
  const el = $('conn');
  el.textContent = text;
  el.classList.toggle('ok', !!ok);
}

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { 'Content-Type': 'application/json', ...(S.token ? { Authorization: 'Bearer ' + S.token } : {}), ...(opts.headers || {}) } });
  if (r.status === 401 && path !== '/api/login') { logout(); throw new Error('session expired'); }
  return r;
}

async function loadHistory() {
  const r = await api('/api/history');
  if (!r.ok) return;
  const h = await r.json();
  for (const [id, pts] of Object.entries(h.tracks || {})) S.trails.set(id, pts.map((p) => [p[0], fromLonLat([p[2], p[1]])]));
  S.dirty = true;
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/ws?token=${encodeURIComponent(S.token)}`);
  S.ws = ws;
  setConn('connecting', false);
  ws.onopen = () => setConn(S.replayMode ? 'replay' : 'live', true);
  ws.onmessage = (m) => {
    S.bytes += m.data.length;
    const got = Date.now();
    applyFrame(JSON.parse(m.data));
    S.receivedAt = got;
    if (!S.renderQueued) { S.renderQueued = true; requestAnimationFrame(() => { S.renderQueued = false; render(); }); }
  };
  ws.onclose = (e) => {
    if (S.ws !== ws) return;
    setConn('disconnected', false);
    if (e.code === 4401) { logout(); return; }
    setTimeout(() => { if (S.token && S.ws === ws) connect(); }, 2000);
  };
}

async function start() {
  const r = await api('/api/me');
  if (!r.ok) { logout(); return; }
  const me = await r.json();
  S.user = me.user; S.nation = me.nation; S.role = me.role; S.speed = me.speed;
  S.replayMode = !!me.replay;
  $('timeline').hidden = !S.replayMode;
  setBanner(me.classification);
  $('who').textContent = `${me.user} · ${me.nation} · ${me.role}`;
  $('login').hidden = true;
  $('app').hidden = false;
  map.updateSize();
  await loadHistory();
  const ra = await api('/api/acks');
  if (ra.ok) S.acks = new Set((await ra.json()).acknowledged);
  connect();
}

function logout() {
  if (S.token) fetch('/api/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + S.token } }).catch(() => {});
  S.token = null;
  sessionStorage.removeItem('skyweave-token');
  const ws = S.ws;
  S.ws = null;
  if (ws) ws.close();
  S.tracks.clear(); S.alerts.clear(); S.trails.clear(); S.acks = new Set();
  $('app').hidden = true;
  $('login').hidden = false;
}
$('logout').addEventListener('click', logout);

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  const r = await api('/api/login', { method: 'POST', body: JSON.stringify({ user: $('login-user').value, password: $('login-password').value }) });
  if (!r.ok) {
    // 401: a wrong user or password; 403: a user of a nation this server does not serve (its reason)
    let why = 'Wrong user or password.';
    if (r.status === 403) {
      try { why = (await r.json()).detail || 'This server does not serve your nation.'; } catch (err) { why = 'This server does not serve your nation.'; }
    }
    $('login-error').textContent = why;
    return;
  }
  const body = await r.json();
  S.token = body.token;
  sessionStorage.setItem('skyweave-token', S.token);
  try { S.audio = S.audio || new AudioContext(); } catch (err) { S.audioError = String(err); } // a user gesture: sound may play
  $('login-password').value = '';
  start();
});

if (S.token) start();
