// import.js — the catalogue's "导入流程图" panel: upload a diagram of another modeler to
// POST /api/v1/admin/import, show the report (key, executable or not, each translation to
// confirm, the problems per element in Chinese with what to change), then save the translated
// diagram as the draft of its key (renamed by the server when the key is changed) and open the
// modeler. Nothing is deployed here: the modeler deploys once the check passes. A diagram
// without a drawing is laid out (layout.js) before it is saved.
import { requestJSON } from '../http.js';
import { el } from './dom.js';
import { layoutDiagram } from './layout.js';

const MAX_BYTES = 5 * 1024 * 1024;
const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const KINDS = {
  timer: '定时器', condition: '连线条件', candidate_group: '候选组 → 部门', assignee: '办理人',
  form_key: '表单', due: '办理时限', decision: '决策表',
};
const TYPES = {
  process: '流程', userTask: '用户任务', manualTask: '人工任务', task: '任务', serviceTask: '服务任务',
  scriptTask: '脚本任务', businessRuleTask: '业务规则任务', sendTask: '发送任务', receiveTask: '接收任务',
  callActivity: '调用活动', subProcess: '子流程', transaction: '事务子流程', adHocSubProcess: '自由子流程',
  startEvent: '开始事件', endEvent: '结束事件', boundaryEvent: '边界事件',
  intermediateCatchEvent: '中间捕获事件', intermediateThrowEvent: '中间抛出事件',
  exclusiveGateway: '排他网关', parallelGateway: '并行网关', inclusiveGateway: '包容网关',
  eventBasedGateway: '事件网关', complexGateway: '复杂网关', sequenceFlow: '连线',
  dataStoreReference: '数据存储', dataObjectReference: '数据对象', lane: '泳道', participant: '池',
  timerEventDefinition: '定时器', conditionExpression: '条件',
};

function typeName(type) {
  if (!type) {
    return '';
  }
  const bare = type.includes(':') ? type.split(':').pop() : type;
  return TYPES[bare.charAt(0).toLowerCase() + bare.slice(1)] || bare;
}


function setStatus(node, text, kind = '') {
  node.textContent = text;
  node.classList.toggle('error', kind === 'error');
  node.classList.toggle('ok', kind === 'ok');
}

/** The message of a failed request, with the first problems when the server lists them. */
function errorText(error) {
  let text = error && error.message ? error.message : String(error);
  const details = error && error.details;
  if (Array.isArray(details) && details.length) {
    const lines = details.slice(0, 3).map((d) => {
      if (!d || typeof d !== 'object') {
        return typeof d === 'string' ? d : '';
      }
      return [d.message, d.hint].filter(Boolean).join('（') + (d.hint ? '）' : '');
    }).filter((line) => line && !text.includes(line));
    if (lines.length) {
      text += `：${lines.join('；')}`;
    }
  }
  return text;
}

/** Why an upload was refused: the server's message without the file name it starts with,
 * and what to do (the hint of its first problem). */
function uploadErrorText(error, name) {
  const details = Array.isArray(error && error.details) ? error.details : [];
  const first = details.find((d) => d && typeof d === 'object' && d.hint);
  if (!first) {
    return errorText(error);
  }
  let message = String(error.message || first.message || '');
  if (message.startsWith(`${name}：`)) {
    message = message.slice(name.length + 1);
  }
  return `${message}。${first.hint}`;
}

/** Names of the diagram's elements by id (the report names elements by id only). */
function readNames(xml) {
  const names = new Map();
  try {
    const doc = new DOMParser().parseFromString(xml, 'application/xml');
    for (const node of doc.querySelectorAll('[id]')) {
      names.set(node.getAttribute('id'), { name: node.getAttribute('name') || '', type: node.localName });
    }
  } catch {
    // names are a nicety: ids are shown anyway
  }
  return names;
}

/** ``xml`` with a drawing: laid out when it has none (``laidOut``); ``failed`` when the layout
 * failed, so the modeler could not show it. */
