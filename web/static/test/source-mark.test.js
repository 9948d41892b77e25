// node --test web/static/test/source-mark.test.js: the 来源 field of the modeler's kunflow group
// accepts the three source marks of issue 12 and explains what is wrong with anything else;
// every `source` property of the shipped diagrams passes it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { checkSource } from '../src/admin/source-mark.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bpmnDir = path.join(here, '..', '..', '..', 'bpmn');

test('the three source marks pass, an empty field too', () => {
  assert.equal(checkSource(''), null);
  assert.equal(checkSource('gazette: “从2026年3月起，各牵头部门和责任单位要在每月6日前”'), null);
  assert.equal(checkSource('statute: 《建筑法》第八条 自收到申请之日起七日内颁发施工许可证'), null);
  assert.equal(checkSource('local: 红黄绿灯阈值，区设定（DMN progress_light）'), null);
});

test('an unmarked, unquoted or article-less source is refused with a Chinese message', () => {
  assert.match(checkSource('5个工作日'), /gazette:.*statute:.*local:/);
  assert.match(checkSource('gazette: 每月6日前'), /“”引用公报原文/);
  assert.match(checkSource('statute: 建筑法 七日'), /《法规名称》和第N条/);
  assert.match(checkSource('statute: 《建筑法》七日'), /第N条/);
});

test('every source property of the shipped diagrams is well formed', () => {
  const values = [];
  for (const name of readdirSync(bpmnDir).filter((f) => f.endsWith('.bpmn'))) {
    const xml = readFileSync(path.join(bpmnDir, name), 'utf8');
    for (const m of xml.matchAll(/<spiffworkflow:property name="source" value="([^"]*)"/g)) {
      values.push([name, m[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&')]);
    }
  }
  assert.ok(values.length > 0, 'no shipped diagram carries a source property');
  for (const [name, value] of values) {
    assert.equal(checkSource(value), null, `${name}: ${value}`);
  }
});
