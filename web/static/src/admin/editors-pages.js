// The editors' own pages mount themselves: [data-kf-page=diff] (版本对比) and
// [data-kf-page=file-editor] (one DMN table or form of the process's draft, edited alone and
// saved into the draft; deploy with a comment; the DMN change preview below a DMN table).

import { mountDiff } from './diff.js';
import { mountDmnEditor } from './dmn-editor.js';
import { mountDmnPreview } from './dmn-preview.js';
import { apiGet, apiPost, apiPut, errorText, processUrl } from './editors-http.js';
import { mountFormEditor } from './form-editor.js';
import { mountTrial } from './trial.js';

function versionArg(value) {
  return value === 'draft' ? 'draft' : Number(value);
}

async function fetchText(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) {
    throw new Error(`无法读取 ${url}（HTTP ${response.status}）`);
  }
  return response.text();
}

/** The process's draft; when the server has none yet, one made from the newest version. */
async function loadDraft(el, key, version) {
  try {
    return await apiGet(processUrl(key, '/draft'));
  } catch (error) {
    if (error.status !== 404) {
      throw error;
    }
  }
  const bpmn = await fetchText(processUrl(key, `/versions/${version}/xml`));
  const catalogue = await apiGet('/api/v1/admin/processes');
  const processes = Array.isArray(catalogue) ? catalogue : catalogue.processes || catalogue.items || [];
  const entry = processes.find((p) => p.key === key) || {};
  const newest = (entry.versions || []).find((v) => String(v.version) === String(version)) || {};
  const files = {};
  for (const name of newest.files || []) {
    files[name] = await fetchText(processUrl(key, `/versions/${version}/files/${encodeURIComponent(name)}`));
  }
  return apiPut(el, processUrl(key, '/draft'), { bpmn_xml: bpmn, files, base_version: Number(version) });
}

function mountFileEditorPage(el) {
  const { process: key, file, kind, version } = el.dataset;
  const status = el.querySelector('.kf-file-status');
  const holder = el.querySelector('.kf-file-editor');
  const deployForm = el.querySelector('.kf-deploy');
  const say = (text, kind = 'info') => {
    status.textContent = text;
    status.dataset.kind = kind;
  };
  let draft = null;
  let editor = null;
  let saving = Promise.resolve();

  const save = (content) => {
    saving = saving.then(async () => {
      say('正在保存…');
      el.dataset.saved = '0';
      try {
        draft = await apiPut(el, processUrl(key, '/draft'), {
          bpmn_xml: draft.bpmn_xml,
          files: { ...draft.files, [file]: content },
          base_version: draft.base_version,
          revision: draft.revision,
        });
        say(`已保存到草稿（第 ${draft.revision} 次保存）`);
        el.dataset.saved = '1';
      } catch (error) {
        say(`保存失败：${errorText(error)}`, 'error');
      }
    });
    return saving;
  };

  const ready = (async () => {
    try {
      draft = await loadDraft(el, key, version);
    } catch (error) {
      say(`草稿无法读取：${errorText(error)}`, 'error');
      el.dataset.ready = '1';
      return;
    }
    const content = (draft.files || {})[file];
    if (content === undefined) {
      say(`草稿中没有文件“${file}”`, 'error');
      el.dataset.ready = '1';
      return;
    }
    if (kind === 'dmn') {
      editor = mountDmnEditor(holder, { xml: content, onChange: save });
    } else {
      editor = mountFormEditor(holder, { schema: content, onChange: (schema) => save(JSON.stringify(schema, null, 2)) });
    }
    await editor.ready;
    const getDraft = async () => {
      if (editor.flush) {
        await editor.flush();
      }
      await saving;
      return { bpmn_xml: draft.bpmn_xml, files: draft.files };
    };
    const preview = el.querySelector('.kf-file-dmn-preview');
    if (preview) {
      mountDmnPreview(preview, { processKey: key, getDraft });
    }
    const trial = el.querySelector('.kf-file-trial');
    if (trial) {
      mountTrial(trial, { processKey: key, getDraft });
    }
    el.dataset.ready = '1';
  })();

  deployForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = deployForm.querySelector('button');
    button.disabled = true;
    try {
      await ready;
      if (editor && editor.flush) {
        await editor.flush();
      }
      await saving;
      const comment = deployForm.elements.comment.value.trim();
      const result = await apiPost(el, processUrl(key, '/draft/deploy'), { comment });
      const definition = result.definition || result;
      // the deploy ended the draft: later edits start a new one from the version just deployed
      draft = await apiGet(processUrl(key, '/draft'));
      say(result.created === false ? '内容与当前版本相同，未产生新版本' : `已部署为版本 ${definition.version}`, 'ok');
      el.dataset.deployed = String(definition.version || '');
    } catch (error) {
      say(`部署失败：${errorText(error)}`, 'error');
    } finally {
      button.disabled = false;
    }
  });
}

function mountAll() {
  for (const el of document.querySelectorAll('[data-kf-page=diff]')) {
    mountDiff(el, { processKey: el.dataset.process, a: versionArg(el.dataset.a), b: versionArg(el.dataset.b) });
  }
  for (const el of document.querySelectorAll('[data-kf-page=file-editor]')) {
    mountFileEditorPage(el);
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', mountAll);
} else {
  mountAll();
}
