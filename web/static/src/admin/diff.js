// diff.js — 版本对比: version b's diagram (bpmn-js NavigatedViewer) with the elements added
// (green) and changed (amber) against version a, version a's diagram with the removed ones (red)
// when there are any, and the server's list of changes (GET …/diff?a=&b=): element properties
// (department, due, form …), DMN rules and form fields. Elements are compared twice: by
// bpmn-js-differ on the two parsed models (what the canvas shows) and by the server (what the
// engine reads, e.g. spiffworkflow properties); the colours are the union of both.
//
// mountDiff(el, {processKey, a, b}); a and b: a version number or "draft".

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff as diffModels } from 'bpmn-js-differ';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import './editors.css';
import { apiGet, errorText, h, listOf, processUrl, show } from './editors-http.js';

const KIND_ZH = { added: '新增', removed: '删除', changed: '修改' };
const MARKER = { added: 'kf-diff-added', removed: 'kf-diff-removed', changed: 'kf-diff-changed' };

const TYPE_ZH = {
  'bpmn:UserTask': '用户任务',
  'bpmn:ServiceTask': '服务任务',
  'bpmn:ScriptTask': '脚本任务',
  'bpmn:BusinessRuleTask': '业务规则任务',
  'bpmn:ManualTask': '手工任务',
  'bpmn:Task': '任务',
  'bpmn:SendTask': '发送任务',
  'bpmn:ReceiveTask': '接收任务',
  'bpmn:CallActivity': '调用活动',
  'bpmn:SubProcess': '子流程',
  'bpmn:StartEvent': '开始事件',
  'bpmn:EndEvent': '结束事件',
  'bpmn:IntermediateCatchEvent': '中间捕获事件',
  'bpmn:IntermediateThrowEvent': '中间抛出事件',
  'bpmn:BoundaryEvent': '边界事件',
  'bpmn:ExclusiveGateway': '排他网关',
  'bpmn:ParallelGateway': '并行网关',
  'bpmn:InclusiveGateway': '包容网关',
  'bpmn:EventBasedGateway': '事件网关',
  'bpmn:SequenceFlow': '顺序流',
  'bpmn:Lane': '泳道',
  'bpmn:Participant': '池',
  'bpmn:Process': '流程',
  'bpmn:TextAnnotation': '注释',
  'bpmn:Association': '关联',
  'bpmn:MessageFlow': '消息流',
  'bpmn:DataObjectReference': '数据对象',
  'bpmn:DataStoreReference': '数据存储',
};

const PROPERTY_ZH = {
  name: '名称',
  lane: '泳道',
  department: '部门',
  department_expression: '部门表达式',
  form_key: '表单',
  form: '表单',
  due_working_days: '办理时限（工作日）',
  due_days: '办理时限（日历日）',
  due_hours: '办理时限（小时）',
  due_expression: '办理时限表达式',
  stage: '阶段',
  phase: '环节',
  candidate_role: '候选角色',
  assignee: '办理人',
  pausable: '可暂停计时',
  send_back_targets: '可退回步骤',
  source: '来源',
  start_departments: '可发起部门',
  starter_department: '记录发起部门的变量',
  condition: '条件',
  conditions: '条件',
  conditionExpression: '条件',
  timer: '定时器',
  timers: '定时器',
  called_decision: '决策表',
  calledDecisionId: '决策表',
  incoming: '流入',
  outgoing: '流出',
  type: '类型',
  default: '默认流',
  sourceRef: '起点',
  targetRef: '终点',
  extensionElements: '扩展属性',
  documentation: '说明',
  label: '标签',
  validate: '校验',
  required: '必填',
  key: '字段名',
  values: '选项',
};

export function typeZh(type) {
  if (!type) {
    return '';
  }
  // the differ names moddle types (bpmn:UserTask), the server BPMN local names (userTask)
  const local = type.replace(/^bpmn:/, '');
  return TYPE_ZH[`bpmn:${local.charAt(0).toUpperCase()}${local.slice(1)}`] || local;
}

function propertyZh(change) {
  if (change.label) {
    return change.label;
  }
  const name = change.property || change.name || change.key || change.field || '';
  return PROPERTY_ZH[name] || name;
}

function versionLabel(v) {
  return v === 'draft' ? '草稿' : `版本 ${v}`;
}

