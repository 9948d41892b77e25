// The task form: a form-js viewer in .kf-form, submitted and saved as draft by the page's
// [data-kf-action] buttons. See docs/frontend.md for the data-attribute contract.

import { Form } from '@bpmn-io/form-js-viewer';

import { installTranslator } from './dom-translate.js';
import {
  FILE_KEY_PREFIX,
  countErrors,
  describeFields,
  extractAttachments,
  getPath,
  pathKey,
  placeDetails,
  setPath,
} from './form-schema.js';
import { RequestFailed, requestJSON, uploadAttachment } from './http.js';
import { translateMessages } from './translate.js';

const REQUIRED_MESSAGES = new Set(['Field is required.', '此项为必填项。']);

function readJSONScript(id) {
  const element = document.getElementById(id);
  if (!element) {
    return null;
  }
  const text = element.textContent.trim();
  return text ? JSON.parse(text) : null;
}

/** The .kf-form-status line: a message, optionally a list of items, and a kind for styling. */
class StatusLine {
  constructor(container) {
    let element = document.querySelector('.kf-form-status');
    if (!element) {
      // the page forgot it: messages must still reach the user
      element = document.createElement('div');
      element.className = 'kf-form-status';
      element.setAttribute('role', 'status');
      container.parentNode.insertBefore(element, container);
    }
    this.element = element;
  }

  show(message, { kind = 'info', items = [] } = {}) {
    const element = this.element;
    element.textContent = '';
    element.dataset.kind = kind;
    const line = document.createElement('span');
    line.className = 'kf-form-status-message';
    line.textContent = message;
    element.appendChild(line);
    if (items.length) {
      const list = document.createElement('ul');
      list.className = 'kf-form-status-items';
      for (const item of items) {
        const entry = document.createElement('li');
        entry.textContent = item;
        list.appendChild(entry);
      }
      element.appendChild(list);
    }
  }

  clear() {
    this.element.textContent = '';
    delete this.element.dataset.kind;
  }
}

/** Disable the page's action buttons while a request is in flight, then restore them. */
function lockButtons() {
  const buttons = Array.from(document.querySelectorAll('[data-kf-action]'));
  const before = buttons.map((button) => button.disabled);
  buttons.forEach((button) => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  });
  return () => {
    buttons.forEach((button, i) => {
      button.disabled = before[i];
      button.removeAttribute('aria-busy');
    });
  };
}

