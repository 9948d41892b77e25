// 流程热力图: the process's newest diagram in bpmn-js's NavigatedViewer, each task coloured by
// its median working days (green → yellow → red, scaled to the slowest element), with a badge
// of completed count · median and the number open now.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';

import { submitPeriodOnChange } from './departments.js';
import './heatmap.css';

// Below this scale labels and badges are unreadable (as on the case page's diagram).
const MIN_READABLE_SCALE = 0.55;
const READABLE_SCALE = 0.9;
const BADGE_ROOM_X = 130; // px
const BADGE_ROOM_Y = 50; // px
const BADGE_MIN_ZOOM = 0.12; // below it the badges would cover the diagram: hidden

/**
 * The fill of a median of `days` on a scale up to `max`: hue 120 (green) to 0 (red). The scale
 * is logarithmic: one element of 40 days would otherwise paint every 1–10 day task green.
 */
export function heatColour(days, max) {
  const t = max > 0 ? Math.min(1, Math.max(0, Math.log1p(days) / Math.log1p(max))) : 0;
  return `hsl(${Math.round(120 * (1 - t))}, 72%, 72%)`;
}

function badge(element) {
  const box = document.createElement('div');
  box.className = 'heat-badge';
  box.dataset.element = element.id;
  const parts = [];
  if (element.count) parts.push(`${element.median}日·${element.count}件`);
  if (element.open) parts.push(`在办 ${element.open}`);
  box.textContent = parts.join(' ｜ ');
  if (element.overdue) box.classList.add('has-overdue');
  box.title = `${element.name}：办结 ${element.count} 件，中位 ${element.median ?? '—'} 个工作日，`
    + `80% 在 ${element.p80 ?? '—'} 个工作日内；在办 ${element.open} 件（逾期 ${element.overdue} 件）`;
  return box;
}

function fail(container, text) {
  container.textContent = '';
  const p = document.createElement('p');
  p.className = 'heat-empty';
  p.setAttribute('role', 'alert');
  p.textContent = `流程图加载失败：${text}`;
  container.appendChild(p);
}

export async function mount(root, data) {
  submitPeriodOnChange(root);
  const container = root.querySelector('.heatmap-canvas');
  if (!container || !data.xmlUrl) return;
  const viewer = new NavigatedViewer({ container });
  try {
    const response = await fetch(data.xmlUrl, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`服务器返回 HTTP ${response.status}`);
    await viewer.importXML(await response.text());
  } catch (error) {
    viewer.destroy();
    fail(container, (error && error.message) || '未知错误');
    return;
  }
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const elements = (data.elements || []).filter((e) => registry.get(e.id));
  const max = Math.max(0, ...elements.map((e) => e.median || 0));
  for (const element of elements) {
    const shape = registry.get(element.id);
    if (element.count) {
      const visual = registry.getGraphics(shape).querySelector('.djs-visual > rect');
      if (visual) {
        visual.style.fill = heatColour(element.median || 0, max);
        visual.classList.add('heat-filled');
      }
    }
    // readable when the diagram is zoomed out (never below 80 % size); hidden when it is so
    // small that the badges would cover the diagram
    overlays.add(element.id, 'heat', {
      position: { bottom: -2, left: 0 },
      scale: { min: 0.8 },
      show: { minZoom: BADGE_MIN_ZOOM },
      html: badge(element),
    });
  }
  const legend = root.querySelector('.heatmap-legend');
  if (legend && elements.some((e) => e.count)) {
    legend.querySelector('.legend-max').textContent = String(max);
    legend.hidden = false;
  }
  // A large diagram fitted whole is too small to read: then show the elements that have
  // figures at a readable scale; the "全图" / "有数据的环节" buttons switch.
  const whole = () => {
    canvas.resized();
    canvas.zoom('fit-viewport', 'auto');
  };
  const focus = () => {
    const shapes = elements.map((e) => registry.get(e.id));
    if (!shapes.length || !container.clientWidth) {
      whole();
      return;
    }
    canvas.resized();
    const minX = Math.min(...shapes.map((e) => e.x));
    const minY = Math.min(...shapes.map((e) => e.y));
    const maxX = Math.max(...shapes.map((e) => e.x + (e.width || 0)));
    const maxY = Math.max(...shapes.map((e) => e.y + (e.height || 0)));
    // screen room for the badges: they hang below a task and reach past its right edge, and
    // keep at least 80 % of their size however far the diagram is zoomed out
    const scale = Math.min(READABLE_SCALE,
      Math.max(container.clientWidth - BADGE_ROOM_X, 1) / Math.max(maxX - minX, 1),
      Math.max(container.clientHeight - BADGE_ROOM_Y, 1) / Math.max(maxY - minY, 1));
    const width = container.clientWidth / scale;
    const height = container.clientHeight / scale;
    const spare = Math.max(0, width - (maxX - minX) - BADGE_ROOM_X / scale) / 2; // centre
    canvas.viewbox({ x: minX - 12 / scale - spare,
      y: (minY + maxY) / 2 - height / 2 + 8 / scale, width, height });
  };
  // On a phone even that is too small for a badge: then the slowest element (the server
  // sorts them slowest first) and its neighbours at a readable scale.
  const slowest = () => {
    const shape = elements.length && registry.get(elements[0].id);
    if (!shape) return;
    const width = container.clientWidth / MIN_READABLE_SCALE;
    const height = container.clientHeight / MIN_READABLE_SCALE;
    canvas.viewbox({ x: shape.x + shape.width / 2 - width / 2,
      y: shape.y + shape.height / 2 - height / 2, width, height });
  };
  const fit = () => {
    whole();
    if (canvas.zoom() < MIN_READABLE_SCALE) focus();
    if (canvas.zoom() < BADGE_MIN_ZOOM) slowest();
  };
  fit();
  let moved = false;
  for (const button of root.querySelectorAll('[data-heatmap-view]')) {
    button.hidden = false;
    button.addEventListener('click', () => {
      moved = true;
      if (button.dataset.heatmapView === 'whole') {
        whole();
      } else {
        focus();
        if (canvas.zoom() < BADGE_MIN_ZOOM) slowest();
      }
    });
  }
  for (const type of ['wheel', 'mousedown', 'touchstart']) {
    container.addEventListener(type, () => (moved = true), { passive: true, once: true });
  }
  // refit whenever the container changes size (a window resize, the page's scrollbar showing
  // up after the fit), until the user pans or zooms
  const refit = () => (moved ? canvas.resized() : fit());
  if (typeof ResizeObserver === 'function') {
    let last = `${container.clientWidth}x${container.clientHeight}`;
    new ResizeObserver(() => {
      const size = `${container.clientWidth}x${container.clientHeight}`;
      if (size !== last && container.clientWidth > 0) {
        last = size;
        refit();
      }
    }).observe(container);
  } else {
    window.addEventListener('resize', refit);
  }
  container.dataset.ready = '1';
}
