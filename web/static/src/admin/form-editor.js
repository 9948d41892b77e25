// form-editor.js — a process's form (form-js schema) in @bpmn-io/form-js-editor 1.23, the same
// form-js version as the caseworkers' viewer. mountFormEditor(el, {schema, onChange}) ->
// {getSchema, destroy}; onChange(schema) is called, debounced, after every edit.
//
// The server checks submissions against the schema's `validate` (engine/forms.py: required,
// minLength/maxLength, pattern, min/max, validationType email/phone, options of selects), which
// is exactly what the editor's 校验 group writes: the schema is handed over as the editor saves
// it, nothing is dropped or rewritten.

import { FormEditor } from '@bpmn-io/form-js-editor';

import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-editor/dist/assets/properties-panel.css';
import './editors.css';

// form-js has no translate service: the editor's own words are matched whole in the palette
// and the properties panel (never in what the form's author typed, which sits in inputs).
const FORM_ZH = new Map(Object.entries({
  // palette
  Components: '组件',
  'Search components': '搜索组件',
  Input: '输入',
  Selection: '选择',
  Presentation: '展示',
  Containers: '容器',
  Action: '操作',
  'Text field': '单行文本',
  'Text area': '多行文本',
  Number: '数字',
  'Date time': '日期时间',
  'Expression': '表达式',
  'File picker': '文件上传',
  Checkbox: '复选框',
  Checklist: '多选列表',
  'Checkbox group': '多选组',
  'Radio group': '单选组',
  Select: '下拉选择',
  'Tag list': '标签列表',
  'Text view': '文本',
  'HTML view': 'HTML',
  'Image view': '图片',
  Table: '表格',
  'Document preview': '文件预览',
  iFrame: '内嵌页面',
  Spacer: '空白',
  Separator: '分隔线',
  Group: '分组',
  'Dynamic list': '动态列表',
  Button: '按钮',
  // properties panel groups and entries
  General: '常规',
  Validation: '校验',
  Condition: '显示条件',
  Layout: '布局',
  Appearance: '外观',
  Serialization: '序列化',
  Constraints: '约束',
  'Options source': '选项来源',
  'Static options': '固定选项',
  'Dynamic options': '动态选项',
  'Custom properties': '自定义属性',
  'Field label': '字段标签',
  Label: '标签',
  'Field description': '字段说明',
  Key: '键（数据字段名）',
  Path: '路径',
  'Default value': '默认值',
  Required: '必填',
  Disabled: '禁用',
  'Read only': '只读',
  'Minimum length': '最少字符数',
  'Maximum length': '最多字符数',
  Minimum: '最小值',
  Maximum: '最大值',
  'Validation pattern': '校验格式',
  'Custom regular expression': '自定义正则表达式',
  'Custom error message': '自定义错误提示',
  Email: '电子邮箱',
  Phone: '电话',
  Custom: '自定义',
  Value: '值',
  Type: '类型',
  Text: '文本',
  Columns: '列宽',
  Auto: '自动',
  Prefix: '前缀',
  Suffix: '后缀',
  Subtype: '子类型',
  Date: '日期',
  Time: '时间',
  'Date label': '日期标签',
  'Time label': '时间标签',
  'Decimal digits': '小数位数',
  Increment: '步长',
  'Output as string': '以文本输出',
  'Upload multiple files': '允许多个文件',
  'Supported file formats': '允许的文件格式',
  'Hide if': '隐藏条件',
  Height: '高度',
  'Input values key': '输入数据键',
  Searchable: '可搜索',
  'Disallow past dates': '不允许过去的日期',
  'Use 24h': '24 小时制',
  'List of items': '项目列表',
  'Allow add/delete items': '允许增删行',
  'Default number of items': '默认行数',
  'Show outline': '显示边框',
  Content: '内容',
  'Alternative text': '替代文本',
  'Image source': '图片地址',
  Checked: '已勾选',
  'Not checked': '未勾选',
  'Form submission': '表单提交',
  Submit: '提交',
  Reset: '重置',
  'Version tag': '版本标签',
  'Empty form': '空表单',
  'Drag and drop components here to start designing.': '把左侧的组件拖到这里开始设计表单。',
  'Use the library to add components.': '从左侧组件库添加组件。',
  'Build your form': '设计表单',
  'Select a form field in the canvas to edit its properties.': '在画布上选中字段以编辑其属性。',
}));

