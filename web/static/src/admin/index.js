// kunflow-admin bundle: the process admin's tools (bpmn-js Modeler with the properties panel and
// the kunflow property group, bpmnlint, dmn-js, the form-js editor, bpmn-js-differ). Loaded only
// on /admin/ pages; the caseworker bundle (../kunflow.js) does not include any of it.
import './admin.css';

window.kunflowAdmin = window.kunflowAdmin || {};
