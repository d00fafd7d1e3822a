// Goal: the page `petrel report` writes works in a real browser. A short simulated run of the
// partition scenario (1% loss, the hosts partitioned from 30% to 50% of the run, CUBIC so that RTT
// and the congestion window have data) becomes a page; Debian's chromium, driven by
// playwright-core, opens it from a file with every network request refused: it loads with no
// console error, every chart is a uPlot with data points (positions, NAKs/retransmits/drops, RTT,
// window), the stall table at the top names the partition's time, and a click on the stall zooms
// the charts to it. A screenshot (and the page) go to PETREL_ARTIFACTS_DIR (default: a temp dir);
// the path is printed.
// A journal's page (test/report/journalRun.ts: a subscriber that stops polling for 400 ms, static
// windows) loads the same way: no console error, the receiver's charts with data, the stall in the
// table, and what this journal cannot know (drops, an RTT it never measured, the sender's series)
// named as absent, not drawn.
//
// Without /usr/bin/chromium the test is skipped with the reason printed, so a clone elsewhere
// passes; with PETREL_REQUIRE_BROWSER=1 (CI) a missing browser fails it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { runReportCommand } from "../../src/report/index.js";
import { recordPausedRun } from "./journalRun.js";

const CHROMIUM = "/usr/bin/chromium";
const required = process.env["PETREL_REQUIRE_BROWSER"] === "1";
const available = existsSync(CHROMIUM);
if (!available && !required) {
  console.log(`report browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium; PETREL_REQUIRE_BROWSER=1 makes this a failure)`);
}

interface ChartInfo {
  readonly id: string;
  readonly stream: string;
  readonly series: number;
  readonly points: number;
  readonly canvases: number;
}

/** Opens `htmlPath` with every request but file: refused; collects console errors and refused URLs. */
async function openReport(browser: Browser, htmlPath: string): Promise<{ page: Page; errors: string[]; outside: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const outside: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(htmlPath).href);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  return { page, errors, outside };
}

/** Each uPlot chart on the page: its id, stream, series count and non-null, non-zero points. */
async function chartInfo(page: Page): Promise<ChartInfo[]> {
  return page.evaluate(() => {
    // Runs in the page (no DOM types here): window.petrelReport holds the uPlot instances.
    type Plot = { data: Array<Array<number | null>>; root: { querySelectorAll(selector: string): { length: number } } };
    const report = (globalThis as unknown as { petrelReport: { charts: Array<{ id: string; stream: string; plot: Plot }> } }).petrelReport;
    return report.charts.map((c) => ({
      id: c.id,
      stream: c.stream,
      series: c.plot.data.length - 1,
      points: c.plot.data.slice(1).reduce((n, values) => n + values.filter((v) => v !== null && v !== 0).length, 0),
      canvases: c.plot.root.querySelectorAll("canvas").length,
    }));
  });
}

/** Runs `petrel report` with `args`; its stdout, progress to this process's stderr. */
function report(args: string[]): { status: number; stdout: string } {
  const stdout: string[] = [];
  const status = runReportCommand(args, {
    stdout: { write: (t) => void stdout.push(t) },
    stderr: { isTTY: false, write: (t) => void process.stderr.write(t) },
  });
  return { status, stdout: stdout.join("") };
}

/** Runs `use` on Debian's chromium, closed after. */
async function withChromium(use: (browser: Browser) => Promise<void>): Promise<void> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    await use(browser);
  } finally {
    await browser.close();
  }
}

