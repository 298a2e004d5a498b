// Login page: posts the password to /api/login and goes to the dashboard.
import { $, api } from './app.js';

const form = $('login-form');
const error = $('login-error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    await api('POST', '/api/login', { password: $('password').value });
    location.assign('/');
  } catch (err) {
    error.textContent = err.status === 429 ? 'Too many attempts from this device; wait a minute and try again.' : err.status === 401 || err.status === 403 ? 'Wrong password.' : err.message;
    error.hidden = false;
    $('password').select();
  } finally {
    button.disabled = false;
  }
});
