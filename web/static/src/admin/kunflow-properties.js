// The "昆都仑区流程属性" group of the properties panel: everything the engine reads from a
// diagram (engine/definitions.py), written as
// <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name=".." value=".."/>
// exactly like the shipped diagrams. Departments come from the org chart, forms from the
// draft's files, send-back targets from the diagram's user tasks (the `kunflowContext` service).
import {
  CheckboxEntry,
  isCheckboxEntryEdited,
  isSelectEntryEdited,
  isTextFieldEntryEdited,
  SelectEntry,
  TextFieldEntry,
} from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';

import { kunflowProperties } from './lint/util.js';
import { checkSource } from './source-mark.js';

const GROUP_ID = 'kunflow';
const GROUP_LABEL = '昆都仑区流程属性';

/** The business object whose properties an element edits (a pool edits its process). */
export function ownerOf(element) {
  const bo = element.businessObject;
  if (is(bo, 'bpmn:Participant')) {
    return bo.processRef || null;
  }
  return bo;
}

export function getProperty(element, name) {
  const owner = ownerOf(element);
  return owner ? kunflowProperties(owner)[name] : undefined;
}

/** Set (or, with an empty value, remove) one `spiffworkflow:property`: one undoable command. */
export function setProperty(element, name, value, { bpmnFactory, commandStack }) {
  const owner = ownerOf(element);
  if (!owner) {
    return;
  }
  const text = value === undefined || value === null ? '' : String(value);
  const commands = [];
  const update = (moddleElement, properties) => commands.push({
    cmd: 'element.updateModdleProperties',
    context: { element, moddleElement, properties },
  });
  let ext = owner.extensionElements;
  if (!ext) {
    if (!text) {
      return;
    }
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = owner;
    update(owner, { extensionElements: ext });
  }
  let props = (ext.values || []).find((v) => v.$type === 'spiffworkflow:Properties');
  if (!props) {
    if (!text) {
      return;
    }
    props = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    props.$parent = ext;
    update(ext, { values: [...(ext.values || []), props] });
  }
  const existing = (props.properties || []).find((p) => p.name === name);
  if (!text) {
    if (!existing) {
      return;
    }
    update(props, { properties: props.properties.filter((p) => p !== existing) });
  } else if (existing) {
    if (existing.value === text) {
      return;
    }
    update(existing, { value: text });
  } else {
    const prop = bpmnFactory.create('spiffworkflow:Property', { name, value: text });
    prop.$parent = props;
    update(props, { properties: [...(props.properties || []), prop] });
  }
  commandStack.execute('properties-panel.multi-command-executor', commands);
}

function useWriter(element) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  return (name) => (value) => setProperty(element, name, value, { bpmnFactory, commandStack });
}

function splitList(value) {
  return (value || '').replace(/，/g, ',').split(',').map((s) => s.trim()).filter(Boolean);
}

// ---------------------------------------------------------------- entries

function textEntry(name, label, description, validate) {
  function Component({ element, id }) {
    const debounce = useService('debounceInput');
    const write = useWriter(element);
    return h(TextFieldEntry, {
      element,
      id,
      label,
      description,
      debounce,
      validate,
      getValue: () => getProperty(element, name) || '',
      setValue: write(name),
    });
  }
  return { id: `kunflow-${name}`, component: Component, isEdited: isTextFieldEntryEdited };
}

function selectEntry(name, label, description, optionsOf, known = () => true) {
  function Component({ element, id }) {
    const context = useService('kunflowContext');
    const write = useWriter(element);
    return h(SelectEntry, {
      element,
      id,
      label,
      description: typeof description === 'function' ? description(context, element) : description,
      getValue: () => getProperty(element, name) || '',
      setValue: write(name),
      getOptions: () => {
        const options = optionsOf(context, element);
        const current = getProperty(element, name);
        if (current && !options.some((o) => o.value === current)) {
          options.push({ value: current, label: known(context) ? `${current}（不存在）` : current });
        }
        return options;
      },
    });
  }
  return { id: `kunflow-${name}`, component: Component, isEdited: isSelectEntryEdited };
}

function checkboxEntry(name, label, description) {
  function Component({ element, id }) {
    const write = useWriter(element);
    return h(CheckboxEntry, {
      element,
      id,
      label,
      description,
      getValue: () => ['true', '1', 'yes'].includes(String(getProperty(element, name) || '').toLowerCase()),
      setValue: (checked) => write(name)(checked ? 'true' : ''),
    });
  }
  return { id: `kunflow-${name}`, component: Component, isEdited: isCheckboxEntryEdited };
}

