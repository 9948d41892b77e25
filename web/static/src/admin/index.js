// kunflow-admin bundle: the process admin's tools (bpmn-js Modeler with the properties panel and
// the kunflow property group, bpmnlint, dmn-js, the form-js editor, bpmn-js-differ). Loaded only
// on /admin/ pages; the caseworker bundle (../kunflow.js) does not include any of it.
import './admin.css';

import { mountDiff } from './diff.js';
import { mountDmnEditor } from './dmn-editor.js';
import { mountDmnPreview } from './dmn-preview.js';
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

// --- area editors: the diff page and the one-file editor page mount themselves
import './editors-pages.js';
