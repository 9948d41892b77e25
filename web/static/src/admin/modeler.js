// The modeler page (/admin/processes/<key>/edit): bpmn-js Modeler with the properties panel and
// the kunflow property group, Chinese labels, browser lint (bpmnlint) and the server's check,
// the process's draft on the server (autosaved), deploy with a comment, and the tabs of the
// draft's DMN tables, forms, trial run and DMN change preview (the editors' mount functions).
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';

import BpmnModeler from 'bpmn-js/lib/Modeler';
import lintModule from 'bpmn-js-bpmnlint';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import { requestJSON } from '../http.js';
import { el } from './dom.js';
import { mountDmnEditor } from './dmn-editor.js';
import { mountDmnPreview } from './dmn-preview.js';
import { mountFormEditor } from './form-editor.js';
import { layoutDiagram } from './layout.js';
import kunflowPropertiesModule from './kunflow-properties.js';
import { lintConfig, ruleCode } from './lint.js';
import spiffworkflowDescriptor from './spiffworkflow.json';
import { mountTrial } from './trial.js';
import translateModule from './translate-zh.js';

const AUTOSAVE_MS = 2000;
const API = '/api/v1';

async function getJSON(url) {
  return requestJSON(url, { method: 'GET' });
}

function formKeys(files) {
  return Object.keys(files || {})
    .filter((name) => name.endsWith('.form') || name.endsWith('.json'))
    .map((name) => name.split('/').pop().replace(/\.(form|json)$/, ''))
    .sort();
}

function decisionIds(files) {
  const ids = [];
  for (const [name, text] of Object.entries(files || {})) {
    if (!name.endsWith('.dmn')) {
      continue;
    }
    const doc = new DOMParser().parseFromString(text || '', 'application/xml');
    for (const node of doc.getElementsByTagNameNS('*', 'decision')) {
      if (node.getAttribute('id')) {
        ids.push(node.getAttribute('id'));
      }
    }
  }
  return ids;
}

function hhmm(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) {
    return '';
  }
  return date.toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', hour12: false });
}

// The whole diagram in view, starting right of the palette (which floats over the canvas).
function fitBesidePalette(canvas) {
  canvas.zoom('fit-viewport');
  const container = canvas.getContainer();
  const palette = container.querySelector('.djs-palette');
  if (!palette) {
    return;
  }
  const offset = palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 12;
  const box = canvas.viewbox();
  if (offset <= 0 || !box.scale) {
    return;
  }
  const extra = offset / box.scale;
  canvas.viewbox({ x: box.x - extra, y: box.y, width: box.width + extra, height: box.height });
}


/** Lint results keyed by rule (Linter.lint) as the contract's problems. */
function problemsOfLint(results, registry) {
  const problems = [];
  for (const [rule, reports] of Object.entries(results || {})) {
    for (const report of reports) {
      const shape = registry.get(report.id);
      problems.push({
        element_id: report.id,
        element_type: shape ? shape.businessObject.$type.replace('bpmn:', '') : '',
        rule: ruleCode(rule),
        message: report.message,
        hint: '',
        severity: report.category === 'error' ? 'error' : 'warning',
        source: 'browser',
      });
    }
  }
  return problems;
}

/** Lint issues as the linting.completed event gives them ({elementId: [report]}). */
function problemsOfIssues(issues, registry) {
  const problems = [];
  for (const reports of Object.values(issues || {})) {
    for (const report of reports) {
      const id = report.actualElementId || report.id;
      const shape = registry.get(id);
      problems.push({
        element_id: id,
        element_type: shape ? shape.businessObject.$type.replace('bpmn:', '') : '',
        rule: ruleCode(report.rule),
        message: report.message,
        hint: '',
        severity: report.category === 'error' ? 'error' : 'warning',
        source: 'browser',
      });
    }
  }
  return problems;
}

