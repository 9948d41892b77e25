// 督查督办 (驾驶舱): the month's report states as a bar chart beside their numbers (the chips
// above it are the same figures, readable without JS and in print).
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import './supervision.css';

echarts.use([BarChart, GridComponent, TooltipComponent, CanvasRenderer]);

const STATE_COLOURS = {
  on_time: '#2e7d32', submitted: '#66bb6a', pending: '#90a4ae', none: '#b0bec5',
  unsigned: '#f9a825', late: '#ef6c00', overdue: '#d84315', missing: '#c62828',
};

function stateChart(el, states) {
  if (!el || !states.length) {
    if (el) el.remove();
    return;
  }
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption({
    grid: { left: 8, right: 32, top: 4, bottom: 4, containLabel: true },
    tooltip: { trigger: 'item', formatter: (p) => `${p.name}：${p.value} 个单位` },
    xAxis: { type: 'value', minInterval: 1, axisLabel: { show: false }, splitLine: { show: false } },
    yAxis: { type: 'category', inverse: true, data: states.map((s) => s.label),
      axisTick: { show: false }, axisLabel: { fontSize: 12 } },
    series: [{
      type: 'bar', barMaxWidth: 18,
      data: states.map((s) => ({ value: s.value, itemStyle: { color: STATE_COLOURS[s.key] || '#607d8b' } })),
      label: { show: true, position: 'right', formatter: '{c}' },
    }],
  });
  el.style.height = `${Math.max(90, states.length * 28 + 12)}px`;
  chart.resize();
  window.addEventListener('resize', () => chart.resize());
}

function pickAll(root) {
  const table = root.querySelector('.sv-table');
  const head = table && table.querySelector('th.sv-pick');
  if (!head) return;
  const all = document.createElement('input');
  all.type = 'checkbox';
  all.setAttribute('aria-label', '全选');
  all.addEventListener('change', () => {
    table.querySelectorAll('td.sv-pick input').forEach((box) => { box.checked = all.checked; });
  });
  head.appendChild(all);
}

export function mount(root, data) {
  stateChart(root.querySelector('#sv-state-chart'), data.states || []);
  pickAll(root);
}
