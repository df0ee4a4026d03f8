"""The treadmill screen: one self-contained page (no external scripts, fonts or styles), readable
from 3 m on a TV or tablet. Its elements carry what they show (the contract tests rely on):
``data-metric``/``data-side`` values with one decimal, ``data-feedback`` on/off, ``data-block``."""

from __future__ import annotations

import html
import json

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gaitstream · __STATION__</title>
<style>
  html, body { margin: 0; height: 100%; background: #0b0f14; color: #f2f5f7;
    font-family: "DejaVu Sans", Arial, sans-serif; }
  body { display: grid; grid-template-rows: auto 1fr auto; }
  header { display: flex; justify-content: space-between; align-items: center; padding: 1.5vh 3vw;
    font-size: 4vh; color: #9fb3c8; }
  [data-feedback] { font-weight: bold; }
  [data-feedback="on"] { color: #7ee787; }
  [data-feedback="off"] { color: #6e7781; }
  [data-connection="closed"] { color: #f85149; }
  main { display: grid; grid-template-columns: 1fr 2fr 1fr; align-items: center; gap: 3vw; padding: 0 3vw; }
  .cues { visibility: hidden; }
  body.feedback-on .cues { visibility: visible; }
  /* Its own layers: 25 updates a second re-composite the beam and repaint one line of text, no
     more. No transition: it would keep the page drawing at the display's rate and show each
     value a frame late. */
  .level { position: relative; height: 40vh; contain: layout paint; }
  .level .beam { position: absolute; left: 5%; right: 5%; top: 50%; height: 2.4vh; background: #58a6ff;
    border-radius: 1.2vh; will-change: transform; }
  .level .horizon { position: absolute; left: 0; right: 0; top: 50%; border-top: 0.4vh dashed #30363d; }
  /* The live number changes 25 times a second: in a box of fixed size its digits do not move the
     degree sign, and a change lays out nothing around it (the browser's CPU for 4 screens was
     within the runs' spread with and without it: 0.42-0.49 of a core). */
  .reading { display: inline-block; width: 2.8em; height: 1.2em; contain: strict; text-align: right;
    font-variant-numeric: tabular-nums; vertical-align: bottom; }
  .live { visibility: hidden; }
  body.live-on .live { visibility: visible; }
  .side { text-align: center; font-size: 5vh; }
  .bar { position: relative; height: 45vh; width: 10vw; margin: 2vh auto; background: #161b22; border-radius: 1vh; }
  .bar .band { position: absolute; left: 0; right: 0; background: rgba(126, 231, 135, 0.25); }
  .bar .fill { position: absolute; left: 15%; right: 15%; bottom: 0; background: #7ee787; border-radius: 0.6vh; }
  .bar.outside .fill { background: #f0883e; }
  .value { font-size: 9vh; font-weight: bold; }
  .trunk { font-size: 4vh; color: #9fb3c8; display: none; }
  body.has-trunk .trunk { display: block; }
  footer { padding: 1vh 3vw; font-size: 3vh; color: #6e7781; }
</style></head>
<body>
<header>
  <span>Treadmill __STATION__</span>
  <span>block <b data-block>none</b> · feedback <span data-feedback="off">off</span></span>
  <span data-connection="closed">connecting…</span>
</header>
<main>
  <div class="side cues">left
    <div class="bar" data-bar="left"><div class="band"></div><div class="fill"></div></div>
    <div class="value" data-metric="pelvic_drop_deg" data-side="left">–</div>
    <div class="trunk">trunk <span data-metric="trunk_lean_deg" data-side="left">–</span>°</div>
  </div>
  <div class="level live">
    <div class="horizon"></div><div class="beam" id="beam"></div>
    <div style="text-align:center;font-size:6vh;margin-top:30vh">pelvis
      <span class="reading" data-metric="pelvic_obliquity_deg">–</span>°</div>
  </div>
  <div class="side cues">right
    <div class="bar" data-bar="right"><div class="band"></div><div class="fill"></div></div>
    <div class="value" data-metric="pelvic_drop_deg" data-side="right">–</div>
    <div class="trunk">trunk <span data-metric="trunk_lean_deg" data-side="right">–</span>°</div>
  </div>
</main>
<footer>pelvic drop per step (°), green band: your target · keep the pelvis level</footer>
<script>
(() => {
  const config = __CONFIG__;
  const SCALE_DEG = 15;  // a bar's full height
  const BEAM_GAIN = 3;  // the level indicator's tilt per degree of obliquity
  const q = (selector) => document.querySelector(selector);
  const state = { band: [0, 4], ws: null, retryMs: 500 };
  window.gaitstreamScreen = { rendered: [], messages: 0, skipped: 0 };
  const fmt = (v) => (v === null || v === undefined) ? "–" : Number(v).toFixed(1);
  let audio = null;
  function beep() {
    if (!config.sound) return;
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(); const gain = audio.createGain();
    osc.frequency.value = 660; gain.gain.value = 0.2; osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.15);
  }
  function drawBand() {
    for (const side of ["left", "right"]) {
      const band = q(`[data-bar="${side}"] .band`);
      const lo = Math.max(0, state.band[0]), hi = Math.min(SCALE_DEG, state.band[1]);
      band.style.bottom = `${100 * lo / SCALE_DEG}%`; band.style.height = `${100 * Math.max(0, hi - lo) / SCALE_DEG}%`;
    }
  }
  function setBar(side, value) {
    const bar = q(`[data-bar="${side}"]`);
    const clipped = Math.max(0, Math.min(SCALE_DEG, value));
    bar.querySelector(".fill").style.height = `${100 * clipped / SCALE_DEG}%`;
    const outside = value < state.band[0] || value > state.band[1];
    bar.classList.toggle("outside", outside);
    q(`[data-metric="pelvic_drop_deg"][data-side="${side}"]`).textContent = fmt(value);
    return outside;
  }
  // What was drawn, and in which display frame (its time, on the wall clock): every callback of
  // one frame gets the same frame time, so values drawn in one frame share it.
  const frameWallMs = (frameMs) => Math.round(performance.timeOrigin + frameMs);
  function record(kind, key, dataTimeUs, shown, at) {
    const screen = window.gaitstreamScreen;
    screen.rendered.push([kind, key, dataTimeUs, at, shown]);
    if (screen.rendered.length > 5000) screen.rendered.shift();
    if (kind === "step" && state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify({ ack: key, rendered_ms: at }));
    }
  }
  function rendered(kind, key, dataTimeUs, shown) {
    requestAnimationFrame((frameMs) => record(kind, key, dataTimeUs, shown, frameWallMs(frameMs)));
  }
  // The live pelvis arrives a station frame at a time (several samples at once). Drawn as they
  // come, a burst would show only its last value: the indicator would move at the station's frame
  // rate, not the samples'. So each sample gets its own display frame, due as long after the
  // previous one as the data were apart, a little sooner (PACE) so that the delay a late burst
  // caused shrinks back to what the next bursts bring; never before it arrived, and at most
  // SPREAD_MS after (a burst longer than a frame's worth, e.g. after a stall, is not played back
  // slowly: its samples fall due together). One sample per frame; when more than MAX_DUE are due
  // at once, the older ones are skipped (counted in gaitstreamScreen.skipped) rather than shown late.
  const PACE = 0.9, SPREAD_MS = 100, MAX_DUE = 2, FRAME_SLACK_MS = 8;
  const player = { queue: [], lastTimeUs: null, lastDueMs: 0, drawing: false, generation: 0 };
  function playLive(m) {
    const now = performance.now();
    let due = now;
    if (player.lastTimeUs !== null && m.time_us > player.lastTimeUs) {
      const paced = player.lastDueMs + PACE * (m.time_us - player.lastTimeUs) / 1000;
      due = Math.min(now + SPREAD_MS, Math.max(now, paced));
    }
    player.lastTimeUs = m.time_us; player.lastDueMs = due;
    player.queue.push([due, m]);
    if (!player.drawing) { player.drawing = true; drawAfter(0); }
  }
  // A new session or block: what is queued is dropped, and a frame or timer already asked for
  // belongs to an old generation and does nothing (one chain of frames at a time).
  function stopLive() {
    player.queue = []; player.lastTimeUs = null; player.drawing = false; player.generation += 1;
  }
  // The next frame is asked for only when the next sample falls due: a page waiting for frames
  // in between would have the browser produce frames at the display's rate for nothing.
  function drawAfter(waitMs) {
    const generation = player.generation;
    const ask = () => requestAnimationFrame((frameMs) => {
      if (generation === player.generation) drawLive(frameMs);
    });
    if (waitMs > 1) setTimeout(ask, waitMs); else ask();
  }
  function drawLive(frameMs) {
    const queue = player.queue;
    let due = 0;
    while (due < queue.length && queue[due][0] <= frameMs + FRAME_SLACK_MS) due += 1;
    if (due > MAX_DUE) {
      window.gaitstreamScreen.skipped += due - MAX_DUE;
      queue.splice(0, due - MAX_DUE);
    }
    if (due > 0) {
      const m = queue.shift()[1];
      const text = fmt(m.pelvic_obliquity_deg);
      q('[data-metric="pelvic_obliquity_deg"]').textContent = text;
      // Seen from behind (the patient's left on the screen's left): left side lower = the beam's
      // left end down, i.e. counter-clockwise; tilted 3x so that a few degrees are easy to see.
      q("#beam").style.transform = `rotate(${BEAM_GAIN * m.pelvic_obliquity_deg}deg)`;
      record("live", m.time_us, m.time_us, text, frameWallMs(frameMs));
    }
    if (queue.length) drawAfter(queue[0][0] - FRAME_SLACK_MS - performance.now());
    else player.drawing = false;
  }
  function handle(m) {
    window.gaitstreamScreen.messages += 1;
    if (m.kind === "session") {
      stopLive();  // a session starts or ends: nothing of the last one is drawn after this
      document.body.classList.toggle("has-trunk", !!m.trunk);
      if (m.band_deg) { state.band = m.band_deg; drawBand(); }
      if (!m.active) {
        for (const el of document.querySelectorAll("[data-metric]")) el.textContent = "–";
      }
    } else if (m.kind === "state") {
      q("[data-block]").textContent = m.block;
      const fb = q("[data-feedback]"); fb.dataset.feedback = m.feedback; fb.textContent = m.feedback;
      document.body.classList.toggle("feedback-on", m.feedback === "on");
      document.body.classList.toggle("live-on", m.live === true);
      if (m.live !== true) stopLive();
    } else if (m.kind === "live") {
      playLive(m);
    } else if (m.kind === "step") {
      let outside = false;
      if (m.summary) {
        for (const [side, value] of Object.entries(m.summary)) outside = setBar(side, value) || outside;
      } else {
        outside = setBar(m.side, m.pelvic_drop_deg);
        if (m.trunk_lean_deg !== null) {
          q(`[data-metric="trunk_lean_deg"][data-side="${m.side}"]`).textContent = fmt(m.trunk_lean_deg);
        }
      }
      if (outside) beep();
      const side = m.summary ? null : m.side;
      const text = side ? q(`[data-metric="pelvic_drop_deg"][data-side="${side}"]`).textContent : null;
      rendered("step", m.step_index, m.end_time_us, [side, text]);
    }
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/${encodeURIComponent(config.station)}?token=${encodeURIComponent(config.token)}`);
    state.ws = ws;
    const conn = q("[data-connection]");
    ws.onopen = () => { conn.dataset.connection = "open"; conn.textContent = "live"; state.retryMs = 500; };
    ws.onmessage = (event) => handle(JSON.parse(event.data));
    ws.onclose = (event) => {
      conn.dataset.connection = "closed";
      conn.textContent = event.code === 4403 ? "not allowed" : "reconnecting…";
      if (event.code === 4403) return;  // a wrong token does not become right by retrying
      setTimeout(connect, state.retryMs); state.retryMs = Math.min(5000, state.retryMs * 2);
    };
  }
  drawBand();
  connect();
})();
</script>
</body></html>
"""


def screen_page(station_id: str, token: str, *, sound: bool = False) -> str:
    config = json.dumps({"station": station_id, "token": token, "sound": sound}).replace("</", "<\\/")
    return PAGE.replace("__STATION__", html.escape(station_id)).replace("__CONFIG__", config)