export function mountModeler(root, options = {}) {
  const processKey = options.processKey || root.dataset.processKey;
  const csrf = options.csrf || root.dataset.csrf;
  const q = (selector) => root.querySelector(selector);
  const canvasEl = q('[data-role=canvas]');
  const panelEl = q('[data-role=properties]');
  const statusEl = q('[data-role=draft-status]');
  const problemsEl = q('[data-role=problems]');
  const base = `${API}/admin/processes/${encodeURIComponent(processKey)}`;

  const context = { departments: null, forms: null, decisions: null, userTasks: () => [] };
  const modeler = new BpmnModeler({
    container: canvasEl,
    propertiesPanel: {
      parent: panelEl,
      layout: { groups: { general: { open: true }, kunflow: { open: true } } },
    },
    linting: { bpmnlint: lintConfig(context), active: true },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      kunflowPropertiesModule,
      translateModule,
      lintModule,
      { kunflowContext: ['value', context] },
    ],
    moddleExtensions: { spiffworkflow: spiffworkflowDescriptor },
  });
  window.kunflowModeler = modeler; // for the browser tests and the console
  const registry = modeler.get('elementRegistry');
  context.userTasks = () => registry.filter((e) => e.type === 'bpmn:UserTask' || e.type === 'bpmn:ManualTask')
    .map((e) => ({ id: e.id, name: e.businessObject.name || '' }));

  const state = {
    draft: null,
    files: {},
    revision: null,
    baseVersion: null,
    dirty: false,
    saving: null,
    timer: null,
    lintProblems: [],
    serverProblems: [],
    serverOverlays: [],
    conflict: false,
  };

  // ------------------------------------------------------------ status line

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.dataset.state = kind;
  }

  function showSaved() {
    const d = state.draft || {};
    const by = d.updated_by || d.created_by || '';
    const who = state.me && state.me.username === by ? `${state.me.display_name}（${by}）` : by;
    const at = hhmm(d.updated_at || d.created_at);
    setStatus(`已自动保存 ${at}${who ? ` · ${who}` : ''}`, 'saved');
  }

  // ------------------------------------------------------------ problems

  function renderProblems() {
    const all = [...state.serverProblems, ...state.lintProblems.filter((p) => !state.serverProblems.some(
      (s) => s.element_id === p.element_id && s.message === p.message))];
    all.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
    const list = problemsEl.querySelector('ul');
    list.replaceChildren();
    const errors = all.filter((p) => p.severity === 'error').length;
    problemsEl.querySelector('[data-role=problem-count]').textContent = all.length
      ? `${errors} 个错误，${all.length - errors} 个提示` : '没有问题';
    problemsEl.dataset.errors = String(errors);
    for (const p of all) {
      const item = el('li', {
        class: `kf-problem kf-problem-${p.severity}`,
        dataset: { elementId: p.element_id || '', rule: p.rule || '', source: p.source || '' },
        tabindex: '0',
        onclick: () => selectElement(p.element_id),
        onkeydown: (e) => { if (e.key === 'Enter') { selectElement(p.element_id); } },
      },
      el('span', { class: 'kf-problem-level' }, p.severity === 'error' ? '错误' : '提示'),
      el('span', { class: 'kf-problem-message' }, p.message),
      p.hint ? el('span', { class: 'kf-problem-hint' }, p.hint) : null,
      el('code', { class: 'kf-problem-element' }, p.element_id || ''),
      p.source === 'server' ? el('span', { class: 'kf-problem-source' }, '服务器') : null);
      list.append(item);
    }
  }

  function selectElement(id) {
    const element = id && registry.get(id);
    if (!element) {
      return;
    }
    showTab('bpmn');
    modeler.get('canvas').scrollToElement(element, { top: 120, bottom: 120, left: 200, right: 200 });
    modeler.get('selection').select(element);
  }

  function clearServerMarks() {
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');
    for (const { id, overlay } of state.serverOverlays) {
      overlays.remove(overlay);
      if (registry.get(id)) {
        canvas.removeMarker(id, 'kf-server-error');
      }
    }
    state.serverOverlays = [];
  }

  function showServerProblems(problems) {
    clearServerMarks();
    state.serverProblems = (problems || []).map((p) => ({ ...p, source: 'server' }));
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');
    for (const p of state.serverProblems) {
      if (!p.element_id || !registry.get(p.element_id) || p.severity !== 'error') {
        continue;
      }
      canvas.addMarker(p.element_id, 'kf-server-error');
      const overlay = overlays.add(p.element_id, 'kf-server-problem', {
        position: { top: -12, left: -12 },
        html: el('div', { class: 'kf-server-badge', title: p.message }, '!'),
      });
      state.serverOverlays.push({ id: p.element_id, overlay });
    }
    renderProblems();
  }

  modeler.on('linting.completed', ({ issues }) => {
    state.lintProblems = problemsOfIssues(issues, registry);
    renderProblems();
  });

  async function lintNow() {
    const results = await modeler.get('linting').lint();
    state.lintProblems = problemsOfLint(results, registry);
    renderProblems();
    return state.lintProblems;
  }

  async function serverValidate() {
    const { xml } = await modeler.saveXML({ format: true });
    const answer = await requestJSON(`${API}/admin/validate`, {
      csrf,
      json: { filename: `${processKey}.bpmn`, bpmn_xml: xml, files: state.files },
    });
    const problems = [
      ...(answer.errors || []).map((p) => ({ ...p, severity: 'error' })),
      ...(answer.warnings || []).map((p) => ({ ...p, severity: 'warning' })),
    ];
    showServerProblems(problems);
    return problems;
  }

  // ------------------------------------------------------------ draft

  function adoptDraft(draft) {
    state.draft = draft;
    state.revision = draft.revision ?? null;
    state.baseVersion = draft.base_version ?? state.baseVersion;
    root.dataset.revision = String(state.revision ?? '');
  }

  function refreshContext() {
    // Files unknown (no draft API answer): the lint does not judge form and DMN references.
    context.forms = state.filesKnown ? formKeys(state.files) : null;
    context.decisions = state.filesKnown ? decisionIds(state.files) : null;
    modeler.get('linting').update();
  }

  // SpiffWorkflow reads some references as plain names (a multi-instance task's
  // loopDataInputRef / loopDataOutputRef hold variable names): moddle finds no element with
  // that id and would drop them on export. Put back a stand-in that exports the same name.
  function keepUnresolvedReferences(warnings) {
    const moddle = modeler.get('moddle');
    for (const w of warnings || []) {
      if (!/^unresolved reference/.test(w.message || '') || !w.element || !w.property || !w.value) {
        continue;
      }
      const current = w.element.get(w.property);
      if (current === undefined || current === null) {
        w.element.set(w.property, moddle.create('bpmn:DataInput', { id: w.value }));
      }
    }
  }

  async function loadDraft() {
    let draft;
    try {
      draft = await getJSON(`${base}/draft`);
    } catch (error) {
      if (error.status !== 404) {
        throw error;
      }
      // No draft API answer: start from the newest deployed version (saved on the first change).
      const definition = await getJSON(`${API}/definitions/${encodeURIComponent(processKey)}`);
      const xml = await fetch(`${API}/definitions/${encodeURIComponent(processKey)}/xml`,
        { credentials: 'same-origin' }).then((r) => r.text());
      let files = {};
      try {
        for (const name of definition.files || []) {
          const url = `${base}/versions/${definition.version}/files/${encodeURIComponent(name)}`;
          const response = await fetch(url, { credentials: 'same-origin' });
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          files[name] = await response.text();
        }
      } catch {
        files = null; // the version's files cannot be read: form and DMN references go unjudged
      }
      draft = { process_key: processKey, bpmn_xml: xml, files, base_version: definition.version,
        revision: null, created_by: null, updated_by: null };
    }
    state.filesKnown = Boolean(draft.files);
    state.files = { ...(draft.files || {}) };
    adoptDraft(draft);
    // A draft without a drawing (saved through the API, say) is laid out; the autosave stores it.
    const { xml, laidOut } = await layoutDiagram(draft.bpmn_xml);
    const { warnings } = await modeler.importXML(xml);
    keepUnresolvedReferences(warnings);
    fitBesidePalette(modeler.get('canvas'));
    refreshContext();
    if (laidOut) {
      const notice = el('p', { class: 'small key-note warn', 'data-testid': 'modeler-laid-out', role: 'status' },
        '原图没有布局信息，已自动排版，请检查泳道、连线的走向和元素位置；排版将随自动保存存入草稿。');
      q('[data-pane=bpmn]').prepend(notice);
      schedule();
    } else if (draft.saved === false || draft.revision === null || draft.revision === undefined) {
      setStatus('尚未保存草稿（修改后自动保存）', 'new');
    } else {
      showSaved();
    }
  }

  async function save() {
    if (state.conflict) {
      return;
    }
    if (state.saving) {
      await state.saving;
      if (!state.dirty) {
        return;
      }
    }
    clearTimeout(state.timer);
    state.timer = null;
    state.dirty = false;
    setStatus('正在保存…', 'saving');
    state.saving = (async () => {
      const { xml } = await modeler.saveXML({ format: true });
      const body = { bpmn_xml: xml, files: state.files, base_version: state.baseVersion };
      if (state.revision !== null && state.revision !== undefined) {
        body.revision = state.revision;
      }
      const draft = await requestJSON(`${base}/draft`, { method: 'PUT', csrf, json: body });
      adoptDraft(draft);
      if (!state.dirty) {
        showSaved();
      }
    })();
    try {
      await state.saving;
    } catch (error) {
      state.dirty = true;
      if (error.status === 409) {
        state.conflict = true;
        setStatus('草稿已被他人修改，请刷新页面后继续（本页的修改未保存）', 'conflict');
      } else {
        setStatus(`保存失败：${error.message}`, 'error');
      }
      throw error;
    } finally {
      state.saving = null;
    }
    if (state.dirty) {
      schedule();
    }
  }

  function schedule() {
    state.dirty = true;
    if (!state.conflict) {
      setStatus('有未保存的修改…', 'dirty');
    }
    clearTimeout(state.timer);
    state.timer = setTimeout(() => { save().catch(() => {}); }, AUTOSAVE_MS);
  }

  async function flush() {
    if (state.dirty || state.timer || state.saving) {
      await save();
    }
  }

  modeler.on('commandStack.changed', () => schedule());
  window.addEventListener('beforeunload', (event) => {
    if (state.dirty) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  // ------------------------------------------------------------ tabs

  const mounted = {};
  const tabs = root.querySelectorAll('[data-tab]');

  function fileChooser(pane, suffixes, mountFile) {
    const host = pane.querySelector('[data-role=editor-host]');
    const picker = pane.querySelector('[data-role=file-picker]');
    const names = Object.keys(state.files).filter((n) => suffixes.some((s) => n.endsWith(s))).sort();
    picker.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
    let current = null;
    const open = (name) => {
      if (current) {
        current.destroy();
        current = null;
      }
      host.replaceChildren();
      if (!name) {
        host.append(el('p', { class: 'kf-empty' }, '本流程没有此类文件'));
        return;
      }
      current = mountFile(host, name);
    };
    picker.onchange = () => open(picker.value);
    open(names[0]);
  }

  const panes = {
    dmn(pane) {
      fileChooser(pane, ['.dmn'], (host, name) => mountDmnEditor(host, {
        xml: state.files[name],
        onChange(xml) {
          state.files[name] = xml;
          refreshContext();
          schedule();
        },
      }));
    },
    form(pane) {
      fileChooser(pane, ['.form', '.json'], (host, name) => {
        let schema = {};
        try {
          schema = JSON.parse(state.files[name] || '{}');
        } catch {
          schema = {};
        }
        return mountFormEditor(host, {
          schema,
          onChange(next) {
            state.files[name] = JSON.stringify(next, null, 2);
            schedule();
          },
        });
      });
    },
    trial(pane) {
      mountTrial(pane.querySelector('[data-role=editor-host]'), { processKey, getDraft });
    },
    'dmn-preview': function dmnPreview(pane) {
      mountDmnPreview(pane.querySelector('[data-role=editor-host]'), { processKey, getDraft });
    },
  };

  function showTab(name) {
    for (const tab of tabs) {
      const active = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', active ? 'true' : 'false');
      tab.classList.toggle('active', active);
    }
    for (const pane of root.querySelectorAll('[data-pane]')) {
      pane.hidden = pane.dataset.pane !== name;
    }
    if (name !== 'bpmn' && !mounted[name] && panes[name]) {
      mounted[name] = true;
      panes[name](q(`[data-pane="${name}"]`));
    }
  }

  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      flush().catch(() => {});
      showTab(tab.dataset.tab);
    });
  }

  async function getDraft() {
    const { xml } = await modeler.saveXML({ format: true });
    return { bpmn_xml: xml, files: { ...state.files } };
  }

  // ------------------------------------------------------------ validate / deploy

  const validateButton = q('[data-role=validate]');
  validateButton.addEventListener('click', async () => {
    validateButton.disabled = true;
    try {
      const local = await lintNow();
      let remote = [];
      try {
        remote = await serverValidate();
      } catch (error) {
        setStatus(`服务器校验失败：${error.message}`, 'error');
      }
      const errors = [...local, ...remote].filter((p) => p.severity === 'error').length;
      problemsEl.scrollIntoView({ block: 'nearest' });
      problemsEl.dataset.checked = errors ? 'errors' : 'ok';
    } finally {
      validateButton.disabled = false;
    }
  });

  const dialog = q('[data-role=deploy-dialog]');
  const comment = dialog.querySelector('textarea[name=comment]');
  const dialogMessage = dialog.querySelector('[data-role=deploy-message]');
  const dialogProblems = dialog.querySelector('[data-role=deploy-problems]');
  const confirmButton = dialog.querySelector('[data-role=deploy-confirm]');

  function dialogSay(text, kind) {
    dialogMessage.textContent = text;
    dialogMessage.dataset.state = kind;
  }

  function listRefusal(problems) {
    dialogProblems.replaceChildren(...problems.map((p) => el('li', {
      class: 'kf-problem kf-problem-error',
      dataset: { elementId: p.element_id || '' },
      onclick: () => { dialog.close(); selectElement(p.element_id); },
    }, el('span', { class: 'kf-problem-message' }, p.message),
    el('code', { class: 'kf-problem-element' }, p.element_id || ''))));
  }

  q('[data-role=deploy]').addEventListener('click', () => {
    dialogSay('', '');
    dialogProblems.replaceChildren();
    confirmButton.disabled = false;
    dialog.showModal();
    comment.focus();
  });
  dialog.querySelector('[data-role=deploy-cancel]').addEventListener('click', () => dialog.close());

  confirmButton.addEventListener('click', async (event) => {
    event.preventDefault();
    const text = comment.value.trim();
    dialogProblems.replaceChildren();
    if (!text) {
      dialogSay('请填写部署说明（本次修改了什么、为什么）', 'error');
      comment.focus();
      return;
    }
    confirmButton.disabled = true;
    try {
      dialogSay('正在校验…', 'busy');
      const local = (await lintNow()).filter((p) => p.severity === 'error');
      if (local.length) {
        listRefusal(local);
        dialogSay(`图中有 ${local.length} 个错误，未部署：请先改正`, 'refused');
        return;
      }
      await flush();
      const remote = (await serverValidate()).filter((p) => p.severity === 'error');
      if (remote.length) {
        listRefusal(remote);
        dialogSay(`服务器校验发现 ${remote.length} 个错误，未部署：请先改正`, 'refused');
        return;
      }
      dialogSay('正在部署…', 'busy');
      let result;
      try {
        result = await requestJSON(`${base}/draft/deploy`, { csrf, json: { comment: text } });
      } catch (error) {
        if (error.status === 422 && Array.isArray(error.details)) {
          showServerProblems(error.details.map((p) => ({ ...p, severity: 'error' })));
          listRefusal(error.details);
          dialogSay(`${error.message}（未部署）`, 'refused');
          return;
        }
        throw error;
      }
      const definition = result.definition || result;
      const version = definition.version;
      const created = result.created !== false;
      const message = created ? `已部署为版本 ${version}` : `内容没有变化，未产生新版本（仍为版本 ${version}）`;
      dialogSay(message, 'deployed');
      setStatus(message, 'deployed');
      root.dataset.deployedVersion = String(version);
      state.baseVersion = version;
      state.revision = null; // the draft is gone: the next change starts a new one
      state.draft = null;
      comment.value = '';
    } catch (error) {
      dialogSay(`部署失败：${error.message}`, 'error');
    } finally {
      confirmButton.disabled = false;
    }
  });

  // ------------------------------------------------------------ start

  const ready = (async () => {
    try {
      state.me = await getJSON(`${API}/me`);
    } catch {
      state.me = null;
    }
    try {
      const departments = await getJSON(`${API}/departments`);
      context.departments = departments.items || [];
    } catch {
      context.departments = null; // lanes then count by their names only
    }
    await loadDraft();
    renderProblems();
    root.dataset.ready = '1';
  })().catch((error) => {
    setStatus(`加载失败：${error.message}`, 'error');
    root.dataset.ready = 'error';
  });

  showTab('bpmn');
  return {
    modeler,
    ready,
    save,
    getDraft,
    destroy() {
      clearTimeout(state.timer);
      modeler.destroy();
    },
  };
}
