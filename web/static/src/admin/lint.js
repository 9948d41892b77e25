// Browser lint of the modeler (bpmn-js-bpmnlint): bpmnlint's `recommended` rules, messages in
// Chinese, plus the kunflow rules (lint/*.js) with the same rule codes and messages as the
// server's deploy check. esbuild has no bpmnlint-loader, so the config is built here: the rule
// modules are imported directly and a static resolver hands them to bpmnlint's Linter.
import recommended from 'bpmnlint/config/recommended.js';

import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process.js';
import conditionalFlows from 'bpmnlint/rules/conditional-flows.js';
import endEventRequired from 'bpmnlint/rules/end-event-required.js';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway.js';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event.js';
import fakeJoin from 'bpmnlint/rules/fake-join.js';
import global from 'bpmnlint/rules/global.js';
import labelRequired from 'bpmnlint/rules/label-required.js';
import linkEvent from 'bpmnlint/rules/link-event.js';
import noBpmndi from 'bpmnlint/rules/no-bpmndi.js';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway.js';
import noDisconnected from 'bpmnlint/rules/no-disconnected.js';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows.js';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork.js';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end.js';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split.js';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start.js';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway.js';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements.js';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event.js';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition.js';
import startEventRequired from 'bpmnlint/rules/start-event-required.js';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event.js';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway.js';
import superfluousLabel from 'bpmnlint/rules/superfluous-label.js';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination.js';

import dmnReference from './lint/dmn-reference.js';
import explicitIds from './lint/explicit-ids.js';
import timerParses from './lint/timer-parses.js';
import userTaskDepartment from './lint/user-task-department.js';
import userTaskForm from './lint/user-task-form.js';

const BPMNLINT_RULES = {
  'ad-hoc-sub-process': adHocSubProcess,
  'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'fake-join': fakeJoin,
  global,
  'label-required': labelRequired,
  'link-event': linkEvent,
  'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-end': noImplicitEnd,
  'no-implicit-split': noImplicitSplit,
  'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway,
  'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent,
  'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired,
  'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway,
  'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination,
};

export const KUNFLOW_RULES = {
  'user-task-department': userTaskDepartment,
  'user-task-form': userTaskForm,
  'explicit-ids': explicitIds,
  'timer-parses': timerParses,
  'dmn-reference': dmnReference,
};

// Recommended rules that the engine's own diagrams break on purpose (collaboration pools
// without a process, message start events, gateways that join and fork, conditions written
// as scripts…) only warn: the server's deploy check decides what cannot run.
const AS_WARNING = new Set([
  'label-required', 'no-implicit-start', 'no-implicit-end', 'no-gateway-join-fork',
  'no-disconnected', 'conditional-flows', 'no-implicit-split', 'end-event-required',
  'start-event-required', 'single-blank-start-event', 'event-based-gateway', 'no-bpmndi',
  'link-event', 'no-complex-gateway', 'sub-process-blank-start-event',
]);

