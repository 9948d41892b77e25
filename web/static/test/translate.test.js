// node --test web/static/test/ (npm test): the Chinese for form-js's own texts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { translateMessages, translateText } from '../src/translate.js';

const cases = [
  ['Field is required.', '此项为必填项。'],
  ['Field must have minimum length of 5.', '至少输入 5 个字符。'],
  ['Field must have maximum length of 200.', '最多输入 200 个字符。'],
  ['Field must have minimum value of 0.', '不能小于 0。'],
  ['Field must have maximum value of 100.', '不能大于 100。'],
  ['Field must have minimum value of -1.5.', '不能小于 -1.5。'],
  ['Field must match pattern (1\\d{10}|0\\d{2,3}-?\\d{7,8}).', '格式不正确。'],
  ['Field must match pattern ^[A-Z]+.$.', '格式不正确。'],
  ['Field must be a valid email.', '请输入有效的电子邮箱地址。'],
  ['Field must be a valid  international phone number. (e.g. +4930664040900)', '请输入有效的国际格式电话号码（如 +8647212345678）。'],
  ['Min validation value is not a valid number.', '表单设置的最小值不是有效数字。'],
  ['Max validation value is not a valid number.', '表单设置的最大值不是有效数字。'],
  ['Value is not a number.', '请输入数字。'],
  ['Value is expected to be an integer.', '请输入整数。'],
  ['Value is expected to have at most 1 decimal digit.', '最多保留 1 位小数。'],
  ['Value is expected to have at most 2 decimal digits.', '最多保留 2 位小数。'],
  ['Please select a valid value, the two nearest valid values are 0.5 and 1.', '请输入有效的值，最接近的两个有效值为 0.5 和 1。'],
  ['Date and time must both be entered.', '日期和时间须同时填写。'],
  ['Browse', '选择文件'],
  ['No files selected', '未选择文件'],
  ['3 files selected', '已选择 3 个文件'],
  ['Add new', '添加一项'],
  ['Collapse', '收起'],
  ['Expand all (4)', '全部展开（4）'],
  ['Remove list item 2', '删除第 2 项'],
  ['Search', '搜索'],
  ['Select', '请选择'],
  ['No results', '无匹配项'],
  ['All values selected', '已全部选择'],
  ['Remove tag', '移除'],
  ['Increment', '增加'],
  ['Decrement', '减少'],
  ['Nothing to show.', '暂无数据。'],
  ['Previous page', '上一页'],
  ['Next page', '下一页'],
  ['Click to sort by 名称 ascending', '点击按“名称”升序排列'],
  ['Click to remove sorting', '点击取消排序'],
];

test('each English text of form-js has its Chinese', () => {
  for (const [english, chinese] of cases) {
    assert.equal(translateText(english), chinese, english);
  }
});

test('white space around a text is kept', () => {
  assert.equal(translateText(' Add new'), ' 添加一项');
  assert.equal(translateText('\n  Browse  '), '\n  选择文件  ');
});

test("a user's own words are left alone", () => {
  for (const text of ['', '   ', '企业名称', 'Browse files', 'Field is required', 'Search engine', 'ABC-123', 'The field is required.', 'Download report.pdf']) {
    assert.equal(translateText(text), null, text);
  }
  assert.equal(translateText(undefined), null);
  assert.equal(translateText(null), null);
});

test('attribute-only texts are translated in attributes only', () => {
  assert.equal(translateText('Download 报告.pdf', { attribute: true }), '下载 报告.pdf');
  assert.equal(translateText('Download 报告.pdf'), null);
});

test('message lists keep unknown messages', () => {
  assert.deepEqual(translateMessages(['Field is required.', '“名称”格式不正确', 'Something new.']), [
    '此项为必填项。',
    '“名称”格式不正确',
    'Something new.',
  ]);
});

// The installed form-js: every English text it shows the user must have a translation, so an
// upgrade that adds or rewords one fails here instead of showing English in the browser.
test('every user-visible English text in the installed form-js is translated', () => {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('@bpmn-io/form-js-viewer').replace(/index\.cjs$/, 'index.es.js'), 'utf8');
  const context =
    /(?:errors\.push\(|placeholder: |"aria-label": |title: |alt: |children: |emptyListMessage(?: =|:) |return |text: |errorMessage = |\[|\|\| |" ", |['"] : )(?:[^'"`\n]*\? *)?('([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\n]*)`)/g;
  const notShown = new Set([
    'Feel', // FEEL parser node names
    'Enter',
    'Value is expected to ', // assembled from parts: tested above
    'Web-based tooling for BPMN, DMN, and forms powered by', // the bpmn.io watermark stays as is
    'Powered by bpmn.io',
  ]);
  const found = new Set();
  let match;
  while ((match = context.exec(source))) {
    const text = match[2] ?? match[3] ?? match[4];
    // a text that starts in lower case is a piece of a sentence assembled in code (tested above)
    const shown = /^[A-Z$]/.test(text) && (/[A-Za-z]{2,} [a-z]/.test(text) || /^[A-Z][a-z]+$/.test(text));
    if (shown && !notShown.has(text)) {
      found.add(text);
    }
  }
  assert.ok(found.size > 25, `scan found only ${found.size} texts: the form-js source layout changed`);
  const missing = [];
  for (const text of found) {
    const sample = text.replace(/\$\{[^}]*\}/g, '7');
    if (translateText(sample) === null && translateText(sample, { attribute: true }) === null) {
      missing.push(text);
    }
  }
  assert.deepEqual(missing, [], 'form-js texts without Chinese');
  for (const text of ['Browse', 'No files selected', 'Add new', 'Select', 'Field is required.']) {
    assert.ok(source.includes(`'${text}'`) || source.includes(`"${text}"`), `form-js no longer says ${text}`);
  }
});
