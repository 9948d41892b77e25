// node --test web/static/test/ (npm test): schema paths, server error keys, attachment ids.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  countErrors,
  describeFields,
  errorPathsForKey,
  extractAttachments,
  placeDetails,
  setPath,
} from '../src/form-schema.js';

const repoFile = (path) => new URL(`../../../${path}`, import.meta.url);
const visitSite = JSON.parse(readFileSync(repoFile('bpmn/forms/visit_site.form'), 'utf8'));

test('fields of a shipped form, rows of its dynamic list included', () => {
  const fields = describeFields(visitSite);
  const byKey = Object.fromEntries(fields.map((field) => [field.key, field]));
  assert.deepEqual(byKey.visit_findings.template, ['visit_findings']);
  assert.equal(byKey.visit_evidence.type, 'filepicker');
  assert.deepEqual(byKey.actual_pct.template, ['verified_progress', '*', 'actual_pct']);
  assert.equal(byKey.actual_pct.repeating, 1);
  assert.ok(!fields.some((field) => field.type === 'text' || field.type === 'dynamiclist'));
});

test('server error keys map to form-js error paths', () => {
  const fields = describeFields(visitSite);
  assert.deepEqual(errorPathsForKey(fields, 'visit_findings'), [['visit_site_textarea_3']]);
  assert.deepEqual(errorPathsForKey(fields, 'verified_progress[1].actual_pct'), [['visit_site_verified_progress_2', 1]]);
  assert.deepEqual(errorPathsForKey(fields, 'verified_progress.0.row_id'), [['visit_site_verified_progress_1', 0]]);
  assert.deepEqual(errorPathsForKey(fields, 'actual_pct'), [], 'a row field by its key alone: which row?');
  assert.deepEqual(errorPathsForKey(fields, 'no_such_field'), []);
});

test('keys inside groups with a path', () => {
  const schema = {
    components: [
      { type: 'group', id: 'g', path: 'company', components: [{ type: 'textfield', id: 'n', key: 'name' }] },
      { type: 'group', id: 'h', components: [{ type: 'textfield', id: 'p', key: 'contact.phone' }] },
    ],
  };
  const fields = describeFields(schema);
  assert.deepEqual(errorPathsForKey(fields, 'company.name'), [['n']]);
  assert.deepEqual(errorPathsForKey(fields, 'name'), [['n']], 'by key alone');
  assert.deepEqual(errorPathsForKey(fields, 'contact.phone'), [['p']]);
});

test('422 details: placed on fields, or listed', () => {
  const fields = describeFields(visitSite);
  const { placed, unplaced } = placeDetails(
    { visit_findings: '“核查情况”为必填项', 'verified_progress[0].actual_pct': '不能大于 100', stage: '阶段不对' },
    fields,
  );
  assert.deepEqual(placed, [
    { path: ['visit_site_textarea_3'], messages: ['“核查情况”为必填项'] },
    { path: ['visit_site_verified_progress_2', 0], messages: ['不能大于 100'] },
  ]);
  assert.deepEqual(unplaced, [{ key: 'stage', message: '阶段不对' }]);
  const listed = placeDetails([{ field: 'visit_date', message: '日期不对' }, { message: '整体有误' }], fields);
  assert.deepEqual(listed.placed, [{ path: ['visit_site_datetime_2'], messages: ['日期不对'] }]);
  assert.deepEqual(listed.unplaced, [{ key: '', message: '整体有误' }]);
});

test('attachment ids come out of the data, other values stay', () => {
  const prefill = { visit_findings: '已核查', visit_evidence: ['att_1', 'att_2'], verified_progress: [{ row_id: 'R1' }] };
  const { data, attachments } = extractAttachments(visitSite, prefill);
  assert.deepEqual(data, { visit_findings: '已核查', verified_progress: [{ row_id: 'R1' }] });
  assert.deepEqual([...attachments], [['["visit_evidence"]', ['att_1', 'att_2']]]);
  assert.deepEqual(prefill.visit_evidence, ['att_1', 'att_2'], 'input not changed');
  const single = extractAttachments(visitSite, { visit_evidence: 'att_9' });
  assert.deepEqual([...single.attachments], [['["visit_evidence"]', ['att_9']]]);
  const empty = extractAttachments(visitSite, { visit_evidence: null });
  assert.equal(empty.attachments.size, 0);
  assert.ok(!('visit_evidence' in empty.data));
});

test('error counting and nested set', () => {
  assert.equal(countErrors({}), 0);
  assert.equal(countErrors({ a: ['x'], b: ['y', 'z'] }), 2);
  assert.equal(countErrors({ a: ['x'], row: [['p'], undefined, ['q']] }), 3);
  assert.equal(countErrors({ row: { 0: ['p'], 2: ['q'] } }), 2);
  const set = setPath({}, ['list', 1, 'name'], 'v');
  assert.ok(Array.isArray(set.list));
  assert.deepEqual(set.list[1], { name: 'v' });
});
