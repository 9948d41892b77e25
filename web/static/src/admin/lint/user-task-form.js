// kunflow/user-task-form: every user task names a form (`form_key`) that the process ships
// (`<form_key>.form` among the draft's files).
import { isHumanTask, kunflowProperties, label } from './util.js';

export default function userTaskForm(config = {}) {
  const context = config.context || {};

  function check(node, reporter) {
    if (node.$type !== 'bpmn:UserTask') {
      return;
    }
    if (!isHumanTask(node)) {
      return;
    }
    const formKey = (kunflowProperties(node).form_key || '').trim();
    if (!formKey) {
      reporter.report(node.id, `用户任务“${label(node)}”没有表单`);
      return;
    }
    const forms = context.forms;
    if (forms && !forms.includes(formKey)) {
      reporter.report(node.id, `用户任务“${label(node)}”的表单“${formKey}”不存在`);
    }
  }

  return { check };
}