function artifactsDir(): string {
  const artifacts = resolve(process.env["PETREL_ARTIFACTS_DIR"] ?? mkdtempSync(join(tmpdir(), "petrel-artifacts-")));
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

describe.skipIf(!available && !required)("petrel report in chromium", () => {
  it("loads with no console error, charts with data, the partition named in the stall table", async () => {
    if (!available) throw new Error(`PETREL_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium`);
    const artifacts = artifactsDir();
    const htmlPath = join(artifacts, "report-partition.html");
    const out = report(["partition", "--seed", "1", "--duration", "1s", "--cc", "cubic", "--html", htmlPath]);
    expect(out.status).toBe(0);
    // The partition starts at 30% of 1 s.
    expect(out.stdout).toMatch(/1 stall\(s\), the first at 0\.300000 s/);

    await withChromium(async (browser) => {
      const { page, errors, outside } = await openReport(browser, htmlPath);
      const charts = await chartInfo(page);
      const byId = new Map<string, ChartInfo>(charts.map((c: ChartInfo) => [c.id, c]));
      for (const id of ["positions", "events", "rtt", "window"]) {
        const chart = byId.get(id);
        expect(chart, `chart ${id}`).toBeDefined();
        expect(chart!.canvases, `chart ${id} canvas`).toBeGreaterThan(0);
        expect(chart!.points, `chart ${id} points`).toBeGreaterThan(id === "events" ? 10 : 500);
      }
      // publisher, sender, sender limit, high-water mark, receiver and subscriber positions
      expect(byId.get("positions")!.series).toBe(6);
      expect(await page.locator(".uplot").count()).toBe(charts.length);

      const stallTable = await page.locator("#stall-table").innerText();
      expect(stallTable).toContain("0.300000 s");
      expect(stallTable).toContain("partition pub ↔ sub at 0.300000 s");
      expect(await page.locator("#first-stall").innerText()).toMatch(/First stall: .* from 0\.300000 s/);

      const screenshot = join(artifacts, "report-partition.png");
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`report screenshot: ${screenshot} (page: ${htmlPath})`);
      expect(existsSync(screenshot)).toBe(true);

      // A click on the stall zooms every chart to it (0.3 s to about 0.55 s, with time either side).
      await page.locator("#stall-table tbody tr").first().click();
      const zoomed = await page.evaluate(() => {
        type Scale = { min: number; max: number };
        const report = (globalThis as unknown as { petrelReport: { charts: Array<{ plot: { scales: { x: Scale } } }> } }).petrelReport;
        return report.charts.map((c) => [c.plot.scales.x.min, c.plot.scales.x.max]);
      });
      for (const [min, max] of zoomed) {
        expect(min).toBeGreaterThan(0.1);
        expect(min).toBeLessThan(0.3);
        expect(max).toBeGreaterThan(0.55);
        expect(max).toBeLessThan(0.9);
      }
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    });
  }, 90_000);

  it("loads a journal's page: receiver charts with data, the stall, what a journal cannot know named", async () => {
    if (!available) throw new Error(`PETREL_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium`);
    const artifacts = artifactsDir();
    const work = mkdtempSync(join(tmpdir(), "petrel-browser-journal-"));
    try {
      const run = await recordPausedRun(work, "browser", { count: 3000, pauseAfter: 1000, pauseMs: 400, seed: 4343 });
      expect(run.received).toBe(3000);
      const htmlPath = join(artifacts, "report-journal.html");
      const out = report([run.subscriber, "--html", htmlPath]);
      expect(out.status).toBe(0);
      expect(out.stdout).toMatch(/journal browser-sub\.pjournal, 1 stream\(s\)/);

      await withChromium(async (browser) => {
        const { page, errors, outside } = await openReport(browser, htmlPath);
        const charts = await chartInfo(page);
        const byId = new Map<string, ChartInfo>(charts.map((c: ChartInfo) => [c.id, c]));
        for (const id of ["positions", "window", "frames"]) {
          const chart = byId.get(id);
          expect(chart, `chart ${id}`).toBeDefined();
          expect(chart!.canvases, `chart ${id} canvas`).toBeGreaterThan(0);
          expect(chart!.points, `chart ${id} points`).toBeGreaterThan(10);
        }
        // Receiver high-water mark, receiver and subscriber positions: the sender's are not known.
        expect(byId.get("positions")!.series).toBe(3);
        expect(byId.has("rtt")).toBe(false);
        expect(await page.locator('[data-chart="rtt"][data-absent="true"]').count()).toBe(1);
        expect(await page.locator('[data-chart="positions"] .absent-note').innerText()).toMatch(/not known from this input: publisher position, sender position, sender limit/);
        expect(await page.locator("#absent").innerText()).toMatch(/drops/);
        expect(await page.locator(".totals").first().innerText()).toMatch(/3000 messages, .*; not known: .*drops/);
        expect(await page.locator("#first-stall").innerText()).toMatch(/First stall: .* from \d\.\d{6} s for \d+\.\d ms/);
        expect(await page.locator("#first-stall").innerText()).toMatch(/the subscriber position \(what the application read\) flat/);
        expect(await page.locator("#stall-table").innerText()).toMatch(/drops not known/);

        const screenshot = join(artifacts, "report-journal.png");
        await page.screenshot({ path: screenshot, fullPage: true });
        console.log(`report screenshot: ${screenshot} (page: ${htmlPath})`);
        expect(existsSync(screenshot)).toBe(true);
        expect(errors).toEqual([]);
        expect(outside).toEqual([]);
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
