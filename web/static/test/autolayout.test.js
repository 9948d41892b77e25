// node --test web/static/test/ (npm test): a diagram without a drawing is laid out (layout.js)
// without losing any semantic element, extension or id; every flow node gets a shape, lanes a band.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { BpmnModdle } from 'bpmn-moddle';

import { isDrawn, layoutDiagram, needsLayout } from '../src/admin/layout.js';

const fixture = readFileSync(new URL('../../../tests/fixtures/import/signavio_complaint.bpmn', import.meta.url), 'utf8');
const DI_TYPES = /^(bpmndi|dc|di):/;

/** The same Signavio diagram with two lanes and kunflow's extension properties on a task. */
const withExtensions = fixture
  .replace('xmlns:signavio=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:signavio=')
  .replace(`<flowNodeRef>sid-D4E5F6A7-B8C9-4012-D3E4-F5A6B7C8D9E0</flowNodeRef>
            <flowNodeRef>sid-E5F6A7B8-C9D0-4123-E4F5-A6B7C8D9E0F1</flowNodeRef>
         </lane>`, `</lane>
         <lane id="lane_site" name="区市场监管局">
            <flowNodeRef>sid-D4E5F6A7-B8C9-4012-D3E4-F5A6B7C8D9E0</flowNodeRef>
            <flowNodeRef>sid-E5F6A7B8-C9D0-4123-E4F5-A6B7C8D9E0F1</flowNodeRef>
         </lane>`)
  .replace('<signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffcc"/>',
    `<signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffcc"/>
            <spiffworkflow:properties>
               <spiffworkflow:property name="form_key" value="register_complaint"/>
               <spiffworkflow:property name="stage" value="受理"/>
            </spiffworkflow:properties>`);

/** The definitions, and the references moddle could not resolve (SpiffWorkflow's variable
 * names in loopDataInputRef …): they must survive the layout as they were. */
async function parse(xml) {
  const { rootElement, warnings } = await new BpmnModdle().fromXML(xml);
  rootElement.unresolved = warnings.map((w) => `${w.element.id}.${w.property}=${w.value}`).sort();
  return rootElement;
}

/** Every non-diagram element as "type#id|attributes" (attributes with a value other than the
 * default, xmlns declarations included), in document order. */
function semantic(definitions) {
  const out = [];
  const seen = new Set();
  (function visit(element) {
    if (!element || typeof element !== 'object' || seen.has(element) || !element.$type) {
      return;
    }
    seen.add(element);
    if (DI_TYPES.test(element.$type)) {
      return;
    }
    const attrs = { ...(element.$attrs || {}) };
    for (const key of Object.keys(element)) {
      const value = element[key];
      if (!key.startsWith('$') && (typeof value !== 'object' || value === null)) {
        // a value equal to the schema's default is not written by moddle (nor by bpmn-js)
        const property = ((element.$descriptor || {}).propertiesByName || {})[key];
        if (!property || property.default === undefined || String(property.default) !== String(value)) {
          attrs[key] = value;
        }
      }
    }
    out.push(`${element.$type}#${element.id || ''}|${JSON.stringify(Object.entries(attrs).sort())}`);
    for (const key of Object.keys(element)) {
      if (key.startsWith('$') && key !== '$children') {
        continue;
      }
      const value = element[key];
      for (const child of Array.isArray(value) ? value : [value]) {
        // only owned children: a reference's $parent is elsewhere
        if (child && typeof child === 'object' && child.$type && (child.$parent === element || key === '$children' || key === 'values')) {
          visit(child);
        }
      }
    }
  }(definitions));
  return out;
}

function flowNodes(definitions) {
  const nodes = [];
  for (const root of definitions.rootElements) {
    if (root.$type === 'bpmn:Process') {
      nodes.push(...root.flowElements.filter((e) => e.$instanceOf('bpmn:FlowNode')));
    }
  }
  return nodes;
}

function shapes(definitions) {
  return new Map(definitions.diagrams.flatMap((d) => d.plane.planeElement)
    .filter((di) => di.$type === 'bpmndi:BPMNShape').map((di) => [di.bpmnElement.id, di.bounds]));
}

/** A shipped diagram (a collaboration: the district's pool with eight lanes, two black-box pools,
 * message flows, boundary events) without its drawing. */
