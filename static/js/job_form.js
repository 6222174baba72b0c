// Job create form: dataset filter, the Advanced part's open state remembered per user. No build step.
(function () {
  "use strict";
  const form = document.getElementById("job-form");
  if (!form) return;

  // Datasets: the search box hides the checkboxes whose name does not match (ticked ones stay visible).
  const search = document.getElementById("dataset-search");
  if (search) {
    search.addEventListener("input", () => {
      const words = search.value.trim().toLowerCase();
      document.querySelectorAll("#dataset-list [data-dataset-name]").forEach((label) => {
        const ticked = label.querySelector("input").checked;
        label.hidden = !(ticked || !words || label.dataset.datasetName.includes(words));
      });
    });
  }

  // Advanced: open or closed as the user left it last time (stored on the server, per user).
  const advanced = document.getElementById("advanced");
  if (advanced && advanced.dataset.rememberUrl) {
    let byUser = false; // the page itself opens Advanced when a field there has an error: not a preference
    advanced.querySelector("summary").addEventListener("click", () => { byUser = true; });
    advanced.addEventListener("toggle", () => {
      if (!byUser) return;
      byUser = false;
      const token = form.querySelector("[name=csrfmiddlewaretoken]");
      const body = new URLSearchParams({ open: advanced.open ? "1" : "0" });
      fetch(advanced.dataset.rememberUrl, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" },
      });
    });
  }
})();