const TRANSLATED_AREAS = '.fjs-palette-container, .fjs-properties-container, .fjs-empty-editor';
// what the author wrote: field labels shown in the panel's header and on the canvas
const AUTHORED = '.bio-properties-panel-header-label, .fjs-form-field, input, textarea, [contenteditable]';

function translateNode(node) {
  const parent = node.parentElement;
  if (!parent || !parent.closest(TRANSLATED_AREAS) || parent.closest(AUTHORED)) {
    return;
  }
  const key = node.data.trim();
  const zh = key && FORM_ZH.get(key);
  if (zh) {
    node.data = node.data.replace(key, zh);
  }
}

function translateElement(element) {
  if (element.nodeType !== 1) {
    return;
  }
  for (const target of [element, ...element.querySelectorAll('[placeholder], [title]')]) {
    for (const name of ['placeholder', 'title']) {
      const value = target.getAttribute(name);
      const zh = value && FORM_ZH.get(value.trim());
      if (zh && target.closest(TRANSLATED_AREAS)) {
        target.setAttribute(name, zh);
      }
    }
  }
  const walker = document.createTreeWalker(element, 4);
  let node = walker.nextNode();
  while (node) {
    translateNode(node);
    node = walker.nextNode();
  }
}

function keepChinese(root) {
  const observer = new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === 'characterData') {
        translateNode(mutation.target);
      } else if (mutation.type === 'attributes') {
        translateElement(mutation.target);
      } else {
        mutation.addedNodes.forEach((node) => (node.nodeType === 3 ? translateNode(node) : translateElement(node)));
      }
    }
  });
  translateElement(root);
  observer.observe(root, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ['placeholder', 'title'],
  });
  return observer;
}

function parseSchema(schema) {
  const value = typeof schema === 'string' ? JSON.parse(schema) : schema;
  if (!value || typeof value !== 'object' || !Array.isArray(value.components)) {
    throw new Error('不是 form-js 表单（缺少 components 列表）');
  }
  return value;
}

/**
 * @param {HTMLElement} el
 * @param {{ schema: object|string, onChange?: (schema: object) => void, wait?: number }} options
 * @returns {{ getSchema(): object, ready: Promise<void>, destroy(): void }}
 */
export function mountFormEditor(el, { schema, onChange = () => {}, wait = 600 } = {}) {
  el.classList.add('kf-form-editor');
  el.textContent = '';
  const status = document.createElement('div');
  status.className = 'kf-editor-status';
  status.setAttribute('role', 'status');
  const canvas = document.createElement('div');
  canvas.className = 'kf-form-editor-canvas';
  el.append(canvas, status);

  const editor = new FormEditor({ container: canvas });
  const observer = keepChinese(canvas);
  let timer = null;
  let destroyed = false;

  const flush = () => {
    timer = null;
    if (destroyed) {
      return;
    }
    el.dataset.dirty = '0';
    onChange(editor.saveSchema());
  };

  const ready = (async () => {
    try {
      await editor.importSchema(parseSchema(schema));
      editor.on('changed', () => {
        el.dataset.dirty = '1';
        clearTimeout(timer);
        timer = setTimeout(flush, wait);
      });
      el.dataset.ready = '1';
    } catch (error) {
      status.textContent = `表单无法打开：${error.message}`;
      el.dataset.ready = '1';
      el.dataset.error = '1';
    }
  })();

  return {
    ready,
    editor,
    getSchema() {
      return editor.saveSchema();
    },
    flush() {
      if (timer) {
        clearTimeout(timer);
        flush();
      }
    },
    destroy() {
      if (timer) {
        clearTimeout(timer);
        flush(); // hand over an edit still waiting for its debounce
      }
      destroyed = true;
      clearTimeout(timer);
      observer.disconnect();
      editor.destroy();
      el.textContent = '';
    },
  };
}
