// kunflow-admin bundle: the process admin's tools (bpmn-js Modeler with the properties panel and
// the kunflow property group, bpmnlint, dmn-js, the form-js editor, bpmn-js-differ). Loaded only
// on /admin/ pages; the caseworker bundle (../kunflow.js) does not include any of it.
import './admin.css';

import { mountDiff } from './diff.js';
import { mountDmnEditor } from './dmn-editor.js';
import { mountDmnPreview } from './dmn-preview.js';
import './editors-pages.js'; // the diff page and the one-file editor page mount themselves
import { mountFormEditor } from './form-editor.js';
import { mountModeler } from './modeler.js';
import * as pages from './pages.js';
import { mountTrial } from './trial.js';

window.kunflowAdmin = {
  mountModeler,
  mountDmnEditor,
  mountFormEditor,
  mountTrial,
  mountDmnPreview,
  mountDiff,
  ...pages,
};

// Pages say what to mount (no inline scripts under the Content-Security-Policy):
// <div data-kf-mount="Modeler" data-process-key="…">  ->  mountModeler(div, {processKey: …}).
function mountAll() {
  for (const node of document.querySelectorAll('[data-kf-mount]')) {
    const mount = window.kunflowAdmin[`mount${node.dataset.kfMount}`];
    if (typeof mount === 'function' && !node.dataset.kfMounted) {
      node.dataset.kfMounted = '1';
      mount(node, { ...node.dataset });
    }
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', mountAll);
} else {
  mountAll();
}
