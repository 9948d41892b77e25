// pages.js — the admin pages' small scripts: the catalogue's "新建流程" form, the cases page
// (select, migrate with a dry run, batch suspend / resume / terminate) and the incident repair
// page (fix data and retry, skip, move a token). Everything goes through the JSON API; the
// pages mount themselves when their container is on the page.
import './pages.css';

import { requestJSON } from '../http.js';
import { el } from './dom.js';
import { mountImport } from './import.js';

const BATCH_NAMES = { suspend: '挂起', resume: '恢复', terminate: '终止' };
const ELEMENT_TYPES = {
  userTask: '用户任务', manualTask: '人工任务', task: '任务', serviceTask: '服务任务', scriptTask: '脚本任务',
  businessRuleTask: '业务规则任务', sendTask: '发送任务', receiveTask: '接收任务', callActivity: '调用活动',
  subProcess: '子流程', intermediateCatchEvent: '中间捕获事件', intermediateThrowEvent: '中间抛出事件',
  eventBasedGateway: '事件网关', exclusiveGateway: '排他网关', parallelGateway: '并行网关', inclusiveGateway: '包容网关',
  boundaryEvent: '边界事件', startEvent: '开始事件', endEvent: '结束事件',
};
const typeName = (type) => (type && (ELEMENT_TYPES[type] || ELEMENT_TYPES[type.charAt(0).toLowerCase() + type.slice(1)])) || type || '';
const TOKEN_STATES = { ready: '待办', started: '执行中', waiting: '等待中', error: '出错' };
const STATUS_NAMES = {
  running: '办理中', suspended: '已挂起', incident: '故障', completed: '已办结', terminated: '已终止',
};


function setStatus(node, text, kind = '') {
  if (!node) {
    return;
  }
  node.textContent = text;
  node.classList.toggle('error', kind === 'error');
  node.classList.toggle('ok', kind === 'ok');
}

function errorText(error) {
  let text = error && error.message ? error.message : String(error);
  const details = error && error.details;
  if (Array.isArray(details) && details.length) {
    const lines = details.slice(0, 5).map((d) => (d && (d.message || d.reason)) || (typeof d === 'string' ? d : '')).filter(Boolean);
    if (lines.length) {
      text += `：${lines.join('；')}`;
    }
  }
  return text;
}

async function busy(button, work) {
  if (button) {
    button.disabled = true;
  }
  try {
    return await work();
  } finally {
    if (button) {
      button.disabled = false;
    }
  }
}

// ------------------------------------------------------------------ catalogue

/** The "新建流程" form: POST the key, name and template, then open the modeler on the draft. */
export function mountCatalogue(root) {
  const form = root.querySelector('form.new-process-form');
  const status = root.querySelector('.kf-status');
  if (!form) {
    return;
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = form.elements.key.value.trim();
    const name = form.elements.name.value.trim();
    const template = form.elements.template.value;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      setStatus(status, '流程标识只能用英文字母、数字和下划线，且不能以数字开头', 'error');
      form.elements.key.focus();
      return;
    }
    if (!name) {
      setStatus(status, '请填写流程名称', 'error');
      form.elements.name.focus();
      return;
    }
    const button = form.querySelector('button[type=submit]');
    setStatus(status, '正在创建…');
    try {
      await busy(button, () => requestJSON(root.dataset.api, { csrf: root.dataset.csrf, json: { key, name, template } }));
      setStatus(status, '已创建，正在打开编辑器…', 'ok');
      window.location.assign(root.dataset.editUrl.replace('__KEY__', encodeURIComponent(key)));
    } catch (error) {
      setStatus(status, errorText(error), 'error');
    }
  });
}

// ------------------------------------------------------------------ instances

/** A move as the API gives it: [from, to] (or an object with from/to ids). */
function movePair(move) {
  return Array.isArray(move) ? move : [move.from_id ?? move.from, move.to_id ?? move.to];
}

