// Signing in with a bearer token: the page's #signin form (with #token and #signin-error)
// and #signout button. The token is checked with /v1/me and kept with the user's name,
// role and wards; `roles` are the ones the page is for.
import { api } from './api.js';

/** The kept session `{ token, me }`, or null; wires the form and the sign-out button. */
export function tokenSession({ storage, key, roles, onSignedIn }) {
  const $ = (id) => document.getElementById(id);
  $('signin').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    try {
      const { json: me } = await api('/v1/me', { token });
      if (!roles.includes(me.role)) throw new Error(`a ${me.role} cannot use this page`);
      storage.setItem(key, JSON.stringify({ token, me }));
      $('signin-error').hidden = true;
      onSignedIn({ token, me });
    } catch {
      $('signin-error').hidden = false;
    }
  });
  $('signout').addEventListener('click', () => {
    storage.removeItem(key);
    location.reload();
  });
  return JSON.parse(storage.getItem(key) || 'null');
}
