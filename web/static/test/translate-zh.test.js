// node --test (npm test): the modeler's Chinese for the element types the properties panel
// writes in its header, title case and "(Non Interrupting)" included.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { translateZh } from '../src/admin/translate-zh.js';

test('the panel header names element types in Chinese', () => {
  assert.equal(translateZh('User Task'), '用户任务');
  assert.equal(translateZh('Timer Boundary Event'), '定时器边界事件');
  assert.equal(translateZh('Timer Boundary Event (Non Interrupting)'), '定时器边界事件（非中断）');
  assert.equal(translateZh('Message Start Event (Non Interrupting)'), '消息开始事件（非中断）');
});

test('replacements are filled and unknown texts stay as they are', () => {
  assert.equal(translateZh('Something new'), 'Something new');
});