function resultsTable(headings, rows) {
  return el('div', { className: 'table-scroll' },
    el('table', { className: 'list compact results-table', 'data-testid': 'results-table' },
      el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows)));
}

function readJSON(root, selector, fallback) {
  const node = root.querySelector(selector);
  if (!node) {
    return fallback;
  }
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
}

/** The cases page: selection, the migration panel (dry run, then migrate) and batch actions. */
export function mountInstances(root) {
  const csrf = root.dataset.csrf;
  const total = Number(root.dataset.total || 0);
  const filter = JSON.parse(root.dataset.filter || '{}');
  if (filter.version) {
    filter.version = Number(filter.version);
  }
  const { versions = [], elements = {} } = readJSON(root, 'script.kf-elements', {});
  const boxes = [...root.querySelectorAll('input[name=instance]')];
  const pageBox = root.querySelector('[data-action=select-page]');
  const countNode = root.querySelector('.selection-count');
  const allButton = root.querySelector('[data-action=select-all-matching]');
  const actionButtons = [...root.querySelectorAll('[data-action=open-migrate], [data-action=open-batch]')];
  const panels = {
    migrate: root.querySelector('[data-panel=migrate]'),
    batch: root.querySelector('[data-panel=batch]'),
  };
  const rowsById = new Map(
    [...root.querySelectorAll('tr[data-instance-id]')].map((tr) => [Number(tr.dataset.instanceId), tr]),
  );
  let allMatching = false;
  let batchAction = null;
  let dryRunDone = false;

  const selectedIds = () => boxes.filter((b) => b.checked).map((b) => Number(b.value));
  const selectionSize = () => (allMatching ? total : selectedIds().length);
  const target = () => (allMatching ? { filter } : { instance_ids: selectedIds() });
  const label = (id, businessKey) => businessKey || (rowsById.get(id) && rowsById.get(id).dataset.businessKey) || `#${id}`;

  function invalidateDryRun() {
    dryRunDone = false;
    const migrate = panels.migrate && panels.migrate.querySelector('[data-action=migrate]');
    if (migrate) {
      migrate.disabled = true;
    }
  }

  function refresh() {
    const n = selectionSize();
    if (allMatching) {
      countNode.textContent = `已选择全部 ${total} 件符合条件的案件`;
    } else {
      countNode.textContent = n ? `已选 ${n} 件` : '未选择案件';
    }
    for (const button of actionButtons) {
      button.disabled = n === 0;
    }
    if (pageBox) {
      const checked = boxes.filter((b) => b.checked).length;
      pageBox.checked = boxes.length > 0 && checked === boxes.length;
      pageBox.indeterminate = checked > 0 && checked < boxes.length;
    }
    if (allButton) {
      allButton.textContent = allMatching ? '只选本页勾选的案件' : `选择全部 ${total} 件符合条件的案件`;
    }
    if (panels.migrate && !panels.migrate.hidden) {
      renderMapping();
    }
    invalidateDryRun();
  }

  for (const box of boxes) {
    box.addEventListener('change', () => {
      allMatching = false;
      refresh();
    });
  }
  if (pageBox) {
    pageBox.addEventListener('change', () => {
      for (const box of boxes) {
        box.checked = pageBox.checked;
      }
      allMatching = false;
      refresh();
    });
  }
  if (allButton) {
    allButton.addEventListener('click', () => {
      allMatching = !allMatching;
      for (const box of boxes) {
        box.checked = allMatching;
      }
      refresh();
    });
  }

  function openPanel(name) {
    for (const [key, panel] of Object.entries(panels)) {
      if (panel) {
        panel.hidden = key !== name;
      }
    }
  }
  for (const button of root.querySelectorAll('[data-action=close]')) {
    button.addEventListener('click', () => openPanel(null));
  }

  // -------- migration
  function sourceVersions() {
    if (filter.version) {
      return [filter.version];
    }
    const picked = allMatching ? [...rowsById.values()] : selectedIds().map((id) => rowsById.get(id)).filter(Boolean);
    const found = [...new Set(picked.map((tr) => Number(tr.dataset.version)))];
    return found.length ? found.sort((a, b) => b - a) : versions.slice(0, 1);
  }

  function renderMapping() {
    const panel = panels.migrate;
    const body = panel && panel.querySelector('table.mapping tbody');
    const select = panel && panel.querySelector('[name=target_version]');
    if (!body || !select) {
      return;
    }
    const targetVersion = Number(select.value);
    const targets = elements[targetVersion] || [];
    const targetIds = new Set(targets.map((e) => e.id));
    const previous = new Map([...body.querySelectorAll('select')].map((s) => [s.dataset.from, s.value]));
    const seen = new Set();
    body.replaceChildren();
    for (const version of sourceVersions()) {
      for (const source of elements[version] || []) {
        if (seen.has(source.id)) {
          continue;
        }
        seen.add(source.id);
        const choice = el('select', { dataset: { from: source.id }, 'aria-label': `${source.name} 迁往` },
          // no "none" for an id the target keeps: the engine maps it to itself anyway
          targetIds.has(source.id) ? null : el('option', { value: '' }, '（目标版本中没有此环节）'),
          targets.map((t) => el('option', { value: t.id }, `${t.name}（${t.id}）`)));
        const keep = previous.get(source.id);
        choice.value = keep && targetIds.has(keep) ? keep : (targetIds.has(source.id) ? source.id : '');
        choice.addEventListener('change', invalidateDryRun);
        const row = el('tr', { dataset: { from: source.id }, className: targetIds.has(source.id) ? '' : 'unmatched' },
          el('td', {}, el('span', { className: 'title' }, source.name), el('span', { className: 'key' }, `${source.type} · ${source.id}`)),
          el('td', {}, choice));
        body.append(row);
      }
    }
    if (!seen.size) {
      body.append(el('tr', {}, el('td', { colspan: 2, className: 'muted' }, '没有可对应的环节')));
    }
  }

  function mapping() {
    const result = {};
    for (const select of panels.migrate.querySelectorAll('table.mapping select')) {
      if (select.value && select.value !== select.dataset.from) {
        result[select.dataset.from] = select.value;
      }
    }
    return result;
  }

  function renderMigration(report, dryRun) {
    const box = panels.migrate.querySelector('.results');
    const results = report.results || [];
    const ok = report.ok_count ?? results.filter((r) => r.ok).length;
    const refused = report.refused_count ?? results.length - ok;
    const head = dryRun
      ? `试迁移结果：${ok} 件可以迁移，${refused} 件不能迁移（未做任何改动）`
      : `迁移完成：${ok} 件已迁移到 v${report.target_version}，${refused} 件未迁移`;
    const rows = results.map((r) => el('tr', { dataset: { instanceId: r.instance_id }, className: r.ok ? 'ok' : 'refused' },
      el('td', { className: 'nowrap' }, label(r.instance_id, r.business_key)),
      el('td', {}, r.ok
        ? [el('span', { className: 'result-ok' }, dryRun ? '可以迁移' : '已迁移'),
          ...(r.rollback ? ['，', el('span', { className: 'result-rollback', 'data-testid': 'rollback-note' }, r.note || '回退到旧版本')] : [])]
        : el('span', { className: 'result-refused' }, `${dryRun ? '不能迁移' : '未迁移'}：${r.reason || '原因不明'}`)),
      el('td', { className: 'small muted' }, (r.moves || []).map(movePair).filter(([a, b]) => a !== b).map(([a, b]) => `${a} → ${b}`).join('，') || '—')));
    box.replaceChildren(
      el('p', { className: 'results-head', 'data-testid': 'results-head' }, head),
      resultsTable(['业务编号', '结果', '环节变化'], rows),
    );
    return ok;
  }

  async function runMigration(dryRun, button) {
    const panel = panels.migrate;
    const status = panel.querySelector('.kf-status');
    const targetVersion = Number(panel.querySelector('[name=target_version]').value);
    if (!selectionSize()) {
      setStatus(status, '请先勾选要迁移的案件', 'error');
      return;
    }
    setStatus(status, dryRun ? '正在试迁移…' : '正在迁移…');
    try {
      const report = await busy(button, () => requestJSON(root.dataset.migrateUrl, {
        csrf, json: { ...target(), target_version: targetVersion, mapping: mapping(), dry_run: dryRun, ...(root.dataset.process ? { process_key: root.dataset.process } : {}) },
      }));
      const movable = renderMigration(report, dryRun);
      if (dryRun) {
        setStatus(status, movable ? '试迁移完成，确认无误后点“执行迁移”（只迁移可以迁移的案件）。' : '没有可以迁移的案件：请调整环节对应关系后再试迁移。', movable ? 'ok' : 'error');
      } else {
        setStatus(status, '迁移完成。刷新页面可看到案件的新版本。', 'ok');
      }
      const migrate = panel.querySelector('[data-action=migrate]');
      dryRunDone = dryRun && movable > 0;
      migrate.disabled = !dryRunDone;
      if (!dryRun) {
        markReload();
      }
    } catch (error) {
      setStatus(status, errorText(error), 'error');
    }
  }

  if (panels.migrate) {
    const select = panels.migrate.querySelector('[name=target_version]');
    if (select) {
      select.addEventListener('change', () => {
        renderMapping();
        invalidateDryRun();
      });
      panels.migrate.querySelector('[data-action=dry-run]').addEventListener('click', (e) => runMigration(true, e.currentTarget));
      panels.migrate.querySelector('[data-action=migrate]').addEventListener('click', (e) => {
        if (dryRunDone) {
          runMigration(false, e.currentTarget);
        }
      });
    }
  }
  for (const button of root.querySelectorAll('[data-action=open-migrate]')) {
    button.addEventListener('click', () => {
      openPanel('migrate');
      renderMapping();
      panels.migrate.querySelector('.results').replaceChildren();
      setStatus(panels.migrate.querySelector('.kf-status'), '');
      invalidateDryRun();
    });
  }

  // -------- batch suspend / resume / terminate
  for (const button of root.querySelectorAll('[data-action=open-batch]')) {
    button.addEventListener('click', () => {
      batchAction = button.dataset.batch;
      const panel = panels.batch;
      openPanel('batch');
      panel.querySelector('.batch-title').textContent = `批量${BATCH_NAMES[batchAction]}（${selectionSize()} 件）`;
      const submit = panel.querySelector('[data-action=batch]');
      submit.textContent = `确定${BATCH_NAMES[batchAction]}`;
      submit.classList.toggle('danger', batchAction === 'terminate');
      submit.classList.toggle('primary', batchAction !== 'terminate');
      panel.querySelector('.results').replaceChildren();
      setStatus(panel.querySelector('.kf-status'), '');
      panel.querySelector('[name=reason]').focus();
    });
  }
  if (panels.batch) {
    panels.batch.querySelector('[data-action=batch]').addEventListener('click', async (event) => {
      const panel = panels.batch;
      const status = panel.querySelector('.kf-status');
      const reason = panel.querySelector('[name=reason]').value.trim();
      if (!reason) {
        setStatus(status, `请填写${BATCH_NAMES[batchAction]}原因`, 'error');
        panel.querySelector('[name=reason]').focus();
        return;
      }
      if (batchAction === 'terminate' && !window.confirm(`确定终止 ${selectionSize()} 件案件？终止后不能恢复。`)) {
        return;
      }
      setStatus(status, `正在${BATCH_NAMES[batchAction]}…`);
      try {
        const report = await busy(event.currentTarget, () => requestJSON(root.dataset.batchUrl, {
          csrf, json: { action: batchAction, reason, ...target() },
        }));
        const results = report.results || [];
        const ok = results.filter((r) => r.ok).length;
        const rows = results.map((r) => el('tr', { dataset: { instanceId: r.instance_id }, className: r.ok ? 'ok' : 'refused' },
          el('td', { className: 'nowrap' }, label(r.instance_id, r.business_key)),
          el('td', {}, r.ok ? el('span', { className: 'result-ok' }, '成功') : el('span', { className: 'result-refused' }, `未执行：${r.reason || '原因不明'}`)),
          el('td', {}, STATUS_NAMES[r.status] || r.status || '—')));
        panel.querySelector('.results').replaceChildren(
          el('p', { className: 'results-head', 'data-testid': 'results-head' }, `${BATCH_NAMES[batchAction]}：${ok} 件成功，${results.length - ok} 件未执行`),
          resultsTable(['业务编号', '结果', '现在状态'], rows),
        );
        for (const r of results) {
          const cell = rowsById.get(r.instance_id) && rowsById.get(r.instance_id).querySelector('[data-testid=status]');
          if (cell && r.status) {
            cell.textContent = STATUS_NAMES[r.status] || r.status;
            cell.className = `status status-${r.status}`;
          }
        }
        setStatus(status, '完成。', 'ok');
        markReload();
      } catch (error) {
        setStatus(status, errorText(error), 'error');
      }
    });
  }

  function markReload() {
    root.dataset.changed = '1';
  }

  refresh();
}