/** A multi-select (`<select multiple>`) writing a comma-separated list, as the engine reads it. */
function multiSelectEntry(name, label, description, optionsOf) {
  function Component({ element, id }) {
    const context = useService('kunflowContext');
    const write = useWriter(element);
    const values = splitList(getProperty(element, name));
    const options = optionsOf(context, element);
    for (const v of values) {
      if (!options.some((o) => o.value === v)) {
        options.push({ value: v, label: `${v}（不存在）` });
      }
    }
    const inputId = `bio-properties-panel-${id}`;
    const onChange = (event) => {
      const picked = Array.from(event.target.selectedOptions).map((o) => o.value);
      write(name)(picked.join(','));
    };
    return h('div', { class: 'bio-properties-panel-entry kf-multiselect', 'data-entry-id': id },
      h('label', { class: 'bio-properties-panel-label', for: inputId }, label),
      h('select', {
        id: inputId,
        name: id,
        multiple: true,
        size: Math.max(3, Math.min(8, options.length)),
        class: 'bio-properties-panel-input',
        onChange,
      }, options.map((o) => h('option', { value: o.value, selected: values.includes(o.value) }, o.label))),
      h('div', { class: 'bio-properties-panel-description' }, description));
  }
  return {
    id: `kunflow-${name}`,
    component: Component,
    isEdited: (node) => Boolean(node && node.selectedOptions && node.selectedOptions.length),
  };
}

// ---------------------------------------------------------------- options

function departmentOptions(context, emptyLabel) {
  return [
    { value: '', label: emptyLabel },
    ...(context.departments || []).map((d) => ({ value: d.code, label: `${d.name}（${d.code}）` })),
  ];
}

function formOptions(context) {
  return [
    { value: '', label: '<无表单>' },
    ...(context.forms || []).map((f) => ({ value: f, label: `${f}.form` })),
  ];
}

function userTaskOptions(context, element) {
  return (context.userTasks ? context.userTasks() : [])
    .filter((t) => t.id !== element.id)
    .map((t) => ({ value: t.id, label: t.name ? `${t.name}（${t.id}）` : t.id }));
}

const dueWorkingDays = (value) => {
  const v = (value || '').trim();
  if (!v || /^\d+$/.test(v) || /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$/.test(v)) {
    return null;
  }
  return '请填写工作日天数（整数），或日期 YYYY-MM-DD';
};
const dueDays = (value) => {
  const v = (value || '').trim();
  return !v || /^\d+$/.test(v) ? null : '请填写日历日天数（整数）';
};
const dueHours = (value) => {
  const v = (value || '').trim();
  return !v || /^\d+(\.\d+)?$/.test(v) ? null : '请填写小时数（数字）';
};

function humanTaskEntries() {
  return [
    selectEntry('department', '部门（覆盖泳道）', '留空时按所在泳道的部门办理',
      (context) => departmentOptions(context, '<按泳道>'), (context) => Boolean(context.departments)),
    textEntry('department_expression', '部门表达式', '按案件数据决定部门，如 department（结果为部门名称或编码）'),
    textEntry('candidate_role', '候选角色', '如 head（部门负责人）；留空为本部门任何人'),
    textEntry('assignee', '办理人表达式', '结果为用户名的表达式，如 applicant_username'),
    selectEntry('form_key', '表单', '本流程的表单文件', formOptions, (context) => Boolean(context.forms)),
    textEntry('due_working_days', '办理时限（工作日）', '工作日天数，或截止日期', dueWorkingDays),
    textEntry('due_days', '办理时限（日历日）', '法律以“日”计的时限：自然日天数，节假日照算', dueDays),
    textEntry('due_hours', '办理时限（小时）', '自然小时数', dueHours),
    textEntry('due_expression', '办理时限表达式', '结果为工作日天数、日期或日期时间的表达式'),
    checkboxEntry('pausable', '可暂停计时', '等待外部材料时可暂停办理时限'),
    multiSelectEntry('send_back_targets', '可退回至', '按住 Ctrl 可多选', userTaskOptions),
    sourceEntry(),
    textEntry('stage', '阶段', '案件所处阶段（列表和统计用）'),
    textEntry('phase', '环节', '阶段所属的环节'),
  ];
}

// 来源: where a time limit, timer, threshold or escalation step comes from (issue 12).
function sourceEntry() {
  return textEntry('source', '来源',
    'gazette: “公报原文” / statute: 《法规》第N条 / local: 区设定（在何处修改）', checkSource);
}

/** A timer event (start, intermediate or boundary): it carries a time limit. */
function hasTimer(bo) {
  return (bo.eventDefinitions || []).some((d) => is(d, 'bpmn:TimerEventDefinition'));
}

