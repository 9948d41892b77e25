// 项目总览: projects per stage as horizontal bars, one colour per phase (引得来 … 运营稳); a click
// on a bar opens the list of that stage's projects. The same numbers stand in the table below
// the chart (readable without JS, printable).

import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

import './overview.css';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const PHASE_COLOURS = ['#2f6fb0', '#2a9d8f', '#e0a100', '#c8102e'];

export function mount(root, data) {
  const holder = root.querySelector('#stage-chart');
  if (!holder || !data.stages) return;
  const stages = data.stages.slice().reverse(); // stage 1 on top
  const chart = echarts.init(holder, null, { renderer: 'canvas' });
  const narrow = () => holder.clientWidth < 560;
  const option = () => ({
    animation: false,
    tooltip: {
      trigger: 'item',
      formatter: (p) => `${p.name}<br>${p.seriesName}：${p.value} 个项目（点击查看）`,
    },
    legend: { top: 0, data: data.phases, selectedMode: false },
    grid: { left: 8, right: 36, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: {
      type: 'category',
      data: stages.map((s) => (narrow() ? `${s.number} ${s.name}` : `${s.number}. ${s.name}`)),
      axisLabel: { fontSize: narrow() ? 11 : 13, width: narrow() ? 96 : 160, overflow: 'truncate' },
    },
    series: data.phases.map((phase, i) => ({
      name: phase,
      type: 'bar',
      stack: 'stages',
      barMaxWidth: 22,
      itemStyle: { color: PHASE_COLOURS[i % PHASE_COLOURS.length] },
      label: { show: true, position: 'right', formatter: (p) => (p.value ? p.value : '') },
      data: stages.map((s) => (s.phase === phase ? s.count : '-')),
    })),
  });
  chart.setOption(option());
  chart.on('click', (p) => {
    const stage = stages[p.dataIndex];
    if (stage && stage.url) window.location.assign(stage.url);
  });
  holder.dataset.ready = '1';
  let width = holder.clientWidth;
  window.addEventListener('resize', () => {
    if (holder.clientWidth !== width) {
      width = holder.clientWidth;
      chart.setOption(option());
    }
    chart.resize();
  });
}
