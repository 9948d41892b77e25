// 部门办理: a stacked bar per department (open on time / overdue), each bar linking to the
// department's tasks. The figures are also in the page's tables (readable without JS).

import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

import './departments.css';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const BAR_HEIGHT = 22;

// Long names (街道办事处) eat a phone's width: the chart shows a short form, the tooltip all.
function shortName(name) {
  return name.replace(/街道办事处$/, '街道').replace(/^区/, '');
}

/** The period chooser applies on change (no inline handlers: the CSP allows none). */
export function submitPeriodOnChange(root) {
  for (const select of root.querySelectorAll('.dash-period select')) {
    select.addEventListener('change', () => select.form.submit());
  }
}

export function mount(root, data) {
  submitPeriodOnChange(root);
  const holder = root.querySelector('[data-chart="open-overdue"]');
  const rows = (data.departments || []).slice();
  if (!holder || !rows.length) return;
  // most overdue at the top (ECharts draws a category axis bottom-up)
  rows.sort((a, b) => a.overdue - b.overdue || a.open - b.open);
  holder.style.height = `${Math.max(160, rows.length * BAR_HEIGHT + 70)}px`;
  const chart = echarts.init(holder, null, { renderer: 'canvas' });
  chart.setOption({
    animation: false,
    color: ['#5b8ff9', '#d93026'],
    legend: { top: 0, data: ['按期在办', '逾期'] },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (items) => {
        const row = rows[items[0].dataIndex];
        return `${row.name}<br>在办 ${row.open} 件，其中逾期 ${row.overdue} 件`;
      },
    },
    grid: { left: 8, right: 24, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: {
      type: 'category',
      data: rows.map((r) => shortName(r.name)),
      axisLabel: { interval: 0, fontSize: 12 },
    },
    series: [
      {
        name: '按期在办',
        type: 'bar',
        stack: 'open',
        barMaxWidth: 16,
        data: rows.map((r) => r.open - r.overdue),
      },
      {
        name: '逾期',
        type: 'bar',
        stack: 'open',
        barMaxWidth: 16,
        data: rows.map((r) => r.overdue),
        label: { show: true, position: 'right', formatter: ({ value }) => (value ? value : '') },
      },
    ],
  });
  chart.on('click', ({ dataIndex }) => {
    const row = rows[dataIndex];
    if (row && row.url) window.location.assign(row.url);
  });
  window.addEventListener('resize', () => chart.resize());
  holder.dataset.ready = '1';
}
