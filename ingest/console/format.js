// Small, pure formatting helpers shared by the views.
const UNITS = {
  airTempC: '°C', humidityPct: '%', noiseDb: 'dB', pm25: 'µg/m³', powerW: 'W', cabinetTempC: '°C',
  indexL: 'L', flowLph: 'L/h', batteryPct: '%', rectifierV: 'V', loadA: 'A', batterySocPct: '%', batteryV: 'V',
  batteryA: 'A', batteryTempC: '°C', batterySohPct: '%', batteryCapacityAh: 'Ah', fuelPct: '%', runtimeMin: 'min',
  rssiDbm: 'dBm', snrDb: 'dB', linkMarginDb: 'dB',
};

export function unit(field) {
  return UNITS[field] ?? '';
}

export function ago(ts, now = Date.now()) {
  if (ts == null) return 'never';
  const s = Math.round((now - ts) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A time of day as operators read it (local time), with the date when it is not today. */
export function clock(ts, now = Date.now()) {
  if (ts == null) return '–';
  const d = new Date(ts);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return new Date(now).toDateString() === d.toDateString() ? time : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

export function value(field, v) {
  if (field === 'segments' && Array.isArray(v)) return v.map((s) => `${s.id} ${s.state}`).join(', ');
  if (Array.isArray(v)) return v.length ? v.join(', ') : 'none';
  if (typeof v === 'number') return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit(field)}`.trim();
  return String(v);
}

/** Where a device is, in the words its users use: site, DMA, or island. */
export function where(attributes = {}) {
  return attributes.site ?? attributes.dma ?? attributes.island ?? '';
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
