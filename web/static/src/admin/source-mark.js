// The `source` property of a diagram element (issue 12): where a time limit, a timer, a
// threshold or an escalation step comes from — the gazette (quoted word for word in “…”), a
// statute (《law》 and its article) or the district's own setting (and where an admin changes
// it). The server checks the quotes against the gazette (tests/processes/test_sources.py);
// the panel checks the form while the admin types.

const PREFIXES = ['gazette:', 'statute:', 'local:'];
const QUOTE = /“[^“”]+”/;
const LAW = /《[^《》]+》/;
const ARTICLE = /第[一二三四五六七八九十百零〇\d]+条/;

/** null when `value` is empty or a well-formed source mark, else the message to show. */
export function checkSource(value) {
  const v = (value || '').trim();
  if (!v) {
    return null;
  }
  if (!PREFIXES.some((p) => v.startsWith(p))) {
    return '请以 gazette:（公报原文，用“”引用）、statute:（《法规》第N条）或 local:（区设定）开头';
  }
  if (v.startsWith('gazette:') && !QUOTE.test(v)) {
    return '公报来源须用“”引用公报原文';
  }
  if (v.startsWith('statute:') && !(LAW.test(v) && ARTICLE.test(v))) {
    return '法规来源须写明《法规名称》和第N条';
  }
  return null;
}
