import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { ErrorNote } from './errors';
import { SignUpMutation } from './operations';
import { devSignIn, type Session } from './session';

const LAST_USER = 'junction.lastUserId';

/**
 * Sign up (createUser, which needs no token) and sign in: the development
 * identity provider mints a token for the user id asked for. With a real
 * provider, signing in is its login page instead (README, "A real identity provider").
 */
export function SignIn({ identityUrl, onSignedIn }: { identityUrl: string; onSignedIn: (session: Session) => void }) {
  const [signUp, signUpState] = useMutation(SignUpMutation);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [userId, setUserId] = useState(() => localStorage.getItem(LAST_USER) ?? '');
  const [admin, setAdmin] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);

  const signInAs = async (id: string, roles: string[]) => {
    setProblem(null);
    try {
      const session = await devSignIn(identityUrl, id, roles);
      if (!roles.includes('admin')) localStorage.setItem(LAST_USER, id);
      onSignedIn(session);
    } catch (error) {
      setProblem(error);
    }
  };

  const onSignUp = async (event: FormEvent) => {
    event.preventDefault();
    const { data } = await signUp({ variables: { input: { name, email } } }).catch(() => ({ data: undefined }));
    if (data) await signInAs(data.createUser.id, []);
  };

  const onSignIn = async (event: FormEvent) => {
    event.preventDefault();
    await signInAs(userId.trim(), admin ? ['admin'] : []);
  };

  return (
    <div className="columns">
      <form className="card" onSubmit={onSignUp} aria-label="Create an account">
        <h2>Create an account</h2>
        <label>
          Name
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Email
          <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <button type="submit" disabled={signUpState.loading}>
          Sign up
        </button>
        <ErrorNote error={signUpState.error} />
      </form>
      <form className="card" onSubmit={onSignIn} aria-label="Sign in">
        <h2>Sign in</h2>
        <label>
          User id
          <input name="userId" value={userId} onChange={(e) => setUserId(e.target.value)} required placeholder="the id you got at sign-up" />
        </label>
        <label className="inline">
          <input name="admin" type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> as an operator (role admin)
        </label>
        <button type="submit">Sign in</button>
        <p className="hint">Development identity provider: it signs a token for any id. Point the app at your own provider to sign in for real.</p>
      </form>
      <ErrorNote error={problem} />
    </div>
  );
}
