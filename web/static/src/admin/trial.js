// trial.js — 试运行: run the draft in the engine's sandbox (POST …/trial replays the start data
// and every step in memory on each call; nothing is stored). mountTrial(el, {processKey,
// getDraft}) shows each ready task with its department and its form (form-js viewer, as the
// caseworkers see it), 完成此步 adds the step and runs again; completed steps, DMN results,
// the case data and any error are listed.

import { Form } from '@bpmn-io/form-js-viewer';

import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import './editors.css';
import { installTranslator } from '../dom-translate.js';
import { typeZh } from './diff.js';
import { apiPost, errorText, h, processUrl, show, showPairs } from './editors-http.js';

const STATUS_ZH = {
  running: '运行中',
  waiting: '等待办理',
  ready: '等待办理',
  completed: '已结束',
  ended: '已结束',
  error: '出错',
  failed: '出错',
};

function parseJSON(text, what) {
  const trimmed = (text || '').trim();
  if (!trimmed) {
    return {};
  }
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`${what}不是有效的 JSON：${error.message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what}须为 JSON 对象，如 {"amount": 100}`);
  }
  return value;
}

function department(task) {
  const name = task.department_name || task.department || task.department_code;
  const lane = task.lane && task.lane !== name ? `（泳道：${task.lane}）` : '';
  return name ? `${name}${lane}` : task.lane ? `泳道：${task.lane}（未对应部门）` : '（未确定部门）';
}

/** A due time the server gives as naive UTC ("2026-12-08T01:00:00"), in China's time. */
function dueText(value) {
  if (!value) {
    return '不会到期';
  }
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(date.getTime())) {
    return String(value);
  }
  return `${date.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false })} 到期`;
}

function errorOf(result) {
  const error = result.error;
  if (!error) {
    return null;
  }
  if (typeof error === 'string') {
    return error;
  }
  const where = error.element_name || error.element_id;
  return `${where ? `${where}：` : ''}${error.message || show(error)}`;
}

/**
 * @param {HTMLElement} el
 * @param {{ processKey: string, getDraft?: () => Promise<{bpmn_xml: string, files: object}> }} options
 */