// ------------------------------------------------------------------ incidents

/** The incident page: retry with fixed data, skip the failing step, move a token. */
export function mountIncidents(root) {
  const csrf = root.dataset.csrf;
  const iid = root.dataset.instanceId;
  const base = `/api/v1/instances/${encodeURIComponent(iid)}`;
  const dataField = root.querySelector('textarea.json-editor');
  const repairStatus = root.querySelector('[data-panel=data] .kf-status');

  let original = {};
  try {
    original = JSON.parse(root.querySelector('script.kf-original-data').textContent) || {};
  } catch {
    original = {};
  }

  /** The fields the admin changed or added: only they are sent (a long value shown cut short
   * is never written back). */
  function changedData(edited) {
    const changed = {};
    for (const [key, value] of Object.entries(edited)) {
      if (!(key in original) || JSON.stringify(original[key]) !== JSON.stringify(value)) {
        changed[key] = value;
      }
    }
    return changed;
  }

  function editedData() {
    const text = dataField.value.trim();
    if (!text) {
      return {};
    }
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error('数据不是有效的 JSON，请检查括号、引号和逗号');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error('数据须为 JSON 对象（{ … }）');
    }
    return changedData(value);
  }

  function afterRepair(instance, doneText) {
    if (instance && instance.status === 'incident') {
      setStatus(repairStatus, '重新执行后仍然出错，已记录新的故障。请检查数据后再试。', 'error');
      return;
    }
    setStatus(repairStatus, doneText, 'ok');
    const url = new URL(root.dataset.listUrl, window.location.href);
    url.searchParams.set('resolved', root.dataset.businessKey);
    window.location.assign(url.toString());
  }

  root.querySelector('[data-action=retry]').addEventListener('click', async (event) => {
    let data;
    try {
      data = editedData();
    } catch (error) {
      setStatus(repairStatus, error.message, 'error');
      dataField.focus();
      return;
    }
    setStatus(repairStatus, '正在重试…');
    try {
      const instance = await busy(event.currentTarget, () => requestJSON(`${base}/retry`, { csrf, json: { data } }));
      afterRepair(instance, '已重试，案件恢复办理。');
    } catch (error) {
      setStatus(repairStatus, errorText(error), 'error');
    }
  });

  root.querySelector('[data-action=skip]').addEventListener('click', async (event) => {
    const reasonField = root.querySelector('[name=skip_reason]');
    const reason = reasonField.value.trim();
    if (!reason) {
      setStatus(repairStatus, '请填写跳过原因', 'error');
      reasonField.focus();
      return;
    }
    let data;
    try {
      data = editedData();
    } catch (error) {
      setStatus(repairStatus, error.message, 'error');
      return;
    }
    if (!window.confirm('确定跳过出错的环节？该环节不再执行，案件继续向下办理。')) {
      return;
    }
    setStatus(repairStatus, '正在跳过…');
    try {
      const instance = await busy(event.currentTarget, () => requestJSON(`${base}/skip`, { csrf, json: { reason, data } }));
      afterRepair(instance, '已跳过，案件继续办理。');
    } catch (error) {
      setStatus(repairStatus, errorText(error), 'error');
    }
  });

  mountTokens(root.querySelector('[data-panel=tokens]'), { csrf, base });
}