async function withDrawing(xml) {
  try {
    return { ...(await layoutDiagram(xml)), failed: false };
  } catch (error) {
    console.error('layout failed', error); // eslint-disable-line no-console
    return { xml, laidOut: false, failed: true };
  }
}

function elementLabel(names, id, type) {
  if (!id) {
    return el('span', { className: 'muted' }, '整个文件');
  }
  const known = names.get(id) || {};
  const kind = typeName(type || known.type);
  return el('span', { className: 'element' },
    kind ? el('span', { className: 'tag tag-type' }, kind) : null,
    ' ', known.name ? el('strong', {}, known.name) : null,
    ' ', el('code', { className: 'key' }, id));
}

/** The catalogue's import panel. */
export function mountImport(root) {
  const form = root.querySelector('form.import-form');
  const status = root.querySelector('.kf-status');
  const reportNode = root.querySelector('.import-report');
  const csrf = root.dataset.csrf;
  const fileName = root.querySelector('.file-name');
  let file = null;
  let report = null;
  let keyCheck = 0;

  form.elements.file.addEventListener('change', () => {
    const chosen = form.elements.file.files[0];
    fileName.textContent = chosen ? chosen.name : '未选择文件';
  });

  async function upload(key) {
    const body = new FormData();
    body.append('file', file, file.name);
    if (key) {
      body.append('key', key);
    }
    return requestJSON(root.dataset.api, { csrf, body });
  }

  /** The draft of ``key`` as stored (null: no process and no draft of that key). */
  async function draftOf(key) {
    try {
      return await requestJSON(`${root.dataset.processes}/${encodeURIComponent(key)}/draft`, { method: 'GET' });
    } catch (error) {
      if (error.status === 404) {
        return null;
      }
      throw error;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    file = form.elements.file.files[0] || null;
    reportNode.hidden = true;
    reportNode.replaceChildren();
    if (!file) {
      setStatus(status, '请选择要导入的 .bpmn 文件', 'error');
      return;
    }
    if (file.size > MAX_BYTES) {
      setStatus(status, `文件过大（${(file.size / 1048576).toFixed(1)} MB），最大 5 MB`, 'error');
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    setStatus(status, '正在上传并检查…');
    try {
      report = await upload(null);
      setStatus(status, '');
      const layout = await withDrawing(report.bpmn_xml);
      report.laidOut = layout.laidOut;
      report.drawn = !layout.failed;
      render();
    } catch (error) {
      report = null;
      setStatus(status, `无法导入“${file.name}”：${uploadErrorText(error, file.name)}`, 'error');
    } finally {
      button.disabled = false;
    }
  });

  function render() {
    const names = readNames(report.bpmn_xml);
    const { drawn, laidOut } = report;
    const keyInput = el('input', {
      name: 'key', value: report.key || '', maxlength: 100, required: true, autocomplete: 'off',
      pattern: '[A-Za-z_][A-Za-z0-9_]*', 'data-testid': 'import-key',
    });
    const keyNote = el('p', { className: 'small key-note', 'data-testid': 'import-key-note', role: 'status' });
    const executable = report.executable
      ? el('span', { className: 'tag tag-ok', 'data-testid': 'import-executable' }, '可以执行')
      : el('span', { className: 'tag tag-bad', 'data-testid': 'import-executable' }, '不可执行');
    const head = el('div', { className: 'import-head' },
      el('div', {},
        el('div', { className: 'muted small' }, '流程名称'),
        el('div', { className: 'import-name', 'data-testid': 'import-name' }, report.name || '（未命名）', ' ', executable)),
      el('label', {}, '流程标识', keyInput),
      keyNote);

    const boxes = [];
    const rows = report.translations.map((t, index) => {
      const box = el('input', { type: 'checkbox', name: 'confirm', value: index, 'aria-label': '确认此项转换' });
      boxes.push(box);
      return el('tr', {},
        el('td', { className: 'check-col' }, box),
        el('td', {}, elementLabel(names, t.element_id)),
        el('td', { className: 'nowrap' }, KINDS[t.kind] || t.kind),
        el('td', {}, el('code', { className: 'original' }, t.original), el('span', { className: 'arrow' }, ' → '),
          el('code', { className: 'translated' }, t.translated)));
    });
    const allBox = el('input', { type: 'checkbox', 'data-action': 'confirm-all', 'aria-label': '全部确认' });
    const translations = el('section', { className: 'import-section', 'data-testid': 'import-translations' },
      el('h3', {}, `转换 ${report.translations.length} 项`,
        report.translations.length ? el('span', { className: 'muted small' }, '（请逐项核对并勾选确认）') : null),
      report.translations.length
        ? el('div', { className: 'table-scroll' }, el('table', { className: 'list compact translations' },
          el('thead', {}, el('tr', {}, el('th', { className: 'check-col' }, allBox), el('th', {}, '元素'),
            el('th', {}, '类型'), el('th', {}, '原文 → 转换为'))),
          el('tbody', {}, rows)))
        : el('p', { className: 'muted' }, '无需转换：流程图已是本系统的写法。'));

    const byElement = new Map();
    for (const p of report.problems) {
      const id = p.element_id || '';
      if (!byElement.has(id)) {
        byElement.set(id, { type: p.element_type, items: [] });
      }
      byElement.get(id).items.push(p);
    }
    const problems = el('section', { className: 'import-section', 'data-testid': 'import-problems' },
      el('h3', {}, report.problems.length ? `无法运行之处 ${report.problems.length} 处` : '未发现无法运行之处'),
      report.problems.length
        ? el('ul', { className: 'plain problem-list' }, [...byElement].map(([id, group]) => el('li', {
          'data-element': id,
        }, el('div', { className: 'problem-element' }, elementLabel(names, id, group.type)),
        el('ul', { className: 'plain' }, group.items.map((p) => el('li', { className: 'problem' },
          el('span', { className: 'problem-message' }, p.message),
          p.hint ? el('span', { className: 'problem-hint' }, `修改：${p.hint}`) : null))))))
        : null,
      (report.problems.length || !report.executable) && drawn
        ? el('p', { className: 'muted small' }, '仍可保存为草稿并在建模器中修改；问题解决之前不能部署。')
        : null);

    const save = el('button', { type: 'button', className: 'primary', 'data-action': 'save-import' }, '保存为草稿并打开建模器');
    const saveNote = el('span', { className: 'muted small', 'data-testid': 'import-save-note' });
    const saveStatus = el('p', { className: 'kf-status', role: 'status', 'aria-live': 'polite' });
    const actions = el('div', { className: 'import-actions' }, save, saveNote);
    let undrawn = null;
    if (!drawn) {
      undrawn = el('p', { className: 'error-box', 'data-testid': 'import-undrawn' },
        '这个文件没有图形信息（BPMNDiagram），自动排版也未成功，建模器无法显示，因此不能保存为草稿。'
        + '请在原建模工具中导出包含图形的 .bpmn 文件后再导入。');
    } else if (laidOut) {
      undrawn = el('p', { className: 'small key-note warn', 'data-testid': 'import-laid-out', role: 'status' },
        '原图没有布局信息，已自动排版，请在建模器中检查（泳道、连线的走向和元素位置）。');
    }

    function refresh() {
      const open = boxes.filter((b) => !b.checked).length;
      save.disabled = open > 0 || !drawn;
      saveNote.textContent = open ? `还有 ${open} 项转换未确认` : (drawn ? '' : '没有图形信息，无法保存');
      allBox.checked = boxes.length > 0 && open === 0;
    }
    for (const box of boxes) {
      box.addEventListener('change', refresh);
    }
    allBox.addEventListener('change', () => {
      for (const box of boxes) {
        box.checked = allBox.checked;
      }
      refresh();
    });

    async function checkKey() {
      const key = keyInput.value.trim();
      const mine = ++keyCheck;
      keyNote.className = 'small key-note';
      if (!KEY_PATTERN.test(key)) {
        keyNote.textContent = '流程标识只能用英文字母、数字和下划线，且不能以数字开头';
        keyNote.classList.add('error');
        return;
      }
      keyNote.textContent = '';
      try {
        const draft = await draftOf(key);
        if (mine !== keyCheck) {
          return;
        }
        if (!draft) {
          keyNote.textContent = key === report.key ? '新流程：保存后成为它的第一份草稿。' : `新流程标识 ${key}：保存时流程图中的流程标识随之修改。`;
          keyNote.classList.add('ok');
        } else {
          keyNote.textContent = draft.saved
            ? `流程标识 ${key} 已有流程和草稿（${draft.updated_by || draft.created_by || ''} 编辑中）：保存会覆盖该草稿。如是另一个流程，请改用新的标识。`
            : `流程标识 ${key} 已被现有流程使用（最新 v${draft.base_version}）：保存后成为该流程的草稿，部署后成为新版本。如是另一个流程，请改用新的标识。`;
          keyNote.classList.add('warn');
        }
      } catch (error) {
        if (mine === keyCheck) {
          keyNote.textContent = errorText(error);
          keyNote.classList.add('error');
        }
      }
    }
    keyInput.addEventListener('change', checkKey);
    keyInput.addEventListener('input', () => {
      keyNote.textContent = '';
      keyNote.className = 'small key-note';
    });

    save.addEventListener('click', async () => {
      const key = keyInput.value.trim();
      if (!KEY_PATTERN.test(key)) {
        setStatus(saveStatus, '流程标识只能用英文字母、数字和下划线，且不能以数字开头', 'error');
        keyInput.focus();
        return;
      }
      save.disabled = true;
      try {
        let xml = report.bpmn_xml;
        if (key !== report.key) {
          setStatus(saveStatus, `正在把流程标识改为 ${key}…`);
          xml = (await upload(key)).bpmn_xml;
        }
        if (laidOut || key !== report.key) {
          const layout = await withDrawing(xml);
          if (layout.failed) {
            throw new Error('自动排版失败，无法保存没有图形信息的流程图');
          }
          xml = layout.xml;
        }
        const draft = await draftOf(key);
        let revision = 0;
        if (draft && draft.saved) {
          const who = draft.updated_by || draft.created_by || '其他管理员';
          if (!window.confirm(`流程 ${key} 已有草稿（${who} 第 ${draft.revision} 次保存）。用导入的流程图覆盖该草稿吗？`)) {
            setStatus(saveStatus, '未保存：可以改用新的流程标识。');
            return;
          }
          revision = draft.revision;
        } else if (draft && !window.confirm(`流程 ${key} 已存在（最新 v${draft.base_version}）。把导入的流程图保存为它的草稿吗？部署后成为新版本。`)) {
          setStatus(saveStatus, '未保存：可以改用新的流程标识。');
          return;
        }
        setStatus(saveStatus, '正在保存草稿…');
        await requestJSON(`${root.dataset.processes}/${encodeURIComponent(key)}/draft`, {
          method: 'PUT', csrf, json: { bpmn_xml: xml, revision },
        });
        setStatus(saveStatus, '已保存为草稿，正在打开建模器…', 'ok');
        window.location.assign(root.dataset.editUrl.replace('__KEY__', encodeURIComponent(key)));
      } catch (error) {
        setStatus(saveStatus, `保存失败：${errorText(error)}`, 'error');
      } finally {
        refresh();
      }
    });

    reportNode.replaceChildren(
      el('h3', { className: 'import-title' }, `导入报告：${file.name}`),
      ...[head, translations, problems, undrawn, actions, saveStatus].filter(Boolean));
    reportNode.hidden = false;
    refresh();
    checkKey();
  }
}
