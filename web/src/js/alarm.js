// alarm: sound and vibration for a new alert, where the browser allows.
// Browsers start audio only after a user gesture, so the AudioContext is
// unlocked by the first tap and the page shows a hint until then.

let ctx = null;

/** unlocked reports whether sound can play now. */
export function unlocked() {
  return ctx !== null && ctx.state === 'running';
}

/** unlockOnGesture creates and resumes the AudioContext on the first tap; onUnlock runs once it plays. */
export function unlockOnGesture(onUnlock) {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  const go = () => {
    try {
      if (!ctx) ctx = new AC();
      ctx.resume().then(() => {
        if (unlocked()) {
          removeEventListener('pointerdown', go, true);
          removeEventListener('keydown', go, true);
          onUnlock && onUnlock();
        }
      });
    } catch {
      // no audio on this device
    }
  };
  addEventListener('pointerdown', go, true);
  addEventListener('keydown', go, true);
}

/** vibrate shakes the phone where the browser allows it (after the first tap). */
function vibrate(pattern) {
  try {
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) navigator.vibrate(pattern);
  } catch {
    // not allowed
  }
}

/** alarm plays a two-tone siren for about three seconds and vibrates. */
export function alarm(severity) {
  vibrate([600, 200, 600, 200, 600]);
  if (!unlocked()) return;
  const now = ctx.currentTime;
  const gain = ctx.createGain();
  gain.gain.value = severity === 'minor' ? 0.15 : 0.3;
  gain.connect(ctx.destination);
  const osc = ctx.createOscillator();
  osc.type = 'square';
  for (let i = 0; i < 8; i++) osc.frequency.setValueAtTime(i % 2 ? 660 : 880, now + i * 0.4);
  osc.connect(gain);
  osc.start(now);
  osc.stop(now + 3.2);
}

/** chime is a short notice for a bulletin or a report update. */
export function chime() {
  vibrate(200);
  if (!unlocked()) return;
  const now = ctx.currentTime;
  const gain = ctx.createGain();
  gain.gain.setValueAtTime(0.2, now);
  gain.gain.exponentialRampToValueAtTime(0.001, now + 0.6);
  gain.connect(ctx.destination);
  const osc = ctx.createOscillator();
  osc.frequency.value = 1046;
  osc.connect(gain);
  osc.start(now);
  osc.stop(now + 0.6);
}
