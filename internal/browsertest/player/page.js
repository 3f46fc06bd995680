// page.js plays one HLS (hls.js) or DASH (dash.js) presentation and reports
// what it saw. play.mjs calls window.run(options) and prints the result.
//
// The sequence: load the manifest and list the video rungs; force each rung
// in turn, lowest index first (hls.js while paused, dash.js while playing),
// and wait until the player reports the switch, the picture has the rung's
// size and more frames were decoded; optionally pause and screenshot one
// frame per rung; then play to the end.
'use strict';

const video = document.getElementById('video');

function now() { return performance.now(); }

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// fatal is set by the first fatal error: every wait gives up then.
let fatal = null;

// until polls cond every 20 ms and throws after ms, or on a fatal error,
// naming what it waited for.
async function until(cond, ms, what) {
  const end = now() + ms;
  while (!cond()) {
    if (fatal) throw new Error('fatal error while waiting for ' + what + ': ' + fatal.details);
    if (now() > end) throw new Error('timed out after ' + ms + ' ms waiting for ' + what);
    await sleep(20);
  }
}

function report(r, e) {
  r.errors.push(e);
  if (e.fatal && !fatal) fatal = e;
}

function frames() {
  return video.getVideoPlaybackQuality().totalVideoFrames;
}

// hlsAdapter drives hls.js. Levels come sorted as hls.js keeps them.
function hlsAdapter(src, r) {
  const hls = new Hls({
    startLevel: 0,
    capLevelToPlayerSize: false,
    maxBufferLength: 2,
    maxMaxBufferLength: 3,
  });
  const switched = [];
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => switched.push({ level: d.level, at: now() }));
  hls.on(Hls.Events.ERROR, (_, d) => {
    report(r, { fatal: !!d.fatal, type: String(d.type), details: String(d.details), at: video.currentTime });
  });
  return {
    load() {
      return new Promise((resolve) => {
        hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
          hls.currentLevel = 0;
          resolve(d.levels.map((l, i) => ({ index: i, height: l.height, width: l.width, bandwidth: l.bitrate, codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(',') })));
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      });
    },
    // An immediate switch: hls.js flushes the buffer and loads the
    // level's fragment at the playhead.
    force(i) { if (i > 0) hls.currentLevel = i; },
    switchesWhilePaused: true,
    switchedTo(i, since) { return switched.some((s) => s.level === i && s.at >= since); },
    events() { return switched.map((s) => String(s.level)); },
  };
}

// dashAdapter drives dash.js with ABR off, starting on the lowest rung.
function dashAdapter(src, r) {
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({
    debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
    streaming: {
      abr: { autoSwitchBitrate: { video: false, audio: false }, initialBitrate: { video: 1 } },
      buffer: { bufferTimeDefault: 2, bufferTimeAtTopQuality: 2, bufferTimeAtTopQualityLongForm: 2 },
    },
  });
  const E = dashjs.MediaPlayer.events;
  const rendered = [];
  let reps = [];
  player.on(E.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType === 'video') rendered.push({ id: e.newRepresentation && e.newRepresentation.id, at: now() });
  });
  player.on(E.ERROR, (e) => {
    const err = e.error || {};
    report(r, { fatal: true, type: 'dashjs', details: String(err.code) + ' ' + String(err.message), at: video.currentTime });
  });
  return {
    load() {
      return new Promise((resolve) => {
        player.on(E.STREAM_INITIALIZED, () => {
          reps = player.getRepresentationsByType('video');
          resolve(reps.map((p, i) => ({ index: i, height: p.height, width: p.width, bandwidth: p.bandwidth, codecs: p.codecs || '' })));
        });
        player.initialize(video, src, false);
      });
    },
    // A smooth switch while playing: dash.js reports it rendered only
    // once playback reaches the new rung's segments.
    force(i) { if (i > 0) player.setRepresentationForTypeByIndex('video', i, false); },
    switchesWhilePaused: false,
    switchedTo(i, since) { return rendered.some((s) => s.id === reps[i].id && s.at >= since); },
    events() { return rendered.map((s) => s.id); },
  };
}

window.run = async function run(o) {
  const r = { kind: o.kind, manifestParsed: false, rungs: [], errors: [], waiting: [], ended: false, currentTime: 0, duration: 0, failure: '' };
  let started = false;
  video.addEventListener('playing', () => { started = true; });
  video.addEventListener('waiting', () => {
    if (started) r.waiting.push({ at: video.currentTime });
  });
  video.addEventListener('error', () => {
    const e = video.error;
    report(r, { fatal: true, type: 'media', details: e ? e.code + ' ' + e.message : 'unknown', at: video.currentTime });
  });
  let a = null;
  const ended = new Promise((resolve) => video.addEventListener('ended', resolve));
  try {
    a = o.kind === 'dash' ? dashAdapter(o.src, r) : hlsAdapter(o.src, r);
    let levels = null;
    a.load().then((l) => { levels = l; });
    await until(() => levels, o.stepMs, 'the manifest');
    r.manifestParsed = true;
    r.rungs = levels.map((l) => Object.assign(l, { switched: false, rendered: false, framesBefore: 0, framesAfter: 0, shownWidth: 0, shownHeight: 0 }));
    await video.play();
    for (const rung of r.rungs) {
      // The first rung is the one playback starts on: its switch may come
      // before play() returns.
      // hls.js switches to later rungs while paused, so that the flush of
      // an immediate switch cannot stall playback, and how long a switch
      // takes does not depend on how much media is left to play.
      const first = rung === r.rungs[0];
      const since = first ? 0 : now();
      if (!first && a.switchesWhilePaused) video.pause();
      rung.framesBefore = frames();
      a.force(rung.index);
      await until(() => a.switchedTo(rung.index, since), o.stepMs, 'the switch to rung ' + rung.index);
      rung.switched = true;
      if (video.paused) await video.play();
      await until(() => video.videoHeight === rung.height, o.stepMs, 'a ' + rung.height + '-line picture on rung ' + rung.index);
      const shown = frames();
      await until(() => frames() >= shown + o.minFrames, o.stepMs, o.minFrames + ' more frames on rung ' + rung.index);
      rung.rendered = true;
      rung.framesAfter = frames();
      rung.shownWidth = video.videoWidth;
      rung.shownHeight = video.videoHeight;
      if (o.screenshots) {
        // Pause right after a frame is presented, and take that frame's
        // own media time: currentTime may sit between two frames.
        rung.screenshotTime = await new Promise((res) => video.requestVideoFrameCallback((_, meta) => {
          video.pause();
          res(meta.mediaTime);
        }));
        video.style.width = video.videoWidth + 'px';
        video.style.height = video.videoHeight + 'px';
        await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
        rung.screenshot = await window.snap('rung' + rung.index + '.png');
        await video.play();
      }
    }
    let done = false;
    ended.then(() => { done = true; });
    await until(() => done, o.endMs, 'the ended event');
    r.ended = true;
  } catch (e) {
    r.failure = String(e && e.message || e);
  }
  r.switchEvents = a ? a.events() : [];
  r.buffered = [];
  for (let i = 0; i < video.buffered.length; i++) r.buffered.push([video.buffered.start(i), video.buffered.end(i)]);
  r.state = 'readyState ' + video.readyState + ', networkState ' + video.networkState + ', paused ' + video.paused + ', seeking ' + video.seeking + ', ended ' + video.ended;
  r.currentTime = video.currentTime;
  r.duration = video.duration;
  r.totalFrames = frames();
  return r;
};
