// The playground of the course site: the shipped colored-2-MNIST F and G_k, exported to ONNX by
// tools/export_onnx.py, run in the browser by onnxruntime-web (copied into the site, no CDN).
// What it computes is course.z_explorer's redraw (redo_lite/process.py, Eq. 5):
//   masks = F(x);  drawn = G(masks, z);  composite_k = drawn_k + (1 - M^k) * x
// State for tests and the curious: window.playground.
"use strict";

(function () {
  const BASE = new URL(".", document.currentScript.src).href; // the folder of this script
  const PALETTE = [[70, 70, 70], [230, 159, 0], [86, 180, 233], [0, 158, 115], [204, 121, 167]];
  const SLIDERS = 4; // as z_explorer: the first four entries of the chosen region's z_k

  const pg = (window.playground = {
    ready: false, busy: false, redraws: 0, timings: [], error: null,
    model: null, image: 0, region: 0, z: null, masks: null, drawn: null,
  });
  const $ = (id) => document.getElementById(id);
  const sessions = {};
  let config, images, pending = null;

  function status(text) { $("pg-status").textContent = text; }

  function normal() { // one N(0, 1) draw (Box-Muller)
    let u = 0;
    while (u === 0) u = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }

  function decode(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }

  // RGB planes (3,H,W) in [0, 1] -> the canvas, one canvas pixel per image pixel
  function paint(canvas, planes) {
    const s = config.size, n = s * s, ctx = canvas.getContext("2d");
    const img = ctx.createImageData(s, s);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.min(1, Math.max(0, planes[c * n + p]));
        img.data[4 * p + c] = Math.round(v * 255);
      }
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function unit(x) { return x.map((v) => (Math.min(1, Math.max(-1, v)) + 1) / 2); } // to_unit

  function input() { // the chosen image in [-1, 1], as ImageFolderData.batch
    return Float32Array.from(images[pg.image], (v) => v / 127.5 - 1);
  }

  async function session(model, net) {
    const key = model.name + "/" + net;
    sessions[key] = sessions[key] || ort.InferenceSession.create(BASE + model[net], {
      executionProviders: ["wasm"],
    });
    return sessions[key];
  }

  // F on the chosen image: the soft masks, and the picture of the regions
  async function segment() {
    const s = config.size, f = await session(pg.model, "F");
    const out = await f.run({ image: new ort.Tensor("float32", input(), [1, 3, s, s]) });
    pg.masks = out.masks.data;
    const n = s * s, k = config.regions, shown = new Float32Array(3 * n);
    for (let p = 0; p < n; p++)
      for (let r = 0; r < k; r++)
        for (let c = 0; c < 3; c++) shown[c * n + p] += (pg.masks[r * n + p] * PALETTE[r][c]) / 255;
    paint($("pg-input"), unit(input()));
    paint($("pg-regions"), shown);
  }

  // G on the masks and z, then region k redrawn in the input (Eq. 5)
  async function redraw() {
    const s = config.size, n = s * s, k = pg.region, g = await session(pg.model, "G");
    const out = await g.run({
      masks: new ort.Tensor("float32", pg.masks, [1, config.regions, s, s]),
      z: new ort.Tensor("float32", pg.z, [1, config.regions, config.z_dim]),
    });
    pg.drawn = out.drawn.data;
    const x = input(), drawn = pg.drawn.subarray(k * 3 * n, (k + 1) * 3 * n);
    const composite = new Float32Array(3 * n);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < n; p++)
        composite[c * n + p] = drawn[c * n + p] + (1 - pg.masks[k * n + p]) * x[c * n + p];
    paint($("pg-drawn"), unit(drawn));
    paint($("pg-composite"), unit(composite));
  }

  // Run what a change needs; changes that arrive meanwhile are merged into one more run.
  async function update(what, since) {
    if (pg.busy) {
      const segment = what === "segment" || (pending && pending.what === "segment");
      pending = { what: segment ? "segment" : what, since: pending ? pending.since : since };
      return;
    }
    pg.busy = true;
    try {
      if (what === "segment") await segment();
      await redraw();
      pg.redraws += 1;
      pg.timings.push({ what, ms: performance.now() - since });
      status(`${pg.model.label}: image ${pg.image + 1}, region ${pg.region}, redrawn in ` +
        `${(performance.now() - since).toFixed(1)} ms`);
    } catch (e) {
      pg.error = String(e);
      status("error: " + e);
      throw e;
    } finally {
      pg.busy = false;
    }
    if (pending) {
      const next = pending;
      pending = null;
      await update(next.what, next.since);
    }
  }

  function showSliders() { // the chosen region's own z values, to one decimal as the sliders step
    for (let d = 0; d < SLIDERS; d++) {
      const i = pg.region * config.z_dim + d;
      pg.z[i] = Math.round(Math.min(3, Math.max(-3, pg.z[i])) * 10) / 10;
      $("pg-z" + d).value = pg.z[i];
      $("pg-z" + d + "-value").textContent = pg.z[i].toFixed(1);
    }
  }

  function newNoise() {
    pg.z = Float32Array.from({ length: config.regions * config.z_dim }, normal);
    showSliders();
  }

  function build() {
    const models = $("pg-models");
    config.models.forEach((m, i) => {
      const label = document.createElement("label");
      label.innerHTML = `<input type="radio" name="pg-model" value="${i}"${i ? "" : " checked"}> `;
      label.append(m.label);
      label.firstChild.addEventListener("change", () => {
        pg.model = m;
        update("segment", performance.now());
      });
      models.append(label);
    });
    const regions = $("pg-region");
    for (let r = 0; r < config.regions; r++) {
      const label = document.createElement("label");
      label.innerHTML = `<input type="radio" name="pg-region" value="${r}"${r ? "" : " checked"}>` +
        `<span class="pg-swatch" style="background: rgb(${PALETTE[r]})"></span> region ${r}`;
      label.firstChild.addEventListener("change", () => selectRegion(r));
      regions.append(label);
    }
    const sliders = $("pg-sliders");
    for (let d = 0; d < SLIDERS; d++) {
      const row = document.createElement("label");
      row.innerHTML = `z[${d}] <input id="pg-z${d}" type="range" min="-3" max="3" step="0.1" ` +
        `value="0"> <output id="pg-z${d}-value">0.0</output>`;
      row.querySelector("input").addEventListener("input", (e) => {
        const since = performance.now();
        pg.z[pg.region * config.z_dim + d] = Number(e.target.value);
        $("pg-z" + d + "-value").textContent = Number(e.target.value).toFixed(1);
        update("slider", since);
      });
      sliders.append(row);
    }
    $("pg-noise").addEventListener("click", () => {
      const since = performance.now();
      newNoise();
      update("noise", since);
    });
    $("pg-regions").addEventListener("click", (e) => { // a click on a region picks it
      const c = e.currentTarget, s = config.size;
      const col = Math.floor(((e.clientX - c.getBoundingClientRect().left) / c.clientWidth) * s);
      const row = Math.floor(((e.clientY - c.getBoundingClientRect().top) / c.clientHeight) * s);
      let best = 0;
      for (let r = 1; r < config.regions; r++)
        if (pg.masks[r * s * s + row * s + col] > pg.masks[best * s * s + row * s + col]) best = r;
      document.querySelector(`input[name=pg-region][value="${best}"]`).checked = true;
      selectRegion(best);
    });
    const gallery = $("pg-gallery");
    images.forEach((_, i) => {
      const c = document.createElement("canvas");
      c.width = c.height = config.size;
      c.title = `test image ${i + 1}`;
      c.className = "pg-thumb" + (i ? "" : " pg-chosen");
      paint(c, unit(Float32Array.from(images[i], (v) => v / 127.5 - 1)));
      c.addEventListener("click", () => {
        gallery.querySelectorAll(".pg-chosen").forEach((t) => t.classList.remove("pg-chosen"));
        c.classList.add("pg-chosen");
        pg.image = i;
        update("segment", performance.now());
      });
      gallery.append(c);
    });
  }

  function selectRegion(r) {
    pg.region = r;
    showSliders();
    update("region", performance.now());
  }

  async function start() {
    if (location.protocol === "file:") {
      status("The playground loads its networks over HTTP: serve the site, e.g. " +
        "python3 -m http.server -d _site, and open it at http://127.0.0.1:8000.");
      return;
    }
    ort.env.wasm.wasmPaths = BASE; // the runtime's .wasm and .mjs beside this script
    ort.env.wasm.numThreads = 1; // no cross-origin isolation on a plain file server
    config = await (await fetch(BASE + "playground.json")).json();
    const baked = await (await fetch(BASE + config.images)).json();
    images = baked.images.map(decode);
    config.size = baked.size;
    pg.model = config.models[0];
    build();
    newNoise();
    await update("segment", performance.now());
    pg.ready = true;
  }

  start().catch((e) => {
    pg.error = String(e);
    status("The playground could not start: " + e);
    console.error(e);
  });
})();
