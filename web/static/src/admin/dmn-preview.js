// dmn-preview.js — 决策变更预览: the draft's decision tables evaluated against the inputs of the
// last recorded real evaluations (POST …/dmn-preview); per table, how many were evaluated and the
// cases whose outcome would change, each linked to its case page.

import './editors.css';
import { apiPost, errorText, h, listOf, processUrl, showPairs } from './editors-http.js';

/**
 * @param {HTMLElement} el
 * @param {{ processKey: string, getDraft?: () => Promise<{bpmn_xml: string, files: object}> }} options
 */
export function mountDmnPreview(el, { processKey, getDraft } = {}) {
  el.classList.add('kf-dmn-preview');
  el.textContent = '';
  const button = h('button', { type: 'button', className: 'primary', dataset: { testid: 'dmn-preview-run' } }, '预览决策变更');
  const status = h('div', { className: 'kf-editor-status', role: 'status' });
  const output = h('div', { className: 'kf-dmn-preview-output' });
  el.append(
    h('p', { className: 'muted small' }, '用草稿中的决策表重新评估每张表最近 200 次真实评估的输入，列出结果会改变的案件。'),
    h('div', { className: 'actions' }, button),
    status,
    output,
  );

  const run = async () => {
    button.disabled = true;
    el.dataset.busy = '1';
    status.textContent = '正在评估…';
    status.dataset.kind = 'info';
    try {
      const body = {};
      if (getDraft) {
        const draft = await getDraft();
        if (draft && draft.files) {
          body.files = draft.files;
        }
      }
      const answer = await apiPost(el, processUrl(processKey, '/dmn-preview'), body);
      status.textContent = '';
      delete status.dataset.kind;
      render(listOf(answer, 'previews', 'tables', 'decisions', 'items', 'results'));
    } catch (error) {
      status.textContent = `预览失败：${errorText(error)}`;
      status.dataset.kind = 'error';
    } finally {
      button.disabled = false;
      el.dataset.busy = '0';
      el.dataset.runs = String(Number(el.dataset.runs || 0) + 1);
    }
  };
  button.addEventListener('click', run);

  function render(previews) {
    output.textContent = '';
    if (!previews.length) {
      output.append(h('p', { className: 'empty' }, '草稿中没有决策表。'));
      return;
    }
    for (const preview of previews) {
      const changed = preview.changed || [];
      const section = h('section', {
        className: 'kf-dmn-preview-table card',
        dataset: { decision: preview.decision_id, testid: 'dmn-preview-table' },
      });
      section.append(
        h('div', { className: 'card-head' },
          h('strong', {}, `决策表 ${preview.decision_name || preview.decision_id}`),
          h('span', { className: 'muted small' }, preview.file || '')),
        h('p', { className: 'kf-dmn-preview-summary', dataset: { testid: 'dmn-preview-summary' } },
          preview.evaluated
            ? `重新评估了 ${preview.evaluated} 次已记录的评估，其中 ${changed.length} 次结果会改变。`
            : '尚无该决策表的评估记录。'),
      );
      if (changed.length) {
        section.append(h('table', { className: 'list compact kf-table' },
          h('thead', {}, h('tr', {},
            h('th', {}, '业务编号'), h('th', {}, '案件'), h('th', {}, '步骤'), h('th', {}, '输入'),
            h('th', {}, '变更前'), h('th', {}, '变更后'))),
          h('tbody', {}, changed.map((c) => h('tr', { dataset: { instance: String(c.instance_id), testid: 'dmn-preview-change' } },
            h('td', {}, h('a', { href: `/cases/${encodeURIComponent(c.instance_id)}` }, c.business_key || `#${c.instance_id}`)),
            h('td', {}, c.title || ''),
            h('td', {}, c.element_name || c.element_id || ''),
            h('td', { className: 'kf-pairs' }, showPairs(c.inputs)),
            h('td', { className: 'kf-before' }, showPairs(c.before)),
            h('td', { className: 'kf-after' }, c.error ? `无法计算：${c.error}` : showPairs(c.after)))))));
      }
      output.append(section);
    }
  }

  return {
    run,
    destroy() {
      el.textContent = '';
    },
  };
}
