// Step charts drawn with the vendored uPlot, shared by the job page (one run) and Compare runs (several).
// No build step: pages load uPlot, then this file, then their own script, which calls ModelHubCharts.
window.ModelHubCharts = (function () {
  "use strict";

  const HEIGHT = 280;

  // The values of `key` in trainer-log points, null where a point lacks it (uPlot draws a gap or spans it).
  function column(points, key) {
    return points.map((p) => (p[key] === undefined ? null : p[key]));
  }

  // A chart by step in `box`: `data` is [steps, ...one array per series], `series` uPlot series options
  // (without the x series), `axes` the y axes. Returns a handle whose draw() replaces the data and keeps the
  // chart as wide as its box.
  function stepChart(box, axes) {
    let plot = null;
    const width = () => Math.max(280, box.clientWidth);
    window.addEventListener("resize", () => { if (plot) plot.setSize({ width: width(), height: HEIGHT }); });
    return {
      draw(data, series) {
        if (plot) plot.destroy();
        plot = new uPlot({
          width: width(), height: HEIGHT, series: [{ label: "step" }].concat(series),
          scales: { x: { time: false } },
          axes: [{ label: "step" }].concat(axes),
        }, data, box);
        return plot;
      },
    };
  }

  const exponent = (u, v) => (v == null ? "—" : v.toExponential(2));

  return { column, stepChart, exponent };
})();
