import { useEffect, useState } from "preact/hooks";
import { gql } from "./api";
import { NOTIFICATIONS, UPDATE_NOTIFICATIONS } from "./queries";

const CHOICES: [string, string][] = [
  ["IMMEDIATE", "Immediately (one e-mail per conversation left unread)"],
  ["DAILY", "Daily digest"],
  ["WEEKLY", "Weekly digest (Mondays)"],
  ["OFF", "Off"],
];

export function SettingsView(props: { canMessage: boolean }) {
  const [frequency, setFrequency] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    gql<{ viewer: { notificationFrequency: string } }>(NOTIFICATIONS)
      .then((d) => setFrequency(d.viewer.notificationFrequency))
      .catch((e: Error) => setError(e.message));
  }, []);

  const save = (value: string) => {
    setFrequency(value);
    setStatus("Saving…");
    setError("");
    gql<{ updateNotificationSettings: { notificationFrequency: string | null; errors: { message: string }[] } }>(
      UPDATE_NOTIFICATIONS,
      { input: { frequency: value } },
    )
      .then((d) => {
        const p = d.updateNotificationSettings;
        if (p.errors[0]) {
          setError(p.errors[0].message);
          setStatus("");
        } else {
          setFrequency(p.notificationFrequency);
          setStatus("Saved.");
        }
      })
      .catch((e: Error) => {
        setError(e.message);
        setStatus("");
      });
  };

  return (
    <main class="settings" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <fieldset disabled={frequency === null}>
        <legend>E-mail notifications</legend>
        {!props.canMessage && <p class="muted">Your role has no messaging: no e-mails are sent.</p>}
        {CHOICES.map(([value, label]) => (
          <label key={value} class="choice">
            <input
              type="radio"
              name="frequency"
              value={value}
              checked={frequency === value}
              onChange={() => save(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <p role="status">{status}</p>
      {error && <p role="alert" class="error">{error}</p>}
    </main>
  );
}
