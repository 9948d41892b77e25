// kunflow/explicit-ids: every flow node has an id of its own choosing (not missing, not the
// modeler's generated `Activity_0abc123`), unique in the file, and not a reserved word (the
// engine's scripts see ids as names).
import { label } from './util.js';

const GENERATED = /^(Activity|Event|Gateway|Task|UserTask|ServiceTask|ScriptTask|ManualTask|BusinessRuleTask|SendTask|ReceiveTask|CallActivity|SubProcess|StartEvent|EndEvent|IntermediateCatchEvent|IntermediateThrowEvent|BoundaryEvent|ExclusiveGateway|ParallelGateway|InclusiveGateway|EventBasedGateway|DataObjectReference|DataStoreReference)_[0-9a-z]{5,8}$/;

// Python keywords and builtins the script engine would shadow, and SpiffWorkflow's own task
// spec names.
export const RESERVED = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue',
  'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import',
  'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while',
  'with', 'yield', 'Start', 'End', 'Root',
]);

function isFlowNode(node) {
  return /^bpmn:(.*Task|.*Event|.*Gateway|SubProcess|CallActivity|Transaction)$/.test(node.$type)
    && node.$type !== 'bpmn:EventDefinition';
}

export default function explicitIds() {
  let seen = new Map();

  function check(node, reporter) {
    if (node.$type === 'bpmn:Definitions') {
      seen = new Map();
      return;
    }
    if (!isFlowNode(node)) {
      return;
    }
    const id = node.id || '';
    if (!id || GENERATED.test(id)) {
      reporter.report(node.id, `元素“${label(node)}”缺少标识`);
      return;
    }
    if (RESERVED.has(id)) {
      reporter.report(node.id, `标识“${id}”是保留字，请改用其他标识`);
      return;
    }
    if (seen.has(id) && seen.get(id) !== node) {
      reporter.report(node.id, `标识“${id}”重复`);
    }
    seen.set(id, node);
  }

  return { check };
}
