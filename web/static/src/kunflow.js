// Entry of web/static/dist/kunflow.js: mounts the task form (.kf-form) and case diagrams
// (.kf-diagram) found on the page. window.kunflow = { form, viewer } for tests and debugging.

import flatpickr from 'flatpickr';
import { Mandarin } from 'flatpickr/dist/esm/l10n/zh.js';

import './kunflow.css';
import { openDetailsOnJump } from './details-jump.js';
import { mountDiagram } from './diagram.js';
import { mountForm } from './form.js';
import { translateText } from './translate.js';

// form-js's date picker is flatpickr: its calendar (months, weekdays) in Chinese
flatpickr.localize({
  ...Mandarin,
  yearAriaLabel: '年份',
  monthAriaLabel: '月份',
  hourAriaLabel: '时',
  minuteAriaLabel: '分',
  amPM: ['上午', '下午'],
  time_24hr: true,
  firstDayOfWeek: 1,
});

// form-js derives the date format from `new Intl.DateTimeFormat('default')`, the browser's
// language: an English-language browser would ask for mm/dd/yyyy on a Chinese page. Only that
// literal 'default' is read as zh-CN (yyyy/m/d); every other use of Intl is untouched.
if (typeof Intl === 'object' && typeof Proxy === 'function' && !Intl.DateTimeFormat.kfDefaultLocale) {
  const zh = (args) => (args[0] === 'default' ? ['zh-CN', ...args.slice(1)] : args);
  Intl.DateTimeFormat = new Proxy(Intl.DateTimeFormat, {
    construct: (target, args) => Reflect.construct(target, zh(args)),
    apply: (target, self, args) => Reflect.apply(target, self, zh(args)),
    get: (target, name, receiver) => (name === 'kfDefaultLocale' ? 'zh-CN' : Reflect.get(target, name, receiver)),
  });
}

const kunflow = { form: null, viewer: null, viewers: [], translateText };
window.kunflow = kunflow;

function report(error) {
  // keep the page alive; the container already shows a Chinese message
  console.error('kunflow:', error);
}

function mountAll() {
  const formContainer = document.querySelector('.kf-form');
  if (formContainer && !formContainer.dataset.kfMounted) {
    formContainer.dataset.kfMounted = '1';
    mountForm(formContainer, {
      onReady: (form) => {
        kunflow.form = form;
      },
    }).catch(report);
  }
  for (const container of document.querySelectorAll('.kf-diagram')) {
    if (container.dataset.kfMounted) {
      continue;
    }
    container.dataset.kfMounted = '1';
    mountDiagram(container, {
      onReady: (viewer) => {
        kunflow.viewers.push(viewer);
        kunflow.viewer = kunflow.viewer || viewer;
      },
    }).catch(report);
  }
}

// Plain upload forms: a Chinese "选择文件" button instead of the browser's own (its text follows
// the browser's language) and the chosen file's name beside it.
function mountFileInputs() {
  for (const input of document.querySelectorAll('input[type=file][data-kf-file]')) {
    const name = input.parentElement && input.parentElement.querySelector('.kf-file-name');
    if (name && !input.dataset.kfMounted) {
      input.dataset.kfMounted = '1';
      input.addEventListener('change', () => {
        const files = Array.from(input.files || []);
        name.textContent = files.length ? files.map((f) => f.name).join('，') : '未选择文件';
      });
    }
  }
}

kunflow.mount = mountAll;
document.addEventListener('DOMContentLoaded', mountFileInputs);
openDetailsOnJump();

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', mountAll);
} else {
  mountAll();
}
