import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, clearToken, getToken, type Me, onUnauthorized, setToken } from './api.js';
import { usePageReady } from './hooks.js';
import { PAGES, type PageDef, pageFor, pageMatches } from './page-registry.js';
import { navigate, onLinkClick, useLocation } from './router.js';
import './styles.css';

/** Query parameters that carry over between pages (range and filters). */
const SHARED = [
  'range',
  'from',
  'to',
  'project',
  'environment',
  'provider',
  'model',
  'operation',
  'status',
  'user',
  'session',
  'service',
  'tag',
];

function navHref(page: PageDef, params: URLSearchParams): string {
  if (page.keepsFilters === false) return page.path;
  const p = new URLSearchParams();
  for (const k of SHARED) for (const v of params.getAll(k)) p.append(k, v);
  const qs = p.toString();
  return qs ? `${page.path}?${qs}` : page.path;
}

function NotFound() {
  usePageReady(true);
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no dashboard page at <code>{location.pathname}</code>. <a href="/">Go to the overview</a>.
      </p>
    </>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState(document.documentElement.dataset.theme ?? '');
  const effective = theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  const next = effective === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      class="btn ghost"
      aria-label={`Switch to ${next} theme`}
      onClick={() => {
        document.documentElement.dataset.theme = next;
        try {
          localStorage.setItem('rp-theme', next);
        } catch {
          // Private mode: the choice lasts for this page only.
        }
        setTheme(next);
      }}
    >
      {next === 'dark' ? '☾ Dark' : '☀ Light'}
    </button>
  );
}

function SignIn(props: { onSignedIn: (me: Me) => void }) {
  const [token, setTok] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api<Me>('/api/v1/me', { token: token.trim() });
      setToken(token.trim());
      props.onSignedIn(me);
    } catch (err) {
      setError(
        (err as { status?: number }).status === 401 ? 'That token or key is not valid.' : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to ReskPoints</h1>
      <form onSubmit={submit} class="card">
        <label>
          <span class="label">Admin token or project key</span>
          <input
            type="password"
            autoComplete="current-password"
            value={token}
            required
            onInput={(e) => setTok((e.target as HTMLInputElement).value)}
            aria-describedby="signin-help"
            aria-invalid={error ? 'true' : undefined}
          />
        </label>
        <p id="signin-help" class="muted">
          The admin token was printed at first start and is kept in <code>data/admin-token</code>. A project key (
          <code>rpk_…</code>) shows that project only. It is kept for this browser tab only.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function App() {
  const { path, params } = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(!!getToken());
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    const off = onUnauthorized(() => {
      clearToken();
      setMe(null);
    });
    if (getToken())
      api<Me>('/api/v1/me')
        .then(setMe, () => clearToken())
        .finally(() => setChecking(false));
    return () => {
      off();
    };
  }, []);

  useEffect(() => {
    const title = pageFor(path)?.label ?? 'Page not found';
    document.title = `${title} · ReskPoints`;
  }, [path]);

  if (checking) return <p class="muted center">Loading…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const isAdmin = me.kind === 'admin';
  const current = pageFor(path);
  const Page = current?.component ?? NotFound;
  const nav = PAGES.filter((pg) => isAdmin || !pg.adminOnly);

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          ReskPoints
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map((pg) => (
              <li key={pg.path}>
                <a href={navHref(pg, params)} aria-current={pageMatches(pg, path) ? 'page' : undefined}>
                  {pg.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="top-right">
          <span class="muted who">{isAdmin ? 'admin' : me.projectId}</span>
          <ThemeToggle />
          <button
            type="button"
            class="btn ghost"
            onClick={() => {
              clearToken();
              setMe(null);
              navigate('/');
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} key={path}>
        <Page refresh={refresh} onRefresh={() => setRefresh((r) => r + 1)} isAdmin={isAdmin} />
      </main>
    </div>
  );
}

document.addEventListener('click', onLinkClick);
const root = document.getElementById('app')!;
// The server put the next steps in the mount point for browsers without JavaScript; the app replaces them.
root.textContent = '';
render(<App />, root);
