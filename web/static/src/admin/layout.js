// layout.js — give a diagram without a drawing (no bpmndi:BPMNDiagram, or one that draws none of
// its elements, as Signavio exports, scripts and SpiffArena's API make them) a drawing the
// modeler can show. bpmn-auto-layout lays out the flow; its output is not kept as a whole (it
// drops attributes such as typeLanguage and draws neither pools nor lanes): only its shapes and
// edges are copied onto the original definitions (bpmn-moddle), so every semantic element,
// extension (spiffworkflow:property …) and id stays as it was. Lanes are then drawn as bands of a
// pool, each holding the elements it lists, and the flows between bands are routed again.
import { layoutProcess } from 'bpmn-auto-layout';
import { BpmnModdle } from 'bpmn-moddle';

const POOL_LABEL = 30; // the pool's name column
const PAD = 30; // space above and below the elements of a band
const MIN_BAND = 120;
const ORIGIN = { x: 160, y: 80 }; // where bpmn-js puts a new diagram: clear of the palette

function walk(element, visit, seen = new Set()) {
  if (!element || typeof element !== 'object' || seen.has(element) || !element.$type) {
    return;
  }
  seen.add(element);
  visit(element);
  for (const key of Object.keys(element)) {
    if (key.startsWith('$')) {
      continue;
    }
    const value = element[key];
    for (const child of Array.isArray(value) ? value : [value]) {
      // references (sourceRef, flowNodeRef, bpmnElement …) are walked too: seen stops loops
      walk(child, visit, seen);
    }
  }
}

/** Every element of the definitions that has an id, by id (diagram elements too). */
function elementsById(definitions) {
  const byId = new Map();
  walk(definitions, (element) => {
    if (element.id && !byId.has(element.id)) {
      byId.set(element.id, element);
    }
  });
  return byId;
}

function isFlowNode(element) {
  return element.$instanceOf('bpmn:FlowNode');
}

/** Whether the definitions draw at least one of their flow nodes. */
export function isDrawn(definitions) {
  return (definitions.diagrams || []).some((diagram) => diagram.plane
    && (diagram.plane.planeElement || []).some((di) => di.bpmnElement && di.bpmnElement.$instanceOf
      && isFlowNode(di.bpmnElement)));
}

/** Whether the XML needs a layout (no drawing of any flow node). */
export async function needsLayout(xml) {
  const { rootElement } = await new BpmnModdle().fromXML(xml);
  return !isDrawn(rootElement);
}

function bounds(moddle, b) {
  return moddle.create('dc:Bounds', { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) });
}

function point(moddle, x, y) {
  return moddle.create('dc:Point', { x: Math.round(x), y: Math.round(y) });
}

/** Copy the layout's diagrams onto the original definitions (elements matched by id). */
function copyDiagrams(moddle, definitions, laid, byId) {
  const diagrams = [];
  for (const laidDiagram of laid.diagrams || []) {
    const laidPlane = laidDiagram.plane;
    const owner = laidPlane && laidPlane.bpmnElement && byId.get(laidPlane.bpmnElement.id);
    if (!owner) {
      continue;
    }
    const planeElement = [];
    for (const di of laidPlane.planeElement || []) {
      const element = di.bpmnElement && byId.get(di.bpmnElement.id);
      if (!element) {
        continue;
      }
      if (di.$type === 'bpmndi:BPMNShape') {
        const attrs = { id: `${element.id}_di`, bpmnElement: element, bounds: bounds(moddle, di.bounds) };
        if (di.isExpanded !== undefined) {
          attrs.isExpanded = di.isExpanded;
        }
        planeElement.push(moddle.create('bpmndi:BPMNShape', attrs));
      } else if (di.$type === 'bpmndi:BPMNEdge') {
        planeElement.push(moddle.create('bpmndi:BPMNEdge', {
          id: `${element.id}_di`, bpmnElement: element,
          waypoint: (di.waypoint || []).map((p) => point(moddle, p.x, p.y)),
        }));
      }
    }
    const plane = moddle.create('bpmndi:BPMNPlane', { id: `BPMNPlane_${owner.id}`, bpmnElement: owner, planeElement });
    diagrams.push(moddle.create('bpmndi:BPMNDiagram', { id: `BPMNDiagram_${owner.id}`, plane }));
  }
  definitions.diagrams = diagrams;
}

