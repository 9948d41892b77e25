// A link to something inside a closed <details> (the 退回 jump in the task form's bottom bar on
// phones) opens the <details> first. Current Chromium does this by itself on fragment
// navigation; the older cores of the 360 / QQ browsers do not.

export function openDetailsOnJump(root = document) {
  root.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#"]');
    if (!link || link.getAttribute('href').length < 2) {
      return;
    }
    const target = document.getElementById(link.getAttribute('href').slice(1));
    for (let el = target && target.closest('details:not([open])'); el;
      el = el.parentElement && el.parentElement.closest('details:not([open])')) {
      el.open = true;
    }
  });
}
