import { ApolloProvider, useQuery } from '@apollo/client/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Admin } from './Admin';
import { createSessionClient } from './apollo';
import type { WebConfig } from './config';
import { MeQuery } from './operations';
import { OrderPage } from './OrderPage';
import { Orders } from './Orders';
import { go, hrefOf, useRoute, type Route } from './route';
import { isAdmin, saveSession, savedSession, type Session } from './session';
import { Shop } from './Shop';
import { SignIn } from './SignIn';

export function App({ config }: { config: WebConfig }) {
  const [session, setSession] = useState<Session | null>(savedSession);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  const changeSession = useCallback((next: Session | null, message: string | null = null) => {
    saveSession(next);
    setSession(next);
    setNotice(message);
  }, []);

  // One client per session: a new token means a new WebSocket with the new connectionParams, and an empty cache.
  const sessionClient = useMemo(
    () => createSessionClient(config, session, () => changeSession(null, 'Your session ended (the gateway answered 401): sign in again.')),
    [config, session, changeSession],
  );
  useEffect(() => () => sessionClient.close(), [sessionClient]);

  // Sign out when the token expires, rather than waiting for a refused request.
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => changeSession(null, 'Your token expired: sign in again.'), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session, changeSession]);

  return (
    <ApolloProvider client={sessionClient.client}>
      <header>
        <h1>
          <a href="#/">Junction store</a>
        </h1>
        {session && (
          <nav>
            <NavLink route={{ page: 'shop' }} current={route} label="Shop" />
            <NavLink route={{ page: 'orders' }} current={route} label="My orders" />
            {isAdmin(session) && <NavLink route={{ page: 'admin' }} current={route} label="Admin" />}
          </nav>
        )}
        {session && <Viewer session={session} onSignOut={() => changeSession(null)} />}
      </header>
      <main>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {session ? (
          <Page route={route} />
        ) : (
          <SignIn
            identityUrl={config.identityUrl}
            onSignedIn={(next) => {
              changeSession(next);
              if (route.page !== 'shop') go(route);
            }}
          />
        )}
      </main>
    </ApolloProvider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'order':
      return <OrderPage key={route.id} id={route.id} />;
    case 'orders':
      return <Orders />;
    case 'admin':
      return <Admin />;
    default:
      return <Shop />;
  }
}

function NavLink({ route, current, label }: { route: Route; current: Route; label: string }) {
  return (
    <a href={hrefOf(route)} className={route.page === current.page ? 'current' : undefined}>
      {label}
    </a>
  );
}

function Viewer({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { data } = useQuery(MeQuery);
  return (
    <div className="viewer">
      <span data-testid="viewer">{data?.me?.name ?? session.userId}</span>
      {isAdmin(session) && <span className="badge">admin</span>}
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}