function mountTokens(panel, { csrf, base }) {
  if (!panel) {
    return;
  }
  const list = panel.querySelector('.tokens-active');
  const targetSelect = panel.querySelector('[name=activate]');
  const status = panel.querySelector('.kf-status');

  async function load() {
    try {
      const view = await requestJSON(`${base}/tokens`, { method: 'GET' });
      const active = view.active || [];
      list.replaceChildren(
        el('p', { className: 'small muted' }, active.length ? '勾选要取消的活动环节：' : '没有活动环节。'),
        el('ul', { className: 'plain token-list' }, active.map((t) => el('li', {},
          el('label', { className: 'check' },
            el('input', { type: 'checkbox', name: 'cancel', value: t.element_id }),
            `${t.name || t.element_id}`,
            el('span', { className: 'key' }, `${typeName(t.element_type)} · ${t.element_id} · ${TOKEN_STATES[t.state] || t.state || ''}`))))),
      );
      targetSelect.replaceChildren(
        el('option', { value: '' }, '（不激活）'),
        ...(view.targets || []).map((t) => el('option', { value: t.element_id }, `${t.name || t.element_id}（${typeName(t.element_type)} · ${t.element_id}）`)),
      );
    } catch (error) {
      list.replaceChildren(el('p', { className: 'error' }, `无法读取令牌：${errorText(error)}`));
    }
  }

  panel.querySelector('[data-action=move]').addEventListener('click', async (event) => {
    const cancel = [...panel.querySelectorAll('input[name=cancel]:checked')].map((b) => b.value);
    const activate = targetSelect.value || null;
    const reasonField = panel.querySelector('[name=token_reason]');
    const reason = reasonField.value.trim();
    if (!cancel.length && !activate) {
      setStatus(status, '请勾选要取消的环节或选择要激活的环节', 'error');
      return;
    }
    if (!reason) {
      setStatus(status, '请填写原因', 'error');
      reasonField.focus();
      return;
    }
    setStatus(status, '正在移动令牌…');
    try {
      const instance = await busy(event.currentTarget, () => requestJSON(`${base}/tokens`, { csrf, json: { cancel, activate, reason } }));
      setStatus(status, `已完成。案件现在状态：${STATUS_NAMES[instance.status] || instance.status || '—'}`, 'ok');
      reasonField.value = '';
      await load();
    } catch (error) {
      setStatus(status, errorText(error), 'error');
    }
  });

  load();
}

// ------------------------------------------------------------------ auto-mount

function mountPages() {
  const mounts = [
    ['#kf-new-process', mountCatalogue],
    ['#kf-import-process', mountImport],
    ['#kf-instances', mountInstances],
    ['#kf-incident', mountIncidents],
  ];
  for (const [selector, mount] of mounts) {
    const root = document.querySelector(selector);
    if (root && !root.dataset.kfMounted) {
      root.dataset.kfMounted = '1';
      mount(root);
    }
  }
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', mountPages);
  } else {
    mountPages();
  }
}