function shapeOf(plane, element) {
  return plane.planeElement.find((di) => di.$type === 'bpmndi:BPMNShape' && di.bpmnElement === element);
}

function edgeRoute(moddle, source, target) {
  const s = source.bounds;
  const t = target.bounds;
  const sy = s.y + s.height / 2;
  const ty = t.y + t.height / 2;
  if (t.x >= s.x + s.width) {
    if (Math.abs(sy - ty) < 1) {
      return [point(moddle, s.x + s.width, sy), point(moddle, t.x, ty)];
    }
    const mid = (s.x + s.width + t.x) / 2;
    return [point(moddle, s.x + s.width, sy), point(moddle, mid, sy), point(moddle, mid, ty), point(moddle, t.x, ty)];
  }
  // backwards or overlapping: leave the source upwards / downwards, enter the target's side
  const sx = s.x + s.width / 2;
  const down = ty > sy;
  const tx = t.x + t.width / 2;
  return [point(moddle, sx, down ? s.y + s.height : s.y), point(moddle, sx, ty), point(moddle, sx > tx ? t.x + t.width : t.x, ty)];
}

/** Draw the process's lanes (first level) as bands of a pool; the elements of a lane move into
 * its band, keeping their order from left to right. */
function drawLanes(moddle, definitions, process, plane) {
  const lanes = (process.laneSets || []).flatMap((set) => set.lanes || []);
  let collaboration = (definitions.rootElements || []).find((e) => e.$type === 'bpmn:Collaboration');
  let participant = collaboration && (collaboration.participants || []).find((p) => p.processRef === process);
  if (!lanes.length && !participant) {
    return;
  }
  if (!participant) {
    if (!collaboration) {
      collaboration = moddle.create('bpmn:Collaboration', { id: `${process.id}_collaboration`, participants: [] });
      definitions.rootElements.unshift(collaboration);
      collaboration.$parent = definitions;
    }
    participant = moddle.create('bpmn:Participant', { id: `${process.id}_pool`, name: process.name, processRef: process });
    participant.$parent = collaboration;
    collaboration.get('participants').push(participant);
  }
  plane.bpmnElement = collaboration;

  const laneOf = new Map();
  for (const lane of lanes) {
    for (const node of lane.flowNodeRef || []) {
      if (!laneOf.has(node)) {
        laneOf.set(node, lane);
      }
    }
  }
  const shapes = plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNShape');
  const bands = lanes.map((lane) => ({ lane, shapes: [] }));
  const rest = { lane: null, shapes: [] };
  for (const shape of shapes) {
    let element = shape.bpmnElement;
    if (element.$type === 'bpmn:BoundaryEvent') {
      continue; // moves with its host
    }
    const lane = laneOf.get(element);
    (lane ? bands[lanes.indexOf(lane)] : rest).shapes.push(shape);
  }
  if (rest.shapes.length) {
    bands.push(rest);
  }
  const all = shapes.map((s) => s.bounds);
  const minX = all.length ? Math.min(...all.map((b) => b.x)) : 0;
  const maxX = all.length ? Math.max(...all.map((b) => b.x + b.width)) : 400;
  const poolX = minX - POOL_LABEL - PAD;
  const poolWidth = maxX - minX + POOL_LABEL + 2 * PAD;
  const top = 0;
  let y = top;
  const moved = new Map();
  const edges = plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNEdge');
  for (const band of bands) {
    const inBand = new Set(band.shapes.map((s) => s.bpmnElement));
    // a flow between two elements of the band may run below or above them
    const routes = edges.filter((e) => inBand.has(e.bpmnElement.sourceRef) && inBand.has(e.bpmnElement.targetRef))
      .flatMap((e) => e.waypoint || []).map((p) => ({ y: p.y, height: 0 }));
    const bs = [...band.shapes.map((s) => s.bounds), ...routes];
    const low = bs.length ? Math.min(...bs.map((b) => b.y)) : 0;
    const high = bs.length ? Math.max(...bs.map((b) => b.y + b.height)) : 0;
    const height = Math.max(high - low + 2 * PAD, MIN_BAND);
    const dy = y + (height - (high - low)) / 2 - low;
    for (const shape of band.shapes) {
      shape.bounds.y = Math.round(shape.bounds.y + dy);
      moved.set(shape.bpmnElement, dy);
    }
    band.y = y;
    band.height = height;
    y += height;
  }
  // boundary events follow their host
  for (const shape of shapes) {
    const element = shape.bpmnElement;
    if (element.$type === 'bpmn:BoundaryEvent' && element.attachedToRef && moved.has(element.attachedToRef)) {
      const dy = moved.get(element.attachedToRef);
      shape.bounds.y = Math.round(shape.bounds.y + dy);
      moved.set(element, dy);
    }
  }
  const drawn = [
    moddle.create('bpmndi:BPMNShape', {
      id: `${participant.id}_di`, bpmnElement: participant, isHorizontal: true,
      bounds: bounds(moddle, { x: poolX, y: top, width: poolWidth, height: y - top }),
    }),
  ];
  for (const band of bands) {
    if (band.lane) {
      drawn.push(moddle.create('bpmndi:BPMNShape', {
        id: `${band.lane.id}_di`, bpmnElement: band.lane, isHorizontal: true,
        bounds: bounds(moddle, { x: poolX + POOL_LABEL, y: band.y, width: poolWidth - POOL_LABEL, height: band.height }),
      }));
    }
  }
  // flows: moved by the same distance as both ends, else routed again
  for (const di of plane.planeElement) {
    if (di.$type !== 'bpmndi:BPMNEdge') {
      continue;
    }
    const flow = di.bpmnElement;
    const a = moved.get(flow.sourceRef);
    const b = moved.get(flow.targetRef);
    if (a !== undefined && a === b) {
      for (const p of di.waypoint) {
        p.y = Math.round(p.y + a);
      }
    } else {
      const source = shapeOf(plane, flow.sourceRef);
      const target = shapeOf(plane, flow.targetRef);
      if (source && target) {
        di.waypoint = edgeRoute(moddle, source, target);
      }
    }
  }
  plane.planeElement.unshift(...drawn);
  drawOtherPools(moddle, collaboration, participant, plane, { x: poolX, y: y + PAD, width: poolWidth });
}

