// Training job pages: per-type form reload, dependent fields, loss chart, log tail scrolling. No build step.
(function () {
  "use strict";

  // Create form: switching the job type reloads the form with that type's defaults (keeps the name).
  const typeSelect = document.getElementById("id_job_type");
  if (typeSelect && typeSelect.form && typeSelect.form.id === "job-form") {
    typeSelect.addEventListener("change", () => {
      const params = new URLSearchParams({ job_type: typeSelect.value });
      const name = document.getElementById("id_name");
      if (name && name.value) params.set("name", name.value);
      window.location.assign(`${typeSelect.form.getAttribute("action")}?${params}`);
    });
  }

  // Fields that only matter for some values of another field (LoRA settings, spot wait, custom code).
  function controllerValue(name) {
    const el = document.querySelector(`[name="${name}"]`);
    if (!el) return "";
    if (el.type === "checkbox") return el.checked ? "on" : "";
    return el.value;
  }
  function applyVisibility() {
    document.querySelectorAll("[data-show-when]").forEach((input) => {
      const values = (input.dataset.showValues || "").split(" ");
      const field = input.closest(".field") || input;
      const show = values.includes(controllerValue(input.dataset.showWhen));
      field.hidden = !show;
    });
  }
  document.addEventListener("change", (event) => {
    if (event.target.name && document.querySelector(`[data-show-when="${event.target.name}"]`)) applyVisibility();
  });
  applyVisibility();

  // Log tail: keep following the end unless the reader scrolled up.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const log = document.getElementById("job-log");
    if (log && log.contains(event.detail.target)) {
      log.dataset.follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 24 ? "1" : "";
    }
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    const log = document.getElementById("job-log");
    if (log && log.dataset.follow) log.scrollTop = log.scrollHeight;
  });

  // Loss chart from /api/v1/jobs/<id>/metrics, refreshed while the job runs (drawn by charts.js).
  const chartBox = document.getElementById("loss-chart");
  if (!chartBox || typeof uPlot === "undefined" || !window.ModelHubCharts) return;
  const { column, stepChart, exponent } = window.ModelHubCharts;
  const url = chartBox.dataset.metricsUrl;
  const empty = document.getElementById("loss-chart-empty");
  const chart = stepChart(chartBox, [{ label: "loss" }, { scale: "lr", side: 1, label: "learning rate",
    values: (u, vals) => vals.map((v) => v.toExponential(0)), grid: { show: false } }]);
  let timer = null;

  function draw(points) {
    const data = [points.map((p) => p.step), column(points, "loss")];
    const lines = [{ label: "loss", stroke: "#4f46e5", width: 2, spanGaps: true }];
    if (points.some((p) => p.eval_loss !== undefined)) {
      data.push(column(points, "eval_loss"));
      lines.push({ label: "eval loss", stroke: "#d97706", width: 2, spanGaps: true, points: { show: true, size: 6 } });
    }
    if (points.some((p) => p.reward !== undefined)) {
      data.push(column(points, "reward"));
      lines.push({ label: "reward", stroke: "#0f7b4d", width: 2, spanGaps: true });
    }
    data.push(column(points, "lr"));
    lines.push({ label: "learning rate", stroke: "#94a3b8", width: 1, scale: "lr", spanGaps: true, value: exponent });
    chart.draw(data, lines);
  }

  async function refresh() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const body = await response.json();
      const points = body.records || [];
      if (points.length) {
        if (empty) empty.hidden = true;
        draw(points);
      }
      if (timer && document.querySelector("#job-live[data-terminal]")) {  // the job ended: last refresh done
        clearInterval(timer);
        timer = null;
      }
    } catch (error) {
      /* the next refresh tries again */
    }
  }

  refresh();
  if (chartBox.dataset.live === "1") timer = setInterval(refresh, 15000);
})();
