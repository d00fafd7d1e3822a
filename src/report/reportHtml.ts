// Writes a ReportSeries as one self-contained HTML page: uPlot's minified JS and CSS (from the uplot
// package) and the series as JSON are inlined, so the page opens anywhere without network access.
// At the top, the stalls (first one highlighted) and the faults; then, per stream, one chart per
// quantity on a shared time axis with a shared cursor: positions, events per bucket (NAKs,
// retransmits, drops), RTT, the receiver (congestion) window, and frames per bucket. Stalls are
// shaded red and faults drawn as dashed lines on every chart; a click on a stall's row zooms every
// chart to it. Quantities the input cannot know (ReportSeries.absent) are listed with the reason at
// the top, named "not known" in the totals, the stall table and on the charts they belong to, never
// drawn as zeros. window.petrelReport keeps the uPlot
// instances (for the browser test, and for anyone poking at the page in devtools).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { CountName, GaugeName, ReportSeries } from "./reportSeries.js";
import { formatTimeNs } from "./stallDetector.js";

let uplotAssets: { js: string; css: string; notice: string } | null = null;

/** uPlot's minified IIFE build, its stylesheet and its license notice, read once from node_modules. */
function uplot(): { js: string; css: string; notice: string } {
  if (uplotAssets === null) {
    const require = createRequire(import.meta.url);
    const js = require.resolve("uplot/dist/uPlot.iife.min.js");
    const copyright = /^Copyright .*$/m.exec(readFileSync(join(dirname(js), "..", "LICENSE"), "utf8"))?.[0] ?? "";
    uplotAssets = {
      js: readFileSync(js, "utf8"),
      css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
      // The page carries a copy of uPlot, so it carries uPlot's MIT notice too.
      notice: `uPlot (https://github.com/leeoniya/uPlot), MIT License, ${copyright}`,
    };
  }
  return uplotAssets;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Text safe inside a <script> element: no "</script", no "<!--". */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

function formatMs(ns: number): string {
  return `${(ns / 1e6).toFixed(1)} ms`;
}

function stallSection(series: ReportSeries): string {
  const threshold = formatMs(series.stallThresholdNs);
  const watched = series.stallReceiver === "subscriberPosition" ? "subscriber position (what the application read)" : "receiver's position";
  if (series.absent.some((a) => a.name === series.stallReceiver)) {
    return `<section id="stalls"><h2>Stalls</h2><p id="no-receiver">Stalls cannot be found from this input: it has no ${watched} (see above).</p></section>`;
  }
  if (series.stalls.length === 0) {
    return `<section id="stalls"><h2>Stalls</h2><p class="ok" id="no-stall">No stall: no ${watched} stayed flat for more than ${threshold} while its sender had data.</p></section>`;
  }
  const first = series.stalls[0]!;
  const labels = new Map(series.streams.map((s) => [s.key, s.label]));
  const rows = series.stalls.map((s, i) => {
    const happening = [countText(s.naks, "NAK"), countText(s.retransmits, "retransmit"), countText(s.drops, "drop")].join(", ");
    return `<tr${i === 0 ? ' class="first"' : ""} data-start-ns="${s.startNs}" data-end-ns="${s.endNs}"><td>${escapeHtml(labels.get(s.streamKey) ?? s.streamKey)}</td><td class="num">${formatTimeNs(s.startNs)}</td><td class="num">${formatMs(s.durationNs)}${s.ongoing ? " (to the end)" : ""}</td><td class="num">${s.receiverPosition}</td><td class="num">${s.senderPosition - s.receiverPosition}</td><td>${happening}</td><td>${s.faults.length === 0 ? "none" : s.faults.map(escapeHtml).join("<br>")}</td></tr>`;
  });
  return `<section id="stalls"><h2>Stalls</h2>
<p class="bad" id="first-stall">First stall: ${escapeHtml(labels.get(first.streamKey) ?? first.streamKey)} from ${formatTimeNs(first.startNs)} for ${formatMs(first.durationNs)}${first.ongoing ? " (still stalled at the end)" : ""}; ${series.stalls.length} stall(s) in all. A stall: the ${watched} flat for more than ${threshold} while its sender had data it had not received.</p>
<table id="stall-table"><thead><tr><th>stream</th><th>start</th><th>duration</th><th>receiver position</th><th>sender ahead (bytes)</th><th>during the stall</th><th>faults near it</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table></section>`;
}

/** "3 NAKs", "1 NAK", or "NAKs not known" when the input cannot know them. */
function countText(n: number | null, what: string): string {
  return n === null ? `${what}s not known` : `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** What the page calls each quantity. */
export const QUANTITY_LABELS: Readonly<Record<GaugeName | CountName, string>> = {
  publisherPosition: "publisher position",
  senderPosition: "sender position",
  senderLimit: "sender limit (flow control)",
  receiverPosition: "receiver position",
  subscriberPosition: "subscriber position (read by the application)",
  receiverHwm: "receiver high-water mark",
  receiverWindowBytes: "receiver window",
  rttUs: "RTT",
  dataFrames: "data frames",
  messages: "messages",
  naks: "NAKs",
  retransmits: "retransmits",
  drops: "drops",
  statusMessages: "status messages",
  heartbeats: "heartbeats",
  setups: "setups",
  rttMeasurements: "RTT measurements",
};

function absentSection(series: ReportSeries): string {
  if (series.absent.length === 0) return "";
  const rows = series.absent.map((a) => `<li data-absent="${escapeHtml(a.name)}"><b>${escapeHtml(QUANTITY_LABELS[a.name])}</b>: ${escapeHtml(a.reason)}</li>`);
  return `<section id="absent"><h2>Not known from this input</h2><p>These are not drawn (not as zeros either): the input cannot know them.</p><ul>${rows.join("")}</ul></section>`;
}

function faultSection(series: ReportSeries): string {
  if (series.faults.length === 0) return `<section id="faults"><h2>Faults applied</h2><p>None in the schedule.</p></section>`;
  const rows = series.faults.map((f) => `<tr><td class="num">${formatTimeNs(f.timeNs)}</td><td>${escapeHtml(f.label)}</td></tr>`);
  return `<section id="faults"><h2>Faults applied</h2><table id="fault-table"><thead><tr><th>time</th><th>fault</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 16px; margin: 18px 0 6px; }
table { border-collapse: collapse; margin: 4px 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.first td { background: #fde8e8; } p.bad { color: #a00; font-weight: 600; } p.ok { color: #070; }
ul.details { margin: 0; padding-left: 18px; } .notes { color: #555; font-size: 12px; }
.chart { margin: 6px 0 14px; } .chart h3 { font-size: 13px; margin: 0 0 2px; font-weight: 600; }
.totals { color: #333; font-size: 13px; } p.absent-note { color: #8a5a00; font-size: 12px; margin: 0 0 2px; }
`;

/** The client side: builds the charts from the embedded series. Plain ES2017, no modules. */
const CLIENT = `
(function () {
  "use strict";
  var report = JSON.parse(document.getElementById("petrel-data").textContent);
  var series = report.series;
  var xs = series.timesNs.map(function (t) { return t / 1e9; });
  var charts = [];
  var absent = {};
  series.absent.forEach(function (a) { absent[a.name] = true; });
  window.petrelReport = { series: series, charts: charts };
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  var CHARTS = [
    { id: "positions", title: "Positions (bytes)", kind: "gauges",
      names: [["publisherPosition", "publisher position"], ["senderPosition", "sender position"], ["senderLimit", "sender limit (flow control)"],
              ["receiverHwm", "receiver high-water mark"], ["receiverPosition", "receiver position"], ["subscriberPosition", "subscriber position"]] },
    { id: "events", title: "NAKs, retransmits and drops per bucket", kind: "counts",
      names: [["naks", "NAKs"], ["retransmits", "retransmits"], ["drops", "drops"]] },
    { id: "rtt", title: "RTT (us)", kind: "gauges", names: [["rttUs", "RTT"]] },
    { id: "window", title: "Receiver window, the congestion window with cc (bytes)", kind: "gauges", names: [["receiverWindowBytes", "receiver window"]] },
    { id: "frames", title: "Frames per bucket", kind: "counts",
      names: [["dataFrames", "data frames"], ["messages", "messages"], ["statusMessages", "status messages"], ["heartbeats", "heartbeats"], ["setups", "setups"], ["rttMeasurements", "RTT measurements"]] }
  ];

  function hasData(values, kind) {
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (kind === "gauges" ? v !== null : v !== 0) return true;
    }
    return false;
  }

  function marks(streamKey) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          ctx.save();
          ctx.fillStyle = "rgba(220, 0, 0, 0.13)";
          series.stalls.forEach(function (s) {
            if (s.streamKey !== streamKey) return;
            var x0 = u.valToPos(s.startNs / 1e9, "x", true), x1 = u.valToPos(s.endNs / 1e9, "x", true);
            ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          ctx.save();
          ctx.strokeStyle = "#7b2cbf";
          ctx.fillStyle = "#7b2cbf";
          ctx.setLineDash([5, 4]);
          ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
          ctx.textAlign = "left";
          series.faults.forEach(function (f) {
            var x = Math.round(u.valToPos(f.timeNs / 1e9, "x", true));
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
            ctx.fillText(f.label, x + 3, top + 12 * devicePixelRatio);
          });
          ctx.restore();
        }]
      }
    };
  }

  function width() {
    return Math.max(480, Math.min(1400, document.body.clientWidth - 20));
  }

  var root = document.getElementById("streams");
  series.streams.forEach(function (stream, si) {
    var section = document.createElement("section");
    section.className = "stream";
    section.setAttribute("data-stream", stream.key);
    var h = document.createElement("h2");
    h.textContent = stream.label;
    section.appendChild(h);
    var t = document.createElement("p");
    t.className = "totals";
    var totals = stream.totals;
    var known = [], unknown = [];
    [["messages", "messages"], ["dataFrames", "data frames"], ["naks", "NAKs"], ["retransmits", "retransmits"], ["drops", "drops"],
     ["statusMessages", "status messages"], ["heartbeats", "heartbeats"], ["setups", "setups"], ["rttMeasurements", "RTT measurements"]].forEach(function (n) {
      if (totals[n[0]] === null) unknown.push(n[1]); else known.push(totals[n[0]] + " " + n[1]);
    });
    t.textContent = "totals: " + known.join(", ") + (unknown.length > 0 ? "; not known: " + unknown.join(", ") : "");
    section.appendChild(t);
    root.appendChild(section);
    CHARTS.forEach(function (spec) {
      var source = spec.kind === "gauges" ? stream.gauges : stream.counts;
      var present = spec.names.filter(function (n) { return hasData(source[n[0]], spec.kind); });
      var missing = spec.names.filter(function (n) { return absent[n[0]] === true; }).map(function (n) { return n[1]; });
      if (present.length === 0 && missing.length === 0) return;
      var div = document.createElement("div");
      div.className = "chart";
      div.setAttribute("data-chart", spec.id);
      var title = document.createElement("h3");
      title.textContent = spec.title;
      div.appendChild(title);
      if (missing.length > 0) {
        var note = document.createElement("p");
        note.className = "absent-note";
        note.textContent = "not known from this input: " + missing.join(", ") + " (see the top of the page)";
        div.appendChild(note);
      }
      section.appendChild(div);
      if (present.length === 0) {
        div.setAttribute("data-absent", "true");
        return;
      }
      var data = [xs];
      var uSeries = [{ label: "time (s)", value: function (u, v) { return v == null ? "-" : v.toFixed(6); } }];
      present.forEach(function (n, i) {
        data.push(source[n[0]]);
        var line = { label: n[1], stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: spec.kind === "gauges", points: { show: false } };
        if (spec.kind === "counts") line.paths = uPlot.paths.stepped({ align: 1 });
        uSeries.push(line);
      });
      var u = new uPlot({
        width: width(), height: 220,
        scales: { x: { time: false } },
        axes: [{ label: series.source.kind === "sim" ? "simulated time (s)" : series.source.kind === "pcap" ? "capture time (s)" : "recorded time (s)" }, { size: 80 }],
        cursor: { sync: { key: "petrel" } },
        series: uSeries,
        plugins: [marks(stream.key)]
      }, data, div);
      charts.push({ stream: stream.key, id: spec.id, plot: u });
    });
  });
  // A click on a stall zooms every chart to it (with some time either side); a double-click on a
  // chart zooms it back out, as uPlot does.
  Array.prototype.forEach.call(document.querySelectorAll("#stall-table tbody tr"), function (row) {
    row.style.cursor = "pointer";
    row.title = "click: zoom the charts to this stall; double-click a chart to zoom out";
    row.addEventListener("click", function () {
      var start = Number(row.getAttribute("data-start-ns")) / 1e9, end = Number(row.getAttribute("data-end-ns")) / 1e9;
      var pad = Math.max((end - start) * 0.5, series.stallThresholdNs / 1e9);
      charts.forEach(function (c) { c.plot.setScale("x", { min: Math.max(0, start - pad), max: end + pad }); });
    });
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.plot.setSize({ width: width(), height: 220 }); });
  });
  document.body.setAttribute("data-ready", "true");
})();
`;

/** The page for `series`. */
export function reportHtml(series: ReportSeries): string {
  const assets = uplot();
  const source = series.source;
  const title = `Petrel report: ${source.kind} ${source.name}`;
  const json = JSON.stringify({ version: 1, series }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${assets.css}</style><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<ul class="details">${source.details.map((d) => `<li>${escapeHtml(d)}</li>`).join("")}<li>${series.timesNs.length} points per series, one per ${formatMs(series.bucketNs)}</li></ul>
<div class="notes">${source.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join("")}</div>
${absentSection(series)}
${stallSection(series)}
${faultSection(series)}
<div id="streams"></div>
<script id="petrel-data" type="application/json">${json}</script>
<script>/* ${scriptSafe(assets.notice.replace(/\*\//g, ""))} */
${scriptSafe(assets.js)}</script>
<script>${scriptSafe(CLIENT)}</script>
</body></html>
`;
}
