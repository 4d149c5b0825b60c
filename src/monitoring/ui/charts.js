// Line charts over progress records with uPlot: x is the batch's trigger time, one line per series.
import uPlot from '/vendor/uplot.js';

const COLORS = ['#2f6fdf', '#e0672c', '#2a9d5b', '#9b4dca', '#c9302c', '#8a6d1f', '#17a2b8', '#555'];

/**
 * A chart of `series(progress)` values. `series` returns an object of name -> number (or null when the
 * record has no such value); names seen in any record become lines.
 */
export function createChart(container, title, series) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = title;
  box.append(Object.assign(document.createElement('h4'), { textContent: title }));
  const empty = Object.assign(document.createElement('p'), { className: 'empty', textContent: 'nothing reported yet' });
  box.append(empty);
  container.append(box);
  let plot = null;
  let names = [];
  return {
    update(history) {
      const rows = history.map((p) => series(p));
      const seen = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const xs = history.map((p) => Date.parse(p.timestamp) / 1000);
      const data = [xs, ...seen.map((name) => rows.map((r) => r[name] ?? null))];
      box.dataset.points = String(xs.length);
      box.dataset.last = JSON.stringify(rows[rows.length - 1] ?? {});
      empty.hidden = seen.length > 0;
      if (seen.length === 0) {
        plot?.destroy();
        plot = null;
        names = [];
        return;
      }
      if (plot && seen.join('|') === names.join('|')) {
        plot.setData(data);
        return;
      }
      plot?.destroy();
      names = seen;
      plot = new uPlot({
        width: Math.max(320, box.clientWidth - 16), height: 200,
        series: [{}, ...seen.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 1.5, points: { size: 4 } }))],
        axes: [{}, { size: 80 }],
      }, data, box);
    },
  };
}
