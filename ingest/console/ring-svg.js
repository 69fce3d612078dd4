// The fibre ring as SVG, drawn from the topology the API reports: islands around a circle in ring order,
// segments between them (cut ones red, dashed and crossed), gateways linked up to the mainland, isolated
// islands filled red. The same facts are listed as text beside it for screen readers.
const NS = 'http://www.w3.org/2000/svg';
const W = 560;
const H = 440;
const C = { x: 290, y: 240 };
const R = 160;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}
const title = (text) => svg('title', {}, text);

/** Island positions: ring order around the circle, starting at the top, clockwise. */
export function layout(islands) {
  const pos = new Map();
  islands.forEach((island, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / islands.length;
    pos.set(island, { x: C.x + R * Math.cos(angle), y: C.y + R * Math.sin(angle), angle });
  });
  return pos;
}

export function ringSvg(ring) {
  const islands = ring.islands.map((i) => i.island);
  const pos = layout(islands);
  const isolated = new Set(ring.isolated);
  const cuts = ring.segments.filter((s) => s.state === 'down');
  const summary = `${ring.name}: ${ring.segments.length} segments, ${cuts.length ? `cut: ${cuts.map((s) => s.id).join(', ')}` : 'none cut'}. ${isolated.size ? `Isolated: ${[...isolated].join(', ')}.` : 'No island isolated.'}`;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'ring', role: 'img', 'aria-label': summary });

  // Mainland, outside the circle beside the gateways.
  const gateways = ring.upstream.map((u) => u.gateway).filter((g) => pos.has(g));
  const mean = gateways.length ? Math.atan2(...gateways.reduce(([s, c], g) => [s + Math.sin(pos.get(g).angle), c + Math.cos(pos.get(g).angle)], [0, 0])) : -Math.PI / 2;
  const mainland = { x: C.x + R * 1.55 * Math.cos(mean), y: Math.max(28, C.y + R * 1.55 * Math.sin(mean)) };
  for (const u of ring.upstream) {
    const g = pos.get(u.gateway);
    if (!g) continue;
    root.append(svg('line', { x1: mainland.x, y1: mainland.y, x2: g.x, y2: g.y, class: `seg upstream state-${u.state}`, 'data-segment': u.segment ?? '', 'data-state': u.state }, title(`${u.segment ?? `${u.gateway} upstream`}: ${u.state}`)));
  }
  root.append(svg('g', { class: 'mainland' }, svg('rect', { x: mainland.x - 44, y: mainland.y - 14, width: 88, height: 28, rx: 6 }), svg('text', { x: mainland.x, y: mainland.y + 5, 'text-anchor': 'middle' }, 'Mainland')));

  for (const s of ring.segments) {
    const [a, b] = s.ends.map((e) => pos.get(e));
    if (!a || !b) continue;
    const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `seg state-${s.state}${s.unprotected ? ' unprotected' : ''}`, 'data-segment': s.id, 'data-state': s.state }, title(`${s.id}: ${s.state === 'down' && s.cause === 'board-fault' ? 'board fault' : s.state}${s.unprotected ? ' (unprotected)' : ''}${s.stale ? ' (no fresh report)' : ''}`));
    root.append(line);
    if (s.state === 'down' && s.cause !== 'board-fault') {
      const m = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      root.append(svg('path', { d: `M${m.x - 8},${m.y - 8}L${m.x + 8},${m.y + 8}M${m.x + 8},${m.y - 8}L${m.x - 8},${m.y + 8}`, class: 'cut', 'data-cut': s.id }, title(`${s.id} cut`)));
    }
  }

  for (const i of ring.islands) {
    const p = pos.get(i.island);
    const out = { x: C.x + (R + 34) * Math.cos(p.angle), y: C.y + (R + 34) * Math.sin(p.angle) };
    const anchor = Math.abs(Math.cos(p.angle)) < 0.3 ? 'middle' : Math.cos(p.angle) > 0 ? 'start' : 'end';
    const unknown = i.connectivity === 'unknown';
    const g = svg('g', { class: `island${i.isolated ? ' isolated' : ''}${i.gateway ? ' gateway' : ''}${unknown ? ' unknown' : ''}`, 'data-island': i.island, 'data-isolated': String(i.isolated), 'data-connectivity': i.connectivity ?? '' },
      title(`${i.island}${i.gateway ? ' (gateway)' : ''}: ${i.isolated ? 'ISOLATED — no path to a gateway' : unknown ? 'not known — its segments have no fresh report' : `reaches ${i.reachableGateways.join(', ')}`}`));
    if (i.gateway) g.append(svg('circle', { cx: p.x, cy: p.y, r: 17, class: 'gateway-ring' }));
    g.append(svg('circle', { cx: p.x, cy: p.y, r: 12 }));
    g.append(svg('text', { x: out.x, y: out.y, 'text-anchor': anchor, class: 'label' }, i.island));
    if (i.isolated) g.append(svg('text', { x: out.x, y: out.y + 15, 'text-anchor': anchor, class: 'isolated-label' }, 'ISOLATED'));
    else if (unknown) g.append(svg('text', { x: out.x, y: out.y + 15, 'text-anchor': anchor, class: 'unknown-label' }, 'NOT KNOWN'));
    root.append(g);
  }
  return root;
}
