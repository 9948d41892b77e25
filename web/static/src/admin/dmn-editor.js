// dmn-editor.js — a process's DMN file in dmn-js's Modeler (decision table view), labels in
// Chinese through dmn-js's translate service. mountDmnEditor(el, {xml, onChange}) -> {getXML,
// destroy}; onChange(xml) is called, debounced, with the saved XML after every edit.

import DmnModeler from 'dmn-js/lib/Modeler';

import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './editors.css';

// The texts dmn-js 17's decision table and DRD ask translate() for (keep in step on upgrade).
const DMN_ZH = {
  '"value"': '"值"',
  '"value", "value", ...': '"值", "值", ...',
  'Add cell description': '添加单元格说明',
  'Add input column left': '在左侧添加输入列',
  'Add input column right': '在右侧添加输入列',
  'Add input': '添加输入',
  'Add output column left': '在左侧添加输出列',
  'Add output column right': '在右侧添加输出列',
  'Add output': '添加输出',
  'Add predefined values': '添加预定义值',
  'Add rule above': '在上方添加规则',
  'Add rule below': '在下方添加规则',
  'Add rule': '添加规则',
  'Add values': '添加值',
  After: '晚于',
  And: '且',
  Annotation: '注释',
  Annotations: '注释',
  Before: '早于',
  Between: '介于',
  'Boolean value': '布尔值',
  'Change cell expression language': '更改单元格表达式语言',
  'Clear predefined values': '清除预定义值',
  'Comparison operator': '比较运算符',
  Comparison: '比较',
  'Copy input column': '复制输入列',
  'Copy output column': '复制输出列',
  'Copy rule': '复制规则',
  'Custom values': '自定义值',
  'Cut input column': '剪切输入列',
  'Cut output column': '剪切输出列',
  'Cut rule': '剪切规则',
  'Date and time value': '日期时间值',
  'Date and time': '日期时间',
  'Date value': '日期值',
  Date: '日期',
  'Decision name': '决策名称',
  'Decision name: ': '决策名称：',
  'Duration value': '时长值',
  'Edit boolean': '编辑布尔值',
  'Edit date and time': '编辑日期时间',
  'Edit date': '编辑日期',
  'Edit duration': '编辑时长',
  'Edit end date and time': '编辑结束日期时间',
  'Edit end date': '编辑结束日期',
  'Edit end time': '编辑结束时间',
  'Edit input': '编辑输入',
  'Edit number': '编辑数字',
  'Edit output': '编辑输出',
  'Edit start date and time': '编辑开始日期时间',
  'Edit start date': '编辑开始日期',
  'Edit start time': '编辑开始时间',
  'Edit string': '编辑文本',
  'Edit time': '编辑时间',
  Edit: '编辑',
  'Editing not supported for set expression language': '此表达式语言不支持可视化编辑',
  'End date and time': '结束日期时间',
  'End date': '结束日期',
  'End time': '结束时间',
  'End value': '结束值',
  'Enter expression': '输入表达式',
  Equals: '等于',
  Exactly: '精确',
  Exclude: '排除',
  'Expression language': '表达式语言',
  'Expression language: {expressionLanguageLabel}': '表达式语言：{expressionLanguageLabel}',
  Expression: '表达式',
  'Greater or equals': '大于等于',
  Greater: '大于',
  'Hit policy': '命中策略',
  'Hit policy:': '命中策略：',
  Include: '包含',
  'Input expression': '输入表达式',
  'Input expression: ': '输入表达式：',
  'Input label': '输入标签',
  'Input label: ': '输入标签：',
  'Input type': '输入类型',
  'Input values': '输入值',
  Input: '输入',
  'Less or equals': '小于等于',
  Less: '小于',
  'Match none': '都不匹配',
  'Match one': '匹配其一',
  'Move rule': '移动规则',
  'No values': '无值',
  No: '否',
  'Output label': '输出标签',
  'Output label: ': '输出标签：',
  'Output name': '输出名称',
  'Output name: ': '输出名称：',
  'Output type': '输出类型',
  'Output values': '输出值',
  Output: '输出',
  'Paste input column left': '粘贴输入列到左侧',
  'Paste input column right': '粘贴输入列到右侧',
  'Paste output column left': '粘贴输出列到左侧',
  'Paste output column right': '粘贴输出列到右侧',
  'Paste rule above': '粘贴规则到上方',
  'Paste rule below': '粘贴规则到下方',
  'Predefined values': '预定义值',
  'Range end operator': '范围结束运算符',
  'Range end value': '范围结束值',
  'Range start operator': '范围开始运算符',
  'Range start value': '范围开始值',
  Range: '范围',
  'Remove cell description': '删除单元格说明',
  'Remove input column': '删除输入列',
  'Remove output column': '删除输出列',
  'Remove rule': '删除规则',
  Resize: '调整宽度',
  'Set date and time': '设置日期时间',
  'Set date': '设置日期',
  'Set duration': '设置时长',
  'Set time': '设置时间',
  'Set value': '设置值',
  'Start date and time': '开始日期时间',
  'Start date': '开始日期',
  'Start time': '开始时间',
  'Start value': '开始值',
  'String value': '文本值',
  'Strings must be in double quotes': '文本须写在双引号中',
  'Test type': '比较方式',
  Then: '则',
  'Time value': '时间值',
  Time: '时间',
  Type: '类型',
  'Use now': '使用当前时间',
  'Use today': '使用今天',
  Value: '值',
  Values: '值',
  'View DRD': '查看决策需求图',
  When: '当',
  Yes: '是',
  'e.g. { example } ': '例如 { example } ',
  'e.g. { sample }': '例如 { sample }',
  // hit policies (translated by the hit policy select) and their explanations
  Unique: '唯一（Unique）',
  First: '首个（First）',
  Priority: '优先级（Priority）',
  Any: '任一（Any）',
  Collect: '汇总（Collect）',
  'Collect (Sum)': '汇总求和（Collect Sum）',
  'Collect (Min)': '汇总最小值（Collect Min）',
  'Collect (Max)': '汇总最大值（Collect Max）',
  'Collect (Count)': '汇总计数（Collect Count）',
  'Rule order': '规则顺序（Rule order）',
  'Output order': '输出顺序（Output order）',
  'No overlap is possible and all rules are disjoint. Only a single rule can be matched': '规则互不重叠，只会匹配一条规则',
  'Rules may overlap. The first matching rule will be chosen': '规则可以重叠，取第一条匹配的规则',
  'Rules may overlap. The one with the highest priority will be chosen': '规则可以重叠，取优先级最高的规则',
  'Rules may overlap. Their output have to match': '规则可以重叠，但匹配规则的输出必须相同',
  'Collects the values of all matching rules': '收集所有匹配规则的输出',
  'Collects the values of all matching rules and sums up to a single value': '收集所有匹配规则的输出并求和',
  'Collects the values of all matching rules and uses the lowest value': '收集所有匹配规则的输出并取最小值',
  'Collects the values of all matching rules and uses the highest value': '收集所有匹配规则的输出并取最大值',
  'Collects the values of all matching rules and counts the number of them': '收集所有匹配规则的输出并计数',
  'Collects the values of all matching rules in rule order': '按规则顺序收集所有匹配规则的输出',
  'Collects the values of all matching rules in decreasing output priority order': '按输出优先级从高到低收集所有匹配规则的输出',
};