async function fetchXML(processKey, version) {
  if (version === 'draft') {
    const draft = await apiGet(processUrl(processKey, '/draft'));
    return draft.bpmn_xml;
  }
  const url = processUrl(processKey, `/versions/${encodeURIComponent(version)}/xml`);
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
  } catch {
    throw new Error('网络连接失败，请检查网络后重试');
  }
  if (!response.ok) {
    throw new Error(`${versionLabel(version)}的流程图无法读取（HTTP ${response.status}）`);
  }
  return response.text();
}

function asChanges(value) {
  if (Array.isArray(value)) {
    return value;
  }
  if (value && typeof value === 'object') {
    // {property: {before, after}} or {property: [before, after]}
    return Object.entries(value).map(([property, v]) => (Array.isArray(v)
      ? { property, before: v[0], after: v[1] }
      : { property, ...(v && typeof v === 'object' ? v : { after: v }) }));
  }
  return [];
}

function kindOf(item, fallback) {
  return item.change || item.kind || item.status || item.action || fallback;
}

/**
 * The server's VersionDiff in one shape: elements [{element_id, name, element_type, kind,
 * changes: [{property, label, before, after}]}], decisions [{file, decision_id, rules: [...]}],
 * forms [{file, fields: [...]}]. Accepts the lists as one (with a kind each) or split by kind.
 */
export function normalizeDiff(answer) {
  const out = { elements: [], decisions: [], forms: [] };
  if (!answer || typeof answer !== 'object') {
    return out;
  }
  const elements = answer.elements;
  const pushElements = (list, kind) => {
    for (const item of listOf(list)) {
      out.elements.push({
        element_id: item.element_id || item.id,
        name: item.name || item.element_name || '',
        element_type: item.element_type || item.type || '',
        kind: kindOf(item, kind),
        changes: asChanges(item.changes || item.properties || item.property_changes),
      });
    }
  };
  if (Array.isArray(elements)) {
    pushElements(elements, 'changed');
  } else if (elements && typeof elements === 'object') {
    for (const kind of ['added', 'removed', 'changed']) {
      pushElements(elements[kind], kind);
    }
  }
  for (const kind of ['added', 'removed', 'changed']) {
    if (Array.isArray(answer[kind])) {
      pushElements(answer[kind], kind);
    }
  }
  for (const table of listOf(answer.decisions || answer.dmn || answer.dmn_changes || answer.decision_tables)) {
    const rules = [];
    for (const kind of ['added', 'removed', 'changed']) {
      for (const rule of listOf(table[`rules_${kind}`] || (table.rules && !Array.isArray(table.rules) ? table.rules[kind] : null))) {
        rules.push({ ...rule, kind });
      }
    }
    for (const rule of Array.isArray(table.rules) ? table.rules : listOf(table.changes)) {
      rules.push({ ...rule, kind: kindOf(rule, 'changed') });
    }
    out.decisions.push({
      file: table.file || table.filename || '',
      decision_id: table.decision_id || table.id || '',
      name: table.name || '',
      kind: kindOf(table, 'changed'),
      changes: asChanges(table.properties),
      rules,
    });
  }
  for (const form of listOf(answer.forms || answer.form_changes)) {
    const fields = [];
    for (const kind of ['added', 'removed', 'changed']) {
      for (const field of listOf(form[`fields_${kind}`] || (form.fields && !Array.isArray(form.fields) ? form.fields[kind] : null))) {
        fields.push({ ...field, kind });
      }
    }
    for (const field of Array.isArray(form.fields) ? form.fields : listOf(form.changes)) {
      fields.push({ ...field, kind: kindOf(field, 'changed') });
    }
    out.forms.push({ file: form.file || form.filename || form.form_key || '', kind: kindOf(form, 'changed'), fields });
  }
  out.filesAdded = listOf(answer.files_added);
  out.filesRemoved = listOf(answer.files_removed);
  return out;
}

