// kunflow-dashboard.js: ECharts and the 驾驶舱 pages' scripts, loaded only on /dashboard/ pages
// (web/templates/dashboard/_layout.html). Each page module exports `mount(root, data)`; the
// page names itself in data-dashboard-page and carries its figures as JSON in #dashboard-data.

import './dashboard.css';
// {# area: supervision #}
import { mount as mountSupervision } from './supervision.js';
// {# /area: supervision #}
// {# area: projects #}
import { mount as mountOverview } from './overview.js';
import { mount as mountProject } from './project.js';
// {# /area: projects #}
// {# area: departments #}
import { mount as mountDepartments } from './departments.js';
import { mount as mountHeatmap } from './heatmap.js';
// {# /area: departments #}

const pages = {
  // {# pages #}
  // {# area: supervision #}
  supervision: mountSupervision,
  // {# /area: supervision #}
  // {# area: projects #}
  overview: mountOverview,
  project: mountProject,
  // {# /area: projects #}
  // {# area: departments #}
  departments: mountDepartments,
  heatmap: mountHeatmap,
  // {# /area: departments #}
  // {# /pages #}
};

function start() {
  const root = document.querySelector('[data-dashboard-page]');
  if (!root) return;
  const mount = pages[root.dataset.dashboardPage];
  const holder = document.getElementById('dashboard-data');
  const data = holder ? JSON.parse(holder.textContent) : {};
  if (mount) mount(root, data);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
