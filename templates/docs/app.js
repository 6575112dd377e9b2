// dvt docs: the lineage site. Plain JavaScript, no dependencies, so that it
// works offline and from file://. The data comes from data.js (window.DVT_DATA).
//
// The graph is drawn on a canvas, and only what is in view is drawn, so that
// a project of 10,000 models stays responsive.
(function () {
  'use strict';

  const data = window.DVT_DATA;
  if (!data) {
    document.getElementById('details').textContent = 'data.js is missing: run `dvt docs generate`.';
    return;
  }

  const COLORS = {
    source: '#2f855a', seed: '#3182ce', model: '#dd6b20', snapshot: '#805ad5',
    analysis: '#718096', exposure: '#d53f8c', export: '#319795', topic: '#b7791f',
  };
  const NODE_WIDTH = 200;
  const NODE_HEIGHT = 34;
  const LAYER_GAP = 90;
  const ROW_GAP = 14;

  // ---- The model: nodes, edges, tests and column lineage ---------------------

  const byId = new Map();
  for (const node of data.nodes) {
    node.children = [];
    node.tests = [];
    byId.set(node.id, node);
  }
  for (const node of data.nodes) {
    node.parents = (node.parents || []).filter((parent) => byId.has(parent));
    for (const parent of node.parents) byId.get(parent).children.push(node.id);
  }
  for (const test of data.tests) {
    for (const attached of test.attached) {
      const node = byId.get(attached);
      if (node) node.tests.push(test);
    }
  }

  // Column lineage: upstream comes from data.lineage; downstream is its reverse.
  const columnKey = (id, column) => id + '\u0000' + column;
  const downstreamIndex = new Map();
  for (const [id, columns] of Object.entries(data.lineage)) {
    for (const [column, info] of Object.entries(columns)) {
      for (const [relation, source] of info.sources) {
        const key = columnKey(relation, source);
        if (!downstreamIndex.has(key)) downstreamIndex.set(key, []);
        downstreamIndex.get(key).push({ id, column, kind: info.kind });
      }
    }
  }
  const upstreamColumns = (id, column) => {
    const info = data.lineage[id] && data.lineage[id][column];
    return info ? info.sources.map(([relation, source]) => ({ id: relation, column: source, kind: info.kind })) : [];
  };
  const downstreamColumns = (id, column) => downstreamIndex.get(columnKey(id, column)) || [];

  const testStatus = (tests) => {
    let worst = null;
    const rank = { fail: 4, error: 4, warn: 3, skipped: 2, pass: 1, success: 1 };
    for (const test of tests) {
      if (test.status && (!worst || (rank[test.status] || 0) > (rank[worst] || 0))) worst = test.status;
    }
    return worst;
  };

  // ---- Selector syntax, as on the command line -------------------------------

  const globToRegExp = (glob) =>
    new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');

  function matchMethod(body) {
    const colon = body.indexOf(':');
    const method = colon > 0 ? body.slice(0, colon) : '';
    const value = colon > 0 ? body.slice(colon + 1) : body;
    const pattern = globToRegExp(value);
    const out = new Set();
    for (const node of data.nodes) {
      let hit = false;
      switch (method) {
        case 'tag': hit = (node.tags || []).some((tag) => pattern.test(tag)); break;
        case 'path': hit = node.path === value || node.path.startsWith(value.replace(/\/$/, '') + '/') || pattern.test(node.path); break;
        case 'resource_type': hit = node.type === value; break;
        case 'source': hit = node.type === 'source' && (pattern.test(node.name) || pattern.test(node.name.split('.')[0])); break;
        case 'exposure': hit = node.type === 'exposure' && pattern.test(node.name); break;
        case 'config.materialized': hit = node.materialized === value; break;
        case '': hit = pattern.test(node.name) || pattern.test((node.fqn || []).join('.')) || node.id === value; break;
        default: throw new Error('unknown selector method `' + method + '`');
      }
      if (hit) out.add(node.id);
    }
    return out;
  }

  function walk(start, step, depth) {
    const seen = new Set(start);
    let frontier = [...start];
    for (let level = 0; frontier.length && level < depth; level++) {
      const next = [];
      for (const id of frontier) {
        for (const other of step(byId.get(id))) {
          if (!seen.has(other)) { seen.add(other); next.push(other); }
        }
      }
      frontier = next;
    }
    return seen;
  }
  const ancestors = (ids, depth = Infinity) => walk(ids, (node) => node.parents, depth);
  const descendants = (ids, depth = Infinity) => walk(ids, (node) => node.children, depth);

  function selectAtom(atom) {
    const match = atom.match(/^(@)?(\d*\+)?(.+?)(\+\d*)?$/);
    if (!match) throw new Error('cannot read `' + atom + '`');
    const [, at, up, body, down] = match;
    let result = matchMethod(body);
    if (!result.size) return result;
    const base = result;
    if (at) {
      const below = descendants(base);
      return ancestors(below);
    }
    if (up) result = new Set([...result, ...ancestors(base, parseInt(up, 10) || Infinity)]);
    if (down) result = new Set([...result, ...descendants(base, parseInt(down.slice(1), 10) || Infinity)]);
    return result;
  }

  function selectNodes(expression) {
    const union = new Set();
    for (const term of expression.trim().split(/\s+/).filter(Boolean)) {
      let intersection = null;
      for (const atom of term.split(',').filter(Boolean)) {
        const found = selectAtom(atom);
        intersection = intersection ? new Set([...intersection].filter((id) => found.has(id))) : found;
      }
      for (const id of intersection || []) union.add(id);
    }
    return union;
  }

  // ---- Layout: layers left to right, ordered by their parents' positions ----

  let visible = [];
  let bounds = { width: 0, height: 0 };

  function layout(ids) {
    const nodes = ids ? data.nodes.filter((node) => ids.has(node.id)) : data.nodes;
    const inView = new Set(nodes.map((node) => node.id));
    const pending = new Map();
    const layer = new Map();
    const queue = [];
    for (const node of nodes) {
      const count = node.parents.filter((parent) => inView.has(parent)).length;
      pending.set(node.id, count);
      if (count === 0) { queue.push(node.id); layer.set(node.id, 0); }
    }
    for (let head = 0; head < queue.length; head++) {
      const node = byId.get(queue[head]);
      for (const child of node.children) {
        if (!inView.has(child)) continue;
        layer.set(child, Math.max(layer.get(child) || 0, layer.get(node.id) + 1));
        const left = pending.get(child) - 1;
        pending.set(child, left);
        if (left === 0) queue.push(child);
      }
    }
    const layers = [];
    for (const node of nodes) {
      // Exposures sit one layer right of their deepest parent, which the pass above already does.
      const index = layer.has(node.id) ? layer.get(node.id) : 0;
      (layers[index] = layers[index] || []).push(node);
    }
    const row = new Map();
    const folder = (node) => node.path.split('/').slice(0, -1).join('/');
    const tallest = Math.max(1, ...layers.map((nodes) => (nodes ? nodes.length : 0)));
    layers.forEach((nodesInLayer, index) => {
      if (!nodesInLayer) return;
      const weight = new Map();
      for (const node of nodesInLayer) {
        const rows = node.parents.filter((parent) => row.has(parent)).map((parent) => row.get(parent));
        weight.set(node.id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity);
      }
      nodesInLayer.sort((a, b) =>
        (weight.get(a.id) - weight.get(b.id)) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
        folder(a).localeCompare(folder(b)) || a.name.localeCompare(b.name));
      const offset = ((tallest - nodesInLayer.length) * (NODE_HEIGHT + ROW_GAP)) / 2;
      nodesInLayer.forEach((node, position) => {
        row.set(node.id, position + (tallest - nodesInLayer.length) / 2);
        node.x = index * (NODE_WIDTH + LAYER_GAP);
        node.y = offset + position * (NODE_HEIGHT + ROW_GAP);
      });
    });
    visible = nodes;
    visibleSet = inView;
    bounds = { width: layers.length * (NODE_WIDTH + LAYER_GAP) - LAYER_GAP, height: tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP };
  }
  let visibleSet = new Set();

  // ---- Drawing on the canvas, culled to the viewport --------------------------

  const canvas = document.getElementById('graph');
  const context = canvas.getContext('2d');
  const view = { scale: 1, x: 20, y: 20 };
  let selected = null;
  let selectedColumn = null;
  let related = null; // ancestors and descendants of the selection
  let columnHighlight = null; // node id -> Set of columns on the selected column's path
  let frame = 0;

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    canvas.height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    redraw();
  }

  function redraw() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function fit() {
    const width = canvas.clientWidth || 800;
    const height = canvas.clientHeight || 600;
    const scale = Math.min(1.2, (width - 40) / Math.max(bounds.width, 1), (height - 40) / Math.max(bounds.height, 1));
    view.scale = Math.max(scale, 0.02);
    view.x = (width - bounds.width * view.scale) / 2;
    view.y = Math.max(20, (height - bounds.height * view.scale) / 2);
    redraw();
  }

  function center(node) {
    view.scale = Math.max(view.scale, 0.8);
    view.x = canvas.clientWidth / 2 - (node.x + NODE_WIDTH / 2) * view.scale;
    view.y = canvas.clientHeight / 2 - (node.y + NODE_HEIGHT / 2) * view.scale;
    redraw();
  }

  function draw() {
    frame = 0;
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.setTransform(ratio * view.scale, 0, 0, ratio * view.scale, ratio * view.x, ratio * view.y);
    const left = -view.x / view.scale;
    const top = -view.y / view.scale;
    const right = left + canvas.clientWidth / view.scale;
    const bottom = top + canvas.clientHeight / view.scale;
    const inside = (node) => node.x + NODE_WIDTH >= left && node.x <= right && node.y + NODE_HEIGHT >= top && node.y <= bottom;

    // Edges: plain ones in one path, highlighted ones on top.
    const plain = new Path2D();
    const lit = new Path2D();
    const columnLit = new Path2D();
    let drawn = 0;
    for (const node of visible) {
      for (const parentId of node.parents) {
        if (!visibleSet.has(parentId)) continue;
        const parent = byId.get(parentId);
        const x1 = parent.x + NODE_WIDTH, y1 = parent.y + NODE_HEIGHT / 2, x2 = node.x, y2 = node.y + NODE_HEIGHT / 2;
        if (Math.max(x1, x2) < left || Math.min(x1, x2) > right || Math.max(y1, y2) < top || Math.min(y1, y2) > bottom) continue;
        const onColumnPath = columnHighlight && columnHighlight.has(node.id) && columnHighlight.has(parentId);
        const onPath = related && related.has(node.id) && related.has(parentId);
        const path = onColumnPath ? columnLit : onPath ? lit : plain;
        const bend = Math.min(LAYER_GAP, (x2 - x1) / 2);
        path.moveTo(x1, y1);
        path.bezierCurveTo(x1 + bend, y1, x2 - bend, y2, x2, y2);
        drawn++;
      }
    }
    const unit = 1 / view.scale;
    context.lineWidth = Math.max(1, unit);
    context.strokeStyle = related ? 'rgba(160,174,192,0.35)' : 'rgba(113,128,150,0.55)';
    context.stroke(plain);
    context.lineWidth = Math.max(2, 2 * unit);
    context.strokeStyle = '#4c6ef5';
    context.stroke(lit);
    context.lineWidth = Math.max(3, 3 * unit);
    context.strokeStyle = '#d69e2e';
    context.stroke(columnLit);

    const detailed = view.scale > 0.35;
    let shown = 0;
    for (const node of visible) {
      if (!inside(node)) continue;
      shown++;
      const color = COLORS[node.type] || '#718096';
      const dim = related && !related.has(node.id);
      context.globalAlpha = dim ? 0.35 : 1;
      if (!detailed) {
        context.fillStyle = color;
        context.fillRect(node.x, node.y, NODE_WIDTH, NODE_HEIGHT);
        continue;
      }
      context.fillStyle = '#fff';
      context.fillRect(node.x, node.y, NODE_WIDTH, NODE_HEIGHT);
      context.fillStyle = color;
      context.fillRect(node.x, node.y, 6, NODE_HEIGHT);
      const columnsHere = columnHighlight && columnHighlight.get(node.id);
      context.lineWidth = node === selected ? 3 : columnsHere ? 2.5 : 1;
      context.strokeStyle = node === selected ? '#1f2a44' : columnsHere ? '#d69e2e' : '#cbd5e0';
      context.strokeRect(node.x, node.y, NODE_WIDTH, NODE_HEIGHT);
      context.fillStyle = '#1a202c';
      context.font = '600 13px system-ui, sans-serif';
      context.textBaseline = 'middle';
      context.fillText(clip(node.name, NODE_WIDTH - 44), node.x + 12, node.y + 13);
      context.font = '10px system-ui, sans-serif';
      context.fillStyle = '#718096';
      context.fillText(node.type + (node.materialized ? ' · ' + node.materialized : ''), node.x + 12, node.y + 26);
      if (node.tests.length) {
        const status = testStatus(node.tests);
        context.fillStyle = status === 'fail' || status === 'error' ? '#e53e3e' : status === 'pass' ? '#38a169' : status === 'warn' ? '#d69e2e' : '#a0aec0';
        context.beginPath();
        context.arc(node.x + NODE_WIDTH - 16, node.y + NODE_HEIGHT / 2, 10, 0, Math.PI * 2);
        context.fill();
        context.fillStyle = '#fff';
        context.font = '600 10px system-ui, sans-serif';
        context.textAlign = 'center';
        context.fillText(String(node.tests.length), node.x + NODE_WIDTH - 16, node.y + NODE_HEIGHT / 2 + 1);
        context.textAlign = 'start';
      }
      if (columnsHere) {
        context.fillStyle = '#975a16';
        context.font = '600 11px ui-monospace, monospace';
        context.fillText(clip('▸ ' + [...columnsHere].join(', '), NODE_WIDTH), node.x + 2, node.y + NODE_HEIGHT + 7);
      }
    }
    context.globalAlpha = 1;
    status.textContent = visible.length + ' nodes · ' + shown + ' drawn · ' + drawn + ' edges drawn';
  }

  const clipCache = new Map();
  function clip(text, width) {
    const key = text + '\u0000' + width + context.font;
    if (clipCache.has(key)) return clipCache.get(key);
    let clipped = text;
    if (context.measureText(text).width > width) {
      while (clipped.length > 1 && context.measureText(clipped + '…').width > width) clipped = clipped.slice(0, -1);
      clipped += '…';
    }
    if (clipCache.size > 50000) clipCache.clear();
    clipCache.set(key, clipped);
    return clipped;
  }

  // ---- Pan, zoom and click ----------------------------------------------------

  let drag = null;
  canvas.addEventListener('mousedown', (event) => {
    drag = { x: event.clientX, y: event.clientY, viewX: view.x, viewY: view.y, moved: false };
    canvas.classList.add('dragging');
  });
  window.addEventListener('mousemove', (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.viewX + dx;
    view.y = drag.viewY + dy;
    redraw();
  });
  window.addEventListener('mouseup', (event) => {
    if (!drag) return;
    const wasClick = !drag.moved;
    drag = null;
    canvas.classList.remove('dragging');
    if (wasClick && event.target === canvas) {
      const rect = canvas.getBoundingClientRect();
      const x = (event.clientX - rect.left - view.x) / view.scale;
      const y = (event.clientY - rect.top - view.y) / view.scale;
      const hit = visible.find((node) => x >= node.x && x <= node.x + NODE_WIDTH && y >= node.y && y <= node.y + NODE_HEIGHT);
      if (hit) selectNode(hit.id, { center: false });
    }
  });
  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left, py = event.clientY - rect.top;
    const factor = Math.exp(-event.deltaY * 0.0015);
    const scale = Math.min(3, Math.max(0.01, view.scale * factor));
    view.x = px - ((px - view.x) * scale) / view.scale;
    view.y = py - ((py - view.y) * scale) / view.scale;
    view.scale = scale;
    redraw();
  }, { passive: false });
  window.addEventListener('resize', resize);

  // ---- Selection and the details panel ---------------------------------------

  const details = document.getElementById('details');
  const status = document.getElementById('status');

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const nodeLink = (id) => {
    const node = byId.get(id);
    return element('a', { class: 'node-link', 'data-id': id, onclick: () => selectNode(id, { center: true }) }, node ? node.name : id);
  };
  const nodeLabel = (id) => (byId.get(id) ? byId.get(id).name : id);
  const humanBytes = (bytes) => {
    if (bytes === null || bytes === undefined) return null;
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return value.toFixed(unit ? 1 : 0) + ' ' + units[unit];
  };

  // YAML descriptions wrap lines by hand; keep only the blank lines between paragraphs.
  const paragraphs = (text) => (text || '(no description)').trim().split(/\n\s*\n/).map((paragraph) => paragraph.replace(/\s*\n\s*/g, ' ')).join('\n\n');

  function selectNode(id, options = {}) {
    const node = byId.get(id);
    if (!node) return;
    selected = node;
    selectedColumn = null;
    columnHighlight = null;
    related = new Set([...ancestors([id]), ...descendants([id])]);
    if (!visibleSet.has(id)) { layout(null); focusInput.value = ''; }
    if (options.center) center(node);
    renderDetails();
    updateHash();
    redraw();
  }

  function selectColumn(column) {
    if (!selected) return;
    selectedColumn = column;
    columnHighlight = new Map();
    const add = (id, name) => {
      if (!columnHighlight.has(id)) columnHighlight.set(id, new Set());
      columnHighlight.get(id).add(name);
    };
    add(selected.id, column);
    const visit = (step) => {
      const seen = new Set();
      const stack = [{ id: selected.id, column }];
      while (stack.length) {
        const current = stack.pop();
        for (const next of step(current.id, current.column)) {
          const key = columnKey(next.id, next.column);
          if (seen.has(key)) continue;
          seen.add(key);
          add(next.id, next.column);
          stack.push(next);
        }
      }
    };
    visit(upstreamColumns);
    visit(downstreamColumns);
    renderDetails();
    updateHash();
    redraw();
  }

  // Each column is expanded once (a column reached again says so), and the
  // tree stops at MAX_LINEAGE_ITEMS, so that a deep, wide graph cannot make
  // the tree grow with the number of paths rather than the number of columns.
  const MAX_LINEAGE_ITEMS = 400;
  function lineageTree(id, column, step, state) {
    const items = [];
    for (const next of step(id, column)) {
      if (state.count >= MAX_LINEAGE_ITEMS) { state.truncated = true; break; }
      state.count++;
      const key = columnKey(next.id, next.column);
      const node = byId.get(next.id);
      const again = state.seen.has(key);
      state.seen.add(key);
      const label = element('span', { class: 'lineage-column', 'data-node': next.id, 'data-column': next.column },
        element('a', { class: 'node-link', onclick: () => { selectNode(next.id, { center: true }); selectColumn(next.column); } },
          element('code', {}, nodeLabel(next.id) + '.' + next.column)),
        ' ', element('span', { class: 'kind' }, (node ? node.type + ' · ' : '') + next.kind.replace('_', '-') + (again ? ' · see above' : '')));
      items.push(element('li', {}, label, again ? null : lineageTree(next.id, next.column, step, state)));
    }
    return items.length ? element('ul', { class: 'lineage-tree' }, items) : null;
  }
  function lineageSection(id, column, step) {
    const state = { seen: new Set(), count: 0, truncated: false };
    const tree = lineageTree(id, column, step, state);
    return [tree, state.truncated ? element('div', { class: 'meta' }, 'Only the first ' + MAX_LINEAGE_ITEMS + ' columns are listed; the graph highlights all of them.') : null];
  }

  function renderDetails() {
    const node = selected;
    details.replaceChildren();
    if (!node) return;
    const color = COLORS[node.type] || '#718096';
    const lineage = data.lineage[node.id] || {};
    details.append(
      element('h2', { id: 'details-name' }, node.name),
      element('div', {},
        element('span', { class: 'badge type', style: '--c:' + color }, node.type),
        node.materialized && element('span', { class: 'badge' }, node.materialized),
        (node.tags || []).map((tag) => element('span', { class: 'badge' }, 'tag:' + tag)),
        node.status && element('span', { class: 'badge status-' + node.status }, 'last run: ' + node.status)),
      element('div', { class: 'meta' },
        node.relation && element('div', {}, 'Relation: ', element('code', {}, node.relation)),
        element('div', {}, 'File: ', element('code', {}, node.path)),
        node.owner && element('div', {}, 'Owner: ', typeof node.owner === 'object' ? [node.owner.name, node.owner.email].filter(Boolean).join(' · ') : String(node.owner)),
        node.stats && element('div', {}, [
          node.stats.rows !== null && node.stats.rows !== undefined ? node.stats.rows.toLocaleString('en-US') + ' rows' : null,
          humanBytes(node.stats.bytes),
          node.stats.type,
        ].filter(Boolean).join(' · ')),
        node.url && element('div', {}, 'URL: ', element('a', { href: node.url }, node.url))),
      (node.lineage_notes || []).map((note) => element('div', { class: 'note' }, 'Column lineage: ' + note)),
      element('h3', {}, 'Description'),
      element('div', { class: 'description' }, paragraphs(node.description)),
    );
    if (node.ingest) details.append(ingestPanel(node.ingest));

    if (node.columns && node.columns.length) {
      const rows = node.columns.map((column) => element('tr', {
        class: 'column' + (column.name === selectedColumn ? ' selected' : ''),
        'data-column': column.name,
        onclick: () => selectColumn(column.name),
      },
      element('td', {}, element('code', {}, column.name)),
      element('td', {}, column.type || ''),
      element('td', {}, column.description || ''),
      element('td', { class: 'kind' }, lineage[column.name] ? lineage[column.name].kind.replace('_', '-') : '')));
      details.append(element('h3', {}, 'Columns (' + node.columns.length + ')'),
        element('table', { id: 'columns' }, element('tr', {}, element('th', {}, 'Name'), element('th', {}, 'Type'), element('th', {}, 'Description'), element('th', {}, 'Lineage')), rows));
    }

    if (selectedColumn) {
      const [upstream, upstreamMore] = lineageSection(node.id, selectedColumn, upstreamColumns);
      const [downstream, downstreamMore] = lineageSection(node.id, selectedColumn, downstreamColumns);
      details.append(element('div', { id: 'column-lineage', 'data-column': selectedColumn },
        element('strong', {}, 'Column lineage of ', element('code', {}, node.name + '.' + selectedColumn)),
        element('h4', {}, 'Upstream'), upstream || element('div', { class: 'meta' }, 'none: computed here, or from a relation dvt does not know'), upstreamMore,
        element('h4', {}, 'Downstream'), downstream || element('div', { class: 'meta' }, 'none'), downstreamMore));
    }

    if (node.tests.length) {
      details.append(element('h3', {}, 'Tests (' + node.tests.length + ')'),
        element('ul', { class: 'plain', id: 'tests' }, node.tests.map((test) => element('li', {},
          element('span', { class: 'badge status-' + (test.status || 'none') }, test.status || 'not run'),
          ' ', test.name, test.column ? element('span', { class: 'kind' }, ' on ' + test.column) : null,
          test.status && test.status !== 'pass' && test.message ? element('div', { class: 'kind' }, test.message) : null))));
    }
    details.append(
      element('h3', {}, 'Parents (' + node.parents.length + ')'),
      element('ul', { class: 'plain', id: 'parents' }, node.parents.map((id) => element('li', {}, nodeLink(id)))),
      element('h3', {}, 'Children (' + node.children.length + ')'),
      element('ul', { class: 'plain', id: 'children' }, node.children.map((id) => element('li', {}, nodeLink(id)))),
    );
    const sqlBox = element('div', { id: 'sql' });
    details.append(sqlBox);
    const shown = node.id;
    withSql((sql) => {
      const entry = sql[shown];
      if (!entry || !selected || selected.id !== shown) return;
      const [raw, compiled] = entry;
      if (raw) sqlBox.append(element('details', {}, element('summary', {}, 'Source SQL'), element('pre', {}, raw)));
      if (compiled) sqlBox.append(element('details', { open: true }, element('summary', {}, 'Compiled SQL'), element('pre', { id: 'compiled' }, compiled)));
    });
  }

  // The last `dvt ingest` of a Kafka-fed source (ingest_results.json): how
  // fresh its events were when committed, and each partition's lag as a bar
  // scaled to the largest.
  function ingestPanel(ingest) {
    const seconds = (value) => (value === null || value === undefined ? 'n/a' : value.toFixed(2) + 's');
    const count = (value) => Number(value || 0).toLocaleString('en-US');
    const freshness = ingest.freshness || {};
    const worst = Math.max(1, ...ingest.partitions.map((partition) => partition.lag));
    const rows = ingest.partitions.map((partition) => element('tr', {},
      element('td', {}, element('code', {}, partition.topic + '[' + partition.partition + ']')),
      element('td', {}, count(partition.committed_offset)),
      element('td', {}, count(partition.high_watermark)),
      element('td', { class: 'lag' },
        element('div', { class: 'lag-bar' + (partition.lag ? ' behind' : ''), style: 'width:' + (100 * partition.lag / worst) + '%' }),
        element('span', {}, count(partition.lag)))));
    return element('div', { id: 'ingest' },
      element('h3', {}, 'Last ingest (' + ingest.mode + ')'),
      element('div', { class: 'meta' },
        [count(ingest.rows) + ' rows', count(ingest.dead_letters) + ' dead letters', count(ingest.batches) + ' batches',
          ingest.elapsed_seconds !== undefined && ingest.elapsed_seconds !== null ? 'in ' + seconds(ingest.elapsed_seconds) : null,
          ingest.generated_at ? 'ended ' + ingest.generated_at : null].filter(Boolean).join(' · ')),
      element('div', { class: 'meta', id: 'ingest-freshness' },
        'Freshness at commit: p50 ' + seconds(freshness.p50_seconds) + ' · p95 ' + seconds(freshness.p95_seconds) +
        ' · max ' + seconds(freshness.max_seconds) + ' over ' + count(freshness.samples) + ' events'),
      element('table', { id: 'ingest-partitions' },
        element('tr', {}, element('th', {}, 'Partition'), element('th', {}, 'Committed'), element('th', {}, 'High watermark'), element('th', {}, 'Lag (total ' + count(ingest.lag) + ')')),
        rows));
  }

  // Raw and compiled SQL live in sql.js, loaded the first time a node is
  // opened: on a large project they are most of the data, and the first paint
  // should not wait for them. A script tag works from file:// too.
  let sqlWaiters = null;
  function withSql(callback) {
    if (window.DVT_SQL) { callback(window.DVT_SQL); return; }
    if (sqlWaiters) { sqlWaiters.push(callback); return; }
    sqlWaiters = [callback];
    const script = document.createElement('script');
    script.src = 'sql.js';
    script.onload = script.onerror = () => {
      const waiting = sqlWaiters;
      sqlWaiters = null;
      waiting.forEach((wait) => wait(window.DVT_SQL || {}));
    };
    document.head.append(script);
  }

  function updateHash() {
    if (!selected) return;
    const parts = ['node=' + encodeURIComponent(selected.id)];
    if (selectedColumn) parts.push('column=' + encodeURIComponent(selectedColumn));
    if (focusInput.value.trim()) parts.push('focus=' + encodeURIComponent(focusInput.value.trim()));
    history.replaceState(null, '', '#' + parts.join('&'));
  }

  // ---- Search and focus ---------------------------------------------------------

  const searchInput = document.getElementById('search');
  const searchResults = document.getElementById('search-results');
  const focusInput = document.getElementById('focus');

  function search(text) {
    const query = text.trim().toLowerCase();
    if (!query) return [];
    const exact = [], prefix = [], contains = [], columns = [];
    for (const node of data.nodes) {
      const name = node.name.toLowerCase();
      if (name === query) exact.push({ node });
      else if (name.startsWith(query)) prefix.push({ node });
      else if (name.includes(query)) contains.push({ node });
      else if (columns.length < 50) {
        const column = (node.columns || []).find((column) => column.name.toLowerCase() === query);
        if (column) columns.push({ node, column: column.name });
      }
    }
    const order = { model: 0, seed: 1, source: 2, exposure: 3 };
    exact.sort((a, b) => (order[a.node.type] ?? 9) - (order[b.node.type] ?? 9));
    return [...exact, ...prefix, ...contains, ...columns].slice(0, 40);
  }

  function showResults() {
    const results = search(searchInput.value);
    searchResults.replaceChildren(...results.map((result, index) => element('li', {
      class: index === 0 ? 'active' : '',
      onmousedown: (event) => { event.preventDefault(); pick(result); },
    },
    element('span', { class: 'badge type', style: '--c:' + (COLORS[result.node.type] || '#718096') }, result.node.type),
    result.node.name + (result.column ? '.' + result.column : ''),
    element('span', { class: 'hint' }, result.node.path))));
    searchResults.hidden = !results.length;
    return results;
  }

  function pick(result) {
    searchResults.hidden = true;
    selectNode(result.node.id, { center: true });
    if (result.column) selectColumn(result.column);
  }

  searchInput.addEventListener('input', showResults);
  searchInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      const results = search(searchInput.value);
      if (results.length) pick(results[0]);
    } else if (event.key === 'Escape') {
      searchResults.hidden = true;
    }
  });
  searchInput.addEventListener('blur', () => { searchResults.hidden = true; });

  function applyFocus(expression) {
    focusInput.classList.remove('invalid');
    focusInput.title = '';
    if (!expression.trim()) { layout(null); fit(); return true; }
    try {
      const ids = selectNodes(expression);
      if (!ids.size) throw new Error('no node matches `' + expression + '`');
      layout(ids);
      fit();
      return true;
    } catch (error) {
      focusInput.classList.add('invalid');
      focusInput.title = error.message;
      status.textContent = error.message;
      return false;
    }
  }
  focusInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { applyFocus(focusInput.value); updateHash(); }
  });
  document.getElementById('reset').addEventListener('click', () => {
    focusInput.value = '';
    selected = null; selectedColumn = null; related = null; columnHighlight = null;
    details.replaceChildren(element('p', { class: 'empty' }, 'Click a node, or search for one, to see its details.'));
    history.replaceState(null, '', '#');
    applyFocus('');
  });

  // ---- The last run as a timeline: a row per worker, a bar per node ----------

  const timelinePanel = document.getElementById('timeline');
  const timelineToggle = document.getElementById('timeline-toggle');
  function drawTimeline(timeline) {
    const elapsed = Math.max(timeline.elapsed, ...timeline.bars.map((bar) => bar.end), 0.001);
    const longest = timeline.bars.reduce((best, bar) => (!best || bar.end - bar.start > best.end - best.start ? bar : best), null);
    const failed = timeline.bars.filter((bar) => bar.status === 'error' || bar.status === 'fail' || bar.status === 'partial success').length;
    const lanes = Array.from({ length: timeline.rows }, () => element('div', { class: 'lane' }));
    for (const bar of timeline.bars) {
      const seconds = (bar.end - bar.start).toFixed(2);
      lanes[bar.row].append(element('div', {
        class: 'bar status-' + bar.status.replace(' ', '-'),
        style: 'left:' + (100 * bar.start / elapsed) + '%;width:' + (100 * (bar.end - bar.start) / elapsed) + '%',
        title: nodeLabel(bar.id) + ' · ' + bar.status + ' · ' + seconds + 's',
        onclick: () => selectNode(bar.id, { center: true }),
      }, nodeLabel(bar.id)));
    }
    timelinePanel.replaceChildren(
      element('div', { class: 'summary' },
        'dvt ' + (timeline.command || 'run') + ': ' + timeline.bars.length + ' nodes on ' + timeline.rows +
        ' worker' + (timeline.rows === 1 ? '' : 's') + ' in ' + elapsed.toFixed(2) + 's' +
        (failed ? ' · ' + failed + ' failed' : '') +
        (longest ? ' · longest: ' + nodeLabel(longest.id) + ' (' + (longest.end - longest.start).toFixed(2) + 's)' : '')),
      ...lanes);
  }
  if (data.timeline && data.timeline.bars.length) {
    timelineToggle.hidden = false;
    timelineToggle.addEventListener('click', () => {
      timelinePanel.hidden = !timelinePanel.hidden;
      if (!timelinePanel.hidden) drawTimeline(data.timeline);
    });
  }

  // ---- Start: the URL hash can select a node and a column --------------------

  document.getElementById('project').textContent = data.project + ' · ' + data.target +
    (data.has_catalog ? '' : ' · no catalog');
  document.getElementById('legend').replaceChildren(...Object.entries(COLORS)
    .filter(([type]) => data.nodes.some((node) => node.type === type))
    .map(([type, color]) => element('span', { style: '--c:' + color }, type)));

  function applyHash() {
    const parameters = new URLSearchParams(location.hash.replace(/^#/, ''));
    const focus = parameters.get('focus');
    if (focus) { focusInput.value = focus; applyFocus(focus); }
    if (parameters.get('timeline') && data.timeline && data.timeline.bars.length) {
      timelinePanel.hidden = false;
      drawTimeline(data.timeline);
    }
    let node = parameters.get('node') && byId.get(parameters.get('node'));
    const query = parameters.get('search');
    if (!node && query) {
      searchInput.value = query;
      const results = search(query);
      if (results.length) node = results[0].node;
    }
    if (node) {
      selectNode(node.id, { center: true });
      const column = parameters.get('column');
      if (column) selectColumn(column);
    }
  }

  layout(null);
  resize();
  fit();
  applyHash();
  window.addEventListener('hashchange', applyHash);
})();
