// kunflow/user-task-department: every user task sits in a lane that maps to a department (the
// lane's `department` property, or a lane name that is a department of the org chart), or
// names its department itself (`department` / `department_expression`).
import { flowElementsDeep, isHumanTask, kunflowProperties, label, lanesOf } from './util.js';

export default function userTaskDepartment(config = {}) {
  const context = config.context || {};

  function laneMapsToDepartment(lane) {
    const props = kunflowProperties(lane);
    if ((props.department || '').trim()) {
      return true;
    }
    const departments = context.departments;
    if (!departments || !departments.length) {
      return Boolean((lane.name || '').trim()); // org chart not loaded: a named lane counts
    }
    const name = (lane.name || '').trim();
    return departments.some((d) => d.name === name || d.code === name);
  }

  function check(node, reporter) {
    if (node.$type !== 'bpmn:Process') {
      return;
    }
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
      if ((props.department_expression || '').trim() || (props.department || '').trim()) {
        continue;
      }
      const lane = laneOf.get(element) || laneOf.get(top);
      if (lane && laneMapsToDepartment(lane)) {
        continue;
      }
      reporter.report(element.id, `用户任务“${label(element)}”不在对应部门的泳道中，也没有部门表达式`);
    }
  }

  return { check };
}