const mine = readFileSync(new URL('../../../bpmn/mine_approval.bpmn', import.meta.url), 'utf8')
  .replace(/<bpmndi:BPMNDiagram[\s\S]*<\/bpmndi:BPMNDiagram>/, '');
const SIGNAVIO_POOL = [
  'bpmn:Collaboration#sid-0B9E3E4A-6C2D-4F1A-B8E7-5D4C3B2A1F00_collaboration',
  'bpmn:Participant#sid-0B9E3E4A-6C2D-4F1A-B8E7-5D4C3B2A1F00_pool',
];

for (const [name, xml, added] of [
  ['Signavio fixture', fixture, SIGNAVIO_POOL],
  ['with two lanes and spiffworkflow properties', withExtensions, SIGNAVIO_POOL],
  ['mine_approval without its drawing', mine, []],
]) {
  test(`${name}: laid out, nothing semantic lost, every flow node drawn`, async () => {
    const before = await parse(xml);
    assert.equal(isDrawn(before), false);
    assert.equal(await needsLayout(xml), true);

    const { xml: laidXml, laidOut } = await layoutDiagram(xml);
    assert.equal(laidOut, true);
    const after = await parse(laidXml);
    assert.equal(isDrawn(after), true);

    // Every semantic element and attribute of the original is there, with its id; the layout
    // adds the pool that holds the lanes (a collaboration and its participant) and nothing else.
    const [was, is] = [semantic(before), semantic(after)];
    const [wasSet, isSet] = [new Set(was), new Set(is)];
    assert.deepEqual(was.filter((line) => !isSet.has(line)), [], 'nothing is lost');
    assert.deepEqual(is.filter((line) => !wasSet.has(line)).map((line) => line.split('|')[0]).sort(), added);
    assert.deepEqual(after.unresolved, before.unresolved);

    // Every flow node and participant has a shape, every sequence and message flow an edge.
    const drawn = shapes(after);
    for (const node of flowNodes(after)) {
      assert.ok(drawn.has(node.id), `${node.id} (${node.name}) has a shape`);
    }
    const edges = new Set(after.diagrams[0].plane.planeElement.filter((di) => di.$type === 'bpmndi:BPMNEdge')
      .map((di) => di.bpmnElement.id));
    const process = after.rootElements.find((r) => r.$type === 'bpmn:Process');
    const collaboration = after.rootElements.find((r) => r.$type === 'bpmn:Collaboration');
    for (const flow of [...process.flowElements, ...collaboration.messageFlows || []]) {
      if (flow.$type === 'bpmn:SequenceFlow' || flow.$type === 'bpmn:MessageFlow') {
        assert.ok(edges.has(flow.id), `${flow.id} has an edge`);
      }
    }
    for (const participant of collaboration.participants) {
      assert.ok(drawn.has(participant.id), `${participant.id} has a shape`);
    }

    // Each lane is a band of the pool that holds its elements.
    const poolOf = collaboration.participants.find((p) => p.processRef === process);
    const pool = drawn.get(poolOf.id);
    for (const lane of process.laneSets[0].lanes) {
      const band = drawn.get(lane.id);
      assert.ok(band, `${lane.name} is drawn`);
      assert.ok(band.y >= pool.y && band.y + band.height <= pool.y + pool.height);
      for (const node of lane.flowNodeRef) {
        const b = drawn.get(node.id);
        assert.ok(b.y >= band.y && b.y + b.height <= band.y + band.height, `${node.name} lies in ${lane.name}`);
        assert.ok(b.x >= band.x && b.x + b.width <= band.x + band.width, `${node.name} lies in ${lane.name}`);
      }
    }
  });
}

test('the extension elements keep their values', async () => {
  const { xml: signavio } = await layoutDiagram(fixture);
  assert.match(signavio, /<signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffcc" \/>/);
  const { xml } = await layoutDiagram(withExtensions);
  assert.match(xml, /<spiffworkflow:property name="form_key" value="register_complaint" \/>/);
  assert.match(xml, /<spiffworkflow:property name="stage" value="受理" \/>/);
});

test('a diagram with a drawing is left as it is', async () => {
  const { xml } = await layoutDiagram(fixture);
  const again = await layoutDiagram(xml);
  assert.equal(again.laidOut, false);
  assert.equal(again.xml, xml);
});
