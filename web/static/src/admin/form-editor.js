// form-editor.js — see /admin/ (issue 11).

export function mountFormEditor(el, options = {}) {
  el.textContent = '尚未实现';
  return { options, destroy() {} };
}