export function mountTrial(el, { processKey, getDraft } = {}) {
  el.classList.add('kf-trial');
  el.textContent = '';
  let steps = [];
  let startData = {};
  let forms = [];
  let busy = false;
  // the department each user task went to, seen while it was ready: the completed steps the
  // server lists carry no department of their own
  const departments = new Map();

  const startInput = h('textarea', {
    className: 'kf-json',
    rows: 4,
    spellcheck: false,
    placeholder: '{"total_investment": 3}',
    dataset: { testid: 'trial-start-data' },
  });
  const startButton = h('button', { type: 'button', className: 'primary', dataset: { testid: 'trial-start' } }, '开始试运行');
  const status = h('div', { className: 'kf-editor-status', role: 'status' });
  const output = h('div', { className: 'kf-trial-output' });
  el.append(
    h('p', { className: 'muted small' }, '试运行在内存中执行当前草稿：不创建案件，不发送消息，不调用外部服务，待办列表中不会出现。'),
    h('label', { className: 'kf-trial-start' }, '开始数据（JSON）', startInput),
    h('div', { className: 'actions' }, startButton),
    status,
    output,
  );

  const destroyForms = () => {
    forms.forEach((form) => form.destroy());
    forms = [];
  };

  const run = async () => {
    if (busy) {
      return;
    }
    busy = true;
    el.dataset.busy = '1';
    status.textContent = '正在运行…';
    status.dataset.kind = 'info';
    try {
      const body = { start_data: startData, steps };
      if (getDraft) {
        const draft = await getDraft();
        if (draft && draft.bpmn_xml) {
          body.bpmn_xml = draft.bpmn_xml;
          body.files = draft.files || {};
        }
      }
      const result = await apiPost(el, processUrl(processKey, '/trial'), body);
      status.textContent = '';
      delete status.dataset.kind;
      await render(result);
    } catch (error) {
      status.textContent = `试运行失败：${errorText(error)}`;
      status.dataset.kind = 'error';
    } finally {
      busy = false;
      el.dataset.busy = '0';
      el.dataset.runs = String(Number(el.dataset.runs || 0) + 1);
    }
  };

  startButton.addEventListener('click', () => {
    try {
      startData = parseJSON(startInput.value, '开始数据');
    } catch (error) {
      status.textContent = error.message;
      status.dataset.kind = 'error';
      return;
    }
    steps = [];
    departments.clear();
    run();
  });

  async function renderReady(task) {
    const card = h('div', { className: 'kf-trial-task card', dataset: { element: task.element_id, testid: 'trial-ready' } });
    card.append(
      h('div', { className: 'card-head' },
        h('strong', {}, task.name || task.element_id),
        h('span', { className: 'kf-trial-dept', dataset: { testid: 'trial-department' } }, `部门：${department(task)}`)),
      h('p', { className: 'meta' },
        h('span', {}, `标识：${task.element_id}`),
        task.candidate_role ? h('span', {}, `候选角色：${task.candidate_role}`) : null,
        task.form_key ? h('span', {}, `表单：${task.form_key}`) : h('span', {}, '无表单')),
    );
    let form = null;
    if (task.form && Array.isArray(task.form.components)) {
      const holder = h('div', { className: 'kf-trial-form' });
      card.append(holder);
      form = new Form({ container: holder });
      forms.push(form);
      installTranslator(holder); // form-js's own words in Chinese, as on the task page
      try {
        await form.importSchema(task.form, {});
      } catch (error) {
        holder.textContent = `表单无法显示：${error.message}`;
        form = null;
      }
    }
    const extra = h('textarea', { className: 'kf-json', rows: 2, spellcheck: false, placeholder: '{}' });
    const note = h('div', { className: 'kf-editor-status' });
    const done = h('button', { type: 'button', className: 'primary', dataset: { testid: 'trial-complete' } }, '完成此步');
    done.addEventListener('click', () => {
      let data = {};
      try {
        if (form) {
          const { data: values, errors } = form.submit();
          const labels = new Map(form.get('formFieldRegistry').getAll().map((f) => [f.id, f.label || f.key]));
          const problems = Object.keys(errors || {}).map((id) => labels.get(id) || id);
          if (problems.length) {
            note.textContent = `表单校验未通过：${problems.join('、')}`;
            note.dataset.kind = 'error';
            return;
          }
          data = { ...values };
        }
        data = { ...data, ...parseJSON(extra.value, '附加数据') };
      } catch (error) {
        note.textContent = error.message;
        note.dataset.kind = 'error';
        return;
      }
      steps = [...steps, { element_id: task.element_id, data }];
      run();
    });
    card.append(h('label', { className: 'small' }, form ? '附加数据（JSON，可选）' : '本步数据（JSON）', extra), note, h('div', { className: 'actions' }, done));
    return card;
  }

  async function render(result) {
    destroyForms();
    output.textContent = '';
    const ended = Boolean(result.ended) || result.status === 'completed';
    const statusText = STATUS_ZH[result.status] || result.status || (ended ? '已结束' : '运行中');
    output.append(h('p', { className: 'kf-trial-state', dataset: { testid: 'trial-status', ended: ended ? '1' : '0' } },
      `状态：${statusText}`, ended ? '（流程已到达结束事件）' : '', `　已完成 ${steps.length} 步`));

    const error = errorOf(result);
    if (error) {
      output.append(h('div', { className: 'flash flash-error', role: 'alert', dataset: { testid: 'trial-error' } }, `出错：${error}`));
    }

    const ready = result.ready || [];
    ready.forEach((task) => departments.set(task.element_id, department(task)));
    const readySection = h('section', { className: 'kf-trial-section' }, h('h3', {}, `待办步骤（${ready.length}）`));
    if (!ready.length) {
      readySection.append(h('p', { className: 'muted' }, ended ? '流程已结束，没有待办步骤。' : '没有待办步骤。'));
    }
    for (const task of ready) {
      readySection.append(await renderReady(task));
    }
    output.append(readySection);

    const decisions = result.decisions || [];
    if (decisions.length) {
      output.append(h('section', { className: 'kf-trial-section' },
        h('h3', {}, '决策结果'),
        h('table', { className: 'list compact kf-table', dataset: { testid: 'trial-decisions' } },
          h('thead', {}, h('tr', {}, h('th', {}, '步骤'), h('th', {}, '决策表'), h('th', {}, '输入'), h('th', {}, '输出'))),
          h('tbody', {}, decisions.map((d) => h('tr', {},
            h('td', {}, d.element_name || d.element_id),
            h('td', {}, d.decision_id),
            h('td', {}, showPairs(d.inputs)),
            h('td', {}, `→ ${showPairs(d.outputs)}`)))))));
    }

    const completed = result.completed || [];
    output.append(h('section', { className: 'kf-trial-section' },
      h('h3', {}, `已完成步骤（${completed.length}）`),
      completed.length
        ? h('table', { className: 'list compact kf-table', dataset: { testid: 'trial-completed' } },
          h('thead', {}, h('tr', {}, h('th', {}, '序号'), h('th', {}, '步骤'), h('th', {}, '类型'), h('th', {}, '说明'))),
          h('tbody', {}, completed.map((step, i) => h('tr', { dataset: { element: step.element_id } },
            h('td', {}, String(i + 1)),
            h('td', {}, step.name || step.element_id, h('div', { className: 'muted small' }, step.element_id)),
            h('td', {}, typeZh(step.kind || step.element_type || '')),
            h('td', {}, [step.department_name || departments.has(step.element_id)
              ? `部门：${step.department_name || departments.get(step.element_id)}` : null,
              step.skipped ? '未调用（试运行中跳过）' : null, step.data ? showPairs(step.data) : null]
              .filter(Boolean).join(' '))))))
        : h('p', { className: 'muted' }, '尚无。')));

    const skipped = result.skipped || [];
    if (skipped.length) {
      output.append(h('section', { className: 'kf-trial-section' }, h('h3', {}, '未调用（试运行中跳过）'),
        h('ul', {}, skipped.map((t) => h('li', {}, `${t.name || t.element_id}（${typeZh(t.element_type || '')}）`)))));
    }
    const messages = result.messages || [];
    if (messages.length) {
      output.append(h('section', { className: 'kf-trial-section' }, h('h3', {}, '未发送的消息'),
        h('ul', {}, messages.map((m) => h('li', {}, `${m.name}${m.payload !== undefined && m.payload !== null ? `：${show(m.payload)}` : ''}`)))));
    }
    const timers = result.timers || [];
    if (timers.length) {
      output.append(h('section', { className: 'kf-trial-section' }, h('h3', {}, '定时器'),
        h('ul', {}, timers.map((t) => h('li', {}, `${t.name || t.element_id}：${dueText(t.due || t.due_at)}`)))));
    }

    output.append(h('section', { className: 'kf-trial-section' }, h('h3', {}, '案件数据'),
      h('pre', { className: 'kf-json-view', dataset: { testid: 'trial-data' } }, JSON.stringify(result.data || {}, null, 2))));
  }

  return {
    run,
    destroy() {
      destroyForms();
      el.textContent = '';
    },
  };
}