function hhmm(iso) {
  const date = iso ? new Date(iso) : new Date();
  const shown = Number.isNaN(date.getTime()) ? new Date() : date;
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(shown.getHours())}:${pad(shown.getMinutes())}`;
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * Chinese validation messages, and no "required" error on a file picker whose attachments the
 * server already has (the picker itself only knows files chosen in this page).
 * form-js has no hook for either: the validator service's methods are wrapped on the instance.
 */
function adaptValidator(form, attachments) {
  const validator = form.get('validator');
  const registry = form.get('formFieldRegistry');
  const adjust = (messages, field, valuePath) => {
    let out = messages;
    if (field && field.type === 'filepicker' && valuePath && attachments.has(pathKey(valuePath))) {
      out = out.filter((message) => !REQUIRED_MESSAGES.has(message));
    }
    return translateMessages(out);
  };
  const byInstance = validator.validateFieldInstance;
  if (typeof byInstance === 'function') {
    validator.validateFieldInstance = function (instance, value) {
      return adjust(byInstance.call(this, instance, value), registry.get(instance.id), instance.valuePath);
    };
  }
  const byField = validator.validateField; // deprecated in form-js, still used by one command
  if (typeof byField === 'function') {
    validator.validateField = function (field, value) {
      return adjust(byField.call(this, field, value), field, null);
    };
  }
}

function filePickerInstances(form) {
  const registry = form.get('formFieldRegistry');
  return form
    .get('formFieldInstanceRegistry')
    .getAllKeyed()
    .filter((instance) => {
      const field = registry.get(instance.id);
      return field && field.type === 'filepicker' && !field.disabled;
    })
    .map((instance) => ({ ...instance, field: registry.get(instance.id) }));
}

function errorPathOf(instance) {
  return [instance.id, ...Object.values(instance.indexes || {})];
}

/** Show the attachments the server already has where the picker says "no files selected". */
function decorateFilePickers(form, container, attachments) {
  if (!attachments.size) {
    return;
  }
  let instances;
  try {
    instances = filePickerInstances(form);
  } catch {
    return; // before import
  }
  for (const instance of instances) {
    const ids = attachments.get(pathKey(instance.valuePath));
    if (!ids) {
      continue;
    }
    const domId = ['fjs-form', form._id, instance.id].join('-') + Object.values(instance.indexes || {}).map((i) => `_${i}`).join('');
    const input = document.getElementById(domId);
    const field = input && input.closest('.fjs-form-field');
    const label = field && field.querySelector('.fjs-filepicker-container > span');
    if (!label) {
      continue;
    }
    // rewrite Preact's own text node: replacing it would leave Preact updating a detached node
    const node = label.firstChild;
    if (node && node.nodeType === 3 && (node.data === 'No files selected' || node.data === '未选择文件')) {
      node.data = `已有 ${ids.length} 个附件（可再选择文件追加）`;
    }
    field.classList.add('kf-has-attachments');
  }
}

export async function mountForm(container, { onReady = () => {} } = {}) {
  const status = new StatusLine(container);
  let schema;
  let prefill;
  try {
    schema = readJSONScript('kf-form-schema');
    prefill = readJSONScript('kf-form-data') || {};
    if (!schema || !Array.isArray(schema.components)) {
      throw new Error('缺少表单定义');
    }
  } catch (error) {
    status.show(`表单加载失败：${error.message}`, { kind: 'error' });
    container.dataset.ready = '1';
    container.dataset.error = '1';
    throw error;
  }

  const readonly = container.dataset.readonly === '1';
  const csrf = container.dataset.csrf || '';
  const { data, attachments } = extractAttachments(schema, prefill);
  const uploaded = new WeakMap(); // File -> attachment id: a retried submit uploads nothing twice

  // No debounce: form-js would otherwise apply typed text 300 ms late, and a submit (or a file
  // chosen) in between would miss it.
  const form = new Form({ container, properties: { readOnly: readonly }, debounce: false });
  adaptValidator(form, attachments);
  installTranslator(container, () => decorateFilePickers(form, container, attachments));

  try {
    await form.importSchema(schema, data);
  } catch (error) {
    status.show(`表单加载失败：${error.message}`, { kind: 'error' });
    container.dataset.ready = '1';
    container.dataset.error = '1';
    throw error;
  }
  // the imported schema: form-js has given an id to any component that had none
  const fields = describeFields(form._getState().schema);

  let busy = false;

  const showErrors = (entries) => {
    const errors = {};
    for (const { path, messages } of entries) {
      const existing = getPath(errors, path);
      setPath(errors, path, [...(Array.isArray(existing) ? existing : []), ...messages]);
    }
    // form-js keeps errors by field id (and row index) in its state and has no public setter
    form._setState({ errors });
    focusFirstError();
  };

  const focusFirstError = () => {
    requestAnimationFrame(() => {
      const first = container.querySelector('.fjs-has-errors');
      if (first) {
        first.scrollIntoView({ block: 'center', behavior: 'smooth' });
        const input = first.querySelector('input:not([type=file]):not(.fjs-hidden), textarea, select, button');
        if (input) {
          input.focus({ preventScroll: true });
        }
      }
    });
  };

  /** Data with each file picker's files uploaded and replaced by attachment ids. */
  const uploadFiles = async (submitData, files) => {
    const result = clone(submitData) || {};
    const pickers = filePickerInstances(form);
    const pending = [];
    for (const instance of pickers) {
      const value = getPath(submitData, instance.valuePath);
      const chosen = typeof value === 'string' && value.startsWith(FILE_KEY_PREFIX) ? files.get(value) || [] : [];
      pending.push({ instance, chosen });
    }
    const total = pending.reduce((sum, { chosen }) => sum + chosen.filter((file) => !uploaded.has(file)).length, 0);
    let done = 0;
    for (const { instance, chosen } of pending) {
      const ids = [...(attachments.get(pathKey(instance.valuePath)) || [])];
      for (const file of chosen) {
        if (!uploaded.has(file)) {
          done += 1;
          status.show(`正在上传附件（${done}/${total}）：${file.name}`, { kind: 'progress' });
          try {
            if (!container.dataset.uploadUrl) {
              throw new RequestFailed('此表单不能上传附件');
            }
            uploaded.set(file, await uploadAttachment(container.dataset.uploadUrl, { csrf, file, field: instance.field.key }));
          } catch (error) {
            error.instance = instance;
            error.fileName = file.name;
            throw error;
          }
        }
        ids.push(uploaded.get(file));
      }
      setPath(result, instance.valuePath, ids);
    }
    return result;
  };

  /** Current data for a draft: chosen files are not sent, ids already uploaded are. */
  const draftData = () => {
    const state = clone(form._getState().data) || {};
    const files = form.get('fileRegistry');
    for (const instance of filePickerInstances(form)) {
      const value = getPath(state, instance.valuePath);
      const ids = [...(attachments.get(pathKey(instance.valuePath)) || [])];
      if (typeof value === 'string' && value.startsWith(FILE_KEY_PREFIX)) {
        for (const file of files.getFiles(value)) {
          if (uploaded.has(file)) {
            ids.push(uploaded.get(file));
          }
        }
      }
      setPath(state, instance.valuePath, ids.length ? ids : null);
    }
    return state;
  };

  const submit = async () => {
    if (readonly) {
      status.show('此表单为只读，不能提交', { kind: 'error' });
      return;
    }
    if (!container.dataset.submitUrl) {
      status.show('此表单没有提交地址', { kind: 'error' });
      return;
    }
    const { data: submitData, errors, files } = form.submit();
    const invalid = countErrors(errors);
    if (invalid) {
      status.show(`请更正标出的 ${invalid} 项`, { kind: 'error' });
      focusFirstError();
      return;
    }
    const unlock = lockButtons();
    container.setAttribute('aria-busy', 'true');
    try {
      let payload;
      try {
        payload = await uploadFiles(submitData, files);
      } catch (error) {
        const message = `附件“${error.fileName || ''}”上传失败：${error.message}`;
        if (error.instance) {
          showErrors([{ path: errorPathOf(error.instance), messages: [error.message] }]);
        }
        status.show(message, { kind: 'error' });
        return;
      }
      status.show('正在提交…', { kind: 'progress' });
      const answer = await requestJSON(container.dataset.submitUrl, { csrf, json: { data: payload } });
      if (answer && answer.redirect) {
        status.show('已提交，正在跳转…', { kind: 'success' });
        window.location.assign(answer.redirect);
        return;
      }
      status.show('已提交', { kind: 'success' });
    } catch (error) {
      reportFailure(error);
    } finally {
      container.removeAttribute('aria-busy');
      unlock();
    }
  };

  const reportFailure = (error) => {
    if (!(error instanceof RequestFailed)) {
      status.show(`操作失败：${error.message}`, { kind: 'error' });
      return;
    }
    if (error.status === 422 && error.details && typeof error.details === 'object') {
      const { placed, unplaced } = placeDetails(error.details, fields);
      if (placed.length) {
        showErrors(placed);
      }
      status.show(error.message, { kind: 'error', items: unplaced.map(({ key, message }) => `${key}：${message}`) });
      return;
    }
    status.show(error.message, { kind: 'error' });
  };

  const saveDraft = async () => {
    if (readonly) {
      status.show('此表单为只读，不能保存草稿', { kind: 'error' });
      return;
    }
    if (!container.dataset.draftUrl) {
      status.show('此表单不能保存草稿', { kind: 'error' });
      return;
    }
    const unlock = lockButtons();
    status.show('正在保存草稿…', { kind: 'progress' });
    try {
      const answer = await requestJSON(container.dataset.draftUrl, { csrf, json: { data: draftData() } });
      status.show(`草稿已保存（${hhmm(answer && answer.saved_at)}）`, { kind: 'success' });
    } catch (error) {
      reportFailure(error);
    } finally {
      unlock();
    }
  };

  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('[data-kf-action]');
    if (!button || busy || button.disabled) {
      return;
    }
    const action = button.dataset.kfAction;
    const run = action === 'submit' ? submit : action === 'draft' ? saveDraft : null;
    if (!run) {
      return;
    }
    event.preventDefault();
    busy = true;
    run().finally(() => {
      busy = false;
    });
  });

  onReady(form); // window.kunflow.form is set before tests see data-ready
  container.dataset.ready = '1';
  return form;
}