// `kind:<kind>` entries: every department of a kind (engine routing.start_departments). A
// dotted kind of the org chart (`street.town`) counts under each group it names: `street`
// (every 街镇), `street.town` and `town` (engine routing.kind_groups).
const KIND_LABELS = {
  street: '所有街镇',
  subdistrict: '所有街道',
  town: '所有镇',
  bureau: '所有委办局',
  office: '所有办公室',
  leadership: '区领导',
};
const DEFAULT_KINDS = ['street', 'bureau', 'office', 'leadership'];

/** The groups a department of `kind` counts under, as the engine registers them. */
export function kindGroups(kind) {
  const parts = String(kind || '').split('.').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) {
    return [];
  }
  const out = [parts.join('.')];
  for (let n = 1; n < parts.length; n += 1) {
    out.push(parts.slice(0, n).join('.'));
  }
  out.push(parts[parts.length - 1]);
  return [...new Set(out)];
}

/** `kind:` options: the kinds of the org chart's departments (known groups first; a full
 * dotted kind is left out: its last segment names the same departments). */
export function departmentKindOptions(departments) {
  const kinds = departments && departments.some((d) => d.kind)
    ? [...new Set(departments.flatMap((d) => kindGroups(d.kind)))].filter((k) => !k.includes('.'))
    : DEFAULT_KINDS;
  const known = Object.keys(KIND_LABELS);
  const rank = (k) => (known.includes(k) ? known.indexOf(k) : known.length);
  return [...kinds].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((k) => ({ value: `kind:${k}`, label: `${KIND_LABELS[k] || `类别 ${k}`}（kind:${k}）` }));
}

function startDepartmentsEntry() {
  return multiSelectEntry('start_departments', '可发起部门', '留空时按开始事件所在泳道；按住 Ctrl 可多选',
    (context) => [
      ...departmentKindOptions(context.departments),
      ...(context.departments || []).map((d) => ({ value: d.name, label: `${d.name}（${d.code}）` })),
    ]);
}

function starterDepartmentEntry() {
  return textEntry('starter_department', '记录发起部门的变量',
    '发起案件时把发起人所在部门的编码写入此变量（如 street），供部门表达式使用', (value) => {
      const v = (value || '').trim();
      return !v || /^[A-Za-z][A-Za-z0-9_]*$/.test(v) ? null : '请填写变量名（字母开头，字母、数字、下划线）';
    });
}

/** What the engine makes of a lane without a `department` property: its name. */
function laneDescription(context, element) {
  const name = (element.businessObject.name || '').trim();
  if (getProperty(element, 'department')) {
    return '泳道中的用户任务由所选部门办理';
  }
  if (!context.departments) {
    return '留空时按泳道名称对应部门';
  }
  const match = context.departments.find((d) => d.name === name || d.code === name);
  return match ? `留空时按泳道名称对应：${match.name}（${match.code}）`
    : `泳道名称“${name}”不是组织架构中的部门：请选择部门`;
}

export function entriesFor(element) {
  const bo = element.businessObject;
  if (is(bo, 'bpmn:UserTask') || is(bo, 'bpmn:ManualTask')) {
    return humanTaskEntries();
  }
  if (is(bo, 'bpmn:Lane')) {
    return [selectEntry('department', '部门', laneDescription,
      (context) => departmentOptions(context, '<按泳道名称>'), (context) => Boolean(context.departments))];
  }
  if (is(bo, 'bpmn:StartEvent') && !(bo.eventDefinitions || []).length) {
    return [
      selectEntry('form_key', '发起表单', '发起案件时填写的表单', formOptions, (context) => Boolean(context.forms)),
      startDepartmentsEntry(),
      starterDepartmentEntry(),
    ];
  }
  if (is(bo, 'bpmn:Process') || (is(bo, 'bpmn:Participant') && bo.processRef)) {
    return [startDepartmentsEntry(), starterDepartmentEntry()];
  }
  // Timers, thresholds (gateways) and automated or called steps: only 来源.
  if ((is(bo, 'bpmn:Event') && hasTimer(bo)) || is(bo, 'bpmn:Gateway') || is(bo, 'bpmn:Activity')) {
    return [sourceEntry()];
  }
  return [];
}

// ---------------------------------------------------------------- provider

export function KunflowPropertiesProvider(propertiesPanel) {
  propertiesPanel.registerProvider(400, this);
}

KunflowPropertiesProvider.$inject = ['propertiesPanel'];

KunflowPropertiesProvider.prototype.getGroups = function getGroups(element) {
  return (groups) => {
    const entries = entriesFor(element);
    if (entries.length) {
      const group = { id: GROUP_ID, label: GROUP_LABEL, entries };
      const general = groups.findIndex((g) => g.id === 'general');
      groups.splice(general >= 0 ? general + 1 : 0, 0, group);
    }
    return groups;
  };
};

export default {
  __init__: ['kunflowPropertiesProvider'],
  kunflowPropertiesProvider: ['type', KunflowPropertiesProvider],
};
