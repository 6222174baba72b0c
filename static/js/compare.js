// Compare runs: every run's loss, eval loss and reward on one step chart (data from compare.py's chart_data).
(function () {
  "use strict";
  const box = document.getElementById("compare-chart");
  const source = document.getElementById("compare-data");
  if (!box || !source || typeof uPlot === "undefined" || !window.ModelHubCharts) return;
  const chart = JSON.parse(source.textContent);
  if (!chart.series.length) return;

  const COLOURS = ["#4f46e5", "#d97706", "#0f7b4d", "#db2777", "#0891b2", "#7c3aed", "#65a30d", "#dc2626"];
  const STYLE = {
    loss: { name: "loss", dash: [] },
    eval_loss: { name: "eval loss", dash: [6, 4], points: { show: true, size: 5 } },
    reward: { name: "reward", dash: [2, 3], scale: "reward" },
  };
  const lines = chart.series.map((s) => {
    const style = STYLE[s.curve];
    const line = { label: `${chart.runs[s.run]} · ${style.name}`, stroke: COLOURS[s.run % COLOURS.length],
                   width: 2, dash: style.dash, spanGaps: true };
    if (style.points) line.points = style.points;
    if (style.scale) line.scale = style.scale;
    return line;
  });
  const axes = [{ label: "loss" }];
  if (chart.series.some((s) => s.curve === "reward")) axes.push({ scale: "reward", side: 1, label: "reward", grid: { show: false } });
  window.ModelHubCharts.stepChart(box, axes).draw([chart.steps].concat(chart.series.map((s) => s.values)), lines);
})();
