// kunflow/dmn-reference: a business rule task's `spiffworkflow:calledDecisionId` names a
// decision of one of the process's .dmn files.
import { extension, label } from './util.js';

export default function dmnReference(config = {}) {
  const context = config.context || {};

  function check(node, reporter) {
    if (node.$type !== 'bpmn:BusinessRuleTask') {
      return;
    }
    const ref = extension(node, 'spiffworkflow:CalledDecisionId');
    const decisionId = ((ref && ref.value) || '').trim();
    const decisions = context.decisions;
    if (!decisionId || (decisions && !decisions.includes(decisionId))) {
      reporter.report(node.id, `业务规则任务“${label(node)}”引用的决策表“${decisionId}”不存在`);
    }
  }

  return { check };
}
