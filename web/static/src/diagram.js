// A case's diagram: bpmn-js NavigatedViewer in .kf-diagram with completed / current / overdue
// markers. See docs/frontend.md for the data-attribute contract.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

function readMarks(container) {
  // the marks script follows the container; by id when the page puts it elsewhere
  let script = container.nextElementSibling;
  if (!(script && script.tagName === 'SCRIPT' && script.type === 'application/json')) {
    script = document.getElementById('kf-diagram-marks');
  }
  if (!script || !script.textContent.trim()) {
    return {};
  }
  try {
    return JSON.parse(script.textContent) || {};
  } catch {
    return {};
  }
}

function idList(value) {
  return Array.isArray(value) ? value.map(String) : [];
}

/**
 * Which marker each element gets: overdue wins over current, current over completed.
 *
 * @param {{ completed?: string[], current?: string[], overdue?: string[] }} marks
 * @returns {Map<string, 'kf-completed'|'kf-current'|'kf-overdue'>}
 */
export function markerByElement(marks) {
  const out = new Map();
  for (const id of idList(marks.completed)) {
    out.set(id, 'kf-completed');
  }
  for (const id of idList(marks.current)) {
    out.set(id, 'kf-current');
  }
  for (const id of idList(marks.overdue)) {
    out.set(id, 'kf-overdue');
  }
  return out;
}

function failureText(error) {
  if (error && error.status) {
    return `服务器返回 HTTP ${error.status}`;
  }
  if (error instanceof TypeError) {
    return '网络连接失败';
  }
  return (error && error.message) || '未知错误';
}

// Below this scale labels are unreadable; focus shows the open steps at READABLE_SCALE.
const MIN_READABLE_SCALE = 0.55;
const READABLE_SCALE = 0.9;

export async function mountDiagram(container, { onReady = () => {} } = {}) {
  const marks = readMarks(container);
  const links = marks.links && typeof marks.links === 'object' ? marks.links : {};
  const viewer = new NavigatedViewer({ container });
  try {
    const response = await fetch(container.dataset.xmlUrl, {
      credentials: 'same-origin',
      headers: { Accept: 'application/xml, text/xml, */*' },
    });
    if (!response.ok) {
      throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    }
    await viewer.importXML(await response.text());
  } catch (error) {
    viewer.destroy();
    container.textContent = '';
    const message = document.createElement('p');
    message.className = 'kf-diagram-error';
    message.setAttribute('role', 'alert');
    message.textContent = `流程图加载失败：${failureText(error)}`;
    container.appendChild(message);
    container.dataset.error = '1';
    container.dataset.ready = '1';
    return null;
  }

  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const eventBus = viewer.get('eventBus');

  for (const [id, marker] of markerByElement(marks)) {
    if (registry.get(id)) {
      canvas.addMarker(id, marker);
      if (marker !== 'kf-completed' && links[id]) {
        canvas.addMarker(id, 'kf-link');
      }
    }
  }

  eventBus.on('element.click', ({ element }) => {
    const url = links[element.id];
    if (url && canvas.hasMarker(element, 'kf-link')) {
      window.location.assign(url);
    }
  });

  // Large diagrams fitted whole are too small to read: then show the current (or overdue, or
  // else the last completed) steps at a readable scale; "全图" / "当前环节" buttons switch.
  let userMoved = false;
  const present = (ids) => idList(ids).map((id) => registry.get(id)).filter(Boolean);
  const focusElements = () => {
    // open work first (waiting events such as listeners may sit anywhere in the diagram)
    const open = [...present(marks.overdue), ...present(marks.current)];
    const tasks = open.filter((e) => /Task$/.test(e.type || ''));
    if (tasks.length) {
      return tasks;
    }
    return open.length ? open : present(marks.completed).slice(-1);
  };
  const whole = () => {
    canvas.resized();
    canvas.zoom('fit-viewport', 'auto');
  };
  const focus = () => {
    const elements = focusElements();
    if (!elements.length || !container.clientWidth) {
      whole();
      return;
    }
    canvas.resized();
    const minX = Math.min(...elements.map((e) => e.x));
    const minY = Math.min(...elements.map((e) => e.y));
    const maxX = Math.max(...elements.map((e) => e.x + (e.width || 0)));
    const maxY = Math.max(...elements.map((e) => e.y + (e.height || 0)));
    const scale = Math.min(
      READABLE_SCALE,
      (container.clientWidth * 0.9) / Math.max(maxX - minX, 1),
      (container.clientHeight * 0.9) / Math.max(maxY - minY, 1),
    );
    const width = container.clientWidth / scale;
    const height = container.clientHeight / scale;
    canvas.viewbox({
      x: (minX + maxX) / 2 - width / 2,
      y: (minY + maxY) / 2 - height / 2,
      width,
      height,
    });
  };
  const fit = () => {
    whole();
    if (canvas.zoom() < MIN_READABLE_SCALE) {
      focus();
    }
  };
  fit();
  for (const button of document.querySelectorAll('[data-kf-diagram]')) {
    button.addEventListener('click', () => {
      userMoved = true;
      (button.dataset.kfDiagram === 'whole' ? whole : focus)();
    });
  }
  // fit on first show and whenever the container changes size, until the user pans or zooms
  for (const type of ['wheel', 'mousedown', 'touchstart', 'keydown']) {
    container.addEventListener(type, () => (userMoved = true), { passive: true, once: true });
  }
  if (typeof ResizeObserver === 'function') {
    let last = `${container.clientWidth}x${container.clientHeight}`;
    new ResizeObserver(() => {
      const size = `${container.clientWidth}x${container.clientHeight}`;
      if (size !== last && container.clientWidth > 0) {
        last = size;
        if (userMoved) {
          canvas.resized();
        } else {
          fit();
        }
      }
    }).observe(container);
  }

  onReady(viewer);
  container.dataset.ready = '1';
  return viewer;
}
