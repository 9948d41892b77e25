// node --test web/static/test/admin-lint.test.js: the modeler's browser lint (kunflow rules with
// the server check's codes, messages and severities; bpmnlint's recommended rules in Chinese)
// and the moddle descriptor of the spiffworkflow extension (a round trip keeps every property).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BpmnModdle } from 'bpmn-moddle';
import Linter from 'bpmnlint/lib/linter.js';

import { lintConfig, ruleCode, translateMessage } from '../src/admin/lint.js';
import { timerParses } from '../src/admin/lint/timer-parses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..', '..');
const spiff = JSON.parse(readFileSync(path.join(here, '..', 'src', 'admin', 'spiffworkflow.json'), 'utf8'));
const DEPARTMENTS = [{ code: 'emergency', name: '区应急局' }, { code: 'natres', name: '区自然资源分局' }];

function diagram(body, lanes = '') {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="p" name="测试流程" isExecutable="true">${lanes}
    <bpmn:startEvent id="start" name="开始"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    ${body}
  </bpmn:process>
</bpmn:definitions>`;
}

function props(values) {
  const items = Object.entries(values)
    .map(([name, value]) => `<spiffworkflow:property name="${name}" value="${value}"/>`).join('');
  return `<bpmn:extensionElements><spiffworkflow:properties>${items}</spiffworkflow:properties></bpmn:extensionElements>`;
}

async function lint(xml, context = {}) {
  const moddle = new BpmnModdle({ spiffworkflow: spiff });
  const { rootElement } = await moddle.fromXML(xml);
  const results = await new Linter(lintConfig({ departments: DEPARTMENTS, ...context })).lint(rootElement);
  const problems = [];
  for (const [rule, reports] of Object.entries(results)) {
    for (const r of reports) {
      if (rule.startsWith('kunflow')) {
        problems.push({ rule: ruleCode(rule), id: r.id, message: r.message, category: r.category });
      }
    }
  }
  return problems;
}

const lane = (name, refs, extra = '') => `<bpmn:laneSet id="ls"><bpmn:lane id="lane_1" name="${name}">${extra}${
  refs.map((r) => `<bpmn:flowNodeRef>${r}</bpmn:flowNodeRef>`).join('')}</bpmn:lane></bpmn:laneSet>`;

const task = (id, extra = '') => `<bpmn:userTask id="${id}" name="现场核查">${extra}</bpmn:userTask>`;

test('a user task in no lane and without a department is an error; a department expression suffices', async () => {
  assert.deepEqual(await lint(diagram(task('check_site'))), [{
    rule: 'kunflow/user-task-department', id: 'check_site', category: 'error',
    message: '用户任务“现场核查”不在对应部门的泳道中，也没有部门表达式',
  }]);
  assert.deepEqual(await lint(diagram(task('check_site', props({ department_expression: 'department' })))), []);
});

test('a lane that names a department routes; an unknown one only warns', async () => {
  assert.deepEqual(await lint(diagram(task('check_site'), lane('区应急局', ['check_site']))), []);
  assert.deepEqual(await lint(diagram(task('check_site'), lane('应急组', ['check_site'], props({ department: 'emergency' })))), []);
  const unknown = await lint(diagram(task('check_site'), lane('应急组', ['check_site'])));
  assert.deepEqual(unknown.map((p) => [p.rule, p.category]), [['kunflow/user-task-department', 'warn']]);
});

test('forms are judged when the process has form files: unknown is an error, none a warning', async () => {
  const inLane = (extra) => diagram(task('check_site', extra), lane('区应急局', ['check_site']));
  assert.deepEqual(await lint(inLane(props({ form_key: 'missing' })), { forms: [] }), []);
  const unknown = await lint(inLane(props({ form_key: 'missing' })), { forms: ['site_check'] });
  assert.deepEqual(unknown.map((p) => [p.message, p.category]),
    [['用户任务“现场核查”的表单“missing”不存在', 'error']]);
  const none = await lint(inLane(''), { forms: ['site_check'] });
  assert.deepEqual(none.map((p) => [p.message, p.category]), [['用户任务“现场核查”没有表单', 'warn']]);
  assert.deepEqual(await lint(inLane(props({ form_key: 'site_check' })), { forms: ['site_check'] }), []);
});

test('ids: a reserved id is an error, a generated id on a user task warns', async () => {
  const reserved = await lint(diagram(task('End', props({ department: 'emergency' }))));
  assert.deepEqual(reserved.map((p) => p.message), ['标识“End”是保留字，请改用其他标识']);
  const generated = await lint(diagram(task('Activity_0abc123', props({ department: 'emergency' }))));
  assert.deepEqual(generated.map((p) => [p.message, p.category]),
    [['用户任务“现场核查”的标识“Activity_0abc123”由建模工具自动生成', 'warn']]);
});

test('timers: quoted ISO and expressions pass, bare ISO and broken text do not', async () => {
  for (const ok of ['"PT2H"', "'P7D'", '"R3/PT1H"', '"2026-12-01T09:00:00"', 'due_in_working_days(limit_days)', 'remind_at']) {
    assert.equal(timerParses(ok), true, ok);
  }
  for (const bad of ['PT2H', 'P7D', 'R3/PT1H', '"PT2X"', 'due_in_working_days(limit', '']) {
    assert.equal(timerParses(bad), false, bad);
  }
  const xml = diagram(`<bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:timerEventDefinition id="td"><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>`);
  assert.deepEqual((await lint(xml)).map((p) => [p.rule, p.id, p.message]),
    [['kunflow/timer-parses', 'wait', '定时器“等待”的时间“PT2H”无法解析']]);
});

test('a business rule task must call a decision of the process', async () => {
  const xml = diagram(`<bpmn:businessRuleTask id="decide" name="判定">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>route</spiffworkflow:calledDecisionId></bpmn:extensionElements>
    </bpmn:businessRuleTask>`);
  assert.deepEqual((await lint(xml, { decisions: ['other'] })).map((p) => p.message),
    ['业务规则任务“判定”引用的决策表“route”不存在']);
  assert.deepEqual(await lint(xml, { decisions: ['route'] }), []);
});

test("bpmnlint's messages read in Chinese", () => {
  assert.equal(translateMessage('Element is not connected'), '元素没有连线');
  assert.equal(translateMessage('Process is missing end event'), 'Process 缺少结束事件');
  assert.equal(translateMessage('Element type <bpmn:ComplexGateway> is discouraged'), '不建议使用元素类型 bpmn:ComplexGateway');
});

test('the shipped diagrams with their forms and decisions have no kunflow error, and survive a round trip', async () => {
  const bpmnDir = path.join(root, 'bpmn');
  const forms = readdirSync(path.join(bpmnDir, 'forms')).map((f) => f.replace(/\.form$/, ''));
  const decisions = readdirSync(bpmnDir).filter((f) => f.endsWith('.dmn'))
    .flatMap((f) => [...readFileSync(path.join(bpmnDir, f), 'utf8').matchAll(/<decision id="([^"]+)"/g)].map((m) => m[1]));
  for (const file of ['mine_approval.bpmn', 'hazard_rectification.bpmn', 'project_lifecycle.bpmn', 'whistle_referral.bpmn', 'supervision_monthly.bpmn', 'service_request.bpmn', 'river_sand.bpmn', 'radioactive_check.bpmn']) {
    const xml = readFileSync(path.join(bpmnDir, file), 'utf8');
    const errors = (await lint(xml, { forms, decisions })).filter((p) => p.category === 'error');
    assert.deepEqual(errors, [], file);
    const moddle = new BpmnModdle({ spiffworkflow: spiff });
    const { rootElement } = await moddle.fromXML(xml);
    const { xml: out } = await moddle.toXML(rootElement);
    const count = (text, re) => (text.match(re) || []).length;
    for (const re of [/<spiffworkflow:property /g, /<spiffworkflow:calledDecisionId>/g, /<spiffworkflow:messagePayload>/g, /<spiffworkflow:postScript>/g, /<spiffworkflow:parameter /g]) {
      assert.equal(count(out, re), count(xml, re), `${file} ${re.source}`);
    }
  }
});
