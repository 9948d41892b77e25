// The admin editors' calls to /api/v1: same-origin, with the CSRF token of the page (the
// hidden csrf_token input every signed-in page carries, or data-csrf on the mount element).

import { requestJSON } from '../http.js';

export function csrfToken(el) {
  const own = el && el.closest && el.closest('[data-csrf]');
  if (own && own.dataset.csrf) {
    return own.dataset.csrf;
  }
  const input = document.querySelector('input[name=csrf_token]');
  return input ? input.value : '';
}

export function apiGet(url) {
  return requestJSON(url, { method: 'GET' });
}

export function apiPost(el, url, json) {
  return requestJSON(url, { method: 'POST', csrf: csrfToken(el), json });
}

export function apiPut(el, url, json) {
  return requestJSON(url, { method: 'PUT', csrf: csrfToken(el), json });
}

export function processUrl(processKey, tail = '') {
  return `/api/v1/admin/processes/${encodeURIComponent(processKey)}${tail}`;
}

/** A list out of an answer that may wrap it ({items: [...]}, {previews: [...]}, …). */
export function listOf(answer, ...names) {
  if (Array.isArray(answer)) {
    return answer;
  }
  for (const name of names) {
    if (answer && Array.isArray(answer[name])) {
      return answer[name];
    }
  }
  return [];
}

/** h('div', {className: 'x', dataset: {a: 1}}, child, 'text', …) */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'onClick') {
      element.addEventListener('click', value);
    } else if (name in element && name !== 'list') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A short readable text of a JSON value (strings without quotes). */
export function show(value) {
  if (value === undefined) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** "a=1，b=2" of an object; a value of another shape as JSON. */
export function showPairs(value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    return keys.length ? keys.map((key) => `${key} = ${show(value[key])}`).join('；') : '（无）';
  }
  if (Array.isArray(value)) {
    return value.map(showPairs).join(' | ') || '（无）';
  }
  return show(value);
}

export function errorText(error) {
  let text = error && error.message ? error.message : String(error);
  const details = error && error.details;
  if (Array.isArray(details) && details.length) {
    text += '：' + details.map((d) => (d && d.message) || show(d)).join('；');
  } else if (details && typeof details === 'object' && Object.keys(details).length) {
    text += '：' + Object.entries(details).map(([k, v]) => `${k} ${show(v)}`).join('；');
  }
  return text;
}