/** The collaboration's other participants (black boxes: 企业, 审批机关 …) as empty pools below
 * the laid-out one, and its message flows as vertical lines between them. */
function drawOtherPools(moddle, collaboration, main, plane, at) {
  const shapes = new Map(plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNShape').map((di) => [di.bpmnElement, di.bounds]));
  let { y } = at;
  for (const participant of collaboration.participants || []) {
    if (participant === main || shapes.has(participant)) {
      continue;
    }
    const shape = moddle.create('bpmndi:BPMNShape', {
      id: `${participant.id}_di`, bpmnElement: participant, isHorizontal: true,
      bounds: bounds(moddle, { x: at.x, y, width: at.width, height: 80 }),
    });
    plane.planeElement.push(shape);
    shapes.set(participant, shape.bounds);
    y += 80 + PAD;
  }
  for (const flow of collaboration.messageFlows || []) {
    const from = shapes.get(flow.sourceRef);
    const to = shapes.get(flow.targetRef);
    if (!from || !to) {
      continue;
    }
    // a pool is wide: the line runs at the x of the element at the other end
    const pool = (b) => b.width >= at.width - POOL_LABEL;
    const x = pool(from) ? to.x + to.width / 2 : from.x + from.width / 2;
    const down = to.y > from.y;
    plane.planeElement.push(moddle.create('bpmndi:BPMNEdge', {
      id: `${flow.id}_di`, bpmnElement: flow,
      waypoint: [point(moddle, x, down ? from.y + from.height : from.y), point(moddle, x, down ? to.y : to.y + to.height)],
    }));
  }
}

/** Data associations bpmn-auto-layout leaves undrawn: a straight line between the shapes. */
function drawAssociations(moddle, plane) {
  const shapes = new Map(plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNShape').map((di) => [di.bpmnElement, di]));
  const drawn = new Set(plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNEdge').map((di) => di.bpmnElement));
  for (const [node, shape] of [...shapes]) {
    const associations = [...(node.dataOutputAssociations || []), ...(node.dataInputAssociations || [])];
    for (const association of associations) {
      if (drawn.has(association) || !association.id) {
        continue;
      }
      const output = (node.dataOutputAssociations || []).includes(association);
      const other = output ? association.targetRef : (association.sourceRef || [])[0];
      const otherShape = other && shapes.get(other);
      if (!otherShape) {
        continue;
      }
      const [from, to] = output ? [shape.bounds, otherShape.bounds] : [otherShape.bounds, shape.bounds];
      plane.planeElement.push(moddle.create('bpmndi:BPMNEdge', {
        id: `${association.id}_di`, bpmnElement: association,
        waypoint: [point(moddle, from.x + from.width / 2, from.y + from.height / 2),
          point(moddle, to.x + to.width / 2, to.y + to.height / 2)],
      }));
    }
  }
}

/** SpiffWorkflow reads some references as plain names (a multi-instance task's
 * loopDataInputRef / loopDataOutputRef hold variable names): moddle finds no element with that
 * id and would drop them on export. Put back a stand-in that exports the same name (as the
 * modeler does). */
function keepUnresolvedReferences(moddle, warnings) {
  for (const w of warnings || []) {
    if (!/^unresolved reference/.test(w.message || '') || !w.element || !w.property || !w.value) {
      continue;
    }
    const current = w.element.get(w.property);
    if (current === undefined || current === null) {
      w.element.set(w.property, moddle.create('bpmn:DataInput', { id: w.value }));
    }
  }
}

/** Move the drawing so that its top left corner is at ``origin``. */
function moveTo(plane, origin) {
  const points = plane.planeElement.flatMap((di) => (di.bounds ? [di.bounds] : di.waypoint || []));
  if (!points.length) {
    return;
  }
  const dx = origin.x - Math.min(...points.map((p) => p.x));
  const dy = origin.y - Math.min(...points.map((p) => p.y));
  for (const p of points) {
    p.x = Math.round(p.x + dx);
    p.y = Math.round(p.y + dy);
  }
}

/**
 * Lay out ``xml`` when it draws none of its flow nodes.
 * @returns {Promise<{xml: string, laidOut: boolean}>} the XML unchanged when it has a drawing.
 */
export async function layoutDiagram(xml) {
  const moddle = new BpmnModdle();
  const { rootElement: definitions, warnings } = await moddle.fromXML(xml);
  if (isDrawn(definitions)) {
    return { xml, laidOut: false };
  }
  keepUnresolvedReferences(moddle, warnings);
  const laidXml = await layoutProcess(xml);
  const { rootElement: laid } = await new BpmnModdle().fromXML(laidXml);
  const byId = elementsById(definitions);
  copyDiagrams(moddle, definitions, laid, byId);
  const main = definitions.diagrams[0];
  if (main) {
    const owner = main.plane.bpmnElement;
    const process = owner.$type === 'bpmn:Collaboration'
      ? ((owner.participants || []).find((p) => p.processRef) || {}).processRef
      : owner;
    if (process && process.$type === 'bpmn:Process') {
      drawLanes(moddle, definitions, process, main.plane);
    }
    drawAssociations(moddle, main.plane);
    moveTo(main.plane, ORIGIN);
  }
  const { xml: out } = await moddle.toXML(definitions, { format: true });
  return { xml: out, laidOut: true };
}
