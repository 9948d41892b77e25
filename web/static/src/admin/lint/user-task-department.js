// kunflow/user-task-department: every user task sits in a lane that maps to a department (the
// lane's `department` property, or a lane name that is a department of the org chart), or
// names its department itself (`department` / `department_expression`). As the server: an
// error when the task sits in no lane and names no department; a warning when its lane or
// department property names a department the org chart does not know.
import { emitter, flowElementsDeep, isHumanTask, kunflowProperties, label, lanesOf } from './util.js';

export default function userTaskDepartment(config = {}) {
  const context = config.context || {};

  /** routing.department_for: a name or code of the org chart (unknown chart: any name). */
  function known(candidate) {
    const value = (candidate || '').trim();
    if (!value) {
      return false;
    }
    const departments = context.departments;
    if (!departments || !departments.length) {
      return true;
    }
    return departments.some((d) => d.name === value || d.code === value);
  }

  function check(node, reporter) {
    if (node.$type !== 'bpmn:Process') {
      return;
    }
    const emit = emitter(config, reporter);
    const laneOf = new Map();
    for (const lane of lanesOf(node)) {
      for (const ref of lane.flowNodeRef || []) {
        laneOf.set(ref, lane); // nested lanes come later: the innermost lane wins
      }
    }
    for (const { element, top } of flowElementsDeep(node)) {
      if (!isHumanTask(element)) {
        continue;
      }
      const props = kunflowProperties(element);
      if ((props.department_expression || '').trim()) {
        continue;
      }
      const lane = laneOf.get(element) || laneOf.get(top);
      const laneDepartment = lane ? kunflowProperties(lane).department : null;
      const laneName = lane ? (lane.name || lane.id) : null;
      if (known(props.department) || known(laneDepartment) || known(laneName)) {
        continue;
      }
      const message = `用户任务“${label(element)}”不在对应部门的泳道中，也没有部门表达式`;
      emit(!lane && !(props.department || '').trim() ? 'error' : 'warning', element.id, message);
    }
  }

  return { check };
}
