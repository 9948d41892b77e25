// kunflow/explicit-ids, as the server's check: a flow element without an id, a duplicate id
// and a reserved id (the engine's own task names) are errors; a modeler-generated id on a
// user task (`Activity_0abc123`) is a warning: statistics, migration and forms match by id.
import { emitter, isHumanTask, label } from './util.js';

export const GENERATED = new RegExp(
  '^(?:(?:Activity|Task|UserTask|ServiceTask|ScriptTask|Event|StartEvent|EndEvent|'
  + 'IntermediateThrowEvent|IntermediateCatchEvent|BoundaryEvent|Gateway|ExclusiveGateway|'
  + 'ParallelGateway|Flow|SequenceFlow|SubProcess|CallActivity|Lane|Participant|Process)'
  + '_[0-9a-z]{5,8}|(?:UserTask|Task)_\\d+|sid-[0-9A-Fa-f-]{8,})$',
);

// engine/definitions.py RESERVED_IDS: SpiffWorkflow's own task spec names.
export const RESERVED = new Set(['Start', 'End', 'Root']);

function isFlowElement(node) {
  return /^bpmn:(Process|SubProcess|Transaction|AdHocSubProcess|CallActivity|.*Task|.*Event|.*Gateway|SequenceFlow)$/
    .test(node.$type);
}

export default function explicitIds(config = {}) {
  let counts = new Map();

  function countIds(definitions) {
    counts = new Map();
    const seen = new Set();
    const walk = (element) => {
      if (!element || typeof element !== 'object' || seen.has(element)) {
        return;
      }
      seen.add(element);
      if (typeof element.$type === 'string' && /^bpmn(di)?:/.test(element.$type) && element.id) {
        counts.set(element.id, (counts.get(element.id) || 0) + 1);
      }
      for (const key of Object.keys(element)) {
        if (key.startsWith('$') || key === 'di') {
          continue;
        }
        const value = element[key];
        if (Array.isArray(value)) {
          value.forEach((v) => (v && v.$parent === element ? walk(v) : null));
        } else if (value && typeof value === 'object' && value.$parent === element) {
          walk(value);
        }
      }
    };
    walk(definitions);
  }

  const reported = new Set();

  function check(node, reporter) {
    const emit = emitter(config, reporter);
    if (node.$type === 'bpmn:Definitions') {
      countIds(node);
      reported.clear();
      return;
    }
    const id = node.id || '';
    if (!id) {
      if (isFlowElement(node)) {
        emit('error', node.id, `元素“${label(node)}”缺少标识`);
      }
      return;
    }
    if (!/^bpmn:/.test(node.$type)) {
      return;
    }
    if ((counts.get(id) || 0) > 1 && !reported.has(id)) {
      reported.add(id);
      emit('error', id, `标识“${id}”重复`);
    }
    if (RESERVED.has(id)) {
      emit('error', id, `标识“${id}”是保留字，请改用其他标识`);
    } else if (isHumanTask(node) && GENERATED.test(id)) {
      emit('warning', id, `用户任务“${label(node)}”的标识“${id}”由建模工具自动生成`);
    }
  }

  return { check };
}
