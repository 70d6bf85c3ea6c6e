import { useEffect, useState } from "preact/hooks";

interface DemoUser {
  email: string;
  name: string;
  account: string;
  role: string;
  token: string;
}

export function SignIn(props: { onToken(token: string): void; error: string }) {
  const [token, setToken] = useState("");
  const [demo, setDemo] = useState<DemoUser[]>([]);

  useEffect(() => {
    fetch("/app/demo-users.json")
      .then((r) => (r.ok ? r.json() : { users: [] }))
      .then((body: { users: DemoUser[] }) => setDemo(body.users ?? []))
      .catch(() => setDemo([]));
  }, []);

  return (
    <main class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Liaison inbox</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) props.onToken(token.trim().replace(/^Bearer\s+/i, ""));
        }}
      >
        <label for="token">Token</label>
        <input
          id="token"
          type="text"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      {props.error && (
        <p role="alert" class="error">
          {props.error}
        </p>
      )}
      {demo.length > 0 && (
        <section aria-labelledby="demo-title">
          <h2 id="demo-title">Demo users (development)</h2>
          <ul class="demo-users">
            {demo.map((u) => (
              <li key={u.email}>
                <button type="button" onClick={() => props.onToken(u.token)}>
                  Sign in as {u.email}
                </button>
                <span class="muted">
                  {u.name}, {u.account} ({u.role})
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
