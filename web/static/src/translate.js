// Chinese for the English texts that @bpmn-io/form-js-viewer 1.23 renders itself. form-js has no
// i18n hook, so the texts are matched whole (anchored patterns): a user's own words never match by
// accident. Keep this list in step with form-js when upgrading it (`npm test` checks the source).

const EXACT = new Map([
  // validation (Validator, Datetime, DocumentPreview)
  ['Field is required.', '此项为必填项。'],
  ['Field must be a valid email.', '请输入有效的电子邮箱地址。'],
  ['Field must be a valid  international phone number. (e.g. +4930664040900)', '请输入有效的国际格式电话号码（如 +8647212345678）。'],
  ['Field must be a valid international phone number. (e.g. +4930664040900)', '请输入有效的国际格式电话号码（如 +8647212345678）。'],
  ['Value is not a number.', '请输入数字。'],
  ['Value is expected to be an integer.', '请输入整数。'],
  ['Min validation value is not a valid number.', '表单设置的最小值不是有效数字。'],
  ['Max validation value is not a valid number.', '表单设置的最大值不是有效数字。'],
  ['Date and time must both be entered.', '日期和时间须同时填写。'],
  ['Document reference is not defined.', '未指定文件。'],
  ['Unable to download document', '无法下载文件'],
  // file picker
  ['Browse', '选择文件'],
  ['No files selected', '未选择文件'],
  // dynamic list
  ['Add new', '添加一项'],
  ['Collapse', '收起'],
  // select, taglist, dropdowns
  ['Search', '搜索'],
  ['Select', '请选择'],
  ['No results', '无匹配项'],
  ['All values selected', '已全部选择'],
  ['Remove tag', '移除'],
  ['Skip to search', '跳到搜索'],
  // number field
  ['Increment', '增加'],
  ['Decrement', '减少'],
  // table, text, image
  ['Nothing to show.', '暂无数据。'],
  ['No content to show.', '暂无内容。'],
  ["External content couldn't be loaded.", '无法加载外部内容。'],
  ['Previous page', '上一页'],
  ['Next page', '下一页'],
  ['Click to remove sorting', '点击取消排序'],
  ['This is an image placeholder', '图片占位'],
]);

const PATTERNS = [
  [/^Field must have minimum length of (.+)\.$/, (m) => `至少输入 ${m[1]} 个字符。`],
  [/^Field must have maximum length of (.+)\.$/, (m) => `最多输入 ${m[1]} 个字符。`],
  [/^Field must have minimum value of (.+)\.$/, (m) => `不能小于 ${m[1]}。`],
  [/^Field must have maximum value of (.+)\.$/, (m) => `不能大于 ${m[1]}。`],
  // the regular expression itself means nothing to a caseworker
  [/^Field must match pattern [\s\S]*\.$/, () => '格式不正确。'],
  [/^Value is expected to have at most (\d+) decimal digits?\.$/, (m) => `最多保留 ${m[1]} 位小数。`],
  [
    /^Please select a valid value, the two nearest valid values are (.+) and (.+)\.$/,
    (m) => `请输入有效的值，最接近的两个有效值为 ${m[1]} 和 ${m[2]}。`,
  ],
  [/^(\d+) files selected$/, (m) => `已选择 ${m[1]} 个文件`],
  [/^Remove list item (\d+)$/, (m) => `删除第 ${m[1]} 项`],
  [/^Expand all \((\d+)\)$/, (m) => `全部展开（${m[1]}）`],
  [/^Click to sort by (.+) ascending$/, (m) => `点击按“${m[1]}”升序排列`],
  [/^Click to sort by (.+) descending$/, (m) => `点击按“${m[1]}”降序排列`],
  // aria-label of a document's download link; as text it could be a user's own words
  [/^Download (.+)$/, (m) => `下载 ${m[1]}`, { attributeOnly: true }],
];

/**
 * The Chinese for one English text of form-js, or null when the text is not one of them.
 * Surrounding white space is kept.
 *
 * @param {string} text
 * @param {{ attribute?: boolean }} [options] attribute: the text is an attribute's value
 * @returns {string|null}
 */
export function translateText(text, options = {}) {
  if (typeof text !== 'string') {
    return null;
  }
  const core = text.trim();
  if (!core || !/[A-Za-z]/.test(core)) {
    return null;
  }
  const lead = text.slice(0, text.indexOf(core));
  const tail = text.slice(lead.length + core.length);
  const exact = EXACT.get(core);
  if (exact !== undefined) {
    return lead + exact + tail;
  }
  for (const [pattern, render, { attributeOnly = false } = {}] of PATTERNS) {
    if (attributeOnly && !options.attribute) {
      continue;
    }
    const match = pattern.exec(core);
    if (match) {
      return lead + render(match) + tail;
    }
  }
  return null;
}

/** A message list with every known English message in Chinese (others unchanged). */
export function translateMessages(messages) {
  return messages.map((message) => translateText(message) ?? message);
}

/** The English texts and patterns known, for the test that compares them with form-js. */
export const KNOWN_EXACT = [...EXACT.keys()];
export const KNOWN_PATTERNS = PATTERNS.map(([pattern]) => pattern);