function entriesText(value) {
  if (value === undefined || value === null || value === '') {
    return '—';
  }
  if (Array.isArray(value)) {
    return value.map(show).join(' | ');
  }
  if (typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${PROPERTY_ZH[k] || k}：${show(v)}`).join('；');
  }
  return show(value);
}

/** A rule as the server describes it ({inputs: {label: text}, outputs: {…}, description}). */
function ruleText(rule) {
  if (!rule || typeof rule !== 'object') {
    return entriesText(rule);
  }
  if (!rule.inputs && !rule.outputs) {
    return entriesText(rule);
  }
  const part = (entries) => Object.entries(entries || {}).map(([label, text]) => `${label} ${text}`).join('，');
  const when = part(rule.inputs);
  const then = Object.entries(rule.outputs || {}).map(([label, text]) => `${label} = ${text}`).join('，');
  return `当 ${when || '（任意）'} 则 ${then || '（无）'}${rule.description ? `（${rule.description}）` : ''}`;
}

function changeList(changes, kind = 'changed') {
  if (!changes.length) {
    return '';
  }
  return h('ul', { className: 'kf-diff-props' }, changes.map((c) => {
    const before = c.before ?? c.old ?? c.oldValue;
    const after = c.after ?? c.new ?? c.newValue;
    const item = h('li', { dataset: { property: c.property || c.name || '' } }, h('span', { className: 'kf-diff-prop' }, propertyZh(c)), '：');
    if (kind === 'added') {
      item.append(entriesText(after)); // an added element: what it has
    } else if (kind === 'removed') {
      item.append(entriesText(before));
    } else {
      item.append(h('del', {}, entriesText(before)), ' → ', h('ins', {}, entriesText(after)));
    }
    return item;
  }));
}

function badge(kind) {
  return h('span', { className: `kf-diff-badge kf-diff-badge-${kind}` }, KIND_ZH[kind] || kind);
}

async function showDiagram(container, xml) {
  const viewer = new NavigatedViewer({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  // as tall as the diagram needs at the container's width (within limits), then fit
  const { inner } = canvas.viewbox();
  if (inner.width > 0 && container.clientWidth > 0) {
    const height = Math.round((container.clientWidth * inner.height) / inner.width) + 48;
    container.style.height = `${Math.max(220, Math.min(560, height))}px`;
    canvas.resized();
  }
  canvas.zoom('fit-viewport', 'auto');
  return viewer;
}

function mark(viewer, ids, kind) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const marked = [];
  for (const id of ids) {
    const element = registry.get(id);
    if (element && element.type !== 'bpmn:Process' && element.type !== 'bpmn:Collaboration') {
      canvas.addMarker(id, MARKER[kind]);
      if (element.type === 'bpmn:Lane' || element.type === 'bpmn:Participant') {
        canvas.addMarker(id, 'kf-diff-outline'); // keep the elements inside readable
      }
      marked.push(id);
    }
  }
  return marked;
}

/**
 * @param {HTMLElement} el
 * @param {{ processKey: string, a: number|string, b: number|string }} options
 */
export function mountDiff(el, { processKey, a, b } = {}) {
  el.classList.add('kf-diff');
  el.textContent = '';
  const status = h('div', { className: 'kf-editor-status', role: 'status' }, '正在比较…');
  const legend = h('p', { className: 'kf-diff-legend' },
    h('span', { className: 'kf-swatch kf-swatch-added' }), '新增　',
    h('span', { className: 'kf-swatch kf-swatch-changed' }), '修改　',
    h('span', { className: 'kf-swatch kf-swatch-removed' }), '删除（见下方旧版本图）');
  const headB = h('h2', {}, `${versionLabel(b)}（对比 ${versionLabel(a)}）`);
  const canvasB = h('div', { className: 'kf-diff-canvas', dataset: { testid: 'diff-canvas-b' } });
  const sectionA = h('section', { className: 'kf-diff-old', hidden: true },
    h('h2', {}, `${versionLabel(a)}：已删除的元素`));
  const canvasA = h('div', { className: 'kf-diff-canvas kf-diff-canvas-a', dataset: { testid: 'diff-canvas-a' } });
  sectionA.append(canvasA);
  const list = h('section', { className: 'kf-diff-list', dataset: { testid: 'diff-list' } });
  el.append(status, legend, headB, canvasB, sectionA, list);
  const viewers = [];

  const ready = (async () => {
    if (a === undefined || b === undefined || a === '' || b === '') {
      status.textContent = '请选择要比较的两个版本。';
      el.dataset.ready = '1';
      return;
    }
    try {
      const query = `?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`;
      const [xmlA, xmlB, answer] = await Promise.all([
        fetchXML(processKey, a),
        fetchXML(processKey, b),
        apiGet(processUrl(processKey, `/diff${query}`)),
      ]);
      const server = normalizeDiff(answer);

      const viewerB = await showDiagram(canvasB, xmlB);
      viewers.push(viewerB);
      const moddle = viewerB.get('moddle');
      const { rootElement: definitionsA } = await moddle.fromXML(xmlA);
      const model = diffModels(definitionsA, viewerB.getDefinitions());

      const ids = { added: new Set(Object.keys(model._added)), removed: new Set(Object.keys(model._removed)), changed: new Set(Object.keys(model._changed)) };
      for (const item of server.elements) {
        if (ids[item.kind]) {
          ids[item.kind].add(item.element_id);
        }
      }
      for (const id of ids.added) {
        ids.changed.delete(id);
      }
      const marked = {
        added: mark(viewerB, ids.added, 'added'),
        changed: mark(viewerB, ids.changed, 'changed'),
        removed: [],
      };
      if (ids.removed.size) {
        sectionA.hidden = false;
        const viewerA = await showDiagram(canvasA, xmlA);
        viewers.push(viewerA);
        marked.removed = mark(viewerA, ids.removed, 'removed');
        mark(viewerA, [...ids.changed].filter((id) => !ids.removed.has(id)), 'changed');
        if (!marked.removed.length) {
          sectionA.hidden = true;
        }
      }
      el.dataset.added = marked.added.join(' ');
      el.dataset.changed = marked.changed.join(' ');
      el.dataset.removed = marked.removed.join(' ');

      renderList(server, model, viewerB);
      status.textContent = '';
      el.dataset.ready = '1';
    } catch (error) {
      status.textContent = `无法比较：${errorText(error)}`;
      status.dataset.kind = 'error';
      el.dataset.ready = '1';
      el.dataset.error = '1';
    }
  })();

  function renderList(server, model, viewerB) {
    list.textContent = '';
    // elements: the server's list first (it names engine properties), then what only the
    // differ saw (layout-only changes are left out: they change nothing in the process)
    const rows = [...server.elements];
    const known = new Set(rows.map((r) => `${r.kind}:${r.element_id}`));
    const fromModel = (collection, kind) => {
      for (const [id, entry] of Object.entries(collection)) {
        const bo = entry.model || entry;
        if (!bo.$type || bo.$type.startsWith('bpmndi:') || bo.$type.startsWith('dc:') || known.has(`${kind}:${id}`)
          || (kind === 'changed' && known.has(`added:${id}`))) {
          continue;
        }
        if (!/^bpmn:/.test(bo.$type) || ['bpmn:Definitions', 'bpmn:Process', 'bpmn:Collaboration', 'bpmn:LaneSet', 'bpmn:ExtensionElements'].includes(bo.$type)) {
          continue;
        }
        const changes = kind === 'changed'
          ? Object.entries(entry.attrs || {}).map(([property, v]) => ({ property, before: v.oldValue, after: v.newValue }))
          : [];
        rows.push({ element_id: id, name: bo.name || '', element_type: bo.$type, kind, changes });
        known.add(`${kind}:${id}`);
      }
    };
    fromModel(model._added, 'added');
    fromModel(model._removed, 'removed');
    fromModel(model._changed, 'changed');
    const order = { added: 0, changed: 1, removed: 2 };
    rows.sort((x, y) => (order[x.kind] ?? 3) - (order[y.kind] ?? 3));

    const canvas = viewerB.get('canvas');
    const registry = viewerB.get('elementRegistry');
    list.append(h('h2', {}, `流程元素（${rows.length} 处变化）`));
    if (rows.length) {
      list.append(h('table', { className: 'list compact kf-table kf-diff-table', dataset: { testid: 'diff-elements' } },
        h('thead', {}, h('tr', {}, h('th', {}, '变化'), h('th', {}, '元素'), h('th', {}, '类型'), h('th', {}, '属性变化'))),
        h('tbody', {}, rows.map((row) => {
          const name = row.name || row.element_id;
          const cell = registry.get(row.element_id)
            ? h('a', { href: '#', onClick: (event) => { event.preventDefault(); focus(canvas, registry, row.element_id); } }, name)
            : name;
          return h('tr', { dataset: { element: row.element_id, kind: row.kind } },
            h('td', {}, badge(row.kind)),
            h('td', {}, cell, h('div', { className: 'muted small' }, row.element_id)),
            h('td', {}, typeZh(row.element_type)),
            h('td', {}, changeList(row.changes, row.kind)));
        }))));
    } else {
      list.append(h('p', { className: 'muted' }, '流程图没有变化。'));
    }

    if (server.filesAdded.length || server.filesRemoved.length) {
      list.append(h('p', { dataset: { testid: 'diff-files' } },
        server.filesAdded.length ? `新增文件：${server.filesAdded.join('、')}　` : '',
        server.filesRemoved.length ? `删除文件：${server.filesRemoved.join('、')}` : ''));
    }
    list.append(h('h2', {}, '决策表'));
    const tables = server.decisions.filter((t) => t.rules.length || t.changes.length || t.kind !== 'changed');
    if (!tables.length) {
      list.append(h('p', { className: 'muted', dataset: { testid: 'diff-no-dmn' } }, '决策表没有变化。'));
    }
    for (const table of tables) {
      list.append(h('div', { className: 'card', dataset: { testid: 'diff-dmn', decision: table.decision_id } },
        badge(table.kind), ' ', h('strong', {}, `${table.name || table.decision_id}`), h('span', { className: 'muted small' }, `　${table.decision_id} · ${table.file}`),
        changeList(table.changes),
        !table.rules.length ? null : h('table', { className: 'list compact kf-table' },
          h('thead', {}, h('tr', {}, h('th', {}, '变化'), h('th', {}, '规则'), h('th', {}, '变化前'), h('th', {}, '变化后'))),
          h('tbody', {}, table.rules.map((rule) => h('tr', { dataset: { rule: rule.rule_id || rule.id || '', kind: rule.kind } },
            h('td', {}, badge(rule.kind)),
            h('td', {}, rule.rule_id || rule.id || ''),
            h('td', {}, rule.kind === 'added' ? '—' : ruleText(rule.before ?? rule.old)),
            h('td', {}, rule.kind === 'removed' ? '—' : ruleText(rule.after ?? rule.new),
              rule.kind === 'changed' ? changeList(asChanges(rule.properties)) : null)))))));
    }

    list.append(h('h2', {}, '表单'));
    const forms = server.forms.filter((f) => f.fields.length || f.kind !== 'changed');
    if (!forms.length) {
      list.append(h('p', { className: 'muted', dataset: { testid: 'diff-no-forms' } }, '表单没有变化。'));
    }
    for (const form of forms) {
      list.append(h('div', { className: 'card', dataset: { testid: 'diff-form', file: form.file } },
        badge(form.kind), ' ', h('strong', {}, form.file),
        !form.fields.length ? null : h('table', { className: 'list compact kf-table' },
          h('thead', {}, h('tr', {}, h('th', {}, '变化'), h('th', {}, '字段'), h('th', {}, '类型'), h('th', {}, '属性变化'))),
          h('tbody', {}, form.fields.map((field) => h('tr', { dataset: { key: field.key || '', kind: field.kind } },
            h('td', {}, badge(field.kind)),
            h('td', {}, field.label ? `${field.label}（${field.key}）` : field.key || ''),
            h('td', {}, field.field_type || field.type || ''),
            h('td', {}, changeList(asChanges(field.changes || field.properties), field.kind))))))));
    }
  }

  return {
    ready,
    destroy() {
      viewers.forEach((viewer) => viewer.destroy());
      el.textContent = '';
    },
  };
}

function focus(canvas, registry, id) {
  const element = registry.get(id);
  if (!element) {
    return;
  }
  const viewbox = canvas.viewbox();
  const cx = element.x + (element.width || 0) / 2;
  const cy = element.y + (element.height || 0) / 2;
  canvas.viewbox({ x: cx - viewbox.width / 2, y: cy - viewbox.height / 2, width: viewbox.width, height: viewbox.height });
  canvas.addMarker(id, 'kf-diff-focus');
  setTimeout(() => canvas.removeMarker(id, 'kf-diff-focus'), 1500);
}