// bpmnlint's English messages -> Chinese (exact texts, then patterns).
const MESSAGES = {
  'Element is missing bpmndi': '元素缺少图形信息（BPMNDI）',
  'Element is outside of parent boundary': '元素超出了所在容器的边界',
  'Element overlaps with other element': '元素与其他元素重叠',
  'A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional': '事件网关的出口顺序流不能带条件',
  'Sequence flow is missing condition': '顺序流缺少条件',
  'A <Start Event> is not allowed in <Ad Hoc Sub Process>': '临时子流程中不能有开始事件',
  'An <End Event> is not allowed in <Ad Hoc Sub Process>': '临时子流程中不能有结束事件',
  'Start event is missing event definition': '开始事件缺少事件定义',
  'Start event must be blank': '开始事件必须是空白开始事件',
  'Link event is missing link name': '链接事件缺少链接名称',
  'An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>': '事件网关至少要有两条出口顺序流',
  'Conditional event is missing a condition': '条件事件缺少条件',
  'Element is an implicit end': '元素是隐式结束（没有出口，请连到结束事件）',
  'Element is an implicit start': '元素是隐式开始（没有入口，请从开始事件连入）',
  'Element is missing label/name': '元素缺少名称',
  'Element is not connected': '元素没有连线',
  'Event has multiple event definitions': '事件有多个事件定义',
  'Flow splits implicitly': '流程隐式分支（请使用网关）',
  'Gateway forks and joins': '网关同时汇聚和分支',
  'Gateway is superfluous. It only has one source and target.': '网关多余：只有一个入口和一个出口',
  'Incoming flows do not join': '多条入口顺序流没有汇聚（请使用网关）',
  'Sequence flow has superfluous label': '顺序流的名称多余',
  'SequenceFlow is a duplicate': '顺序流重复',
  'Termination is superfluous.': '终止结束事件多余',
  'Element is missing name': '元素缺少名称',
  'Element is unused': '元素未被使用',
  'Element name is not unique': '元素名称重复',
  'Duplicate outgoing sequence flows': '出口顺序流重复',
  'Duplicate incoming sequence flows': '入口顺序流重复',
};
const PATTERNS = [
  [/^Element type <(.+)> is discouraged$/, (m) => `不建议使用元素类型 ${m[1]}`],
  [/^(.+) has multiple blank start events$/, (m) => `${m[1]} 有多个空白开始事件`],
  [/^(.+) is missing end event$/, (m) => `${m[1]} 缺少结束事件`],
  [/^(.+) is missing start event$/, (m) => `${m[1]} 缺少开始事件`],
  [/^Duplicate link catch event with link name <(.+)> in scope$/, (m) => `同一范围内链接名称“${m[1]}”的捕获事件重复`],
  [/^Link (catch|throw) event with link name <(.+)> missing in scope$/, (m) => `同一范围内缺少链接名称为“${m[2]}”的${m[1] === 'catch' ? '捕获' : '抛出'}事件`],
];

export function translateMessage(message) {
  if (MESSAGES[message]) {
    return MESSAGES[message];
  }
  for (const [pattern, make] of PATTERNS) {
    const m = pattern.exec(message || '');
    if (m) {
      return make(m);
    }
  }
  return message;
}

/** A rule whose reports are in Chinese. */
function translated(rule) {
  const wrap = (fn) => (node, reporter) => fn(node, {
    report: (id, message, path) => reporter.report(id, translateMessage(message), path),
  });
  const check = rule.check;
  if (typeof check === 'function') {
    return { ...rule, check: wrap(check) };
  }
  return {
    ...rule,
    check: {
      enter: check.enter && wrap(check.enter),
      leave: check.leave && wrap(check.leave),
    },
  };
}

/**
 * The bpmn-js-bpmnlint config (`linting.bpmnlint`): {config, resolver, transformRule}.
 * `context` is shared with the kunflow rules and may change later (the org chart's
 * departments, the draft's form keys and decision ids): the next lint reads the new values.
 *
 * @param {{ departments?: Array<{code: string, name: string}>, forms?: string[], decisions?: string[] }} context
 */
export function lintConfig(context) {
  const rules = {};
  for (const [name, level] of Object.entries(recommended.rules)) {
    rules[name] = level === 'error' && AS_WARNING.has(name) ? 'warn' : level;
  }
  for (const name of Object.keys(KUNFLOW_RULES)) {
    rules[`kunflow/${name}`] = ['error', { context, level: 'error' }];
    rules[`kunflow-warnings/${name}`] = ['warn', { context, level: 'warning' }];
  }
  const resolver = {
    resolveRule(pkg, ruleName) {
      const factory = pkg === 'bpmnlint' ? BPMNLINT_RULES[ruleName]
        : ['bpmnlint-plugin-kunflow', 'bpmnlint-plugin-kunflow-warnings'].includes(pkg)
          ? KUNFLOW_RULES[ruleName] : null;
      if (!factory) {
        throw new Error(`unknown rule <${pkg}/${ruleName}>`);
      }
      return factory;
    },
    resolveConfig(pkg, configName) {
      throw new Error(`unknown config <${pkg}/${configName}>`);
    },
  };
  const transformRule = (rule, { pkg }) => (pkg === 'bpmnlint' ? translated(rule) : rule);
  return { config: { rules }, resolver, transformRule };
}

/** The contract's rule code of a lint rule name (`kunflow-warnings/x` is `kunflow/x`). */
export function ruleCode(name) {
  return (name || '').replace(/^kunflow-warnings\//, 'kunflow/');
}
