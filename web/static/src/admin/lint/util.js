// Helpers of the kunflow bpmnlint rules (lint/*.js): the engine's extension properties and the
// names the messages use. The messages are the server's (contract: engine/modelcheck), word for
// word, so the admin reads the same text in the browser and in a refused deploy.

/** The `spiffworkflow:property` values of an element: {name: value}. */
export function kunflowProperties(element) {
  const props = {};
  const values = (element && element.extensionElements && element.extensionElements.values) || [];
  for (const ext of values) {
    if (ext.$type === 'spiffworkflow:Properties') {
      for (const p of ext.properties || []) {
        if (p.name) {
          props[p.name] = p.value;
        }
      }
    }
  }
  return props;
}

/** The extension element of a type (e.g. 'spiffworkflow:CalledDecisionId'), or null. */
export function extension(element, type) {
  const values = (element && element.extensionElements && element.extensionElements.values) || [];
  return values.find((ext) => ext.$type === type) || null;
}

/** {name} in the messages: the element's name, or its id when it has none. */
export function label(element) {
  const name = (element.name || '').trim();
  return name || element.id || '';
}

export function isHumanTask(element) {
  return element.$type === 'bpmn:UserTask' || element.$type === 'bpmn:ManualTask';
}

/** Every lane of a process, nested lanes included. */
export function lanesOf(process) {
  const lanes = [];
  const walk = (laneSets) => {
    for (const set of laneSets || []) {
      for (const lane of set.lanes || []) {
        lanes.push(lane);
        walk(lane.childLaneSet ? [lane.childLaneSet] : []);
      }
    }
  };
  walk(process.laneSets);
  return lanes;
}

/** Every flow element of a container and of its sub-processes, with the top-level node each
 * one sits under (a sub-process's children take its lane). */
export function flowElementsDeep(container, top = null, out = []) {
  for (const element of container.flowElements || []) {
    out.push({ element, top: top || element });
    if (element.flowElements) {
      flowElementsDeep(element, top || element, out);
    }
  }
  return out;
}

/**
 * A kunflow rule is registered twice: as `kunflow/<rule>` (errors) and as
 * `kunflow-warnings/<rule>` (warnings), each reporting only the findings of its level, so the
 * browser gives each finding the severity the server's check gives it (engine/modelcheck).
 */
export function emitter(config, reporter) {
  const level = (config && config.level) || 'error';
  return (severity, id, message) => {
    if (severity === level) {
      reporter.report(id, message);
    }
  };
}
