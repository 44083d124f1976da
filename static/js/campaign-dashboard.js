// The live campaign dashboard: renders the figures embedded in the page, then every figures
// message pushed over the WebSocket (campaigns.dashboards.consumers), without a reload.
(function () {
  "use strict";

  const root = document.getElementById("dashboard");
  const initial = document.getElementById("dashboard-figures");
  if (!root || !initial) return;

  // Words in the page's language: the template fills them in (templates/campaigns/dashboards).
  const words = Object.assign(
    {
      live: "live", reconnecting: "reconnecting", yes: "yes", no: "no", tooLittle: "too little data",
      offer: "offer", control: "control", relative: "relative",
    },
    (document.getElementById("dashboard-words") || { dataset: {} }).dataset
  );
  const seriesLabel = (name) => words["series" + name.charAt(0).toUpperCase() + name.slice(1)] || name;

  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const pct = (value) => (value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%");
  const pts = (value) =>
    value === null || value === undefined ? "—" : (value >= 0 ? "+" : "") + (value * 100).toFixed(2);
  const interval = (pair) => (pair ? pts(pair[0]) + " … " + pts(pair[1]) : "—");
  const text = (element, value) => {
    if (element && element.textContent !== String(value)) element.textContent = value;
  };
  const cell = (value, className) => {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value;
    return td;
  };

  let chart = null;
  const colours = {
    triggered: "#6c757d",
    offered: "#0d6efd",
    sent: "#6610f2",
    delivered: "#20c997",
    clicked: "#fd7e14",
    converted: "#198754",
  };

  function renderChart(series) {
    const canvas = document.getElementById("series-chart");
    if (!canvas || typeof window.Chart === "undefined") return;
    const labels = series.labels.map((label) => {
      const moment = new Date(label);
      return series.labels.length > 48 && label.endsWith("T00:00:00+09:00")
        ? moment.toLocaleDateString()
        : moment.toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
    });
    const names = ["triggered", "sent", "delivered", "clicked", "converted"];
    if (!chart) {
      chart = new window.Chart(canvas, {
        type: "line",
        data: {
          labels: labels,
          datasets: names.map((name) => ({
            label: seriesLabel(name),
            data: series[name].slice(),
            borderColor: colours[name],
            backgroundColor: colours[name],
            tension: 0.2,
            pointRadius: 0,
          })),
        },
        options: {
          animation: false,
          responsive: true,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
      window.campaignDashboardChart = chart; // for people and tests inspecting the page
      return;
    }
    chart.data.labels = labels;
    names.forEach((name, index) => {
      chart.data.datasets[index].data = series[name].slice();
    });
    chart.update("none");
  }

  function render(figures) {
    const totals = figures.totals;
    text(document.querySelector('[data-kpi="triggered"]'), number.format(totals.triggered));
    text(document.querySelector('[data-kpi="offered"]'), number.format(totals.offered));
    text(document.querySelector('[data-kpi="held_out"]'), number.format(totals.held_out));
    text(document.querySelector('[data-kpi="sent"]'), number.format(totals.sent));
    text(document.querySelector('[data-kpi="converted_offer"]'), number.format(totals.converted_offer));
    text(document.querySelector('[data-kpi="lift"]'), pts(figures.lift.absolute));
    text(document.querySelector('[data-kpi="revenue"]'), number.format(Math.round(figures.money.revenue)));
    text(document.querySelector('[data-kpi="roi"]'), figures.money.roi === null ? "—" : pct(figures.money.roi));
    text(document.getElementById("lift-statement"), figures.lift.statement);
    text(
      document.getElementById("lift-detail"),
      words.offer + " " + pct(figures.lift.rate_offer) + " (" + figures.lift.offer_conversions + "/" + figures.lift.offer_total +
        ") · " + words.control + " " + pct(figures.lift.rate_control) + " (" + figures.lift.control_conversions + "/" +
        figures.lift.control_total + ") · Wald " + interval(figures.lift.interval_wald) +
        " · " + words.relative + " " + pct(figures.lift.relative) + " · p = " +
        (figures.lift.p_value === null ? "—" : figures.lift.p_value.toPrecision(2))
    );

    const top = Math.max(1, figures.funnel[0] ? figures.funnel[0].count : 1);
    figures.funnel.forEach((step) => {
      text(document.querySelector('[data-funnel="' + step.step + '"]'), number.format(step.count));
      const bar = document.querySelector('[data-funnel-bar="' + step.step + '"]');
      if (bar) bar.style.width = Math.min(100, (100 * step.count) / top).toFixed(1) + "%";
    });

    const variants = document.getElementById("variants-body");
    if (variants) {
      variants.replaceChildren(
        ...figures.variants.map((row) => {
          const tr = document.createElement("tr");
          tr.append(
            cell(row.variant),
            cell(number.format(row.offered), "text-end"),
            cell(number.format(row.held_out), "text-end"),
            cell(pct(row.conversion_rate_offer), "text-end"),
            cell(pct(row.conversion_rate_control), "text-end"),
            cell(pts(row.lift.absolute), "text-end"),
            cell(interval(row.lift.interval)),
            cell(row.lift.is_significant ? words.yes : row.lift.verdict === "insufficient_data" ? words.tooLittle : words.no),
            cell(row.money.roi === null ? "—" : pct(row.money.roi), "text-end")
          );
          return tr;
        })
      );
    }
    const suppression = document.getElementById("suppression-body");
    if (suppression) {
      suppression.replaceChildren(
        ...figures.suppression.map((row) => {
          const tr = document.createElement("tr");
          tr.dataset.reason = row.reason;
          tr.append(cell(row.reason), cell(number.format(row.count), "text-end"));
          return tr;
        })
      );
    }
    renderChart(figures.series);
    root.dataset.generatedAt = figures.generated_at;
  }

  function connect() {
    const status = document.getElementById("live-status");
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + root.dataset.websocket);
    socket.onopen = () => {
      text(status, words.live);
      if (status) status.className = "badge text-bg-success";
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "figures") {
        render(data.figures);
        root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
      }
    };
    socket.onclose = () => {
      text(status, words.reconnecting);
      if (status) status.className = "badge text-bg-warning";
      window.setTimeout(connect, 2000);
    };
  }

  const copy = document.getElementById("share-copy");
  if (copy) {
    copy.addEventListener("click", () => {
      const field = document.getElementById("share-url");
      field.select();
      if (navigator.clipboard) navigator.clipboard.writeText(field.value);
    });
  }

  render(JSON.parse(initial.textContent));
  connect();
})();
