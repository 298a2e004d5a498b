// Enrol: a camera gets MQTT credentials, shown once here with a QR code drawn by the hub; a scale
// is enrolled by its Bluetooth address.
import { $, api, csrf, flash, showError } from './app.js';

const main = $('main');

async function showQr(username, password) {
  const token = await csrf();
  const res = await fetch('/enrol/qr', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': token || '' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error('the QR code could not be drawn; type the credentials instead');
  // The hub's own SVG, parsed as an SVG document (scripts in it would not run) and adopted.
  const doc = new DOMParser().parseFromString(await res.text(), 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName !== 'svg') throw new Error('the QR code could not be drawn');
  $('cred-qr').replaceChildren(document.importNode(svg, true));
}

// A firmware profile needs the topic set in the camera; each has a line saying which setting that is.
function showProfileHelp() {
  const profile = $('camera-profile').value;
  $('camera-topic-label').hidden = profile === 'hearth';
  $('camera-topic').required = profile !== 'hearth';
  for (const p of document.querySelectorAll('[data-profile-help]')) p.hidden = p.dataset.profileHelp !== profile;
}
$('camera-profile').addEventListener('change', showProfileHelp);
showProfileHelp();

$('enrol-camera').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const profile = $('camera-profile').value;
    const fields = { nickname: $('camera-nickname').value, profile };
    if (profile !== 'hearth') fields.topic = $('camera-topic').value;
    const cam = await api('POST', '/api/devices/camera', fields);
    // An IPv6 literal may arrive with or without brackets; a URL needs exactly one pair.
    const host = (main.dataset.mqttHost || location.hostname).replace(/^\[|\]$/g, '');
    $('cred-broker').textContent = `mqtt://${host.includes(':') ? `[${host}]` : host}:${main.dataset.mqttPort}`;
    $('cred-username').textContent = cam.username;
    $('cred-password').textContent = cam.password;
    // The topics the camera may publish to: hearth's own, or its firmware's under its topic.
    $('cred-topics').textContent = cam.topics.publish ? cam.topics.publish.join(', ') : `${cam.topics.status}, ${cam.topics.event}`;
    // MQTT over TLS, when the hub serves it: the port and the self-signed certificate to pin.
    $('cred-tls-term').hidden = $('cred-tls').hidden = !cam.tls;
    if (cam.tls) {
      $('cred-tls-broker').textContent = `mqtts://${host.includes(':') ? `[${host}]` : host}:${cam.tls.port}`;
      $('cred-tls-fingerprint').textContent = cam.tls.fingerprint;
    }
    $('cred-device').href = `/devices/${encodeURIComponent(cam.id)}`;
    $('camera-credentials').hidden = false;
    form.reset();
    showProfileHelp();
    flash(`Camera enrolled: ${cam.id}`);
    await showQr(cam.username, cam.password).catch(showError);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
});

// Take the password off the screen (and out of the page) once it has been entered in the camera.
$('cred-hide').addEventListener('click', () => {
  for (const id of ['cred-broker', 'cred-username', 'cred-password', 'cred-topics']) $(id).textContent = '';
  $('cred-qr').replaceChildren();
  $('camera-credentials').hidden = true;
  flash('Credentials removed from this page. The hub keeps only a hash of the password; a lost password means removing and enrolling the camera again.');
});

$('enrol-scale').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  try {
    const scale = await api('POST', '/api/devices/scale', { address: $('scale-address').value, nickname: $('scale-nickname').value });
    form.reset();
    flash(`Scale enrolled: ${scale.id}. Step on it: its weigh-ins appear under Scales & members.`);
  } catch (err) {
    showError(err);
  }
});
