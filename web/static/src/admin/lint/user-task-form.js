// kunflow/user-task-form: every user task names a form (`form_key`) that the process ships
// (`<form_key>.form` among the draft's files). As the server: judged only when the process has
// form files; an unknown form is an error, a task without a form a warning.
import { emitter, isHumanTask, kunflowProperties, label } from './util.js';

export default function userTaskForm(config = {}) {
  const context = config.context || {};

  function check(node, reporter) {
    const forms = context.forms;
    if (!isHumanTask(node) || !forms || !forms.length) {
      return;
    }
    const emit = emitter(config, reporter);
    const formKey = (kunflowProperties(node).form_key || '').trim();
    if (!formKey) {
      emit('warning', node.id, `用户任务“${label(node)}”没有表单`);
    } else if (!forms.includes(formKey)) {
      emit('error', node.id, `用户任务“${label(node)}”的表单“${formKey}”不存在`);
    }
  }

  return { check };
}