export function translateDmn(template, replacements = {}) {
  const text = Object.prototype.hasOwnProperty.call(DMN_ZH, template) ? DMN_ZH[template] : template;
  return text.replace(/{([^}]+)}/g, (all, key) => (key in replacements ? replacements[key] : all));
}

const TranslateModule = { translate: ['value', translateDmn] };

/**
 * @param {HTMLElement} el
 * @param {{ xml: string, onChange?: (xml: string) => void, wait?: number }} options
 * @returns {{ getXML(): Promise<string>, ready: Promise<void>, destroy(): void }}
 */
export function mountDmnEditor(el, { xml, onChange = () => {}, wait = 600 } = {}) {
  el.classList.add('kf-dmn-editor');
  el.textContent = '';
  const tabs = document.createElement('div');
  tabs.className = 'kf-dmn-tabs';
  tabs.setAttribute('role', 'tablist');
  const canvas = document.createElement('div');
  canvas.className = 'kf-dmn-canvas';
  const status = document.createElement('div');
  status.className = 'kf-editor-status';
  status.setAttribute('role', 'status');
  el.append(tabs, canvas, status);

  // dmn-js gives each view type its own options (a view's additionalModules replace common's)
  const withChinese = { additionalModules: [TranslateModule] };
  const modeler = new DmnModeler({
    container: canvas,
    drd: withChinese,
    decisionTable: withChinese,
    literalExpression: withChinese,
    boxedExpression: withChinese,
  });
  let timer = null;
  let destroyed = false;
  let live = false; // edits count once the import (which fires change events too) is done

  const flush = async () => {
    timer = null;
    if (destroyed) {
      return;
    }
    try {
      const { xml: saved } = await modeler.saveXML({ format: true });
      el.dataset.dirty = '0';
      onChange(saved);
    } catch (error) {
      status.textContent = `保存决策表失败：${error.message}`;
    }
  };
  const schedule = () => {
    if (!live) {
      return;
    }
    el.dataset.dirty = '1';
    clearTimeout(timer);
    timer = setTimeout(flush, wait);
  };

  // every view (one per decision table, and the DRD) gets its own viewer: listen to each
  modeler.on('viewer.created', ({ viewer }) => {
    viewer.on('elements.changed', schedule);
  });

  const renderTabs = () => {
    tabs.textContent = '';
    const active = modeler.getActiveView();
    const views = modeler.getViews().filter((view) => view.type !== 'drd' || modeler.getViews().length === 1);
    for (const view of views) {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.className = 'kf-dmn-tab';
      tab.setAttribute('role', 'tab');
      tab.dataset.decision = view.element.id;
      const selected = active && active.element === view.element;
      tab.setAttribute('aria-selected', selected ? 'true' : 'false');
      const label = view.element.name || view.element.id;
      tab.textContent = view.type === 'drd' ? '决策需求图' : label;
      tab.title = view.element.id;
      tab.addEventListener('click', () => modeler.open(view));
      tabs.appendChild(tab);
    }
    tabs.hidden = views.length < 2;
  };
  modeler.on('views.changed', renderTabs);

  const ready = (async () => {
    try {
      await modeler.importXML(xml);
      const table = modeler.getViews().find((view) => view.type === 'decisionTable');
      if (table && modeler.getActiveView() !== table) {
        await modeler.open(table);
      }
      live = true;
      el.dataset.ready = '1';
    } catch (error) {
      status.textContent = `决策表无法打开：${error.message}`;
      el.dataset.ready = '1';
      el.dataset.error = '1';
    }
  })();

  return {
    ready,
    modeler,
    async getXML() {
      const { xml: saved } = await modeler.saveXML({ format: true });
      return saved;
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        await flush();
      }
    },
    destroy() {
      // an edit still waiting for its debounce is handed over before the editor goes
      const pending = timer !== null;
      clearTimeout(timer);
      timer = null;
      destroyed = true;
      const done = () => {
        modeler.destroy();
        el.textContent = '';
      };
      if (pending && live) {
        modeler.saveXML({ format: true }).then(({ xml: saved }) => onChange(saved), () => {}).finally(done);
      } else {
        done();
      }
    },
  };
}
