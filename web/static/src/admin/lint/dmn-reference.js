// kunflow/dmn-reference: a business rule task's `spiffworkflow:calledDecisionId` names a
// decision of one of the process's .dmn files.
import { emitter, extension, label } from './util.js';

export default function dmnReference(config = {}) {
  const context = config.context || {};


  function check(node, reporter) {
    if (node.$type !== 'bpmn:BusinessRuleTask') {
      return;
    }
    const ref = extension(node, 'spiffworkflow:CalledDecisionId');
    const decisionId = ((ref && ref.value) || '').trim();
    const decisions = context.decisions;
    if (!ref || !decisions) {
      return; // no reference (a DMN-less rule task), or the files are not known
    }
    if (!decisions.includes(decisionId)) {
      emitter(config, reporter)('error', node.id, `业务规则任务“${label(node)}”引用的决策表“${decisionId}”不存在`);
    }
  }

  return { check };
}
