import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { cloudTrailClient } from "./api/cloudtrail.js";
import { clearSession, loadSession, saveSession, type Session } from "./api/session.js";
import { SessionContext } from "./session-context.js";
import { SignInPage } from "./pages/sign-in.js";
import { EventHistoryPage } from "./pages/event-history.js";
import { TrailsPage } from "./pages/trails.js";
import { Loading } from "./components/status.js";
import { localZoneName, TimeZoneContext, usePersistedZone, type ZoneMode } from "./time-zone.js";

// The SQL editor and the charts are most of the bundle: loaded when a page that uses them opens.
const LakePage = lazy(async () => ({ default: (await import("./pages/lake.js")).LakePage }));
const DashboardPage = lazy(async () => ({ default: (await import("./pages/dashboard.js")).DashboardPage }));

const PAGES = [
  { route: "dashboard", title: "Dashboard", render: () => <DashboardPage /> },
  { route: "history", title: "Event history", render: () => <EventHistoryPage /> },
  { route: "trails", title: "Trails", render: () => <TrailsPage /> },
  { route: "lake", title: "Lake", render: () => <LakePage /> },
] as const;

type Route = (typeof PAGES)[number]["route"];

function routeOf(hash: string): Route {
  const name = hash.replace(/^#\/?/, "").split("?")[0];
  return PAGES.find((page) => page.route === name)?.route ?? "history";
}

/**
 * The last URL of each page, so that leaving Event history and coming back through the menu finds the
 * search as it was (the search lives in the URL's query).
 */
const lastHashes = new Map<Route, string>();

function remember(hash: string): Route {
  const route = routeOf(hash);
  if (hash.includes("?")) lastHashes.set(route, hash);
  else lastHashes.delete(route);
  return route;
}

/** Hash routes keep every page linkable while the server serves one static index.html. */
function useRoute(): Route {
  const [route, setRoute] = useState(() => remember(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(remember(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(() => loadSession());
  const route = useRoute();
  const client = useMemo(() => (session ? cloudTrailClient(session) : undefined), [session]);
  const page = PAGES.find((candidate) => candidate.route === route)!;
  const timeZone = usePersistedZone();

  useEffect(() => {
    document.title = session ? `${page.title} · Cairn` : "Sign in · Cairn";
  }, [page, session]);

  if (!session || !client) {
    return (
      <SignInPage
        onSignedIn={(signedIn, remember) => {
          saveSession(signedIn, remember);
          setSession(signedIn);
        }}
      />
    );
  }
  const signOut = (): void => {
    clearSession();
    setSession(undefined);
  };
  return (
    <SessionContext.Provider value={{ session, client, signOut }}>
      <TimeZoneContext.Provider value={timeZone}>
        <div className="shell">
          <header className="topbar">
            <a className="brand" href="#/history" aria-label="Cairn home">
              <span aria-hidden="true">▲</span> Cairn
            </a>
            <nav aria-label="Pages">
              {PAGES.map((candidate) => (
                <a
                  key={candidate.route}
                  // The current page's own link starts it afresh; the others return to where the user left them.
                  href={
                    candidate.route === route
                      ? `#/${candidate.route}`
                      : (lastHashes.get(candidate.route) ?? `#/${candidate.route}`)
                  }
                  aria-current={candidate.route === route ? "page" : undefined}
                >
                  {candidate.title}
                </a>
              ))}
            </nav>
            <div className="who">
              <label className="zone-switch">
                Time zone
                <select
                  name="timeZone"
                  value={timeZone.zone}
                  onChange={(event) => timeZone.setZone(event.target.value as ZoneMode)}
                >
                  <option value="utc">UTC</option>
                  <option value="local">Local ({localZoneName()})</option>
                </select>
              </label>
              <span title="Account and region">
                {session.accountId} · {session.region}
              </span>
              <span className="key" title="Access key ID">
                {session.accessKeyId}
              </span>
              <button type="button" className="link" onClick={signOut}>
                Sign out
              </button>
            </div>
          </header>
          <main id="main">
            <h1>{page.title}</h1>
            <Suspense fallback={<Loading label="Loading page…" />}>{page.render()}</Suspense>
          </main>
        </div>
      </TimeZoneContext.Provider>
    </SessionContext.Provider>
  );
}
