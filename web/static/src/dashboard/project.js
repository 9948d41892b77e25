// 项目详情: the timeline scrolls sideways on a narrow screen; bring the current stage into view.
// Everything else on the page (dates, forecast, clock bars) is plain HTML and CSS.

import './project.css';

export function mount(root) {
  const current = root.querySelector('.dash-timeline .tl-current');
  const line = root.querySelector('.dash-timeline');
  if (current && line && line.scrollWidth > line.clientWidth) {
    line.scrollLeft = current.offsetLeft - line.clientWidth / 2 + current.clientWidth / 2;
  }
  root.dataset.ready = '1';
}
